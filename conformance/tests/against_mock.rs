//! The harness against the in-process mock: every case passes on the frozen clock, and the
//! live-clock paths (relative counts, bound time fields) pass against a mock on a running
//! clock.

use conformance::{catalogue, run, Options, RunError, Target, TargetKeys, Verdict};
use mock_server::MockServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_passes_against_the_in_process_mock() {
    let target = Target::in_process().await.expect("the mock starts");
    let report = run(&target, &Options::default().seed(20_240_601), |_| {})
        .await
        .expect("the run starts");
    let lines: Vec<String> = report.results.iter().map(|r| r.line()).collect();
    assert!(report.success(), "{}", lines.join("\n"));
    assert_eq!(report.skipped(), 0, "{}", lines.join("\n"));
    assert_eq!(report.results.len(), catalogue().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_clock_checks_pass_against_a_mock_on_a_running_clock() {
    // The mock on the system clock, reached as any URL would be: relative counts, time
    // fields bound as seen, margins around the timing window. No case here waits for a
    // new minute (that one is skipped), and the weight limit is far away.
    let server = MockServer::builder()
        .weight_limit(1_000_000)
        .ed25519_key(
            conformance::SECOND_API_KEY,
            conformance::second_key()
                .verifying_key()
                .expect("an Ed25519 key"),
        )
        .start()
        .await
        .expect("the mock starts");
    let mut keys = TargetKeys::demo();
    keys.secondary = Some(conformance::second_key());
    let target = Target::remote(&server.url(), keys);
    let options = Options::default()
        .seed(7)
        .cases(6)
        .skip(["WEIGHT-WINDOW-IS-A-CALENDAR-MINUTE"]);
    let report = run(&target, &options, |_| {})
        .await
        .expect("the run starts");
    let lines: Vec<String> = report.results.iter().map(|r| r.line()).collect();
    assert!(report.success(), "{}", lines.join("\n"));
    let skipped: Vec<&str> = report
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Skip(_)))
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        skipped.contains(&"TIMING-EDGES"),
        "frozen-clock cases are skipped: {skipped:?}"
    );
    assert!(skipped.contains(&"PROP-WEIGHT-LIMIT"), "{skipped:?}");
    assert!(
        !skipped.contains(&"SESSION-RELOGON-REPLACES-KEY"),
        "the second key was given: {skipped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_that_need_a_second_key_are_skipped_with_the_reason_without_one() {
    let server = MockServer::builder()
        .start()
        .await
        .expect("the mock starts");
    let target = Target::remote(&server.url(), TargetKeys::demo());
    let options =
        Options::default().only(["SESSION-RELOGON-REPLACES-KEY", "SESSION-LOGON-ED25519"]);
    let report = run(&target, &options, |_| {})
        .await
        .expect("the run starts");
    let verdict = |id| report.result(id).map(|r| r.verdict.clone());
    assert_eq!(
        verdict("SESSION-RELOGON-REPLACES-KEY"),
        Some(Verdict::Skip(
            "needs a second registered Ed25519 key: --api-key2 and --key2".to_owned()
        ))
    );
    assert_eq!(verdict("SESSION-LOGON-ED25519"), Some(Verdict::Pass));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_does_not_know_the_demo_key_skips_the_cases_that_log_on() {
    let server = MockServer::builder()
        .without_demo_key()
        .start()
        .await
        .expect("the mock starts");
    let target = Target::remote(&server.url(), TargetKeys::demo());
    let options = Options::default().only(["SESSION-LOGON-ED25519", "SESSION-STATUS-ANONYMOUS"]);
    let report = run(&target, &options, |_| {})
        .await
        .expect("the run starts");
    let verdict = |id| report.result(id).map(|r| r.verdict.clone());
    let Some(Verdict::Skip(reason)) = verdict("SESSION-LOGON-ED25519") else {
        panic!("{:?}", report.results);
    };
    assert!(reason.contains("pass --api-key and --key"), "{reason}");
    assert!(reason.contains("-2015"), "the refusal is quoted: {reason}");
    assert_eq!(verdict("SESSION-STATUS-ANONYMOUS"), Some(Verdict::Pass));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_case_ids_are_refused_before_anything_runs() {
    let target = Target::in_process().await.expect("the mock starts");
    let outcome = run(&target, &Options::default().only(["SESSION-NOPE"]), |_| {}).await;
    assert_eq!(
        outcome,
        Err(RunError::UnknownCase("SESSION-NOPE".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_reported_before_any_case() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let target = Target::remote(
        &format!("ws://127.0.0.1:{port}/ws-api/v3"),
        TargetKeys::demo(),
    );
    let outcome = run(&target, &Options::default(), |_| {}).await;
    assert!(
        matches!(outcome, Err(RunError::Unreachable(_))),
        "{outcome:?}"
    );
}
