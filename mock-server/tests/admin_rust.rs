//! The control plane's Rust face (issue 12): the same calls as methods on `MockServer`, with
//! the same effects as over HTTP, and one state behind both faces (a rule added in Rust is
//! listed over HTTP and the other way round).

mod common;

use std::time::Duration;

use common::admin::Admin;
use common::{frozen_server, Client, Ending, TestKey, QUIET_PING, QUIET_PING_REPLY, T0};
use mock_server::{
    demo, Account, Fault, FaultAction, JournalQuery, MockServer, NewKey, ResetConnections,
};
use serde_json::{json, Value};

/// The id of `client`'s connection, from `MockServer::connections`.
fn id_of(server: &MockServer, client: &Client) -> u64 {
    let peer = client.local_addr().to_string();
    let listed = serde_json::to_value(server.connections()).expect("connections serialize");
    let entry = listed
        .as_array()
        .expect("an array")
        .iter()
        .find(|c| c["peer"] == peer)
        .unwrap_or_else(|| panic!("{peer} not in {listed}"))
        .clone();
    entry["id"].as_u64().expect("an integer id")
}

#[tokio::test]
async fn connections_and_close_connection_as_methods() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    client.request(&TestKey::demo().logon("1", T0)).await;
    let id = id_of(&server, &client);
    let info = server
        .connections()
        .into_iter()
        .find(|c| c.id == id)
        .expect("listed");
    let info = serde_json::to_value(info).expect("serializes");
    assert_eq!(info["apiKey"], demo::API_KEY, "{info}");
    assert_eq!(info["timeUnit"], "MILLISECOND", "{info}");

    let refused = server
        .close_connection(id, 1001, "")
        .expect_err("1001 may not be chosen");
    assert_eq!(refused.status, 400, "{refused}");
    let unknown = server
        .close_connection(999_999, 1000, "")
        .expect_err("no such connection");
    assert_eq!(unknown.status, 404, "{unknown}");
    server.close_connection(id, 4000, "bye").expect("closes");
    assert_eq!(
        client.ending().await,
        (vec![], Ending::Closed(4000, "bye".to_owned()))
    );
}

#[tokio::test]
async fn drop_and_stall_connection_as_methods() {
    let server = frozen_server().await;
    let mut dropped = Client::connect(&server).await;
    dropped.assert_usable().await;
    let mut stalled = Client::connect(&server).await;
    stalled.assert_usable().await;
    let stalled_id = id_of(&server, &stalled);
    server
        .drop_connection(id_of(&server, &dropped))
        .expect("drops");
    assert_eq!(dropped.ending().await, (vec![], Ending::Cut));
    server.stall_connection(stalled_id).expect("stalls");
    stalled.send(QUIET_PING).await;
    stalled.assert_silent_for(Duration::from_millis(300)).await;
    assert_eq!(
        server.drop_connection(999_999).expect_err("unknown").status,
        404
    );
    assert_eq!(
        server
            .stall_connection(999_999)
            .expect_err("unknown")
            .status,
        404
    );
}

#[tokio::test]
async fn announce_shutdown_as_a_method_counts_the_connections_told() {
    let server = frozen_server().await;
    let mut first = Client::connect(&server).await;
    first.assert_usable().await;
    let mut second = Client::connect(&server).await;
    second.assert_usable().await;
    let id = id_of(&server, &first);
    assert_eq!(
        server
            .announce_shutdown(Some(id), Some(Duration::from_secs(1)))
            .expect("announced"),
        1
    );
    let event: Value = serde_json::from_str(&first.recv().await).expect("JSON");
    assert_eq!(event, json!({"event": {"e": "serverShutdown", "E": T0}}));
    // Only `first` was told: the next frame `second` gets is its reply.
    second.assert_usable().await;
    server.clock().advance(Duration::from_secs(1));
    assert!(matches!(first.ending().await.1, Ending::Closed(1001, _)));
    common::within(server.wait_for_open_connections(|open| open == 1)).await;

    assert_eq!(server.announce_shutdown(None, None).expect("announced"), 1);
    let event: Value = serde_json::from_str(&second.recv().await).expect("JSON");
    assert_eq!(
        event,
        json!({"event": {"e": "serverShutdown", "E": T0 + 1_000}})
    );
    second.assert_usable().await;
    assert_eq!(
        server
            .announce_shutdown(Some(999_999), None)
            .expect_err("unknown")
            .status,
        404
    );
}

#[tokio::test]
async fn faults_added_in_rust_are_listed_over_http_and_the_other_way_round() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let id = server
        .add_fault(Fault {
            method: Some("time".to_owned()),
            connection: None,
            times: Some(1),
            action: FaultAction::NoReply {},
        })
        .expect("added");
    let listed = admin.faults().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["action"], json!({"type": "no-reply"}));

    let over_http = admin
        .add_fault(json!({"method": "ping", "action": {"type": "drop"}}))
        .await;
    let rules = serde_json::to_value(server.faults()).expect("rules serialize");
    let ids: Vec<Value> = rules
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(id), json!(over_http)]);
    assert!(server.remove_fault(over_http));
    assert!(!server.remove_fault(over_http));

    let mut client = Client::connect(&server).await;
    client
        .send(r#"{"id":1,"method":"time","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(client.request(QUIET_PING).await, QUIET_PING_REPLY);
    assert!(server.faults().is_empty(), "the one-time rule is used up");

    let drop_all = Fault {
        method: None,
        connection: Some(999_999),
        times: None,
        action: FaultAction::Drop {},
    };
    assert_eq!(server.add_fault(drop_all).expect_err("unknown").status, 404);
    let from_json: Fault =
        serde_json::from_value(json!({"method": "ping", "action": {"type": "delay", "ms": 10}}))
            .expect("the HTTP body is a Fault");
    server.add_fault(from_json).expect("added");
    server.clear_faults();
    assert!(admin.faults().await.is_empty());
}

#[tokio::test]
async fn journal_and_clear_journal_as_methods() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let sent = r#"{"id":5,"method":"ping","params":{"returnRateLimits":false}}"#;
    let received = client.request(sent).await;
    client.request(r#"{"id":6,"method":"time"}"#).await;
    let pings = server.journal(&JournalQuery {
        method: Some("ping".to_owned()),
        connection: None,
        limit: None,
    });
    let pings = serde_json::to_value(pings).expect("entries serialize");
    assert_eq!(pings.as_array().map(Vec::len), Some(1), "{pings}");
    assert_eq!(pings[0]["request"], sent);
    assert_eq!(pings[0]["reply"], received.as_str());
    let newest = server.journal(&JournalQuery {
        method: None,
        connection: Some(id_of(&server, &client)),
        limit: Some(1),
    });
    let newest = serde_json::to_value(newest).expect("entries serialize");
    assert_eq!(newest[0]["id"], 6, "{newest}");
    // The same journal over HTTP.
    assert_eq!(Admin::new(&server).requests("").await.len(), 2);
    server.clear_journal();
    assert!(Admin::new(&server).requests("").await.is_empty());
}

#[tokio::test]
async fn keys_add_key_and_reset_as_methods() {
    let server = frozen_server().await;
    let keys = serde_json::to_value(server.keys()).expect("keys serialize");
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["apiKey"], demo::API_KEY);
    assert_eq!(keys[0]["type"], "ED25519");

    let new_key = |secret: &str| -> NewKey {
        serde_json::from_value(json!({"apiKey": "Hmac3", "type": "HMAC", "secret": secret}))
            .expect("the HTTP body is a NewKey")
    };
    assert!(!server.add_key(new_key("one")).expect("added"), "new");
    assert!(
        server.add_key(new_key("two")).expect("replaced"),
        "replaced"
    );
    let bad: NewKey = serde_json::from_value(
        json!({"apiKey": "Bad", "type": "ED25519", "publicKey": "not a PEM"}),
    )
    .expect("well-formed JSON");
    assert_eq!(server.add_key(bad).expect_err("does not parse").status, 400);
    assert!(server.revoke_key(demo::API_KEY));
    assert_eq!(server.keys().len(), 1);

    let mut kept = Client::connect(&server).await;
    kept.assert_usable().await;
    server.reset(ResetConnections::Keep);
    let keys = serde_json::to_value(server.keys()).expect("keys serialize");
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["apiKey"], demo::API_KEY);
    kept.assert_usable().await;
    server.reset(ResetConnections::Close);
    assert!(matches!(kept.ending().await.1, Ending::Closed(1012, _)));
}

#[tokio::test]
async fn account_and_deliver_event_as_methods() {
    let server = frozen_server().await;
    assert_eq!(server.account("anyone"), Account::fixture("anyone"));
    let custom = Account::fixture("anyone")
        .with_balances(vec![mock_server::Balance::new("ETH", "1.50", "0")]);
    server.set_account("anyone", custom.clone());
    assert_eq!(server.account("anyone"), custom);
    let over_http = Admin::new(&server)
        .get("/__admin/accounts/anyone")
        .await
        .ok();
    assert_eq!(
        over_http["balances"],
        json!([{"asset": "ETH", "free": "1.50", "locked": "0"}])
    );

    let mut client = Client::connect(&server).await;
    client.request(&TestKey::demo().logon("1", T0)).await;
    client
        .request(
            r#"{"id":2,"method":"userDataStream.subscribe","params":{"returnRateLimits":false}}"#,
        )
        .await;
    server.clock().advance(Duration::from_millis(250));
    assert_eq!(
        server
            .deliver_event(demo::API_KEY, json!({"e": "balanceUpdate", "a": "BTC"}))
            .expect("delivered"),
        1
    );
    let frame: Value = serde_json::from_str(&client.recv().await).expect("JSON");
    assert_eq!(
        frame,
        json!({"subscriptionId": 0, "event": {"e": "balanceUpdate", "E": T0 + 250, "a": "BTC"}})
    );
    let refused = server
        .deliver_event(demo::API_KEY, json!({"a": "BTC"}))
        .expect_err("no `e`");
    assert_eq!(refused.status, 400, "{refused}");
    assert!(!refused.to_string().is_empty());
    assert_eq!(
        server
            .deliver_event("nobody", json!({"e": "balanceUpdate"}))
            .expect("delivered to none"),
        0
    );
}
