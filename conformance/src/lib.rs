//! Placeholder: the conformance harness is built in its own issue.
