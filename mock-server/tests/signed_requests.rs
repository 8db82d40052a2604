//! Signed requests after logon (spec §4.2, §6.3, §6.4): the session key, a request's own
//! credentials for that request only, HMAC and RSA keys, permissions, revocation (§4.7).

mod common;

use common::*;
use mock_server::{Account, Balance, KeyMaterial, Permissions};
use serde_json::Value;
use test_support::errors as golden;
use test_support::signer::{params_with_signature, KeyPair};

const HMAC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const RSA_PRIVATE: &str = include_str!("keys/rsa-test-private.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa-test-public.pem");

fn bob_sign(payload: &str) -> String {
    common::hmac_sign(HMAC_SECRET, payload)
}

fn rsa_sign(payload: &str) -> String {
    KeyPair::rsa_from_pem("CarolRsa", RSA_PRIVATE)
        .expect("test key parses")
        .sign(payload)
}

/// `params` (name, raw JSON) with `apiKey` and a `signature` made by `sign`.
fn signed(api_key: &str, params: &[(&str, &str)], sign: fn(&str) -> String) -> String {
    let key_json = format!("\"{api_key}\"");
    let mut all: Vec<(&str, &str)> = vec![("apiKey", &key_json)];
    all.extend_from_slice(params);
    params_with_signature(&all, &sign(&raw_payload(&all)))
}

fn request(id: u32, method: &str, params: &str) -> String {
    format!(r#"{{"id":{id},"method":"{method}","params":{params}}}"#)
}

async fn server_with_keys() -> mock_server::MockServer {
    let alice = TestKey::from_seed("Alice", 1);
    let builder = alice
        .register(frozen_builder())
        .hmac_key("BobHmac", HMAC_SECRET)
        .rsa_key(
            "CarolRsa",
            mock_server::rsa_public_key_from_pem(RSA_PUBLIC).expect("test key parses"),
        )
        .account(
            "BobHmac",
            Account::fixture("BobHmac").with_balances(vec![Balance::new(
                "ETH",
                "2.50000000",
                "0.10000000",
            )]),
        );
    start(builder).await
}

#[tokio::test]
async fn after_logon_account_status_needs_only_a_timestamp_and_other_keys_sign_for_one_request() {
    let server = server_with_keys().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request_json(&alice.logon("1", T0)).await["status"],
        200
    );

    // For the session's key, with only a timestamp.
    let mine = client
        .request_json(&request(
            2,
            "account.status",
            &format!(r#"{{"timestamp":{T0}}}"#),
        ))
        .await;
    assert_eq!(mine["status"], 200, "{mine}");
    assert_eq!(mine["result"]["uid"], Account::fixture("Alice").uid);
    assert_eq!(mine["result"]["balances"][0]["asset"], "BTC");
    // 2 (connection) + 2 (logon) + 20.
    assert_eq!(mine["rateLimits"][0]["count"], 24);

    // An HMAC-signed request on the same connection is performed for its own key.
    let ts = T0.to_string();
    let theirs = client
        .request_json(&request(
            3,
            "account.status",
            &signed("BobHmac", &[("timestamp", &ts)], bob_sign),
        ))
        .await;
    assert_eq!(theirs["status"], 200, "{theirs}");
    assert_eq!(theirs["result"]["uid"], Account::fixture("BobHmac").uid);
    assert_eq!(theirs["result"]["balances"][0]["asset"], "ETH");
    assert_eq!(theirs["result"]["balances"][0]["locked"], "0.10000000");

    // ...for that request only: the session is still Alice's.
    let status = client
        .request_json(r#"{"id":4,"method":"session.status"}"#)
        .await;
    assert_eq!(status["result"]["apiKey"], "Alice");
}

#[tokio::test]
async fn rsa_signed_requests_verify_and_the_orders_limits_are_listed() {
    let server = server_with_keys().await;
    let mut client = Client::connect(&server).await;
    let ts = T0.to_string();
    let reply = client
        .request(&request(
            1,
            "account.rateLimits.orders",
            &signed(
                "CarolRsa",
                &[("timestamp", &ts), ("recvWindow", "100.5")],
                rsa_sign,
            ),
        ))
        .await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":1,"status":200,"result":[{{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":0}},{{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":160000,"count":0}}]{}}}"#,
            weight(42)
        )
    );
    // One byte of the RSA signature changed.
    let tampered = signed("CarolRsa", &[("timestamp", &ts)], |p| {
        let mut s = rsa_sign(p);
        let first = if s.starts_with('A') { "B" } else { "A" };
        s.replace_range(0..1, first);
        s
    });
    let reply = client
        .request_json(&request(2, "account.status", &tampered))
        .await;
    assert_eq!(reply["error"]["code"], -1022, "{reply}");
}

#[tokio::test]
async fn anonymous_signed_requests_without_credentials_are_refused() {
    let server = server_with_keys().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client
            .request(&request(
                1,
                "account.status",
                &format!(r#"{{"timestamp":{T0},"returnRateLimits":false}}"#)
            ))
            .await,
        error_reply(
            "1",
            400,
            -1102,
            &golden::MANDATORY.render(&[("name", "apiKey")]).msg
        )
    );
}

#[tokio::test]
async fn signed_requests_follow_the_timing_rules_and_need_a_timestamp() {
    let server = server_with_keys().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    let no_timestamp = client
        .request_json(&request(2, "account.status", "{}"))
        .await;
    assert_eq!(
        no_timestamp["error"]["msg"],
        golden::MANDATORY.render(&[("name", "timestamp")]).msg
    );
    let stale = client
        .request_json(&request(
            3,
            "account.status",
            &format!(r#"{{"timestamp":{}}}"#, T0 - 5001),
        ))
        .await;
    assert_eq!(stale["error"]["msg"], golden::OUTSIDE_RECV_WINDOW.template);
    let ahead = client
        .request_json(&request(
            4,
            "account.rateLimits.orders",
            &format!(r#"{{"timestamp":{}}}"#, T0 + 1000),
        ))
        .await;
    assert_eq!(ahead["error"]["msg"], golden::TIMESTAMP_AHEAD.template);
    let omit = client
        .request_json(&request(
            5,
            "account.status",
            &format!(r#"{{"timestamp":{T0},"omitZeroBalances":true}}"#),
        ))
        .await;
    let assets: Vec<&str> = omit["result"]["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .filter_map(|b| b["asset"].as_str())
        .collect();
    assert_eq!(assets, ["BTC", "USDT"], "the zero BNB balance is left out");
    let bad = client
        .request_json(&request(
            6,
            "account.status",
            &format!(r#"{{"timestamp":{T0},"omitZeroBalances":"yes"}}"#),
        ))
        .await;
    assert_eq!(bad["error"]["code"], -1130, "{bad}");
}

#[tokio::test]
async fn keys_without_the_permission_are_refused_with_2015() {
    let alice = TestKey::from_seed("Alice", 1);
    let server = start(alice.register(frozen_builder()).with_keys(|keys| {
        if let Some(key) = keys.get_mut("Alice") {
            key.permissions = Permissions::from_names(["USER_STREAM"]).expect("valid names");
        }
    }))
    .await;
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    let reply = client
        .request(&request(
            2,
            "account.status",
            &format!(r#"{{"timestamp":{T0},"returnRateLimits":false}}"#),
        ))
        .await;
    assert_eq!(
        reply,
        error_reply("2", 401, -2015, golden::REJECTED_API_KEY.template)
    );
}

#[tokio::test]
async fn only_ed25519_keys_may_log_on() {
    let server = server_with_keys().await;
    let mut client = Client::connect(&server).await;
    let ts = T0.to_string();
    for (key, sign) in [
        ("BobHmac", bob_sign as fn(&str) -> String),
        ("CarolRsa", rsa_sign),
    ] {
        let reply = client
            .request_json(&request(
                1,
                "session.logon",
                &signed(key, &[("timestamp", &ts)], sign),
            ))
            .await;
        assert_eq!(reply["error"]["code"], -1022, "{key}: {reply}");
    }
}

#[tokio::test]
async fn a_revoked_key_revokes_the_session_on_the_next_request() {
    let server = server_with_keys().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    assert!(server.revoke_key("Alice"));

    // The triggering request is answered as for an anonymous session, then comes the notice.
    let status = client
        .request(r#"{"id":2,"method":"session.status","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(
        status,
        format!(
            r#"{{"id":2,"status":200,"result":{}}}"#,
            session_result(None, T0, true, T0)
        )
    );
    assert_eq!(
        client.recv().await,
        error_reply("null", 401, -2015, golden::REJECTED_API_KEY.template)
    );
    let after = client
        .request_json(&request(
            3,
            "account.status",
            &format!(r#"{{"timestamp":{T0}}}"#),
        ))
        .await;
    assert_eq!(after["error"]["code"], -1102, "{after}");
    client.assert_usable().await;
}

#[tokio::test]
async fn keys_added_while_running_can_log_on() {
    let server = frozen_server().await;
    let dave = TestKey::from_seed("Dave", 4);
    server
        .update_keys(|keys| {
            keys.insert("Dave", KeyMaterial::Ed25519(dave.signing.verifying_key()))
                .map(|key| key.account = "shared".to_owned())
        })
        .expect("a well-formed name");
    let mut client = Client::connect(&server).await;
    let reply: Value = client.request_json(&dave.logon("1", T0)).await;
    assert_eq!(reply["status"], 200, "{reply}");
    let status = client
        .request_json(&request(
            2,
            "account.status",
            &format!(r#"{{"timestamp":{T0}}}"#),
        ))
        .await;
    assert_eq!(status["result"]["uid"], Account::fixture("shared").uid);
}
