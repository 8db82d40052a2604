//! Placeholder: the benchmarks are built in their own issue.
