//! The load engine and the `load` binary, on tiny loads, so that they cannot rot.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use benches::load::{self, LoadSpec};
use benches::requests::LogonSigner;
use benches::{client, floor, requests};
use mock_server::{BanPolicy, MockServer};
use serde_json::Value;

fn tiny(mix: &str) -> anyhow::Result<LoadSpec> {
    Ok(LoadSpec {
        connections: 3,
        depth: 4,
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(200),
        mix: mix.parse()?,
        signer: Some(Arc::new(LogonSigner::demo()?)),
        server_pid: Some(std::process::id()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mix_against_mock_and_floors_runs_without_an_error() -> anyhow::Result<()> {
    let mock = MockServer::builder()
        .weight_limit(u32::MAX)
        .connection_rate_limit(u32::MAX)
        .start()
        .await?;
    let (echo, _echo) = floor::start_echo().await?;
    let (json, _json) = floor::start_json().await?;
    let batched = floor::Settings::default().batch_writes(true);
    let (batched, _batched) = floor::start_with(floor::Floor::Json, batched).await?;
    for url in [mock.url(), echo, json, batched] {
        let report = load::run(&url, &tiny("ping=2,status=1,logon=1")?).await?;
        assert_eq!(report.errors.total(), 0, "{url}: {:?}", report.errors);
        assert!(report.replies > 0, "{url}");
        assert!(report.latency_us(0.5) > 0.0);
        assert!(report.server_cpu.is_some());
    }
    Ok(())
}

#[tokio::test]
async fn over_the_weight_limit_the_429s_are_counted_as_errors() -> anyhow::Result<()> {
    let mock = MockServer::builder().weight_limit(20).start().await?;
    let report = load::run(&mock.url(), &tiny("status")?).await?;
    assert!(report.errors.status.get(&429).copied().unwrap_or(0) > 0);
    Ok(())
}

#[tokio::test]
async fn the_floors_answer_like_the_mock_does() -> anyhow::Result<()> {
    let (json, _json) = floor::start_json().await?;
    let mut ws = client::connect(&json).await?;
    let reply = client::round_trip(&mut ws, &LogonSigner::demo()?.request_now(5, None)).await?;
    assert_eq!(reply, r#"{"id":5,"status":200,"result":{}}"#);
    let (echo, _echo) = floor::start_echo().await?;
    let mut ws = client::connect(&echo).await?;
    assert_eq!(
        client::round_trip(&mut ws, requests::STATUS).await?,
        requests::STATUS
    );
    Ok(())
}

#[test]
fn load_is_refused_for_addresses_off_this_machine() {
    assert!(client::ensure_loopback("ws://203.0.113.9:443/ws-api/v3").is_err());
    let out = Command::new(env!("CARGO_BIN_EXE_load"))
        .args(["run", "--target", "ws://203.0.113.9:443/ws-api/v3"])
        .output()
        .expect("load runs");
    assert!(!out.status.success());
}

fn load_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_load"))
        .args(args)
        .output()
        .expect("load runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("JSON")
}

#[test]
fn errors_make_the_exit_status_fail_unless_allowed() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let no_bans = BanPolicy {
        after_refusals: 0,
        ..BanPolicy::default()
    };
    let mock = runtime.block_on(
        MockServer::builder()
            .weight_limit(10)
            .ban_policy(no_bans)
            .start(),
    )?;
    let run = |allow: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_load"));
        command.args(["run", "--target", &mock.url(), "--duration", "100ms"]);
        command.args(["--warmup", "0s", "--mix", "status"]);
        if allow {
            command.arg("--allow-errors");
        }
        command.output()
    };
    let refused = run(false)?;
    assert_eq!(refused.status.code(), Some(1));
    let line: Value = serde_json::from_slice(&refused.stdout)?;
    assert!(line["errors"]["total"].as_u64().unwrap_or(0) > 0);
    assert!(run(true)?.status.success());
    Ok(())
}

#[test]
fn the_load_binary_compares_and_counts_idle_memory() {
    let line = load_json(&[
        "compare",
        "-c",
        "2",
        "-d",
        "2",
        "--duration",
        "200ms",
        "--warmup",
        "50ms",
        "--mix",
        "ping,status,logon",
    ]);
    assert_eq!(line["mode"], "compare");
    assert_eq!(line["errors"], 0);
    assert!(line["ratios"]["mock/floor-json server_cpu_us_per_request"].is_number());

    let line = load_json(&["idle", "--target", "mock", "-n", "20", "--hold", "10ms"]);
    assert_eq!(line["served"], 20);
    assert!(line["server_rss_after_mib"].as_f64().unwrap_or(0.0) > 0.0);
}
