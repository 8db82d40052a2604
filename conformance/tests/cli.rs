//! The `conformance` binary: its report lines, summary, exit codes and JUnit file.

use std::process::{Command, Output};

use mock_server::MockServer;

fn conformance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn without_a_target_it_runs_the_in_process_mock_and_ends_with_the_summary() {
    let junit = tempfile::NamedTempFile::new().expect("a temporary file");
    let path = junit.path().to_string_lossy().into_owned();
    let output = conformance(&[
        "--only",
        "SESSION-LOGON-ED25519,ERR-1021-*",
        "--seed",
        "3",
        "--junit",
        &path,
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("(in-process mock, frozen clock), seed 3"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("PASS  SESSION-LOGON-ED25519  ("),
        "{text}"
    );
    assert!(
        lines[2].starts_with("PASS  ERR-1021-OUTSIDE-RECVWINDOW  ("),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"4 passed, 0 failed"), "{text}");
    let xml = std::fs::read_to_string(junit.path()).expect("the JUnit file");
    let parsed = quick_junit::Report::deserialize_from_str(&xml)
        .unwrap_or_else(|e| panic!("not JUnit XML ({e}):\n{xml}"));
    assert_eq!((parsed.tests, parsed.failures), (4, 0), "{xml}");
    let cases: Vec<(&str, Option<&str>)> = parsed
        .test_suites
        .iter()
        .flat_map(|suite| &suite.test_cases)
        .map(|c| (c.name.as_str(), c.classname.as_ref().map(|n| n.as_str())))
        .collect();
    assert!(
        cases.contains(&("ERR-1021-AHEAD", Some("conformance.ERR"))),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_url_it_runs_on_the_live_clock_and_skips_frozen_clock_cases() {
    let server = MockServer::start().await;
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        conformance(&[
            "--target",
            &url,
            "--only",
            "SESSION-LOGON-ED25519,TIMING-EDGES,SESSION-RELOGON-REPLACES-KEY",
        ])
    })
    .await
    .expect("the binary ran");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("(live clock)"), "{text}");
    assert!(text.contains("PASS  SESSION-LOGON-ED25519"), "{text}");
    assert!(
        text.contains("SKIP  TIMING-EDGES  needs the frozen clock of the in-process mock"),
        "{text}"
    );
    assert!(
        text.contains("SKIP  SESSION-RELOGON-REPLACES-KEY  needs a second"),
        "{text}"
    );
    assert!(text.ends_with("2 skipped\n1 passed, 0 failed\n"), "{text}");
}

#[test]
fn an_unreachable_target_fails_with_exit_code_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}/ws-api/v3");
    let output = conformance(&["--target", &url]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  PREFLIGHT  cannot use the target"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

#[test]
fn an_unknown_case_id_is_a_usage_error() {
    let output = conformance(&["--only", "NO-SUCH-CASE"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no case matches \"NO-SUCH-CASE\""));
}

#[test]
fn list_prints_every_case_id() {
    let output = conformance(&["--list"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0));
    for id in conformance::catalogue().iter().map(|c| c.id) {
        assert!(text.contains(id), "{id} missing from --list");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn list_into_a_closed_pipe_exits_quietly() {
    // The pipe's reading end is closed before the binary starts, as `head` closes it once it
    // has read enough: every write fails.
    let (writer, reader) = tokio::net::unix::pipe::pipe().expect("a pipe");
    drop(reader);
    let writer = writer.into_blocking_fd().expect("the pipe's writing end");
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--list")
        .stdout(writer)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "", "nothing on stderr");
}
