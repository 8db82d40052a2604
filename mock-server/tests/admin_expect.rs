//! Expectations stated in the manner of wiremock (issue 12): `server.expect(method)` with
//! `times`, `at_least` or `at_most`, checked when the server is dropped; a failure names the
//! method with the count expected against the count received.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{frozen_server, Client, TestKey, T0};
use mock_server::MockServer;

/// Drops `server` and returns the panic message, if dropping it panicked.
fn drop_and_catch(server: MockServer) -> Option<String> {
    let outcome = catch_unwind(AssertUnwindSafe(move || drop(server)));
    outcome.err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "<a panic without a message>".to_owned())
    })
}

async fn logons(server: &MockServer, n: usize) {
    for i in 0..n {
        let mut client = Client::connect(server).await;
        let reply = client
            .request_json(&TestKey::demo().logon(&i.to_string(), T0))
            .await;
        assert_eq!(reply["status"], 200, "{reply}");
    }
}

async fn pings(server: &MockServer, n: usize) {
    let mut client = Client::connect(server).await;
    for _ in 0..n {
        client.assert_usable().await;
    }
}

#[tokio::test]
async fn an_unmet_times_fails_on_drop_with_expected_against_actual() {
    let server = frozen_server().await;
    server.expect("session.logon").times(3);
    logons(&server, 1).await;
    let message = drop_and_catch(server).expect("dropping the server fails the expectation");
    assert!(message.contains("session.logon"), "{message}");
    assert!(
        message.to_lowercase().contains("expected"),
        "expected against actual: {message}"
    );
    assert!(message.contains('3') && message.contains('1'), "{message}");
}

#[tokio::test]
async fn a_method_never_called_fails_on_drop() {
    let server = frozen_server().await;
    server.expect("session.logon").times(1);
    pings(&server, 2).await;
    let message = drop_and_catch(server).expect("dropping the server fails the expectation");
    assert!(message.contains("session.logon"), "{message}");
    assert!(message.contains('1') && message.contains('0'), "{message}");
}

#[tokio::test]
#[should_panic(expected = "session.logon")]
async fn an_unmet_expectation_panics_when_the_server_goes_out_of_scope() {
    let server = frozen_server().await;
    server.expect("session.logon").times(1);
    pings(&server, 1).await;
}

#[tokio::test]
async fn met_expectations_pass_on_drop() {
    let server = frozen_server().await;
    server.expect("session.logon").times(2);
    server.expect("ping").at_least(1);
    server.expect("time").at_most(1);
    logons(&server, 2).await;
    pings(&server, 3).await;
    assert_eq!(drop_and_catch(server), None);
}

#[tokio::test]
async fn too_many_calls_fail_times_and_at_most() {
    let server = frozen_server().await;
    server.expect("ping").at_most(1);
    pings(&server, 2).await;
    let message = drop_and_catch(server).expect("two pings are more than at most one");
    assert!(message.contains("ping"), "{message}");

    let server = frozen_server().await;
    server.expect("session.logon").times(1);
    logons(&server, 2).await;
    let message = drop_and_catch(server).expect("two logons are not one");
    assert!(
        message.contains("session.logon") && message.contains('2'),
        "{message}"
    );
}

#[tokio::test]
async fn too_few_calls_fail_at_least() {
    let server = frozen_server().await;
    server.expect("ping").at_least(3);
    pings(&server, 2).await;
    let message = drop_and_catch(server).expect("two pings are fewer than three");
    assert!(
        message.contains("ping") && message.contains('3'),
        "{message}"
    );
}

#[tokio::test]
async fn verify_expectations_checks_them_before_the_drop() {
    let server = frozen_server().await;
    server.expect("ping").times(2);
    pings(&server, 1).await;
    let unmet = server
        .verify_expectations()
        .expect_err("one ping of two expected");
    assert!(
        unmet.contains("ping") && unmet.contains('2') && unmet.contains('1'),
        "{unmet}"
    );
    pings(&server, 1).await;
    assert_eq!(server.verify_expectations(), Ok(()));
    assert_eq!(drop_and_catch(server), None);
}
