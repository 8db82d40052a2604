//! Conformance harness for Spot WebSocket API endpoints (`/ws-api/v3`): model-based property
//! tests and a table of exact error replies, runnable against the in-process mock or any URL.
//!
//! A reference model (a pure state machine of one client IP's connections: anonymous or
//! logged on with key K since T, subscriptions, weight used in the current minute, the URL's
//! `returnRateLimits`) gives the reply every operation must get. Fixed sequences, generated
//! sequences (proptest, shrunk on failure and replayable from a seed) and an error table run
//! against the target; every reply is compared: status, error code and message, `apiKey`,
//! `authorizedSince`, `rateLimits` counts, the echoed `id`, and the events that follow.
//!
//! Every case has a stable ID (`SESSION-RELOGON-REPLACES-KEY`, `ERR-1022-INVALID-SIGNATURE`,
//! `PROP-SESSION-SEQUENCES`, ...). Cases that need the frozen clock of the in-process mock,
//! or mocks of their own with special settings, are skipped elsewhere with the reason.
//!
//! # Quick start
//!
//! ```
//! use conformance::{run, Options, Target, Verdict};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The mock in-process, on a frozen clock; `Target::remote(url, keys)` for any endpoint.
//! let target = Target::in_process().await?;
//! let options = Options::default()
//!     .only(["SESSION-RELOGON-REPLACES-KEY", "ERR-1021-*", "PROP-ID-ROUNDTRIP"])
//!     .cases(8)
//!     .seed(42);
//! let report = run(&target, &options, |result| println!("{}", result.line())).await?;
//! println!("{}", report.summary()); // "4 passed, 0 failed"
//! assert!(report.success());
//! assert_eq!(report.results[0].verdict, Verdict::Pass);
//! # Ok(())
//! # }
//! ```
//!
//! The `conformance` binary is the same runner from the command line:
//! `conformance --target ws://127.0.0.1:9443/ws-api/v3` (see its `--help`), printing one
//! `PASS`/`FAIL`/`SKIP` line per case and `N passed, N failed` at the end.
//!
//! # Live targets
//!
//! Against a live clock the model cannot know when the server's minute rolls over: counts
//! are checked relative to the last one seen (a drop means a new window, in which only what
//! was charged since may be counted), and the runner waits for a new minute rather than
//! cause a 429. Time fields are compared with what was seen before and with the server's
//! time estimated from `time`. Account contents are compared by shape only.

mod cases;
mod check;
mod env;
mod keys;
mod model;
mod op;
mod property;
mod report;
mod runner;
mod sequence;
mod spec;
mod strategy;
mod target;
use test_support::wire;

pub use keys::{
    demo_key, second_key, KeyError, KeyPair, TargetKeys, SECOND_API_KEY, SECOND_PRIVATE_KEY_PEM,
    SECOND_PUBLIC_KEY_PEM,
};
pub use report::{CaseResult, Exchange, Report, Verdict};
pub use runner::{catalogue, run, CaseInfo, Options, RunError};
pub use target::{in_process_builder, Target, FROZEN_START_MS};
