//! `POST /__admin/reset` (issue 12): back to the start-up state. Keys, accounts and the
//! clock as configured; faults, the journal, weight counters and bans cleared; connections
//! closed with 1012, or kept with `{"connections": "keep"}` (a kept session whose key the
//! reset removed is logged out).

mod common;

use std::time::Duration;

use common::admin::{bad_request, Admin};
use common::{frozen_builder, frozen_server, start, Client, Ending, TestKey, QUIET_PING, T0};
use mock_server::{demo, Account, BanPolicy};
use serde_json::{json, Value};

fn public_pem(key: &TestKey) -> String {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    key.signing
        .verifying_key()
        .to_public_key_pem(Default::default())
        .expect("a public key encodes")
}

async fn listed_keys(admin: &Admin) -> Vec<String> {
    let body = admin.get("/__admin/keys").await.ok();
    let mut keys: Vec<String> = body["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("a keys array in {body}"))
        .iter()
        .map(|k| k["apiKey"].as_str().unwrap_or_default().to_owned())
        .collect();
    keys.sort();
    keys
}

fn count_of(reply: &Value) -> &Value {
    &reply["rateLimits"][0]["count"]
}

#[tokio::test]
async fn reset_answers_an_empty_object_and_brings_back_a_removed_key() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .delete(&format!("/__admin/keys/{}", demo::API_KEY))
        .await
        .expect(200);
    admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Added", "type": "HMAC", "secret": "s"}),
        )
        .await
        .expect(201);
    assert_eq!(listed_keys(&admin).await, vec!["Added".to_owned()]);

    assert_eq!(
        admin.post("/__admin/reset", json!({})).await.ok(),
        json!({})
    );
    assert_eq!(listed_keys(&admin).await, vec![demo::API_KEY.to_owned()]);
    let mut client = Client::connect(&server).await;
    let logon = client.request_json(&TestKey::demo().logon("1", T0)).await;
    assert_eq!(logon["result"]["apiKey"], demo::API_KEY, "{logon}");
}

#[tokio::test]
async fn reset_closes_connections_with_1012_and_the_weight_counter_starts_again() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    for count in 3..=5 {
        let reply = client.request_json(r#"{"id":1,"method":"ping"}"#).await;
        assert_eq!(count_of(&reply), count, "{reply}");
    }
    admin.post_empty("/__admin/reset").await.expect(200);
    let (texts, ending) = client.ending().await;
    assert!(texts.is_empty(), "{texts:?}");
    assert!(matches!(ending, Ending::Closed(1012, _)), "{ending:?}");
    // A new connection costs 2 again, and its first ping brings the count to 3.
    let mut again = Client::connect(&server).await;
    let reply = again.request_json(r#"{"id":2,"method":"ping"}"#).await;
    assert_eq!(count_of(&reply), 3, "{reply}");
}

#[tokio::test]
async fn reset_with_connections_close_is_the_default_spelled_out() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    admin
        .post("/__admin/reset", json!({"connections": "close"}))
        .await
        .expect(200);
    assert!(matches!(client.ending().await.1, Ending::Closed(1012, _)));
    common::within(server.wait_for_open_connections(|open| open == 0)).await;
    assert_eq!(admin.connections().await, Vec::<Value>::new());
}

#[tokio::test]
async fn reset_keeping_connections_leaves_them_open_with_the_weight_cleared() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    for _ in 0..3 {
        client.request(r#"{"id":1,"method":"ping"}"#).await;
    }
    admin
        .post("/__admin/reset", json!({"connections": "keep"}))
        .await
        .expect(200);
    let reply = client.request_json(r#"{"id":2,"method":"ping"}"#).await;
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(count_of(&reply), 1, "weight cleared: {reply}");
    assert_eq!(admin.connections().await.len(), 1);
}

#[tokio::test]
async fn reset_brings_back_the_configured_clock_accounts_and_clears_faults_and_journal() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    admin.advance(10_000).await;
    admin
        .put(
            "/__admin/accounts/nobody",
            json!({"uid": 1, "balances": [{"asset": "ETH", "free": "1", "locked": "0"}]}),
        )
        .await
        .expect(200);
    admin
        .add_fault(json!({"method": "time", "action": {"type": "drop"}}))
        .await;
    assert!(!admin.requests("").await.is_empty());

    admin
        .post("/__admin/reset", json!({"connections": "keep"}))
        .await
        .expect(200);
    let clock = admin.get("/__admin/clock").await.ok();
    assert_eq!(clock["now"], T0, "{clock}");
    assert_eq!(clock["frozen"], true, "{clock}");
    let account = admin.get("/__admin/accounts/nobody").await.ok();
    assert_eq!(account["uid"], Account::fixture("nobody").uid, "{account}");
    assert_eq!(admin.faults().await, Vec::<Value>::new());
    assert_eq!(admin.requests("").await, Vec::<Value>::new());
    // The fault is gone: `time` answers.
    let time = client
        .request_json(r#"{"id":1,"method":"time","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(time["result"]["serverTime"], T0, "{time}");
}

#[tokio::test]
async fn reset_restores_configured_accounts_not_the_default_fixture() {
    let configured = Account::fixture("main").with_balances(vec![mock_server::Balance::new(
        "ETH",
        "7.00000000",
        "0.00000000",
    )]);
    let server = start(frozen_builder().account("main", configured)).await;
    let admin = Admin::new(&server);
    admin
        .put("/__admin/accounts/main", json!({"balances": []}))
        .await
        .expect(200);
    admin.post("/__admin/reset", json!({})).await.expect(200);
    let account = admin.get("/__admin/accounts/main").await.ok();
    assert_eq!(
        account["balances"],
        json!([{"asset": "ETH", "free": "7.00000000", "locked": "0.00000000"}])
    );
}

#[tokio::test]
async fn reset_clears_bans() {
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
    let refused = common::refused_upgrade(&server, mock_server::PATH).await;
    assert_eq!(refused.status, 418);
    admin.post("/__admin/reset", json!({})).await.expect(200);
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn a_kept_session_whose_key_reset_removed_is_logged_out_and_its_stream_terminated() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let temp = TestKey::from_seed("Temp", 7);
    admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Temp", "type": "ED25519", "publicKey": public_pem(&temp)}),
        )
        .await
        .expect(201);
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request_json(&temp.logon("1", T0)).await["status"],
        200
    );
    client
        .request(
            r#"{"id":2,"method":"userDataStream.subscribe","params":{"returnRateLimits":false}}"#,
        )
        .await;
    admin
        .post("/__admin/reset", json!({"connections": "keep"}))
        .await
        .expect(200);

    // The event may come before or after the reply to a request sent now, and a -2015
    // notice may come too: read until both the reply and the event are in.
    client
        .send(r#"{"id":3,"method":"session.status","params":{"returnRateLimits":false}}"#)
        .await;
    let mut status = None;
    let mut terminated = false;
    for _ in 0..4 {
        if status.is_some() && terminated {
            break;
        }
        let frame: Value = serde_json::from_str(&client.recv().await).expect("JSON");
        if frame["id"] == 3 {
            status = Some(frame);
        } else if frame["event"]["e"] == "eventStreamTerminated" {
            assert_eq!(frame["subscriptionId"], 0, "{frame}");
            terminated = true;
        }
    }
    assert!(terminated, "no eventStreamTerminated");
    let status = status.expect("the session.status reply");
    assert_eq!(status["result"]["apiKey"], Value::Null, "{status}");
    assert_eq!(listed_keys(&admin).await, vec![demo::API_KEY.to_owned()]);
}

#[tokio::test]
async fn reset_refuses_an_unknown_connections_mode_with_400() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    bad_request(
        &admin
            .post("/__admin/reset", json!({"connections": "sometimes"}))
            .await,
    );
    bad_request(&admin.post_text("/__admin/reset", "{").await);
    client.assert_usable().await;
}

#[tokio::test]
async fn reset_keeps_id_counters_going() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut before = Client::connect(&server).await;
    before.assert_usable().await;
    let connection_before = admin.id_of(&before).await;
    let fault_before = admin
        .add_fault(json!({"method": "nothing.matches", "action": {"type": "drop"}}))
        .await;
    admin.post("/__admin/reset", json!({})).await.expect(200);
    let mut after = Client::connect(&server).await;
    after.assert_usable().await;
    assert_ne!(admin.id_of(&after).await, connection_before);
    let fault_after = admin
        .add_fault(json!({"method": "nothing.matches", "action": {"type": "drop"}}))
        .await;
    assert_ne!(fault_after, fault_before);
}

#[tokio::test]
async fn reset_clears_the_connection_counter() {
    let server = start(frozen_builder().connection_rate_limit(1)).await;
    let admin = Admin::new(&server);
    Client::connect(&server).await.assert_usable().await;
    let refused = common::refused_upgrade(&server, mock_server::PATH).await;
    assert_eq!(refused.status, 429, "the second connection in five minutes");
    admin.post("/__admin/reset", json!({})).await.expect(200);
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn reset_sets_a_configured_running_clock_running_again_on_the_machines_time() {
    let server = start(mock_server::MockServer::builder()).await;
    let admin = Admin::new(&server);
    let frozen = admin.set_clock(json!({"set": T0, "freeze": true})).await;
    assert_eq!(frozen["now"], T0);
    admin.post("/__admin/reset", json!({})).await.expect(200);
    let clock = admin.get("/__admin/clock").await.ok();
    assert_eq!(clock["frozen"], false, "{clock}");
    let machine = mock_server::Timestamp::system_now().as_millis();
    let now = clock["now"].as_i64().expect("an integer");
    assert!((now - machine).abs() < 60_000, "{clock} against {machine}");
}
