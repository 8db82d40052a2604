//! Faults through the control plane (issue 12), each action as a client sees it: a canned
//! reply carrying the request's `id` and `rateLimits` (weight charged, request not run), a
//! late reply, no reply, a close with a code, a cut connection; `times` counting down, the
//! list and its removal, one rule per request (the oldest), `method` with or without `v3/`,
//! and the refusals.

mod common;

use std::time::{Duration, Instant};

use common::admin::{bad_request, Admin};
use common::{
    frozen_server, Client, Ending, Frame, RawClient, TestKey, OP_TEXT, QUIET_PING,
    QUIET_PING_REPLY, T0,
};
use mock_server::demo;
use serde_json::{json, Value};

const BUSY: &str =
    "Server is currently overloaded with other requests. Please try again in a few minutes.";

/// A `reply` action answering 503 with error `code`.
fn reply_action(code: i64) -> Value {
    json!({"type": "reply", "status": 503, "error": {"code": code, "msg": BUSY}})
}

/// The canned reply to request `id` with error `code`, after charging the weight to `count`.
fn canned(id: Value, code: i64, count: u32) -> Value {
    json!({
        "id": id,
        "status": 503,
        "error": {"code": code, "msg": BUSY},
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": count}]
    })
}

/// The normal `ping` reply to `id` at weight `count`.
fn pong(id: Value, count: u32) -> Value {
    json!({
        "id": id,
        "status": 200,
        "result": {},
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": count}]
    })
}

const TIME: &str = r#"{"id":"t","method":"time","params":{"returnRateLimits":false}}"#;
fn time_reply() -> Value {
    json!({"id": "t", "status": 200, "result": {"serverTime": T0}})
}

const STATUS: &str = r#"{"id":"st","method":"session.status","params":{"returnRateLimits":false}}"#;

// ---------------------------------------------------------------------------------------------
// reply

#[tokio::test]
async fn a_reply_fault_answers_with_the_requests_id_and_rate_limits_and_charges_the_weight() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "session.status", "action": reply_action(-1008)}))
        .await;
    let mut client = Client::connect(&server).await;
    // The connection cost 2; session.status weighs 2.
    assert_eq!(
        client
            .request_json(r#"{"id":"s1","method":"session.status"}"#)
            .await,
        canned(json!("s1"), -1008, 4)
    );
    // Without `times`, until removed.
    assert_eq!(
        client
            .request_json(r#"{"id":7,"method":"session.status"}"#)
            .await,
        canned(json!(7), -1008, 6)
    );
    // Other methods are not matched.
    assert_eq!(
        client.request_json(r#"{"id":8,"method":"ping"}"#).await,
        pong(json!(8), 7)
    );
}

#[tokio::test]
async fn a_reply_fault_keeps_the_raw_order_of_a_normal_error_reply() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "ping", "action": reply_action(-1008)}))
        .await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(r#"{"id":1,"method":"ping"}"#).await,
        format!(
            r#"{{"id":1,"status":503,"error":{{"code":-1008,"msg":"{BUSY}"}}{}}}"#,
            common::weight(3)
        )
    );
}

#[tokio::test]
async fn a_reply_fault_does_not_run_the_request() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let rule = admin
        .add_fault(json!({"method": "session.logon", "action": reply_action(-1008)}))
        .await;
    let mut client = Client::connect(&server).await;
    let reply = client.request_json(&TestKey::demo().logon("1", T0)).await;
    assert_eq!(reply, canned(json!(1), -1008, 4));
    let status = client.request_json(STATUS).await;
    assert_eq!(
        status["result"]["apiKey"],
        Value::Null,
        "not logged on: {status}"
    );
    admin
        .delete(&format!("/__admin/faults/{rule}"))
        .await
        .expect(200);
    let logon = client.request_json(&TestKey::demo().logon("2", T0)).await;
    assert_eq!(logon["result"]["apiKey"], demo::API_KEY, "{logon}");
}

#[tokio::test]
async fn a_reply_fault_leaves_out_rate_limits_where_the_normal_reply_would() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "ping", "action": reply_action(-1008)}))
        .await;
    let mut client = Client::connect_with_query(&server, "returnRateLimits=false").await;
    assert_eq!(
        client.request_json(r#"{"id":1,"method":"ping"}"#).await,
        json!({"id": 1, "status": 503, "error": {"code": -1008, "msg": BUSY}})
    );
}

// ---------------------------------------------------------------------------------------------
// delay, no-reply, close, drop

#[tokio::test]
async fn a_delay_fault_sends_the_normal_reply_that_much_later() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "time", "action": {"type": "delay", "ms": 200}}))
        .await;
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let sent = Instant::now();
    let reply = client.request_json(TIME).await;
    let elapsed = sent.elapsed();
    assert_eq!(reply, time_reply());
    assert!(
        elapsed >= Duration::from_millis(200),
        "came after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_no_reply_fault_runs_the_request_and_never_sends_its_reply() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "session.logon", "action": {"type": "no-reply"}}))
        .await;
    let mut client = Client::connect(&server).await;
    client.send(&TestKey::demo().logon("1", T0)).await;
    // Replies come in order: the next frame is the ping's, so none came for the logon.
    assert_eq!(client.request(QUIET_PING).await, QUIET_PING_REPLY);
    // It ran: the session is logged on.
    let status = client.request_json(STATUS).await;
    assert_eq!(status["result"]["apiKey"], demo::API_KEY, "{status}");
}

#[tokio::test]
async fn a_close_fault_runs_the_request_then_closes_with_the_code_before_its_reply() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "session.logon", "action": {"type": "close", "code": 4002, "reason": "fault"}}))
        .await;
    let mut client = Client::connect(&server).await;
    client.send(&TestKey::demo().logon("1", T0)).await;
    assert_eq!(
        client.ending().await,
        (vec![], Ending::Closed(4002, "fault".to_owned()))
    );
    // It ran and was charged: 2 for that connection, 2 for the logon, 2 for this one, 1.
    let mut next = Client::connect(&server).await;
    assert_eq!(
        next.request_json(r#"{"id":1,"method":"ping"}"#).await,
        pong(json!(1), 7)
    );
    // Its reply was never sent.
    let journal = admin.requests("method=session.logon").await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["reply"], Value::Null, "{}", journal[0]);
    assert_eq!(journal[0]["status"], Value::Null, "{}", journal[0]);
}

#[tokio::test]
async fn a_canned_reply_is_journaled_as_the_client_received_it() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "ping", "action": reply_action(-1008)}))
        .await;
    let mut client = Client::connect(&server).await;
    let sent = r#"{"id":"c","method":"ping"}"#;
    let received = client.request(sent).await;
    let journal = admin.requests("").await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["request"], sent);
    assert_eq!(journal[0]["reply"], received.as_str());
    assert_eq!(journal[0]["status"], 503);
    assert_eq!(journal[0]["error"]["code"], -1008);
    assert_eq!(journal[0]["weight"], 1);
}

#[tokio::test]
async fn a_close_fault_without_a_reason_closes_with_the_code_alone() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "time", "action": {"type": "close", "code": 1000}}))
        .await;
    let mut client = Client::connect(&server).await;
    client.send(TIME).await;
    assert_eq!(
        client.ending().await,
        (vec![], Ending::Closed(1000, String::new()))
    );
}

#[tokio::test]
async fn a_drop_fault_cuts_the_connection_without_a_close_frame_or_a_reply() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "time", "action": {"type": "drop"}}))
        .await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    raw.write_frame(OP_TEXT, TIME.as_bytes()).await;
    assert_eq!(raw.frames_until_end().await, Vec::<Frame>::new());
}

// ---------------------------------------------------------------------------------------------
// times, the list, removal

#[tokio::test]
async fn times_count_down_in_the_list_and_a_used_up_rule_leaves_it() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let id = admin
        .add_fault(json!({"method": "time", "times": 2, "action": reply_action(-1008)}))
        .await;
    let listed = admin.faults().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let rule = &listed[0];
    assert_eq!(rule["id"], id, "{rule}");
    assert_eq!(rule["method"], "time", "{rule}");
    assert_eq!(rule["connection"], Value::Null, "{rule}");
    assert_eq!(rule["times"], 2, "{rule}");
    assert_eq!(rule["remaining"], 2, "{rule}");
    assert_eq!(rule["action"], reply_action(-1008), "{rule}");

    let mut client = Client::connect_with_query(&server, "returnRateLimits=false").await;
    let faulted = json!({"id": "t", "status": 503, "error": {"code": -1008, "msg": BUSY}});
    assert_eq!(client.request_json(TIME).await, faulted);
    assert_eq!(admin.faults().await[0]["remaining"], 1);
    assert_eq!(client.request_json(TIME).await, faulted);
    assert_eq!(admin.faults().await, Vec::<Value>::new());
    assert_eq!(client.request_json(TIME).await, time_reply());
}

#[tokio::test]
async fn a_rule_without_times_stays_listed_with_no_count() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"action": {"type": "no-reply"}}))
        .await;
    let listed = admin.faults().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["method"], Value::Null);
    assert_eq!(listed[0]["times"], Value::Null);
    assert_eq!(listed[0]["action"], json!({"type": "no-reply"}));
}

#[tokio::test]
async fn faults_are_removed_one_by_one_or_all_at_once() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let first = admin
        .add_fault(json!({"method": "time", "action": reply_action(-1001)}))
        .await;
    let second = admin
        .add_fault(json!({"method": "ping", "action": reply_action(-1002)}))
        .await;
    let third = admin
        .add_fault(json!({"method": "session.status", "action": reply_action(-1003)}))
        .await;
    assert!(first != second && second != third && first != third);
    let answer = admin.delete(&format!("/__admin/faults/{first}")).await.ok();
    assert!(answer.is_object(), "{answer}");
    let ids: Vec<Value> = admin
        .faults()
        .await
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(second), json!(third)]);
    let again = admin.delete(&format!("/__admin/faults/{first}")).await;
    assert_eq!(again.status, 404, "{again:?}");
    again.error();
    let mut client = Client::connect_with_query(&server, "returnRateLimits=false").await;
    assert_eq!(client.request_json(TIME).await, time_reply());

    admin.delete("/__admin/faults").await.expect(200);
    assert_eq!(admin.faults().await, Vec::<Value>::new());
    assert_eq!(client.request(QUIET_PING).await, QUIET_PING_REPLY);
    let status = client.request_json(STATUS).await;
    assert_eq!(status["status"], 200, "{status}");
}

// ---------------------------------------------------------------------------------------------
// Matching

#[tokio::test]
async fn a_rule_without_method_or_connection_matches_every_request() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"times": 2, "action": reply_action(-1008)}))
        .await;
    let mut client = Client::connect_with_query(&server, "returnRateLimits=false").await;
    let faulted =
        |id: &str| json!({"id": id, "status": 503, "error": {"code": -1008, "msg": BUSY}});
    assert_eq!(client.request_json(TIME).await, faulted("t"));
    assert_eq!(client.request_json(STATUS).await, faulted("st"));
    assert_eq!(client.request(QUIET_PING).await, QUIET_PING_REPLY);
}

#[tokio::test]
async fn a_rule_for_one_connection_spares_the_others() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut target = Client::connect_with_query(&server, "returnRateLimits=false").await;
    target.assert_usable().await;
    let mut other = Client::connect_with_query(&server, "returnRateLimits=false").await;
    other.assert_usable().await;
    let id = admin.id_of(&target).await;
    admin
        .add_fault(json!({"connection": id, "action": reply_action(-1008)}))
        .await;
    assert_eq!(admin.faults().await[0]["connection"], id);
    assert_eq!(other.request_json(TIME).await, time_reply());
    assert_eq!(
        target.request_json(TIME).await,
        json!({"id": "t", "status": 503, "error": {"code": -1008, "msg": BUSY}})
    );
    assert_eq!(other.request(QUIET_PING).await, QUIET_PING_REPLY);
}

#[tokio::test]
async fn a_rule_naming_an_unknown_connection_is_404() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let answer = admin
        .post(
            "/__admin/faults",
            json!({"connection": 999_999, "action": {"type": "drop"}}),
        )
        .await;
    assert_eq!(answer.status, 404, "{answer:?}");
    answer.error();
    assert_eq!(admin.faults().await, Vec::<Value>::new());
}

#[tokio::test]
async fn one_rule_applies_per_request_the_oldest_matching_one() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let older = admin
        .add_fault(json!({"method": "ping", "times": 1, "action": reply_action(-1001)}))
        .await;
    let newer = admin
        .add_fault(json!({"method": "ping", "times": 1, "action": reply_action(-1002)}))
        .await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request_json(r#"{"id":1,"method":"ping"}"#).await,
        canned(json!(1), -1001, 3)
    );
    let left = admin.faults().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], newer);
    assert_eq!(
        left[0]["remaining"], 1,
        "the newer rule was not used: {left:?}"
    );
    assert_ne!(left[0]["id"], older);
    assert_eq!(
        client.request_json(r#"{"id":2,"method":"ping"}"#).await,
        canned(json!(2), -1002, 4)
    );
    assert_eq!(
        client.request_json(r#"{"id":3,"method":"ping"}"#).await,
        pong(json!(3), 5)
    );
}

#[tokio::test]
async fn method_matches_with_or_without_the_v3_prefix() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .add_fault(json!({"method": "v3/time", "times": 1, "action": reply_action(-1001)}))
        .await;
    admin
        .add_fault(json!({"method": "time", "times": 1, "action": reply_action(-1002)}))
        .await;
    let mut client = Client::connect_with_query(&server, "returnRateLimits=false").await;
    let faulted =
        |code: i64| json!({"id": "t", "status": 503, "error": {"code": code, "msg": BUSY}});
    assert_eq!(client.request_json(TIME).await, faulted(-1001));
    assert_eq!(client.request_json(TIME).await, faulted(-1002));
    assert_eq!(client.request_json(TIME).await, time_reply());
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn faults_refuse_bad_json_and_out_of_range_numbers_with_400() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    for body in [
        json!({"method": "ping"}),
        json!({"action": {"type": "explode"}}),
        json!({"action": "drop"}),
        json!({"times": 0, "action": {"type": "drop"}}),
        json!({"times": -1, "action": {"type": "drop"}}),
        json!({"times": "twice", "action": {"type": "drop"}}),
        json!({"action": {"type": "close", "code": 1001}}),
        json!({"action": {"type": "close", "code": 999}}),
        json!({"action": {"type": "close", "code": 2999}}),
        json!({"action": {"type": "close", "code": 5000}}),
        json!({"action": {"type": "close"}}),
        json!({"action": {"type": "close", "code": 4000, "reason": "x".repeat(124)}}),
        json!({"action": {"type": "delay", "ms": -1}}),
        json!({"action": {"type": "delay"}}),
        json!({"connection": -1, "action": {"type": "drop"}}),
        json!(["drop"]),
    ] {
        let answer = admin.post("/__admin/faults", body.clone()).await;
        assert_eq!(answer.status, 400, "{body} answered {answer:?}");
        answer.error();
    }
    bad_request(&admin.post_text("/__admin/faults", "{\"action\":").await);
    assert_eq!(admin.faults().await, Vec::<Value>::new());
    // The edge of the close codes is accepted.
    for code in [1000, 3000, 4999] {
        let answer = admin
            .post(
                "/__admin/faults",
                json!({"method": "nothing.matches", "action": {"type": "close", "code": code, "reason": "x".repeat(123)}}),
            )
            .await;
        assert_eq!(answer.status, 201, "{code}: {answer:?}");
    }
}
