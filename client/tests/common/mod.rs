//! Helpers shared by the client's integration tests.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

/// How long any single step on the network may take before the test fails. Generous, so a
/// loaded machine does not fail a test; short enough that a hang is reported, not waited out.
pub const STEP: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test, with the caller's line, if it takes longer than
/// [`STEP`]: a regression that stops a reply from coming fails instead of hanging the run.
#[track_caller]
pub fn within<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let caller = Location::caller();
    async move {
        match tokio::time::timeout(STEP, future).await {
            Ok(output) => output,
            Err(_) => panic!("the step at {caller} did not finish within {STEP:?}"),
        }
    }
}
