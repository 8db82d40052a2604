//! Every typed call, the generic calls, signing and the connection options, against the
//! in-process mock (one server per test, on a free loopback port).

use std::collections::BTreeSet;
use std::time::Duration;

use mock_server::{demo, Clock, MockServer, Timestamp};
use serde_json::{json, Value};
use ws_client::{Client, Error, Signer, TimeUnit};

/// 2023-11-14T22:13:20Z: any fixed instant after 2017 will do.
const NOW_MS: i64 = 1_700_000_000_000;

async fn frozen_server() -> MockServer {
    MockServer::builder()
        .clock(Clock::frozen_at(Timestamp::from_millis(NOW_MS)))
        .start()
        .await
        .expect("the mock starts")
}

fn demo_signer() -> Signer {
    Signer::ed25519_from_pem(demo::PRIVATE_KEY_PEM).expect("the demo key is a PKCS#8 PEM")
}

/// A client whose `timestamp` follows the server's clock, shifted by `skew_ms`.
async fn demo_client(server: &MockServer, skew_ms: i64) -> Client {
    let clock = server.clock().clone();
    Client::builder(&server.url())
        .credentials(demo::API_KEY, demo_signer())
        .clock(move || clock.now().as_millis() + skew_ms)
        .connect()
        .await
        .expect("the client connects")
}

fn api_code(error: &Error) -> Option<(u16, i64)> {
    error.api().map(|e| (e.status, e.code))
}

#[tokio::test]
async fn ping_returns_an_empty_result_with_the_weight_used() {
    let server = MockServer::start().await;
    let client = Client::connect(&server.url()).await.expect("connects");
    let pong = client.ping().await.expect("ping succeeds");
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
    let client = Client::connect(&server.url()).await.expect("connects");
    assert_eq!(
        client.time().await.expect("time").result.server_time,
        NOW_MS
    );
}

#[tokio::test]
async fn time_unit_microsecond_returns_microseconds() {
    let server = frozen_server().await;
    let client = Client::builder(&server.url())
        .time_unit(TimeUnit::Microsecond)
        .connect()
        .await
        .expect("connects");
    assert_eq!(
        client.time().await.expect("time").result.server_time,
        NOW_MS * 1000
    );
}

#[tokio::test]
async fn return_rate_limits_false_leaves_them_out_of_replies() {
    let server = MockServer::start().await;
    let client = Client::builder(&server.url())
        .return_rate_limits(false)
        .connect()
        .await
        .expect("connects");
    assert_eq!(client.ping().await.expect("ping").rate_limits, None);
    // A request may still ask for them (spec §5.2).
    let shown = client
        .request("ping", json!({ "returnRateLimits": true }))
        .await
        .expect("ping");
    assert!(shown.rate_limits.is_some());
    let status = client.session_status().await.expect("status").result;
    assert!(!status.return_rate_limits);
}

#[tokio::test]
async fn logon_status_logout_status_follow_the_session() {
    let server = frozen_server().await;
    let client = demo_client(&server, 0).await;

    let before = client.session_status().await.expect("status").result;
    assert_eq!((before.api_key, before.authorized_since), (None, None));

    server.clock().advance(Duration::from_secs(5));
    let logon = client.session_logon().await.expect("logon").result;
    assert_eq!(logon.api_key.as_deref(), Some(demo::API_KEY));
    assert_eq!(logon.authorized_since, Some(NOW_MS + 5000));
    assert_eq!(logon.connected_since, NOW_MS);
    assert_eq!(logon.server_time, NOW_MS + 5000);
    assert!(logon.return_rate_limits);

    let status = client.session_status().await.expect("status").result;
    assert_eq!(status.api_key.as_deref(), Some(demo::API_KEY));
    assert_eq!(status.authorized_since, Some(NOW_MS + 5000));

    let logout = client.session_logout().await.expect("logout").result;
    assert_eq!((logout.api_key, logout.authorized_since), (None, None));
    let after = client.session_status().await.expect("status").result;
    assert_eq!(after.api_key, None);
    assert_eq!(after.connected_since, NOW_MS);
}

#[tokio::test]
async fn a_generic_signed_request_adds_key_timestamp_and_signature() {
    let server = frozen_server().await;
    let client = demo_client(&server, 0).await;
    let reply = client
        .signed_request("session.logon", json!({ "recvWindow": 10000 }))
        .await
        .expect("a signed logon with a recvWindow");
    assert_eq!(reply.result["apiKey"], json!(demo::API_KEY));
    assert_eq!(reply.result["authorizedSince"], json!(NOW_MS));
}

#[tokio::test]
async fn a_generic_request_returns_the_raw_result() {
    let server = frozen_server().await;
    let client = Client::connect(&server.url()).await.expect("connects");
    let reply = client.request("time", Value::Null).await.expect("time");
    assert_eq!(reply.result, json!({ "serverTime": NOW_MS }));
    assert!(reply.rate_limits.is_some());
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_with_1021() {
    let server = frozen_server().await;
    // 5000 ms is the default recvWindow (spec §3.3).
    let client = demo_client(&server, -5001).await;
    let error = client.session_logon().await.expect_err("too old");
    assert_eq!(api_code(&error), Some((400, -1021)));
    assert!(
        error.to_string().contains("outside of the recvWindow"),
        "{error}"
    );
}

#[tokio::test]
async fn a_timestamp_from_the_future_is_refused_with_1021() {
    let server = frozen_server().await;
    let client = demo_client(&server, 1000).await;
    let error = client.session_logon().await.expect_err("too far ahead");
    assert_eq!(api_code(&error), Some((400, -1021)));
    assert!(error.to_string().contains("ahead of the server"), "{error}");
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused_with_1022() {
    let server = MockServer::start().await;
    let client = Client::builder(&server.url())
        .credentials(demo::API_KEY, Signer::ed25519_from_bytes(&[7; 32]))
        .connect()
        .await
        .expect("connects");
    let error = client.session_logon().await.expect_err("wrong key");
    assert_eq!(api_code(&error), Some((400, -1022)));
    assert_eq!(
        error.to_string(),
        "API error -1022 (status 400): Signature for this request is not valid."
    );
}

#[tokio::test]
async fn an_hmac_key_signs_but_cannot_log_on() {
    let api_key = "hmacKey1";
    let server = MockServer::builder()
        .hmac_key(api_key, "secret")
        .start()
        .await
        .expect("the mock starts");
    let client = Client::builder(&server.url())
        .credentials(api_key, Signer::hmac("secret"))
        .connect()
        .await
        .expect("connects");
    // Only Ed25519 keys may log on (spec §4.2); the mock answers -1022.
    let error = client.session_logon().await.expect_err("HMAC logon");
    assert_eq!(api_code(&error), Some((400, -1022)));
}

#[tokio::test]
async fn another_handle_on_the_same_connection_signs_with_its_own_key() {
    let server = frozen_server().await;
    let clock = server.clock().clone();
    let unsigned = Client::builder(&server.url())
        .clock(move || clock.now().as_millis())
        .connect()
        .await
        .expect("connects");
    let error = unsigned.session_logon().await.expect_err("no credentials");
    assert!(matches!(error, Error::MissingCredentials), "{error:?}");

    let signed = unsigned.with_credentials(demo::API_KEY, demo_signer());
    signed.session_logon().await.expect("logon");
    // Same connection, so the unsigned handle sees the session logged on.
    let status = unsigned.session_status().await.expect("status").result;
    assert_eq!(status.api_key.as_deref(), Some(demo::API_KEY));
}

#[tokio::test]
async fn signed_params_must_be_an_object() {
    let server = MockServer::start().await;
    let client = demo_client(&server, 0).await;
    let error = client
        .signed_request("session.logon", json!([1, 2]))
        .await
        .expect_err("an array is not params");
    assert!(matches!(error, Error::Params(_)), "{error:?}");
}

#[tokio::test]
async fn an_unknown_method_is_an_api_error() {
    let server = MockServer::start().await;
    let client = Client::connect(&server.url()).await.expect("connects");
    let error = client
        .request("no.such.method", Value::Null)
        .await
        .expect_err("unknown method");
    assert_eq!(api_code(&error), Some((400, -1100)));
}

#[tokio::test]
async fn a_bad_time_unit_is_refused_at_the_handshake_with_1194() {
    let server = MockServer::start().await;
    let error = Client::connect(&format!("{}?timeUnit=SECOND", server.url()))
        .await
        .expect_err("SECOND is not a time unit");
    assert_eq!(api_code(&error), Some((400, -1194)));
}

#[tokio::test]
async fn a_wrong_path_is_a_transport_error() {
    let server = MockServer::start().await;
    let url = format!("ws://{}/ws-api/v2", server.address());
    let error = Client::connect(&url).await.expect_err("404");
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
    let server = MockServer::start().await;
    let client = Client::connect(&server.url()).await.expect("connects");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut counts = Vec::new();
                for _ in 0..10 {
                    let pong = client.ping().await.expect("ping");
                    let limits = pong.rate_limits.expect("rateLimits");
                    counts.push(limits[0].count);
                }
                counts
            })
        })
        .collect();
    let mut counts = BTreeSet::new();
    for task in tasks {
        counts.extend(task.await.expect("the task finishes"));
    }
    // 200 distinct requests, each charged once after the connection's 2.
    assert_eq!(counts, (3..=202).collect());
}

#[tokio::test]
async fn a_server_shutdown_is_an_event_then_fails_later_calls_with_its_close_code() {
    let server = MockServer::builder()
        .shutdown_grace(Duration::ZERO)
        .start()
        .await
        .expect("the mock starts");
    let client = Client::connect(&server.url()).await.expect("connects");
    let mut events = client.events();
    server.shutdown().await;
    let shutdown = events.recv().await.expect("serverShutdown comes first");
    assert_eq!(shutdown.kind(), Some("serverShutdown"));
    assert!(events.recv().await.is_none(), "then the connection ends");
    let error = client.ping().await.expect_err("the connection is gone");
    match error {
        // 1001: going away (the mock's choice for shutdown).
        Error::Closed(closed) => assert_eq!(closed.code, Some(1001), "{closed}"),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn user_data_events_arrive_with_their_subscription_id() {
    let server = MockServer::start().await;
    let client = demo_client(&server, 0).await;
    let mut events = client.events();
    client.session_logon().await.expect("logon");
    let subscribed = client
        .request("userDataStream.subscribe", Value::Null)
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
    let event = events.recv().await.expect("the pushed event");
    assert_eq!(event.subscription_id(), id);
    assert_eq!(event.kind(), Some("outboundAccountPosition"));

    // Logging out ends the logon subscription (spec §4.4).
    client.session_logout().await.expect("logout");
    let ended = events.recv().await.expect("the end of the stream");
    assert_eq!(ended.kind(), Some("eventStreamTerminated"));
    assert_eq!(ended.subscription_id(), id);
}

#[tokio::test]
async fn close_ends_the_connection_for_every_handle() {
    let server = MockServer::start().await;
    let client = Client::connect(&server.url()).await.expect("connects");
    let other = client.clone();
    client.ping().await.expect("ping");
    client.close().await;
    let error = other.ping().await.expect_err("closed");
    assert!(
        matches!(&error, Error::Closed(closed) if closed.reason == "closed by the client"),
        "{error:?}"
    );
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let server = MockServer::start().await;
    let client = Client::connect(&server.url()).await.expect("connects");
    let mut events = client.events();
    drop(client);
    assert!(events.recv().await.is_none());
}
