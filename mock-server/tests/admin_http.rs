//! The control plane's plain rows over real HTTP (issue 12): health, the clock, keys,
//! accounts, events and the OpenAPI document, each call's status and body and its effect on
//! what a WebSocket client sees; 400 for bad JSON and out-of-range numbers, 404 for unknown
//! paths, never a 5xx.

mod common;

use std::collections::BTreeSet;

use common::admin::{bad_request, Admin};
use common::{
    frozen_builder, frozen_server, start, Client, TestKey, QUIET_PING, QUIET_PING_REPLY, T0,
};
use mock_server::{demo, Account, MockServer};
use serde_json::{json, Value};
use test_support::signer::KeyPair;

const RSA_PRIVATE: &str = include_str!("keys/rsa-test-private.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa-test-public.pem");
const HMAC_SECRET: &str = "the-hmac-secret-text";

const SUBSCRIBE: &str =
    r#"{"id":"sub","method":"userDataStream.subscribe","params":{"returnRateLimits":false}}"#;

fn alice() -> TestKey {
    TestKey::from_seed("Alice", 1)
}

/// The PEM (SubjectPublicKeyInfo) of an Ed25519 test key's public half.
fn public_pem(key: &TestKey) -> String {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    key.signing
        .verifying_key()
        .to_public_key_pem(Default::default())
        .expect("a public key encodes")
}

/// A server at `T0` with the demo key, Alice (Ed25519), BobHmac (HMAC) and CarolRsa (RSA).
async fn server_with_keys() -> MockServer {
    start(
        alice()
            .register(frozen_builder())
            .hmac_key("BobHmac", HMAC_SECRET)
            .rsa_key(
                "CarolRsa",
                mock_server::rsa_public_key_from_pem(RSA_PUBLIC).expect("the test key parses"),
            ),
    )
    .await
}

/// An `account.status` request signed by `key` at `T0`, with credentials for itself only.
fn signed_account_status(id: u32, key: &KeyPair) -> String {
    let params = key.signed_params(&[
        ("apiKey", &format!("\"{}\"", key.api_key())),
        ("timestamp", &T0.to_string()),
    ]);
    format!(r#"{{"id":{id},"method":"account.status","params":{params}}}"#)
}

fn key_pair(key: &TestKey) -> KeyPair {
    key.pair()
}

/// The entry of `GET /__admin/keys` for `api_key`, if listed.
async fn listed_key(admin: &Admin, api_key: &str) -> Option<Value> {
    let body = admin.get("/__admin/keys").await.ok();
    let keys = body["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("a keys array in {body}"));
    keys.iter().find(|k| k["apiKey"] == api_key).cloned()
}

fn names(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {value}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("a string: {v}"))
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Health

#[tokio::test]
async fn health_answers_ok_and_the_websocket_url() {
    let server = frozen_server().await;
    let body = Admin::new(&server).get("/__admin/health").await.ok();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["url"], server.url(), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Clock

#[tokio::test]
async fn clock_get_shows_the_frozen_mock_time() {
    let server = frozen_server().await;
    let body = Admin::new(&server).get("/__admin/clock").await.ok();
    assert_eq!(body["now"], T0, "{body}");
    assert_eq!(body["frozen"], true, "{body}");
}

#[tokio::test]
async fn clock_set_then_advance_apply_in_that_order_and_clients_see_the_new_time() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let set = T0 + 3_600_000;
    let answer = admin.set_clock(json!({"advance": 1000, "set": set})).await;
    assert_eq!(answer["now"], set + 1000, "{answer}");
    assert_eq!(answer["frozen"], true, "{answer}");
    let shown = admin.get("/__admin/clock").await.ok();
    assert_eq!(shown["now"], set + 1000, "{shown}");
    assert_eq!(server.clock().now().as_millis(), set + 1000);
    let mut client = Client::connect(&server).await;
    let time = client
        .request_json(r#"{"id":1,"method":"time","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(time["result"]["serverTime"], set + 1000, "{time}");
}

#[tokio::test]
async fn clock_advance_moves_the_mock_time_forward() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    assert_eq!(admin.advance(61_000).await["now"], T0 + 61_000);
    assert_eq!(admin.advance(0).await["now"], T0 + 61_000);
    let shown = admin.get("/__admin/clock").await.ok();
    assert_eq!(shown["now"], T0 + 61_000, "{shown}");
}

#[tokio::test]
async fn clock_set_goes_back_in_time() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let answer = admin.set_clock(json!({"set": T0 - 86_400_000})).await;
    assert_eq!(answer["now"], T0 - 86_400_000, "{answer}");
    assert_eq!(server.clock().now().as_millis(), T0 - 86_400_000);
}

#[tokio::test]
async fn clock_set_with_freeze_freezes_a_running_clock_at_exactly_that_instant() {
    let server = start(MockServer::builder()).await;
    let admin = Admin::new(&server);
    assert_eq!(admin.get("/__admin/clock").await.ok()["frozen"], false);
    let answer = admin.set_clock(json!({"set": T0, "freeze": true})).await;
    assert_eq!(answer["now"], T0, "{answer}");
    assert_eq!(answer["frozen"], true, "{answer}");
    let shown = admin.get("/__admin/clock").await.ok();
    assert_eq!(shown["now"], T0, "{shown}");
    assert_eq!(server.clock().now().as_millis(), T0);
}

#[tokio::test]
async fn clock_freeze_false_resumes_running_from_the_mock_time() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let answer = admin.set_clock(json!({"freeze": false})).await;
    assert_eq!(answer["frozen"], false, "{answer}");
    let now = answer["now"].as_i64().expect("now is an integer");
    // From the mock's T0 (2023), not from the machine's time.
    assert!((T0..T0 + 60_000).contains(&now), "{answer}");
    let later = admin.get("/__admin/clock").await.ok();
    assert_eq!(later["frozen"], false, "{later}");
    let later_now = later["now"].as_i64().expect("now is an integer");
    assert!(
        (now..T0 + 60_000).contains(&later_now),
        "{later} after {answer}"
    );
    // Frozen again where it stands.
    let frozen = admin.set_clock(json!({"freeze": true})).await;
    assert_eq!(frozen["frozen"], true);
    let at = frozen["now"].as_i64().expect("now is an integer");
    assert!(at >= later_now, "{frozen} after {later}");
    assert_eq!(admin.get("/__admin/clock").await.ok()["now"], at);
}

/// Every refused clock body: 400 with an error sentence, and the clock untouched.
#[tokio::test]
async fn clock_refuses_bad_json_and_out_of_range_numbers_with_400() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let year_10000 = 253_402_300_800_000_i64;
    let eleven_years = 11 * 365 * 86_400_000_i64;
    for body in [
        "{".to_owned(),
        "not json".to_owned(),
        r#"{"set":"soon"}"#.to_owned(),
        r#"{"advance":"1s"}"#.to_owned(),
        r#"{"freeze":"yes"}"#.to_owned(),
        format!(r#"{{"set":{year_10000}}}"#),
        format!(r#"{{"set":{}}}"#, i64::MAX),
        format!(r#"{{"advance":{eleven_years}}}"#),
        format!(r#"{{"advance":{}}}"#, u64::MAX),
        r#"{"advance":-1}"#.to_owned(),
        r#"{"advance":-86400000}"#.to_owned(),
        r#"{"set":1.5e400}"#.to_owned(),
    ] {
        let answer = admin.post_text("/__admin/clock", &body).await;
        assert_eq!(answer.status, 400, "{body} answered {answer:?}");
        answer.error();
        assert_eq!(
            server.clock().now().as_millis(),
            T0,
            "{body} moved the clock"
        );
    }
    // The last instant of year 9999 is in range.
    let answer = admin.set_clock(json!({"set": year_10000 - 1})).await;
    assert_eq!(answer["now"], year_10000 - 1);
}

// ---------------------------------------------------------------------------------------------
// Keys

#[tokio::test]
async fn keys_lists_every_registered_key_with_its_type_permissions_and_account_and_no_secret() {
    let server = server_with_keys().await;
    let admin = Admin::new(&server);
    let answer = admin.get("/__admin/keys").await.expect(200);
    assert!(
        !answer.text.contains(HMAC_SECRET),
        "a secret is listed: {}",
        answer.text
    );
    let keys = answer.json["keys"]
        .as_array()
        .expect("a keys array")
        .clone();
    assert_eq!(keys.len(), 4, "{keys:?}");
    for (api_key, key_type) in [
        (demo::API_KEY, "ED25519"),
        ("Alice", "ED25519"),
        ("BobHmac", "HMAC"),
        ("CarolRsa", "RSA"),
    ] {
        let key = keys
            .iter()
            .find(|k| k["apiKey"] == api_key)
            .unwrap_or_else(|| panic!("{api_key} not listed in {keys:?}"));
        assert_eq!(key["type"], key_type, "{key}");
        assert_eq!(key["account"], api_key, "{key}");
        // The demo key may trade at once; a key registered without permissions may not.
        let mut expected = BTreeSet::from(["USER_DATA".to_owned(), "USER_STREAM".to_owned()]);
        if api_key == demo::API_KEY {
            expected.insert("TRADE".to_owned());
        }
        assert_eq!(names(&key["permissions"]), expected, "{key}");
        assert!(key.get("secret").is_none(), "{key}");
    }
}

#[tokio::test]
async fn posting_an_ed25519_key_answers_201_and_the_key_logs_on() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let dave = TestKey::from_seed("Dave", 4);
    let answer = admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Dave", "type": "ED25519", "publicKey": public_pem(&dave)}),
        )
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert!(answer.json.is_object(), "{answer:?}");
    let listed = listed_key(&admin, "Dave").await.expect("Dave is listed");
    assert_eq!(listed["type"], "ED25519");
    assert_eq!(listed["account"], "Dave");
    let mut client = Client::connect(&server).await;
    let logon = client.request_json(&dave.logon("1", T0)).await;
    assert_eq!(logon["status"], 200, "{logon}");
    assert_eq!(logon["result"]["apiKey"], "Dave", "{logon}");
}

/// Replacing a key keeps the sessions logged on with it; later signatures verify against
/// the new material only.
#[tokio::test]
async fn posting_a_key_again_answers_200_keeps_sessions_and_verifies_with_the_new_material() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let old = TestKey::from_seed("Dave", 4);
    let new = TestKey::from_seed("Dave", 5);
    let body =
        |key: &TestKey| json!({"apiKey": "Dave", "type": "ED25519", "publicKey": public_pem(key)});
    admin.post("/__admin/keys", body(&old)).await.expect(201);
    let mut session = Client::connect(&server).await;
    assert_eq!(
        session.request_json(&old.logon("1", T0)).await["status"],
        200
    );

    admin.post("/__admin/keys", body(&new)).await.expect(200);
    let status = session
        .request_json(r#"{"id":2,"method":"session.status","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(status["result"]["apiKey"], "Dave", "{status}");

    let mut other = Client::connect(&server).await;
    let by_new = other
        .request_json(&signed_account_status(3, &key_pair(&new)))
        .await;
    assert_eq!(by_new["status"], 200, "{by_new}");
    let by_old = other
        .request_json(&signed_account_status(4, &key_pair(&old)))
        .await;
    assert_eq!(by_old["error"]["code"], -1022, "{by_old}");

    // Replaced by a key of another type: still 200.
    admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Dave", "type": "HMAC", "secret": "s3"}),
        )
        .await
        .expect(200);
    assert_eq!(
        listed_key(&admin, "Dave").await.expect("listed")["type"],
        "HMAC"
    );
}

#[tokio::test]
async fn posting_hmac_and_rsa_keys_registers_them_for_signed_requests() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Hmac2", "type": "HMAC", "secret": "hush"}),
        )
        .await
        .expect(201);
    admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Rsa2", "type": "RSA", "publicKey": RSA_PUBLIC}),
        )
        .await
        .expect(201);
    let answer = admin.get("/__admin/keys").await.expect(200);
    assert!(
        !answer.text.contains("hush"),
        "a secret is listed: {}",
        answer.text
    );
    let mut client = Client::connect(&server).await;
    let hmac = client
        .request_json(&signed_account_status(1, &KeyPair::hmac("Hmac2", "hush")))
        .await;
    assert_eq!(hmac["status"], 200, "{hmac}");
    let rsa = KeyPair::rsa_from_pem("Rsa2", RSA_PRIVATE).expect("the test key parses");
    let rsa = client.request_json(&signed_account_status(2, &rsa)).await;
    assert_eq!(rsa["status"], 200, "{rsa}");
    assert_eq!(
        listed_key(&admin, "Rsa2").await.expect("listed")["type"],
        "RSA"
    );
    assert_eq!(
        listed_key(&admin, "Hmac2").await.expect("listed")["type"],
        "HMAC"
    );
}

#[tokio::test]
async fn a_posted_key_takes_its_permissions_and_account() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Erin", "type": "HMAC", "secret": "e", "permissions": ["USER_DATA"], "account": "shared"}),
        )
        .await
        .expect(201);
    let listed = listed_key(&admin, "Erin").await.expect("listed");
    assert_eq!(
        names(&listed["permissions"]),
        BTreeSet::from(["USER_DATA".to_owned()])
    );
    assert_eq!(listed["account"], "shared");
    let mut client = Client::connect(&server).await;
    let status = client
        .request_json(&signed_account_status(1, &KeyPair::hmac("Erin", "e")))
        .await;
    assert_eq!(
        status["result"]["uid"],
        Account::fixture("shared").uid,
        "{status}"
    );
}

#[tokio::test]
async fn a_key_that_does_not_parse_is_400_naming_why_and_is_not_registered() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let not_pem = admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Bad1", "type": "ED25519", "publicKey": "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n"}),
        )
        .await;
    let why_not_pem = bad_request(&not_pem).to_owned();
    let rsa_as_ed25519 = admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Bad2", "type": "ED25519", "publicKey": RSA_PUBLIC}),
        )
        .await;
    bad_request(&rsa_as_ed25519);
    let ed25519_as_rsa = admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Bad3", "type": "RSA", "publicKey": public_pem(&alice())}),
        )
        .await;
    bad_request(&ed25519_as_rsa);
    let unknown_type = admin
        .post(
            "/__admin/keys",
            json!({"apiKey": "Bad4", "type": "DSA", "publicKey": RSA_PUBLIC}),
        )
        .await;
    let why_type = bad_request(&unknown_type).to_owned();
    // Each failure names its own cause.
    assert_ne!(why_not_pem, why_type);
    for body in [
        json!({"apiKey": "Bad5", "type": "HMAC"}),
        json!({"apiKey": "Bad6", "type": "HMAC", "secret": ""}),
        json!({"apiKey": "Bad7", "type": "ED25519"}),
        json!({"apiKey": "bad-key!", "type": "HMAC", "secret": "s"}),
        json!({"type": "HMAC", "secret": "s"}),
        json!({"apiKey": "Bad8", "type": "HMAC", "secret": "s", "permissions": ["WITHDRAW"]}),
        json!(["not", "an", "object"]),
    ] {
        let answer = admin.post("/__admin/keys", body.clone()).await;
        assert_eq!(answer.status, 400, "{body} answered {answer:?}");
        answer.error();
    }
    bad_request(&admin.post_text("/__admin/keys", "{\"apiKey\":").await);
    let keys = admin.get("/__admin/keys").await.ok();
    assert_eq!(
        keys["keys"].as_array().map(Vec::len),
        Some(1),
        "only the demo key: {keys}"
    );
}

#[tokio::test]
async fn deleting_a_key_answers_revoked_ends_its_session_as_revoke_key_does_and_then_404() {
    let server = server_with_keys().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.request(&alice().logon("1", T0)).await;
    assert_eq!(
        client.request(SUBSCRIBE).await,
        r#"{"id":"sub","status":200,"result":{"subscriptionId":0}}"#
    );
    let answer = admin.delete("/__admin/keys/Alice").await.ok();
    assert_eq!(answer, json!({"revoked": true}));
    assert_eq!(listed_key(&admin, "Alice").await, None);

    // As after `MockServer::revoke_key`: the next request runs anonymously, then the
    // -2015 notice, then the subscription's end.
    let status = client
        .request_json(r#"{"id":2,"method":"session.status","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(status["result"]["apiKey"], Value::Null, "{status}");
    let notice: Value = serde_json::from_str(&client.recv().await).expect("JSON");
    assert_eq!(notice["error"]["code"], -2015, "{notice}");
    let ended: Value = serde_json::from_str(&client.recv().await).expect("JSON");
    assert_eq!(
        ended,
        json!({"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": T0}})
    );
    // The key cannot log on any more.
    let mut other = Client::connect(&server).await;
    let logon = other.request_json(&alice().logon("3", T0)).await;
    assert_eq!(logon["error"]["code"], -2015, "{logon}");

    let again = admin.delete("/__admin/keys/Alice").await;
    assert_eq!(again.status, 404, "{again:?}");
    again.error();
    let never = admin.delete("/__admin/keys/NeverThere").await;
    assert_eq!(never.status, 404, "{never:?}");
}

#[tokio::test]
async fn deleting_a_key_keeps_its_account() {
    let server = server_with_keys().await;
    let admin = Admin::new(&server);
    let custom = json!({"uid": 777, "balances": [{"asset": "ETH", "free": "2.5", "locked": "0"}]});
    admin
        .put("/__admin/accounts/Alice", custom)
        .await
        .expect(200);
    admin.delete("/__admin/keys/Alice").await.expect(200);
    let account = admin.get("/__admin/accounts/Alice").await.ok();
    assert_eq!(account["uid"], 777, "{account}");
    assert_eq!(
        account["balances"],
        json!([{"asset": "ETH", "free": "2.5", "locked": "0"}])
    );
}

// ---------------------------------------------------------------------------------------------
// Accounts

fn balances_json(account: &Account) -> Value {
    Value::Array(
        account
            .balances
            .iter()
            .map(|b| json!({"asset": b.asset, "free": b.free, "locked": b.locked}))
            .collect(),
    )
}

#[tokio::test]
async fn an_account_never_set_answers_the_default_fixture() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let fixture = Account::fixture("nobody");
    let account = admin.get("/__admin/accounts/nobody").await.ok();
    assert_eq!(account["uid"], fixture.uid, "{account}");
    assert_eq!(account["balances"], balances_json(&fixture), "{account}");
}

#[tokio::test]
async fn put_replaces_an_account_keeping_decimal_strings_exactly_and_clients_see_it() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let balances = json!([
        {"asset": "ETH", "free": "0.10000000", "locked": "1.5"},
        {"asset": "BTC", "free": "0", "locked": "0.000000010000"},
        {"asset": "USDT", "free": "123456789012345678901234567890.123456789", "locked": "0.00"}
    ]);
    let answer = admin
        .put(
            &format!("/__admin/accounts/{}", demo::API_KEY),
            json!({"uid": 4242, "balances": balances}),
        )
        .await
        .ok();
    assert_eq!(answer["uid"], 4242, "{answer}");
    assert_eq!(answer["balances"], balances, "{answer}");
    let account = admin
        .get(&format!("/__admin/accounts/{}", demo::API_KEY))
        .await
        .ok();
    assert_eq!(account["uid"], 4242, "{account}");
    assert_eq!(account["balances"], balances, "{account}");

    // `account.status` of the demo key's account shows it.
    let demo_key = TestKey::demo();
    let mut client = Client::connect(&server).await;
    let status = client
        .request_json(&signed_account_status(1, &demo_key.pair()))
        .await;
    assert_eq!(status["result"]["uid"], 4242, "{status}");
    assert_eq!(status["result"]["balances"], balances, "{status}");
}

#[tokio::test]
async fn put_without_uid_keeps_the_current_uid() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let fixture_uid = Account::fixture("carol").uid;
    let answer = admin
        .put(
            "/__admin/accounts/carol",
            json!({"balances": [{"asset": "BNB", "free": "3", "locked": "0"}]}),
        )
        .await
        .ok();
    assert_eq!(answer["uid"], fixture_uid, "{answer}");
    admin
        .put("/__admin/accounts/carol", json!({"uid": 9, "balances": []}))
        .await
        .expect(200);
    let answer = admin
        .put(
            "/__admin/accounts/carol",
            json!({"balances": [{"asset": "ETH", "free": "1", "locked": "2"}]}),
        )
        .await
        .ok();
    assert_eq!(answer["uid"], 9, "{answer}");
    let account = admin.get("/__admin/accounts/carol").await.ok();
    assert_eq!(account["uid"], 9, "{account}");
    assert_eq!(
        account["balances"],
        json!([{"asset": "ETH", "free": "1", "locked": "2"}])
    );
}

#[tokio::test]
async fn put_refuses_a_body_that_is_not_an_account_with_400() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    for body in [
        "{".to_owned(),
        r#"{"balances": "lots"}"#.to_owned(),
        r#"{"balances": [{"asset": "BTC", "free": 1.5, "locked": "0"}]}"#.to_owned(),
        r#"{"balances": [{"asset": "BTC", "free": "1"}]}"#.to_owned(),
        r#"{"uid": -1, "balances": []}"#.to_owned(),
        r#"{"uid": "one", "balances": []}"#.to_owned(),
    ] {
        let answer = admin
            .request(
                hyper::Method::PUT,
                "/__admin/accounts/dan",
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, 400, "{body} answered {answer:?}");
        answer.error();
    }
    let fixture = Account::fixture("dan");
    let account = admin.get("/__admin/accounts/dan").await.ok();
    assert_eq!(account["balances"], balances_json(&fixture), "{account}");
}

// ---------------------------------------------------------------------------------------------
// Events

#[tokio::test]
async fn an_event_reaches_each_subscription_with_e_filled_from_the_mock_clock() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.request(&TestKey::demo().logon("1", T0)).await;
    client.request(SUBSCRIBE).await;
    admin.advance(5_000).await;
    let path = format!("/__admin/accounts/{}/events", demo::API_KEY);
    let event = json!({"e": "balanceUpdate", "a": "BTC", "d": "0.50000000", "T": T0});
    let answer = admin.post(&path, event).await.ok();
    assert_eq!(answer["delivered"], 1, "{answer}");
    let frame: Value = serde_json::from_str(&client.recv().await).expect("JSON");
    assert_eq!(
        frame,
        json!({"subscriptionId": 0, "event": {"e": "balanceUpdate", "E": T0 + 5_000, "a": "BTC", "d": "0.50000000", "T": T0}})
    );

    // An `E` given is kept.
    let given = json!({"e": "outboundAccountPosition", "E": 42, "u": 41, "B": []});
    assert_eq!(admin.post(&path, given.clone()).await.ok()["delivered"], 1);
    let frame: Value = serde_json::from_str(&client.recv().await).expect("JSON");
    assert_eq!(frame, json!({"subscriptionId": 0, "event": given}));
}

#[tokio::test]
async fn a_filled_in_e_is_in_each_connections_time_unit() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut millis = Client::connect(&server).await;
    let mut micros = Client::connect_with_query(&server, "timeUnit=MICROSECOND").await;
    for client in [&mut millis, &mut micros] {
        client.request(&TestKey::demo().logon("1", T0)).await;
        client.request(SUBSCRIBE).await;
    }
    let path = format!("/__admin/accounts/{}/events", demo::API_KEY);
    let answer = admin.post(&path, json!({"e": "balanceUpdate"})).await.ok();
    assert_eq!(answer["delivered"], 2, "{answer}");
    let frame: Value = serde_json::from_str(&millis.recv().await).expect("JSON");
    assert_eq!(frame["event"]["E"], T0, "{frame}");
    let frame: Value = serde_json::from_str(&micros.recv().await).expect("JSON");
    assert_eq!(frame["event"]["E"], T0 * 1000, "{frame}");
}

#[tokio::test]
async fn an_event_to_an_account_without_subscriptions_delivers_0() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let answer = admin
        .post(
            "/__admin/accounts/nobody/events",
            json!({"e": "balanceUpdate", "a": "BTC", "d": "1", "T": T0}),
        )
        .await
        .ok();
    assert_eq!(answer["delivered"], 0, "{answer}");
}

#[tokio::test]
async fn an_event_without_e_is_400_and_goes_nowhere() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.request(&TestKey::demo().logon("1", T0)).await;
    client.request(SUBSCRIBE).await;
    let path = format!("/__admin/accounts/{}/events", demo::API_KEY);
    bad_request(&admin.post(&path, json!({"a": "BTC", "d": "1"})).await);
    bad_request(&admin.post(&path, json!({"e": 5})).await);
    bad_request(&admin.post(&path, json!(["balanceUpdate"])).await);
    bad_request(&admin.post_text(&path, "{\"e\":").await);
    // Replies come in order: had an event been sent, it would come before this reply.
    assert_eq!(client.request(QUIET_PING).await, QUIET_PING_REPLY);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

#[tokio::test]
async fn openapi_json_is_an_openapi_3_document_of_every_call() {
    let server = frozen_server().await;
    let answer = Admin::new(&server)
        .get("/__admin/openapi.json")
        .await
        .expect(200);
    let document = &answer.json;
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("3."),
        "openapi: {:?}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().expect("a paths object");
    // `{apiKey}`, `{id}`… spelled any way; the prefix may sit in `servers` instead.
    let normalise = |path: &str| {
        let path = path.strip_prefix("/__admin").unwrap_or(path);
        let mut out = String::new();
        let mut in_name = false;
        for c in path.chars() {
            match c {
                '{' => {
                    in_name = true;
                    out.push_str("{}");
                }
                '}' => in_name = false,
                c if !in_name => out.push(c),
                _ => {}
            }
        }
        out
    };
    let documented: Vec<(String, &Value)> =
        paths.iter().map(|(p, item)| (normalise(p), item)).collect();
    for (path, methods) in [
        ("/health", &["get"][..]),
        ("/clock", &["get", "post"]),
        ("/keys", &["get", "post"]),
        ("/keys/{}", &["delete"]),
        ("/accounts/{}", &["get", "put"]),
        ("/accounts/{}/events", &["post"]),
        ("/symbols", &["get"]),
        ("/symbols/{}/price", &["post"]),
        ("/symbols/{}/status", &["post"]),
        ("/connections", &["get"]),
        ("/connections/{}/close", &["post"]),
        ("/connections/{}/drop", &["post"]),
        ("/connections/{}/stall", &["post"]),
        ("/server-shutdown", &["post"]),
        ("/faults", &["get", "post", "delete"]),
        ("/faults/{}", &["delete"]),
        ("/requests", &["get", "delete"]),
        ("/reset", &["post"]),
        ("/openapi.json", &["get"]),
    ] {
        let item = documented
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, item)| item)
            .unwrap_or_else(|| panic!("{path} is not documented; paths: {:?}", paths.keys()));
        for method in methods {
            assert!(
                item.get(method).is_some(),
                "{method} {path} is not documented"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unknown paths

#[tokio::test]
async fn unknown_admin_paths_and_paths_outside_the_api_get_a_real_http_404() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    for path in [
        "/__admin/nothing-here",
        "/__admin/clock/extra",
        "/__admin/keys/a/b",
    ] {
        let answer = admin.get(path).await;
        assert_eq!(answer.status, 404, "GET {path}: {answer:?}");
        answer.error();
    }
    for path in [
        "/",
        "/elsewhere",
        "/ws-api/v2",
        "/api/v3/ping",
        "/__adminx/health",
    ] {
        assert_eq!(admin.get(path).await.status, 404, "GET {path}");
        assert_eq!(admin.post(path, json!({})).await.status, 404, "POST {path}");
    }
    // The WebSocket API is unaffected.
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn unknown_connections_keys_and_faults_are_404() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    for answer in [
        admin
            .post("/__admin/connections/999999/close", json!({}))
            .await,
        admin.post_empty("/__admin/connections/999999/drop").await,
        admin.post_empty("/__admin/connections/999999/stall").await,
        admin
            .post("/__admin/server-shutdown", json!({"connection": 999999}))
            .await,
        admin.delete("/__admin/keys/nobodyKey").await,
        admin.delete("/__admin/faults/999999").await,
    ] {
        assert_eq!(answer.status, 404, "{answer:?}");
        answer.error();
    }
}

// ---------------------------------------------------------------------------------------------
// Never a 5xx

/// Every call with bodies of every wrong shape, and path parameters that are not ids: each
/// answers a documented 4xx or 2xx, never a 5xx, and the server goes on answering.
#[tokio::test]
async fn no_body_or_path_parameter_gets_a_5xx() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let id = admin.id_of(&client).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies = [
        String::new(),
        "{".to_owned(),
        "null".to_owned(),
        "[]".to_owned(),
        "{}".to_owned(),
        "1".to_owned(),
        "\"text\"".to_owned(),
        deep,
        r#"{"set":1e400,"advance":-0.5,"freeze":null}"#.to_owned(),
        r#"{"times":18446744073709551616,"connection":-5,"code":70000,"reason":7,"ms":1e20}"#
            .to_owned(),
        r#"{"apiKey":"","type":"","publicKey":"","secret":"","permissions":"x","account":5}"#
            .to_owned(),
        r#"{"uid":1e30,"balances":[null,{"asset":5}]}"#.to_owned(),
        r#"{"action":{"type":"reply","status":70000,"error":{"code":1e10,"msg":null}}}"#.to_owned(),
        r#"{"action":{"type":"delay","ms":18446744073709551616}}"#.to_owned(),
        r#"{"connection":"all","closeAfter":-1}"#.to_owned(),
        "\u{0}\u{1}\u{fffd}".to_owned(),
    ];
    let paths = [
        ("POST", "/__admin/clock".to_owned()),
        ("POST", "/__admin/keys".to_owned()),
        ("PUT", "/__admin/accounts/someone".to_owned()),
        ("POST", "/__admin/accounts/someone/events".to_owned()),
        ("POST", format!("/__admin/connections/{id}/close")),
        ("POST", "/__admin/server-shutdown".to_owned()),
        ("POST", "/__admin/faults".to_owned()),
        ("POST", "/__admin/reset".to_owned()),
    ];
    for (method, path) in &paths {
        for body in &bodies {
            let method = method.parse().expect("a method");
            let answer = admin.request(method, path, Some(body.clone())).await;
            assert!(
                matches!(answer.status, 200 | 201 | 400 | 404 | 409),
                "{path} with {:?}: {answer:?}",
                body.chars().take(80).collect::<String>()
            );
        }
    }
    for path in [
        "/__admin/connections/abc/close",
        "/__admin/connections/-1/drop",
        "/__admin/connections/99999999999999999999999/stall",
        "/__admin/connections//close",
        "/__admin/faults/abc",
        "/__admin/faults/-1",
        "/__admin/keys/%FF%FE",
        "/__admin/keys/a%2Fb",
        "/__admin/accounts/%FF/events",
        "/__admin/requests?limit=99999999999999999999999",
        "/__admin/requests?connection=-1&method=%FF",
    ] {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            let answer = admin
                .request(
                    method.parse().expect("a method"),
                    path,
                    Some("{}".to_owned()),
                )
                .await;
            assert!(
                (200..500).contains(&answer.status),
                "{method} {path}: {answer:?}"
            );
        }
    }
    admin.get("/__admin/health").await.ok();
}
