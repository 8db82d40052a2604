//! The official Binance Rust connector (crates.io `binance-sdk`, `spot` feature, pinned in
//! Cargo.toml and Cargo.lock) against the mock, through the connector's public API only:
//! steps 1-6 of the connector contract, one `PASS`/`FAIL` line each on stdout, then
//! `RESULT PASS` or `RESULT FAIL`; the exit code is 1 if any step failed.
//!
//! Usage: `conformance-rust-sdk WS_URL PRIVATE_KEY_PEM` (`run.sh WS_URL` passes the demo key).
//! The connector's own log goes to stderr (`RUST_LOG` filters it; `warn` by default).

mod admin;
mod inbox;
mod steps;

use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::steps::Run;

/// How long one step may take in all, whatever it waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ws_url, key_path] = args.as_slice() else {
        eprintln!("usage: conformance-rust-sdk WS_URL PRIVATE_KEY_PEM");
        return ExitCode::from(2);
    };
    log_to_stderr();

    let mut run = match Run::new(ws_url, key_path).await {
        Ok(run) => run,
        Err(error) => {
            println!("FAIL 0 set-up: {error:#}");
            println!("RESULT FAIL");
            return ExitCode::FAILURE;
        }
    };

    let mut passed = true;
    passed &= step(
        "1",
        "logon, status shows the key, logout, status shows null",
        run.session_logon_status_logout(),
    )
    .await;
    passed &= step(
        "2",
        "account.status signed by the session",
        run.account_status_signed_by_session(),
    )
    .await;
    passed &= step(
        "3",
        "balanceUpdate pushed through the control plane reaches the stream handler",
        run.balance_update_delivered(),
    )
    .await;
    passed &= step(
        "4",
        "clock 10 s ahead: -1021 surfaced as WebsocketError::ResponseError",
        run.timestamp_outside_recv_window(),
    )
    .await;
    passed &= step(
        "5",
        "serverShutdown reaches the ws-events handler; 1001 close",
        run.server_shutdown(),
    )
    .await;
    passed &= step(
        "5b",
        "a request before the reconnect: NotConnected",
        run.request_while_reconnecting(),
    )
    .await;
    passed &= step(
        "5c",
        "reconnected after reconnect_delay, logged on again",
        run.reconnected_and_logged_on(),
    )
    .await;
    passed &= step(
        "6",
        "LIMIT order: NEW executionReport, cancel, CANCELED executionReport",
        run.order_place_and_cancel(),
    )
    .await;
    passed &= step(
        "6b",
        "control-plane fill: TRADE executionReport",
        run.order_filled_through_control_plane(),
    )
    .await;
    run.disconnect().await;

    println!("RESULT {}", if passed { "PASS" } else { "FAIL" });
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs one step within [`STEP_TIMEOUT`] and prints its line: `PASS n what (what it saw)` or
/// `FAIL n what: why`.
async fn step(n: &str, what: &str, body: impl Future<Output = Result<String>>) -> bool {
    let outcome = tokio::time::timeout(STEP_TIMEOUT, body).await;
    let (passed, line) = match outcome {
        Ok(Ok(seen)) if seen.is_empty() => (true, format!("PASS {n} {what}")),
        Ok(Ok(seen)) => (true, format!("PASS {n} {what} ({seen})")),
        Ok(Err(error)) => (false, format!("FAIL {n} {what}: {error:#}")),
        Err(_) => (
            false,
            format!(
                "FAIL {n} {what}: no result within {} s",
                STEP_TIMEOUT.as_secs()
            ),
        ),
    };
    println!("{line}");
    passed
}

/// The connector logs through `tracing`; its own `logger::init` writes to stdout, which is
/// reserved for the PASS/FAIL lines, so the driver installs a subscriber that writes to stderr.
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
