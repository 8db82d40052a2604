//! The request journal (issue 12): every WebSocket request with its raw text byte for byte,
//! the raw reply the client received, who sent it and as whom, what it weighed, and the
//! exact payload a signature was verified over (the answer to "why -1022"); `limit`,
//! `method` and `connection` filters, the ring's bound, truncation, and clearing.

mod common;

use common::admin::Admin;
use common::{frozen_builder, frozen_server, start, Client, TestKey, QUIET_PING, T0};
use serde_json::{json, Value};
use test_support::signer::KeyPair;

const SECRET: &str = "bob-secret";

fn ids(entries: &[Value]) -> Vec<Value> {
    entries.iter().map(|e| e["id"].clone()).collect()
}

fn ping(id: u32) -> String {
    format!(r#"{{"id":{id},"method":"ping","params":{{"returnRateLimits":false}}}}"#)
}

#[tokio::test]
async fn an_entry_holds_the_raw_request_and_reply_byte_for_byte_and_who_sent_it() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    // Spacing around and inside, a tab and newlines the server must not normalise.
    let sent = " \t{ \"id\" : 7,\n  \"method\":\"ping\" ,\"params\":{ \"returnRateLimits\" : false } }\r\n";
    let received = client.request(sent).await;
    let connection = admin.id_of(&client).await;

    let entries = admin.requests("").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["request"], sent, "{entry}");
    assert_eq!(entry["reply"], received.as_str(), "{entry}");
    assert!(entry["seq"].is_u64(), "{entry}");
    assert_eq!(entry["at"], T0, "{entry}");
    assert_eq!(entry["connection"], connection, "{entry}");
    assert_eq!(entry["peer"], client.local_addr().to_string(), "{entry}");
    assert_eq!(entry["method"], "ping", "{entry}");
    assert_eq!(entry["id"], 7, "{entry}");
    assert_eq!(entry["status"], 200, "{entry}");
    assert_eq!(entry["error"], Value::Null, "{entry}");
    assert_eq!(entry["weight"], 1, "{entry}");
    assert_eq!(entry["signature"], Value::Null, "{entry}");
    assert_eq!(entry["apiKey"], Value::Null, "{entry}");
    assert_eq!(entry["truncated"], false, "{entry}");
}

#[tokio::test]
async fn escapes_and_non_ascii_text_are_kept_as_sent() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let sent =
        "{\"id\":\"\\u0061b\u{e9}\",\"method\":\"ping\",\"params\":{\"returnRateLimits\":false}}";
    let received = client.request(sent).await;
    let entries = admin.requests("").await;
    assert_eq!(entries[0]["request"], sent);
    assert_eq!(entries[0]["reply"], received.as_str());
}

#[tokio::test]
async fn entries_come_oldest_first_with_the_mock_time_each_was_received_at() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.request(&ping(1)).await;
    admin.advance(1_500).await;
    client.request(r#"{"id":2,"method":"time"}"#).await;
    let entries = admin.requests("").await;
    assert_eq!(ids(&entries), vec![json!(1), json!(2)]);
    assert_eq!(entries[0]["at"], T0);
    assert_eq!(entries[1]["at"], T0 + 1_500);
    assert_eq!(entries[1]["method"], "time");
    assert!(
        entries[0]["seq"].as_u64() < entries[1]["seq"].as_u64(),
        "{entries:?}"
    );
}

#[tokio::test]
async fn an_error_reply_is_journaled_with_its_status_and_error() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let sent = r#"{"id":3,"method":"no.such.method"}"#;
    let reply: Value = serde_json::from_str(&client.request(sent).await).expect("JSON");
    let entries = admin.requests("").await;
    let entry = &entries[0];
    assert_eq!(entry["request"], sent);
    assert_eq!(entry["status"], reply["status"], "{entry}");
    assert_eq!(entry["error"]["code"], reply["error"]["code"], "{entry}");
    assert_eq!(entry["error"]["msg"], reply["error"]["msg"], "{entry}");
}

#[tokio::test]
async fn a_frame_that_does_not_parse_has_null_method_and_id() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let received = client.request("this is not JSON").await;
    let entries = admin.requests("").await;
    let entry = &entries[0];
    assert_eq!(entry["request"], "this is not JSON", "{entry}");
    assert_eq!(entry["method"], Value::Null, "{entry}");
    assert_eq!(entry["id"], Value::Null, "{entry}");
    assert_eq!(entry["reply"], received.as_str(), "{entry}");
    assert_eq!(entry["status"], 400, "{entry}");
}

#[tokio::test]
async fn limit_keeps_the_newest_entries_still_oldest_first() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    for id in 1..=4 {
        client.request(&ping(id)).await;
    }
    assert_eq!(
        ids(&admin.requests("limit=2").await),
        vec![json!(3), json!(4)]
    );
    assert_eq!(ids(&admin.requests("limit=10").await).len(), 4);
}

#[tokio::test]
async fn method_and_connection_filter_the_entries() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut first = Client::connect(&server).await;
    let mut second = Client::connect(&server).await;
    first.request(&ping(1)).await;
    second.request(&ping(2)).await;
    first.request(r#"{"id":3,"method":"time"}"#).await;
    second.request(r#"{"id":4,"method":"time"}"#).await;
    second.request(&ping(5)).await;
    let first_id = admin.id_of(&first).await;
    let second_id = admin.id_of(&second).await;

    let times = admin.requests("method=time").await;
    assert_eq!(ids(&times), vec![json!(3), json!(4)]);
    let of_first = admin.requests(&format!("connection={first_id}")).await;
    assert_eq!(ids(&of_first), vec![json!(1), json!(3)]);
    assert!(of_first.iter().all(|e| e["connection"] == first_id));
    let both = admin
        .requests(&format!("method=ping&connection={second_id}&limit=1"))
        .await;
    assert_eq!(ids(&both), vec![json!(5)]);
    assert_eq!(
        admin.requests("method=session.logon").await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn bad_query_values_are_400() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    for query in ["limit=many", "limit=-1", "connection=first"] {
        let answer = admin.get(&format!("/__admin/requests?{query}")).await;
        assert_eq!(answer.status, 400, "{query}: {answer:?}");
        answer.error();
    }
}

#[tokio::test]
async fn delete_clears_the_journal() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.request(&ping(1)).await;
    assert_eq!(admin.requests("").await.len(), 1);
    let answer = admin.delete("/__admin/requests").await.ok();
    assert!(answer.is_object(), "{answer}");
    assert_eq!(admin.requests("").await, Vec::<Value>::new());
    client.request(&ping(2)).await;
    assert_eq!(ids(&admin.requests("").await), vec![json!(2)]);
}

#[tokio::test]
async fn the_journal_is_a_ring_of_journal_size_entries() {
    let server = start(frozen_builder().journal_size(3)).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    for id in 1..=5 {
        client.request(&ping(id)).await;
    }
    assert_eq!(
        ids(&admin.requests("").await),
        vec![json!(3), json!(4), json!(5)]
    );
}

#[tokio::test]
async fn a_request_over_64_kib_is_kept_truncated() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let sent = format!(
        r#"{{"id":1,"method":"ping","params":{{"returnRateLimits":false,"pad":"{}"}}}}"#,
        "a".repeat(70_000)
    );
    client.request(&sent).await;
    let entries = admin.requests("").await;
    let entry = &entries[0];
    assert_eq!(entry["truncated"], true);
    let kept = entry["request"].as_str().expect("the request text");
    assert!(kept.len() <= 64 * 1024, "{} bytes kept", kept.len());
    assert!(sent.starts_with(kept), "the start of what was sent");
}

// ---------------------------------------------------------------------------------------------
// Signatures

#[tokio::test]
async fn a_1022_shows_the_exact_payload_the_server_verified() {
    let server = start(frozen_builder().hmac_key("BobHmac", SECRET)).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    // Signed without the recvWindow that is sent: the classic -1022.
    let key = KeyPair::hmac("BobHmac", SECRET);
    let signature = key.sign(&format!("apiKey=BobHmac&timestamp={T0}"));
    let sent = format!(
        r#"{{"id":1,"method":"account.status","params":{{"timestamp":{T0},"apiKey":"BobHmac","recvWindow":5000,"signature":"{signature}"}}}}"#
    );
    let reply = client.request_json(&sent).await;
    assert_eq!(reply["error"]["code"], -1022, "{reply}");

    let entries = admin.requests("").await;
    let entry = &entries[0];
    assert_eq!(entry["request"], sent.as_str());
    assert_eq!(entry["status"], 400, "{entry}");
    assert_eq!(entry["error"]["code"], -1022, "{entry}");
    let signature = &entry["signature"];
    assert_eq!(signature["apiKey"], "BobHmac", "{entry}");
    assert_eq!(signature["keyType"], "HMAC", "{entry}");
    assert_eq!(
        signature["payload"],
        format!("apiKey=BobHmac&recvWindow=5000&timestamp={T0}"),
        "{entry}"
    );
    assert_eq!(signature["valid"], false, "{entry}");
}

#[tokio::test]
async fn a_request_signed_for_itself_runs_as_its_key_with_a_valid_signature() {
    let server = start(frozen_builder().hmac_key("BobHmac", SECRET)).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let key = KeyPair::hmac("BobHmac", SECRET);
    let params = key.signed_params(&[
        ("timestamp", &T0.to_string()),
        ("apiKey", r#""BobHmac""#),
        ("omitZeroBalances", "true"),
    ]);
    let sent = format!(r#"{{"id":1,"method":"account.status","params":{params}}}"#);
    assert_eq!(client.request_json(&sent).await["status"], 200);
    let entries = admin.requests("").await;
    let entry = &entries[0];
    assert_eq!(entry["apiKey"], "BobHmac", "{entry}");
    assert_eq!(entry["weight"], 20, "{entry}");
    let signature = &entry["signature"];
    assert_eq!(signature["apiKey"], "BobHmac", "{entry}");
    assert_eq!(signature["keyType"], "HMAC", "{entry}");
    assert_eq!(
        signature["payload"],
        format!("apiKey=BobHmac&omitZeroBalances=true&timestamp={T0}"),
        "{entry}"
    );
    assert_eq!(signature["valid"], true, "{entry}");
}

#[tokio::test]
async fn a_valid_logon_signature_and_the_sessions_key_are_journaled() {
    let alice = TestKey::from_seed("Alice", 1);
    let server = start(alice.register(frozen_builder())).await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    client.request(QUIET_PING).await;

    let entries = admin.requests("").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let logon = &entries[0];
    assert_eq!(logon["method"], "session.logon");
    assert_eq!(logon["apiKey"], "Alice", "{logon}");
    assert_eq!(logon["signature"]["apiKey"], "Alice", "{logon}");
    assert_eq!(logon["signature"]["keyType"], "ED25519", "{logon}");
    assert_eq!(
        logon["signature"]["payload"],
        format!("apiKey=Alice&timestamp={T0}"),
        "{logon}"
    );
    assert_eq!(logon["signature"]["valid"], true, "{logon}");
    // A request of the session carries no signature but runs as the session's key.
    let ping = &entries[1];
    assert_eq!(ping["signature"], Value::Null, "{ping}");
    assert_eq!(ping["apiKey"], "Alice", "{ping}");
}

#[tokio::test]
async fn with_lenient_signing_every_payload_tried_is_listed() {
    let server = start(
        frozen_builder()
            .hmac_key("BobHmac", SECRET)
            .lenient_signing(true),
    )
    .await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let key = KeyPair::hmac("BobHmac", SECRET);
    let sent = format!(
        r#"{{"id":1,"method":"account.status","params":{{"apiKey":"BobHmac","timestamp":{T0},"signature":"{}"}}}}"#,
        key.sign("something else entirely")
    );
    assert_eq!(client.request_json(&sent).await["error"]["code"], -1022);
    let entries = admin.requests("").await;
    let signature = &entries[0]["signature"];
    let raw = format!("apiKey=BobHmac&timestamp={T0}");
    assert_eq!(signature["payload"], raw.as_str(), "{signature}");
    let tried = signature["payloadsTried"]
        .as_array()
        .unwrap_or_else(|| panic!("payloadsTried in {signature}"));
    assert!(tried.contains(&json!(raw)), "{signature}");
}

#[tokio::test]
async fn a_request_whose_reply_a_fault_withheld_has_null_reply_and_status() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "time", "action": {"type": "no-reply"}}))
        .await;
    let mut client = Client::connect(&server).await;
    let sent = r#"{"id":9,"method":"time"}"#;
    client.send(sent).await;
    client.request(QUIET_PING).await;
    let entries = admin.requests("method=time").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["request"], sent);
    assert_eq!(entries[0]["reply"], Value::Null, "{}", entries[0]);
    assert_eq!(entries[0]["status"], Value::Null, "{}", entries[0]);
}

#[tokio::test]
async fn repeated_depth_replies_are_journaled_byte_for_byte() {
    // The book a `depth` answers is cached and the journal keeps it by reference: each
    // entry must still give back the exact reply its client received, whatever its id.
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    let mut received = Vec::new();
    for (id, limit) in [("1", 100), ("\"abc-_9\"", 100), ("null", 5), ("3", 100)] {
        let sent = format!(
            r#"{{"id":{id},"method":"depth","params":{{"symbol":"BTCUSDT","limit":{limit}}}}}"#
        );
        let reply = client.request(&sent).await;
        assert!(reply.contains(r#""status":200"#), "{reply}");
        received.push((sent, reply));
    }
    let entries = admin.requests("").await;
    assert_eq!(entries.len(), received.len(), "{entries:?}");
    for (entry, (sent, reply)) in entries.iter().zip(&received) {
        assert_eq!(entry["request"], sent.as_str(), "{entry}");
        assert_eq!(entry["reply"], reply.as_str(), "{entry}");
        assert_eq!(entry["truncated"], false, "{entry}");
    }
}
