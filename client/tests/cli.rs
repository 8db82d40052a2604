//! The `ws-client` binary: against the in-process mock, and against the `mock-server` binary
//! started the way the README says.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mock_server::{demo, MockServer};
use serde_json::{json, Value};

mod common;
use common::within;

const CLI: &str = env!("CARGO_BIN_EXE_ws-client");

/// Runs the CLI with `args` off the async runtime, so an in-process mock keeps serving.
async fn run_cli(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
    within(tokio::task::spawn_blocking(move || {
        Command::new(CLI).args(&args).output()
    }))
    .await
    .expect("the blocking task finishes")
    .expect("the CLI runs")
}

fn stdout_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each stdout line is JSON"))
        .collect()
}

/// Checks the four lines `ws-client session` prints.
fn assert_session_lines(output: &Output) {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = stdout_lines(output);
    let methods: Vec<&str> = lines
        .iter()
        .map(|l| l["method"].as_str().expect("method"))
        .collect();
    assert_eq!(
        methods,
        [
            "session.logon",
            "session.status",
            "session.logout",
            "session.status"
        ]
    );
    let keys: Vec<&Value> = lines.iter().map(|l| &l["result"]["apiKey"]).collect();
    assert_eq!(
        keys,
        [
            &json!(demo::API_KEY),
            &json!(demo::API_KEY),
            &Value::Null,
            &Value::Null
        ]
    );
    assert!(lines.iter().all(|l| l["status"] == json!(200)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_runs_logon_status_logout_status_on_one_connection() {
    let server = within(MockServer::start()).await;
    let output = run_cli(&["--url", &server.url(), "session"]).await;
    assert_session_lines(&output);
    let lines = stdout_lines(&output);
    // One connection: the weight count keeps rising (2 to connect, 2 per session call).
    let counts: Vec<&Value> = lines.iter().map(|l| &l["rateLimits"][0]["count"]).collect();
    assert_eq!(counts, [&json!(4), &json!(6), &json!(8), &json!(10)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_time_print_one_reply_each() {
    let server = within(MockServer::start()).await;
    let ping = run_cli(&["ping", "--url", &server.url()]).await;
    assert!(ping.status.success());
    let lines = stdout_lines(&ping);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], json!("ping"));
    assert_eq!(lines[0]["result"], json!({}));

    let time = run_cli(&["--url", &server.url(), "time"]).await;
    assert!(time.status.success());
    assert!(stdout_lines(&time)[0]["result"]["serverTime"].is_i64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logon_status_and_logout_each_use_a_fresh_connection() {
    let server = within(MockServer::start()).await;
    let url = server.url();
    let logon = run_cli(&["--url", &url, "logon"]).await;
    assert!(logon.status.success());
    assert_eq!(
        stdout_lines(&logon)[0]["result"]["apiKey"],
        json!(demo::API_KEY)
    );
    for command in ["status", "logout"] {
        let output = run_cli(&["--url", &url, command]).await;
        assert!(output.status.success());
        assert_eq!(stdout_lines(&output)[0]["result"]["apiKey"], Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_logon_prints_the_error_and_exits_1() {
    let server = within(MockServer::start()).await;
    let output = run_cli(&["--url", &server.url(), "--api-key", "unknownKey", "session"]).await;
    assert_eq!(output.status.code(), Some(1));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "the session stops at the failed logon");
    assert_eq!(lines[0]["status"], json!(401));
    assert_eq!(lines[0]["error"]["code"], json!(-2015));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("API error -2015"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_is_read_as_pkcs8_pem() {
    let server = within(MockServer::start()).await;
    let dir = std::env::temp_dir().join(format!("ws-client-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pem = dir.join("demo.pem");
    std::fs::write(&pem, demo::PRIVATE_KEY_PEM).expect("write key");
    let output = run_cli(&[
        "--url",
        &server.url(),
        "--key",
        pem.to_str().expect("UTF-8 path"),
        "logon",
    ])
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success());
}

#[tokio::test]
async fn bad_usage_exits_2() {
    for args in [
        &[][..],
        &["no-such-command"][..],
        &["--timeout", "-1", "ping"][..],
        &["--key", "/nonexistent/key.pem", "logon"][..],
    ] {
        let output = run_cli(args).await;
        assert_eq!(output.status.code(), Some(2), "args {args:?}");
        assert!(output.stdout.is_empty(), "args {args:?}");
    }
}

#[tokio::test]
async fn nothing_listening_exits_1() {
    // A port that was free a moment ago and is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}/ws-api/v3");
    let output = run_cli(&["--url", &url, "ping"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

/// Kills the mock binary when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `mock-server` binary, built by cargo now (so never missing, never stale) with the
/// profile this test was built with, in the workspace's target directory.
fn mock_server_binary() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let build = escargot::CargoBuild::new()
        .manifest_path(&workspace)
        .package("mock-server")
        .bin("mock-server")
        .current_release()
        .run()
        .unwrap_or_else(|e| panic!("cargo builds the mock-server binary: {e}"));
    build.path().to_path_buf()
}

#[test]
fn session_against_the_mock_binary_started_as_the_readme_says() {
    let binary = mock_server_binary();
    let mut child = Command::new(&binary)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the mock binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);

    // Read the first line on a thread, so that a binary that never prints fails the test
    // instead of hanging it.
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(read.map(|_| line));
    });
    let line = line_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the mock prints its URL within a minute")
        .expect("stdout is readable");
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("ws://"))
        .unwrap_or_else(|| panic!("{} printed no URL first: {line:?}", binary.display()));

    let output = Command::new(CLI)
        .args(["--url", url, "session"])
        .output()
        .expect("the CLI runs");
    assert_session_lines(&output);
    drop(running);
}
