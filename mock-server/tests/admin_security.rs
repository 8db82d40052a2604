//! Who may call the control plane (issue 12): on by default on loopback, off elsewhere unless
//! a token is set, a token required whenever one is set, and `.admin(false)` answering 404;
//! and admin traffic is not API traffic: no weight, no connection slot, no ban.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::admin::Admin;
use common::{frozen_builder, refused_upgrade, start, within, Client, QUIET_PING, T0};
use mock_server::{BanPolicy, MockServer};
use serde_json::{json, Value};

/// The calls tried in each mode: reads and writes.
async fn every_kind_of_call(admin: &Admin) -> Vec<(String, u16, Value)> {
    let mut answers = Vec::new();
    for (label, answer) in [
        ("GET health", admin.get("/__admin/health").await),
        ("GET clock", admin.get("/__admin/clock").await),
        (
            "POST clock",
            admin.post("/__admin/clock", json!({"advance": 1})).await,
        ),
        ("GET keys", admin.get("/__admin/keys").await),
        ("GET requests", admin.get("/__admin/requests").await),
        (
            "POST reset",
            admin
                .post("/__admin/reset", json!({"connections": "keep"}))
                .await,
        ),
        ("GET openapi", admin.get("/__admin/openapi.json").await),
    ] {
        answers.push((label.to_owned(), answer.status, answer.json));
    }
    answers
}

fn all_answer(answers: &[(String, u16, Value)], status: u16) {
    for (label, got, body) in answers {
        assert_eq!(*got, status, "{label}: {body}");
    }
}

fn any_address() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}

// ---------------------------------------------------------------------------------------------
// Security

#[tokio::test]
async fn on_loopback_the_admin_api_is_on_by_default_without_a_token() {
    let server = start(frozen_builder()).await;
    assert!(server.address().ip().is_loopback());
    all_answer(&every_kind_of_call(&Admin::new(&server)).await, 200);
}

#[tokio::test]
async fn on_the_ipv6_loopback_the_admin_api_is_on_by_default() {
    let loopback: SocketAddr = "[::1]:0".parse().expect("an address");
    let server = start(frozen_builder().listen(loopback)).await;
    all_answer(&every_kind_of_call(&Admin::new(&server)).await, 200);
}

#[tokio::test]
async fn with_a_token_every_call_needs_the_bearer_header() {
    let server = start(frozen_builder().admin_token("t0ken")).await;
    let admin = Admin::new(&server);
    for answer in every_kind_of_call(&admin).await {
        assert_eq!(answer.1, 401, "{}: {}", answer.0, answer.2);
        assert!(
            answer.2["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}: {}",
            answer.0,
            answer.2
        );
    }
    all_answer(&every_kind_of_call(&admin.with_token("wrong")).await, 401);
    all_answer(&every_kind_of_call(&admin.with_token("t0ke")).await, 401);
    // A refused call changed nothing.
    assert_eq!(server.clock().now().as_millis(), T0);
    all_answer(&every_kind_of_call(&admin.with_token("t0ken")).await, 200);
}

#[tokio::test]
async fn with_a_token_the_header_must_be_exactly_bearer_and_the_token() {
    let server = start(frozen_builder().admin_token("t0ken")).await;
    let address = server.address();
    for header in [
        "t0ken",
        "Basic t0ken",
        "Bearer",
        "Bearer  t0ken x",
        "Bearer t0ken2",
    ] {
        let status = raw_get_with_authorization(address, header).await;
        assert_eq!(status, 401, "Authorization: {header}");
    }
    assert_eq!(
        raw_get_with_authorization(address, "Bearer t0ken").await,
        200
    );
}

/// `GET /__admin/health` with this `Authorization` header as written: the status.
async fn raw_get_with_authorization(address: SocketAddr, header: &str) -> u16 {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    let stream = within(tokio::net::TcpStream::connect(address))
        .await
        .expect("TCP connect");
    let (mut sender, connection) =
        within(hyper::client::conn::http1::handshake(TokioIo::new(stream)))
            .await
            .expect("HTTP handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = hyper::Request::get("/__admin/health")
        .header(hyper::header::HOST, address.to_string())
        .header(hyper::header::AUTHORIZATION, header)
        .body(Full::new(Bytes::new()))
        .expect("a well-formed request");
    let response = within(sender.send_request(request))
        .await
        .expect("an HTTP response");
    driver.abort();
    response.status().as_u16()
}

#[tokio::test]
async fn admin_false_answers_404_on_every_admin_path_and_leaves_the_api_alone() {
    let server = start(frozen_builder().admin(false)).await;
    let admin = Admin::new(&server);
    all_answer(&every_kind_of_call(&admin).await, 404);
    assert_eq!(server.clock().now().as_millis(), T0, "nothing was done");
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn admin_false_wins_over_a_token() {
    let server = start(frozen_builder().admin(false).admin_token("t")).await;
    all_answer(
        &every_kind_of_call(&Admin::new(&server).with_token("t")).await,
        404,
    );
}

#[tokio::test]
async fn off_loopback_the_admin_api_is_off_without_a_token() {
    let server = start(frozen_builder().listen(any_address())).await;
    let admin = Admin::new(&server);
    all_answer(&every_kind_of_call(&admin).await, 404);
    // The WebSocket API is there, through the loopback address.
    let url = format!("ws://127.0.0.1:{}/ws-api/v3", server.address().port());
    Client::connect_url(&url).await.assert_usable().await;
}

#[tokio::test]
async fn off_loopback_a_token_turns_the_admin_api_on_and_is_required() {
    let server = start(frozen_builder().listen(any_address()).admin_token("t")).await;
    let admin = Admin::new(&server);
    all_answer(&every_kind_of_call(&admin).await, 401);
    all_answer(&every_kind_of_call(&admin.with_token("t")).await, 200);
}

#[tokio::test]
async fn off_loopback_admin_true_turns_it_on_without_a_token() {
    let server = start(frozen_builder().listen(any_address()).admin(true)).await;
    all_answer(&every_kind_of_call(&Admin::new(&server)).await, 200);
}

// ---------------------------------------------------------------------------------------------
// Admin traffic is not API traffic

#[tokio::test]
async fn admin_calls_do_not_count_toward_the_weight() {
    let server = start(frozen_builder().weight_limit(10)).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let first = client.request_json(r#"{"id":1,"method":"ping"}"#).await;
    assert_eq!(first["rateLimits"][0]["count"], 3, "{first}");
    for _ in 0..20 {
        admin.get("/__admin/health").await.expect(200);
        admin.get("/__admin/connections").await.expect(200);
    }
    let second = client.request_json(r#"{"id":2,"method":"ping"}"#).await;
    assert_eq!(second["rateLimits"][0]["count"], 4, "{second}");
}

#[tokio::test]
async fn admin_calls_answer_with_every_websocket_slot_taken() {
    let server = start(frozen_builder().max_connections(1)).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    // Several admin connections open at once, past the cap.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut connection = admin.open().await;
        connection.get("/__admin/health").await.expect(200);
        held.push(connection);
    }
    assert_eq!(admin.connections().await.len(), 1);
    let refused = refused_upgrade(&server, mock_server::PATH).await;
    assert_eq!(refused.status, 503, "the cap still holds for WebSockets");
    client.assert_usable().await;
}

#[tokio::test]
async fn an_admin_connection_held_open_takes_no_websocket_slot() {
    let server = start(frozen_builder().max_connections(1)).await;
    let admin = Admin::new(&server);
    let mut held = admin.open().await;
    held.get("/__admin/health").await.expect(200);
    // The one slot is still free.
    Client::connect(&server).await.assert_usable().await;
    held.get("/__admin/clock").await.expect(200);
}

#[tokio::test]
async fn admin_connections_do_not_count_toward_the_connection_rate_limit() {
    let server = start(frozen_builder().connection_rate_limit(2)).await;
    let admin = Admin::new(&server);
    let mut first = Client::connect(&server).await;
    first.assert_usable().await;
    for _ in 0..10 {
        admin.get("/__admin/health").await.expect(200);
    }
    // The second of two allowed connections.
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn admin_calls_answer_while_the_ip_is_banned() {
    let bans = BanPolicy {
        after_refusals: 1,
        durations: vec![Duration::from_secs(3_600)],
    };
    let server = start(frozen_builder().weight_limit(3).ban_policy(bans)).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    assert_eq!(client.request_json(QUIET_PING).await["status"], 200);
    assert_eq!(client.request_json(QUIET_PING).await["status"], 429);
    assert_eq!(client.request_json(QUIET_PING).await["status"], 418);
    assert_eq!(
        refused_upgrade(&server, mock_server::PATH).await.status,
        418
    );
    for _ in 0..20 {
        admin.get("/__admin/health").await.expect(200);
    }
    let keys = admin.get("/__admin/keys").await.ok();
    assert!(keys["keys"].is_array(), "{keys}");
    // Still banned: admin calls neither lifted nor lengthened it.
    assert_eq!(
        refused_upgrade(&server, mock_server::PATH).await.status,
        418
    );
}

#[tokio::test]
async fn a_server_started_without_a_builder_has_its_admin_api_on() {
    let server = MockServer::start().await;
    assert_eq!(Admin::new(&server).get("/__admin/health").await.status, 200);
}
