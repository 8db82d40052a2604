//! Benchmarks of the mock against a floor measured in the same run.
//!
//! Shared machines are noisy: an absolute time means little, a ratio measured in the same
//! run means a lot. So every figure of the mock is taken next to the same figure of a
//! *floor*, the least any WebSocket server on this machine can do, served and driven by the
//! same code:
//!
//! - [`floor`]: a bare tokio-tungstenite server that echoes each text frame, and a minimal
//!   JSON responder (parse, echo the `id`, serialize a small reply).
//! - [`client`]: the one WebSocket client every measurement uses, and the loopback guard.
//! - [`requests`]: the request texts, including a signed `session.logon`.
//! - [`load`]: C connections × pipeline depth D for a duration, with latency percentiles.
//! - [`procfs`]: a server process's CPU time and resident memory, from `/proc`.
//!
//! `cargo bench -p benches` runs the criterion benches (round trips over loopback, in-process
//! costs) and prints each mock figure as a ratio to its floor; the `load` binary measures
//! throughput, server CPU per request, percentiles and idle-connection memory, with each
//! server in its own process. `docs/PERFORMANCE.md` has the commands and the figures.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! use benches::{client, floor, requests};
//!
//! let (url, _server) = floor::start_json().await?;
//! let mut ws = client::connect(&url).await?;
//! let reply = client::round_trip(&mut ws, requests::PING).await?;
//! assert_eq!(reply, r#"{"id":1,"status":200,"result":{}}"#);
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod floor;
pub mod load;
pub mod procfs;
pub mod requests;
