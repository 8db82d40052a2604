//! REQUEST_WEIGHT over real sockets (spec §5): what each call and each connection costs, the
//! window shared by a client's connections, `returnRateLimits` from the URL and per request,
//! and the 429 under a small configured limit.

mod common;

use std::time::Duration;

use common::{
    frozen_builder, frozen_server, session_result, start, weight, weight_under, Client, TestKey,
    T0, T0_MINUTE_END,
};
use rstest::rstest;
use test_support::errors as golden;

fn ping_reply(id: u32, count: u32) -> String {
    format!(
        r#"{{"id":{id},"status":200,"result":{{}}{}}}"#,
        weight(count)
    )
}

/// The 429 for request `id` under `limit`, at [`T0`], with `count` after charging it.
fn too_much_weight(id: u32, limit: u32, count: u32) -> String {
    golden::TOO_MUCH_WEIGHT
        .render(&[("limit", &limit.to_string())])
        .reply_with_data(
            &id.to_string(),
            &format!(r#"{{"serverTime":{T0},"retryAfter":{T0_MINUTE_END}}}"#),
            &weight_under(count, limit),
        )
}

#[tokio::test]
async fn each_call_costs_its_documented_weight() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    // Opening the connection cost 2.
    assert_eq!(
        client.request(r#"{"id":1,"method":"ping"}"#).await,
        ping_reply(1, 3)
    );
    assert_eq!(
        client.request(r#"{"id":2,"method":"time"}"#).await,
        format!(
            r#"{{"id":2,"status":200,"result":{{"serverTime":{T0}}}{}}}"#,
            weight(4)
        )
    );
    assert_eq!(
        client
            .request(r#"{"id":3,"method":"session.status"}"#)
            .await,
        format!(
            r#"{{"id":3,"status":200,"result":{}{}}}"#,
            session_result(None, T0, true, T0),
            weight(6)
        )
    );
    assert_eq!(
        client
            .request(r#"{"id":4,"method":"session.logout"}"#)
            .await,
        format!(
            r#"{{"id":4,"status":200,"result":{}{}}}"#,
            session_result(None, T0, true, T0),
            weight(8)
        )
    );
    let demo = TestKey::demo();
    assert_eq!(
        client.request(&demo.logon("5", T0)).await,
        format!(
            r#"{{"id":5,"status":200,"result":{}{}}}"#,
            session_result(Some((mock_server::demo::API_KEY, T0)), T0, true, T0),
            weight(10)
        )
    );
    // A failed logon costs the same.
    assert_eq!(
        client.request(&demo.logon("6", T0 - 60_000)).await,
        golden::OUTSIDE_RECV_WINDOW.error().reply("6", &weight(12))
    );
    assert_eq!(
        client.request(r#"{"id":7,"method":"ping"}"#).await,
        ping_reply(7, 13)
    );
}

#[tokio::test]
async fn weight_is_shared_between_two_connections() {
    let server = frozen_server().await;
    let mut first = Client::connect(&server).await;
    let mut second = Client::connect(&server).await;
    // Two connections: 2 + 2.
    assert_eq!(
        first.request(r#"{"id":1,"method":"ping"}"#).await,
        ping_reply(1, 5)
    );
    assert_eq!(
        second.request(r#"{"id":1,"method":"ping"}"#).await,
        ping_reply(1, 6)
    );
    let status = second
        .request_json(r#"{"id":2,"method":"session.status"}"#)
        .await;
    assert_eq!(status["rateLimits"][0]["count"], 8);
    assert_eq!(
        first.request(r#"{"id":3,"method":"ping"}"#).await,
        ping_reply(3, 9)
    );
}

#[tokio::test]
async fn frames_refused_before_accounting_are_free() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    for frame in [
        "{",
        r#"{"id":"not valid!","method":"ping"}"#,
        r#"{"id":1}"#,
        r#"{"id":1,"method":"nope"}"#,
        r#"{"id":1,"method":"ping","params":[]}"#,
    ] {
        let reply = client.request_json(frame).await;
        assert!(reply.get("rateLimits").is_none(), "{frame} -> {reply}");
    }
    assert_eq!(
        client.request(r#"{"id":1,"method":"ping"}"#).await,
        ping_reply(1, 3)
    );
}

#[tokio::test]
async fn weight_window_resets_on_the_calendar_minute() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(r#"{"id":1,"method":"ping"}"#).await,
        ping_reply(1, 3)
    );
    server.clock().advance(Duration::from_millis(
        (T0_MINUTE_END - T0 - 1).unsigned_abs(),
    ));
    assert_eq!(
        client.request(r#"{"id":2,"method":"ping"}"#).await,
        ping_reply(2, 4)
    );
    server.clock().advance(Duration::from_millis(1));
    // The connection's own 2 belonged to the previous minute.
    assert_eq!(
        client.request(r#"{"id":3,"method":"ping"}"#).await,
        ping_reply(3, 1)
    );
}

#[tokio::test]
async fn over_a_small_limit_the_reply_is_a_429_with_retry_after() {
    let server = start(frozen_builder().weight_limit(5)).await;
    let mut client = Client::connect(&server).await;
    for (id, count) in [(1, 3), (2, 4), (3, 5)] {
        let reply = client
            .request(&format!(r#"{{"id":{id},"method":"ping"}}"#))
            .await;
        assert_eq!(
            reply,
            format!(
                r#"{{"id":{id},"status":200,"result":{{}}{}}}"#,
                weight_under(count, 5)
            )
        );
    }
    assert_eq!(
        client.request(r#"{"id":4,"method":"ping"}"#).await,
        golden::TOO_MUCH_WEIGHT
            .render(&[("limit", "5")])
            .reply_with_data(
                "4",
                r#"{"serverTime":1700000000000,"retryAfter":1700000040000}"#,
                r#","rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":5,"count":6}]"#
            )
    );
}

#[tokio::test]
async fn a_429_request_is_still_counted() {
    let server = start(frozen_builder().weight_limit(3)).await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client
            .request(r#"{"id":1,"method":"session.status"}"#)
            .await,
        too_much_weight(1, 3, 4)
    );
    assert_eq!(
        client.request(r#"{"id":2,"method":"ping"}"#).await,
        too_much_weight(2, 3, 5)
    );
    assert_eq!(
        client.request(r#"{"id":3,"method":"time"}"#).await,
        too_much_weight(3, 3, 6)
    );
    client.send("{").await;
    let bad = client.recv().await;
    assert!(!bad.contains("rateLimits"), "{bad}");
    assert_eq!(
        client.request(r#"{"id":4,"method":"ping"}"#).await,
        too_much_weight(4, 3, 7)
    );
}

#[tokio::test]
async fn a_429_logon_is_not_executed() {
    let server = start(frozen_builder().weight_limit(5)).await;
    let mut client = Client::connect(&server).await;
    // 2 for the connection, 2 for the status: the logon's 2 goes over.
    client
        .request(r#"{"id":1,"method":"session.status"}"#)
        .await;
    assert_eq!(
        client.request(&TestKey::demo().logon("2", T0)).await,
        too_much_weight(2, 5, 6)
    );
    server
        .clock()
        .advance(Duration::from_millis((T0_MINUTE_END - T0).unsigned_abs()));
    assert_eq!(
        client
            .request(r#"{"id":3,"method":"session.status"}"#)
            .await,
        format!(
            r#"{{"id":3,"status":200,"result":{}{}}}"#,
            session_result(None, T0, true, T0_MINUTE_END),
            weight_under(2, 5)
        ),
        "the refused logon authenticated the session"
    );
}

#[tokio::test]
async fn a_429_logout_is_not_executed() {
    let server = start(frozen_builder().weight_limit(6)).await;
    let mut client = Client::connect(&server).await;
    client.request(&TestKey::demo().logon("1", T0)).await;
    client.request(r#"{"id":2,"method":"ping"}"#).await;
    assert_eq!(
        client
            .request(r#"{"id":3,"method":"session.logout"}"#)
            .await,
        too_much_weight(3, 6, 7)
    );
    server
        .clock()
        .advance(Duration::from_millis((T0_MINUTE_END - T0).unsigned_abs()));
    let status = client
        .request_json(r#"{"id":4,"method":"session.status"}"#)
        .await;
    assert_eq!(status["result"]["apiKey"], mock_server::demo::API_KEY);
}

#[tokio::test]
async fn one_connection_can_exhaust_the_weight_of_another() {
    let server = start(frozen_builder().weight_limit(6)).await;
    let mut greedy = Client::connect(&server).await;
    let mut victim = Client::connect(&server).await;
    greedy
        .request(r#"{"id":1,"method":"session.status"}"#)
        .await;
    assert_eq!(
        victim.request(r#"{"id":1,"method":"ping"}"#).await,
        too_much_weight(1, 6, 7)
    );
}

/// Whether a reply carries `rateLimits`: the request's `returnRateLimits` if it sent one,
/// otherwise the URL's, otherwise yes (spec §5.2).
#[rstest]
#[case::by_default("", "", true)]
#[case::url_true("returnRateLimits=true", "", true)]
#[case::url_false("returnRateLimits=false", "", false)]
#[case::url_false_in_upper_case("returnRateLimits=FALSE", "", false)]
#[case::request_false("", r#","params":{"returnRateLimits":false}"#, false)]
#[case::request_false_as_a_string("", r#","params":{"returnRateLimits":"false"}"#, false)]
#[case::request_true("", r#","params":{"returnRateLimits":true}"#, true)]
#[case::request_false_overrides_url_true(
    "returnRateLimits=true",
    r#","params":{"returnRateLimits":false}"#,
    false
)]
#[case::request_false_string_overrides_url_true(
    "returnRateLimits=true",
    r#","params":{"returnRateLimits":"false"}"#,
    false
)]
#[case::request_true_overrides_url_false(
    "returnRateLimits=false",
    r#","params":{"returnRateLimits":true}"#,
    true
)]
#[case::request_true_string_overrides_url_false(
    "returnRateLimits=false",
    r#","params":{"returnRateLimits":"true"}"#,
    true
)]
#[case::request_false_agrees_with_url_false(
    "returnRateLimits=false",
    r#","params":{"returnRateLimits":false}"#,
    false
)]
#[case::null_request_value_falls_back_to_url(
    "returnRateLimits=false",
    r#","params":{"returnRateLimits":null}"#,
    false
)]
#[tokio::test]
async fn request_return_rate_limits_overrides_the_url(
    #[case] query: &str,
    #[case] params: &str,
    #[case] shown: bool,
) {
    let server = frozen_server().await;
    let mut client = Client::connect_with_query(&server, query).await;
    let reply = client
        .request(&format!(r#"{{"id":1,"method":"ping"{params}}}"#))
        .await;
    let expected = if shown {
        ping_reply(1, 3)
    } else {
        r#"{"id":1,"status":200,"result":{}}"#.to_owned()
    };
    assert_eq!(reply, expected);
}

#[rstest]
#[case::url_default("", true)]
#[case::url_false("returnRateLimits=false", false)]
#[tokio::test]
async fn invalid_request_return_rate_limits_is_refused_with_the_url_setting(
    #[case] query: &str,
    #[case] shown: bool,
) {
    let server = frozen_server().await;
    let mut client = Client::connect_with_query(&server, query).await;
    let reply = client
        .request(r#"{"id":1,"method":"time","params":{"returnRateLimits":"maybe"}}"#)
        .await;
    let limits = if shown { weight(3) } else { String::new() };
    assert_eq!(
        reply,
        golden::INVALID_PARAMETER
            .render(&[("name", "returnRateLimits")])
            .reply("1", &limits)
    );
}

#[tokio::test]
async fn session_results_report_the_url_setting_not_the_request_one() {
    let server = frozen_server().await;
    let mut client = Client::connect_with_query(&server, "returnRateLimits=false").await;
    let reply = client
        .request(r#"{"id":1,"method":"session.status","params":{"returnRateLimits":true}}"#)
        .await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":1,"status":200,"result":{}{}}}"#,
            session_result(None, T0, false, T0),
            weight(4)
        )
    );
}
