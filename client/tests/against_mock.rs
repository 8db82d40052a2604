//! Every typed call, the generic calls, signing and the connection options, against the
//! in-process mock (one server per test, on a free loopback port).

use std::collections::BTreeSet;
use std::time::Duration;

use mock_server::{demo, Clock, MockServer, Timestamp};
use serde_json::{json, Value};
use test_support::errors as golden;
use ws_client::{Client, Error, Signer, TimeUnit};

mod common;
use common::within;

/// 2023-11-14T22:13:20Z: any fixed instant after 2017 will do.
const NOW_MS: i64 = 1_700_000_000_000;

async fn frozen_server() -> MockServer {
    within(
        MockServer::builder()
            .clock(Clock::frozen_at(Timestamp::from_millis(NOW_MS)))
            .start(),
    )
    .await
    .expect("the mock starts")
}

fn demo_signer() -> Signer {
    Signer::ed25519_from_pem(demo::PRIVATE_KEY_PEM).expect("the demo key is a PKCS#8 PEM")
}

/// A client whose `timestamp` follows the server's clock, shifted by `skew_ms`.
async fn demo_client(server: &MockServer, skew_ms: i64) -> Client {
    let clock = server.clock().clone();
    within(
        Client::builder(&server.url())
            .credentials(demo::API_KEY, demo_signer())
            .clock(move || clock.now().as_millis() + skew_ms)
            .connect(),
    )
    .await
    .expect("the client connects")
}

fn api_code(error: &Error) -> Option<(u16, i64)> {
    error.api().map(|e| (e.status, e.code))
}

#[tokio::test]
async fn ping_returns_an_empty_result_with_the_weight_used() {
    let server = within(MockServer::start()).await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let pong = within(client.ping()).await.expect("ping succeeds");
    assert_eq!(pong.status, 200);
    let limits = pong.rate_limits.expect("rateLimits are on by default");
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].rate_limit_type, "REQUEST_WEIGHT");
    assert_eq!(limits[0].interval, "MINUTE");
    assert_eq!((limits[0].interval_num, limits[0].limit), (1, 6000));
    // Opening the connection costs 2, ping 1 (spec §5.4).
    assert_eq!(limits[0].count, 3);
}

#[tokio::test]
async fn time_returns_the_server_clock_in_milliseconds() {
    let server = frozen_server().await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    assert_eq!(
        within(client.time())
            .await
            .expect("time")
            .result
            .server_time,
        NOW_MS
    );
}

#[tokio::test]
async fn time_unit_microsecond_returns_microseconds() {
    let server = frozen_server().await;
    let client = within(
        Client::builder(&server.url())
            .time_unit(TimeUnit::Microsecond)
            .connect(),
    )
    .await
    .expect("connects");
    assert_eq!(
        within(client.time())
            .await
            .expect("time")
            .result
            .server_time,
        NOW_MS * 1000
    );
}

#[tokio::test]
async fn return_rate_limits_false_leaves_them_out_of_replies() {
    let server = within(MockServer::start()).await;
    let client = within(
        Client::builder(&server.url())
            .return_rate_limits(false)
            .connect(),
    )
    .await
    .expect("connects");
    assert_eq!(within(client.ping()).await.expect("ping").rate_limits, None);
    // A request may still ask for them (spec §5.2).
    let shown = within(client.request("ping", json!({ "returnRateLimits": true })))
        .await
        .expect("ping");
    assert!(shown.rate_limits.is_some());
    let status = within(client.session_status())
        .await
        .expect("status")
        .result;
    assert!(!status.return_rate_limits);
}

#[tokio::test]
async fn logon_status_logout_status_follow_the_session() {
    let server = frozen_server().await;
    let client = demo_client(&server, 0).await;

    let before = within(client.session_status())
        .await
        .expect("status")
        .result;
    assert_eq!((before.api_key, before.authorized_since), (None, None));

    server.clock().advance(Duration::from_secs(5));
    let logon = within(client.session_logon()).await.expect("logon").result;
    assert_eq!(logon.api_key.as_deref(), Some(demo::API_KEY));
    assert_eq!(logon.authorized_since, Some(NOW_MS + 5000));
    assert_eq!(logon.connected_since, NOW_MS);
    assert_eq!(logon.server_time, NOW_MS + 5000);
    assert!(logon.return_rate_limits);

    let status = within(client.session_status())
        .await
        .expect("status")
        .result;
    assert_eq!(status.api_key.as_deref(), Some(demo::API_KEY));
    assert_eq!(status.authorized_since, Some(NOW_MS + 5000));

    let logout = within(client.session_logout())
        .await
        .expect("logout")
        .result;
    assert_eq!((logout.api_key, logout.authorized_since), (None, None));
    let after = within(client.session_status())
        .await
        .expect("status")
        .result;
    assert_eq!(after.api_key, None);
    assert_eq!(after.connected_since, NOW_MS);
}

#[tokio::test]
async fn a_generic_signed_request_adds_key_timestamp_and_signature() {
    let server = frozen_server().await;
    let client = demo_client(&server, 0).await;
    let reply = within(client.signed_request("session.logon", json!({ "recvWindow": 10000 })))
        .await
        .expect("a signed logon with a recvWindow");
    assert_eq!(reply.result["apiKey"], json!(demo::API_KEY));
    assert_eq!(reply.result["authorizedSince"], json!(NOW_MS));
}

#[tokio::test]
async fn a_generic_request_returns_the_raw_result() {
    let server = frozen_server().await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let reply = within(client.request("time", Value::Null))
        .await
        .expect("time");
    assert_eq!(reply.result, json!({ "serverTime": NOW_MS }));
    assert!(reply.rate_limits.is_some());
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_with_1021() {
    let server = frozen_server().await;
    // 5000 ms is the default recvWindow (spec §3.3).
    let client = demo_client(&server, -5001).await;
    let error = within(client.session_logon()).await.expect_err("too old");
    assert_eq!(api_code(&error), Some((400, -1021)));
    assert!(
        error
            .to_string()
            .ends_with(golden::OUTSIDE_RECV_WINDOW.template),
        "{error}"
    );
}

#[tokio::test]
async fn a_timestamp_from_the_future_is_refused_with_1021() {
    let server = frozen_server().await;
    let client = demo_client(&server, 1000).await;
    let error = within(client.session_logon())
        .await
        .expect_err("too far ahead");
    assert_eq!(api_code(&error), Some((400, -1021)));
    assert!(
        error
            .to_string()
            .ends_with(golden::TIMESTAMP_AHEAD.template),
        "{error}"
    );
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused_with_1022() {
    let server = within(MockServer::start()).await;
    let client = within(
        Client::builder(&server.url())
            .credentials(demo::API_KEY, Signer::ed25519_from_bytes(&[7; 32]))
            .connect(),
    )
    .await
    .expect("connects");
    let error = within(client.session_logon()).await.expect_err("wrong key");
    assert_eq!(api_code(&error), Some((400, -1022)));
    assert_eq!(
        error.to_string(),
        format!(
            "API error -1022 (status 400): {}",
            golden::INVALID_SIGNATURE.template
        )
    );
}

#[tokio::test]
async fn an_hmac_key_signs_but_cannot_log_on() {
    let api_key = "hmacKey1";
    let server = within(MockServer::builder().hmac_key(api_key, "secret").start())
        .await
        .expect("the mock starts");
    let client = within(
        Client::builder(&server.url())
            .credentials(api_key, Signer::hmac("secret"))
            .connect(),
    )
    .await
    .expect("connects");
    // The signature is valid: a signed request that HMAC keys may make succeeds...
    let account = within(client.signed_request("account.status", Value::Null))
        .await
        .expect("an HMAC-signed account.status");
    assert_eq!(account.status, 200);
    assert!(
        account.result["balances"].is_array(),
        "{:?}",
        account.result
    );
    // ...and is checked: the same request signed with another secret is refused.
    let forged = client.with_credentials(api_key, Signer::hmac("not the secret"));
    let error = within(forged.signed_request("account.status", Value::Null))
        .await
        .expect_err("a signature by another secret");
    assert_eq!(api_code(&error), Some((400, -1022)));

    // Only Ed25519 keys may log on (spec §4.2), however valid the signature: -1022.
    let error = within(client.session_logon())
        .await
        .expect_err("HMAC logon");
    assert_eq!(api_code(&error), Some((400, -1022)));
}

#[tokio::test]
async fn a_client_following_a_frozen_mock_clock_logs_on_where_the_system_clock_is_refused() {
    let server = frozen_server().await;
    let on_system_time = within(
        Client::builder(&server.url())
            .credentials(demo::API_KEY, demo_signer())
            .connect(),
    )
    .await
    .expect("connects");
    let error = within(on_system_time.session_logon())
        .await
        .expect_err("system time is years after the frozen clock");
    assert_eq!(api_code(&error), Some((400, -1021)));

    let following = within(
        Client::builder(&server.url())
            .credentials(demo::API_KEY, demo_signer())
            .clock(server.clock().millis_fn())
            .connect(),
    )
    .await
    .expect("connects");
    let session = within(following.session_logon())
        .await
        .expect("a logon signed at the server's time")
        .result;
    assert_eq!(session.authorized_since, Some(NOW_MS));
    // It keeps following: an hour later on the server, the next logon is signed then too.
    server.clock().advance(Duration::from_secs(3600));
    let session = within(following.session_logon())
        .await
        .expect("a logon after the clock moved")
        .result;
    assert_eq!(session.authorized_since, Some(NOW_MS + 3_600_000));
}

#[tokio::test]
async fn another_handle_on_the_same_connection_signs_with_its_own_key() {
    let server = frozen_server().await;
    let unsigned = within(
        Client::builder(&server.url())
            .clock(server.clock().millis_fn())
            .connect(),
    )
    .await
    .expect("connects");
    let error = within(unsigned.session_logon())
        .await
        .expect_err("no credentials");
    assert!(matches!(error, Error::MissingCredentials), "{error:?}");

    let signed = unsigned.with_credentials(demo::API_KEY, demo_signer());
    within(signed.session_logon()).await.expect("logon");
    // Same connection, so the unsigned handle sees the session logged on.
    let status = within(unsigned.session_status())
        .await
        .expect("status")
        .result;
    assert_eq!(status.api_key.as_deref(), Some(demo::API_KEY));
}

#[tokio::test]
async fn signed_params_must_be_an_object() {
    let server = within(MockServer::start()).await;
    let client = demo_client(&server, 0).await;
    let error = within(client.signed_request("session.logon", json!([1, 2])))
        .await
        .expect_err("an array is not params");
    assert!(matches!(error, Error::Params(_)), "{error:?}");
}

#[tokio::test]
async fn an_unknown_method_is_an_api_error() {
    let server = within(MockServer::start()).await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let error = within(client.request("no.such.method", Value::Null))
        .await
        .expect_err("unknown method");
    assert_eq!(api_code(&error), Some((400, -1100)));
}

#[tokio::test]
async fn a_bad_time_unit_is_refused_at_the_handshake_with_1194() {
    let server = within(MockServer::start()).await;
    let error = within(Client::connect(&format!(
        "{}?timeUnit=SECOND",
        server.url()
    )))
    .await
    .expect_err("SECOND is not a time unit");
    assert_eq!(api_code(&error), Some((400, -1194)));
}

#[tokio::test]
async fn a_wrong_path_is_a_transport_error() {
    let server = within(MockServer::start()).await;
    let url = format!("ws://{}/ws-api/v2", server.address());
    let error = within(Client::connect(&url)).await.expect_err("404");
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(error.to_string().contains("404"), "{error}");
}

#[tokio::test]
async fn the_demo_pem_key_is_the_key_the_mock_knows() {
    let public =
        mock_server::ed25519_public_key_from_pem(demo::PUBLIC_KEY_PEM).expect("demo public key");
    assert_eq!(demo_signer().ed25519_public_key(), Some(public.to_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_share_one_connection() {
    let server = within(MockServer::start()).await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut counts = Vec::new();
                for _ in 0..10 {
                    let pong = within(client.ping()).await.expect("ping");
                    let limits = pong.rate_limits.expect("rateLimits");
                    counts.push(limits[0].count);
                }
                counts
            })
        })
        .collect();
    let mut counts = BTreeSet::new();
    for task in tasks {
        counts.extend(within(task).await.expect("the task finishes"));
    }
    // 200 distinct requests, each charged once after the connection's 2.
    assert_eq!(counts, (3..=202).collect());
}

#[tokio::test]
async fn a_server_shutdown_is_an_event_then_fails_later_calls_with_its_close_code() {
    let server = within(MockServer::builder().shutdown_grace(Duration::ZERO).start())
        .await
        .expect("the mock starts");
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let mut events = client.events();
    within(server.shutdown()).await;
    let shutdown = within(events.recv())
        .await
        .expect("serverShutdown comes first");
    assert_eq!(shutdown.kind(), Some("serverShutdown"));
    assert!(
        within(events.recv()).await.is_none(),
        "then the connection ends"
    );
    let error = within(client.ping())
        .await
        .expect_err("the connection is gone");
    match error {
        // 1001: going away (the mock's choice for shutdown).
        Error::Closed(closed) => assert_eq!(closed.code, Some(1001), "{closed}"),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn user_data_events_arrive_with_their_subscription_id() {
    let server = within(MockServer::start()).await;
    let client = demo_client(&server, 0).await;
    let mut events = client.events();
    within(client.session_logon()).await.expect("logon");
    let subscribed = within(client.request("userDataStream.subscribe", Value::Null))
        .await
        .expect("subscribe");
    let id = subscribed.result["subscriptionId"].as_u64();
    assert!(id.is_some(), "{subscribed:?}");

    // A key's account is named after the key in the mock.
    let pushed = json!({ "e": "outboundAccountPosition", "E": 1 });
    assert_eq!(
        server.push_user_data_event(demo::API_KEY, pushed.clone()),
        1
    );
    let event = within(events.recv()).await.expect("the pushed event");
    assert_eq!(event.subscription_id(), id);
    assert_eq!(event.kind(), Some("outboundAccountPosition"));

    // Logging out ends the logon subscription (spec §4.4).
    within(client.session_logout()).await.expect("logout");
    let ended = within(events.recv()).await.expect("the end of the stream");
    assert_eq!(ended.kind(), Some("eventStreamTerminated"));
    assert_eq!(ended.subscription_id(), id);
}

#[tokio::test]
async fn close_ends_the_connection_for_every_handle() {
    let server = within(MockServer::start()).await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let other = client.clone();
    within(client.ping()).await.expect("ping");
    within(client.close()).await;
    let error = within(other.ping()).await.expect_err("closed");
    assert!(
        matches!(&error, Error::Closed(closed) if closed.reason == "closed by the client"),
        "{error:?}"
    );
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let server = within(MockServer::start()).await;
    let client = within(Client::connect(&server.url()))
        .await
        .expect("connects");
    let mut events = client.events();
    drop(client);
    assert!(within(events.recv()).await.is_none());
}
