//! Placeholder: the client crate is built in its own issue.
