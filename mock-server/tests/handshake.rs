//! The HTTP side of connecting (spec §1.1, §1.2): the one path served, the query parameters
//! that set `returnRateLimits` and `timeUnit`, and the HTTP errors for bad values.

mod common;

use std::time::Duration;

use common::{
    frozen_server, refused_upgrade, session_result, start, weight, weight_under, Client, TestKey,
    T0,
};
use mock_server::{Clock, MockServer, Timestamp};
use rstest::rstest;
use test_support::errors as golden;

#[rstest]
#[case::root("/")]
#[case::older_version("/ws-api/v2")]
#[case::trailing_slash("/ws-api/v3/")]
#[case::longer_name("/ws-api/v3x")]
#[case::market_data_streams("/ws")]
#[case::upper_case("/WS-API/V3")]
#[case::other_path_with_a_query("/stream?returnRateLimits=false")]
#[tokio::test]
async fn other_paths_are_refused_with_404(#[case] path: &str) {
    let server = frozen_server().await;
    let refusal = refused_upgrade(&server, path).await;
    assert_eq!(refusal.status, 404, "{}", refusal.head);
    assert_eq!(refusal.body, "");
}

#[tokio::test]
async fn tungstenite_sees_another_path_as_an_http_404() {
    let server = frozen_server().await;
    let url = format!("ws://{}/ws-api/v1", server.address());
    match common::within(tokio_tungstenite::connect_async(url)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
        }
        other => panic!("expected an HTTP 404, got {other:?}"),
    }
}

fn bad_time_unit() -> String {
    golden::INVALID_TIME_UNIT.error().body()
}
fn bad_return_rate_limits() -> String {
    golden::INVALID_PARAMETER
        .render(&[("name", "returnRateLimits")])
        .body()
}

#[rstest]
#[case::time_unit_in_seconds("timeUnit=SECOND", &bad_time_unit())]
#[case::time_unit_abbreviated("timeUnit=MS", &bad_time_unit())]
#[case::time_unit_plural("timeUnit=microseconds", &bad_time_unit())]
#[case::time_unit_empty("timeUnit=", &bad_time_unit())]
#[case::bad_time_unit_after_a_good_one("timeUnit=MICROSECOND&timeUnit=NANOSECOND", &bad_time_unit())]
#[case::return_rate_limits_yes("returnRateLimits=yes", &bad_return_rate_limits())]
#[case::return_rate_limits_one("returnRateLimits=1", &bad_return_rate_limits())]
#[case::return_rate_limits_empty("returnRateLimits=", &bad_return_rate_limits())]
#[case::sbe_responses("responseFormat=sbe", &golden::SBE_DISABLED.error().body())]
#[tokio::test]
async fn bad_query_values_are_refused_with_400_and_a_json_body(
    #[case] query: &str,
    #[case] body: &str,
) {
    let server = frozen_server().await;
    let refusal = refused_upgrade(&server, &format!("/ws-api/v3?{query}")).await;
    assert_eq!(refusal.status, 400, "{}", refusal.head);
    assert!(
        refusal
            .head
            .to_ascii_lowercase()
            .contains("\r\ncontent-type: application/json;charset=utf-8"),
        "{}",
        refusal.head
    );
    assert_eq!(refusal.body, body);
    // The body's length is stated, so it does not depend on the server closing the connection.
    let length = format!("\r\ncontent-length: {}", body.len());
    assert!(
        refusal.head.to_ascii_lowercase().contains(&length),
        "{}",
        refusal.head
    );
}

#[tokio::test]
async fn refused_handshakes_cost_no_weight() {
    let server = frozen_server().await;
    refused_upgrade(&server, "/nope").await;
    refused_upgrade(&server, "/ws-api/v3?timeUnit=DAY").await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(r#"{"id":1,"method":"ping"}"#).await,
        format!(r#"{{"id":1,"status":200,"result":{{}}{}}}"#, weight(3))
    );
}

#[rstest]
#[case::absent("", true)]
#[case::true_("returnRateLimits=true", true)]
#[case::false_("returnRateLimits=false", false)]
#[case::true_in_upper_case("returnRateLimits=TRUE", true)]
#[case::false_capitalised("returnRateLimits=False", false)]
#[case::with_other_parameters("foo=bar&returnRateLimits=false&timeUnit=MILLISECOND", false)]
#[tokio::test]
async fn return_rate_limits_in_the_url_sets_the_connection_default(
    #[case] query: &str,
    #[case] default: bool,
) {
    let server = frozen_server().await;
    let mut client = Client::connect_with_query(&server, query).await;
    let limits = if default { weight(4) } else { String::new() };
    assert_eq!(
        client
            .request(r#"{"id":1,"method":"session.status"}"#)
            .await,
        format!(
            r#"{{"id":1,"status":200,"result":{}{limits}}}"#,
            session_result(None, T0, default, T0)
        )
    );
}

/// The frozen instant of the time-unit tests: 123 µs past [`T0`], so that milliseconds and
/// microseconds differ in more than three trailing zeros.
const T0_MICROS: i64 = T0 * 1000 + 123;

async fn server_at_t0_micros(weight_limit: u32) -> MockServer {
    start(
        MockServer::builder()
            .clock(Clock::frozen_at(Timestamp::from_micros(T0_MICROS)))
            .weight_limit(weight_limit),
    )
    .await
}

#[rstest]
#[case::upper_case("MICROSECOND")]
#[case::lower_case("microsecond")]
#[tokio::test]
async fn microseconds_are_honoured_in_every_time_field(#[case] unit: &str) {
    let server = server_at_t0_micros(6000).await;
    let mut client = Client::connect_with_query(&server, &format!("timeUnit={unit}")).await;
    let connected = T0_MICROS;
    assert_eq!(
        client.request(r#"{"id":1,"method":"time"}"#).await,
        format!(
            r#"{{"id":1,"status":200,"result":{{"serverTime":{connected}}}{}}}"#,
            weight(3)
        )
    );
    server.clock().advance(Duration::from_micros(1_007));
    let authorized = connected + 1_007;
    // The request's timestamp may be in either unit whatever the connection's unit.
    assert_eq!(
        client.request(&TestKey::demo().logon("2", T0)).await,
        format!(
            r#"{{"id":2,"status":200,"result":{}{}}}"#,
            session_result(
                Some((mock_server::demo::API_KEY, authorized)),
                connected,
                true,
                authorized
            ),
            weight(5)
        )
    );
    server.clock().advance(Duration::from_micros(5));
    assert_eq!(
        client
            .request(r#"{"id":3,"method":"session.status"}"#)
            .await,
        format!(
            r#"{{"id":3,"status":200,"result":{}{}}}"#,
            session_result(
                Some((mock_server::demo::API_KEY, authorized)),
                connected,
                true,
                authorized + 5
            ),
            weight(7)
        )
    );
    assert_eq!(
        client
            .request(r#"{"id":4,"method":"session.logout"}"#)
            .await,
        format!(
            r#"{{"id":4,"status":200,"result":{}{}}}"#,
            session_result(None, connected, true, authorized + 5),
            weight(9)
        )
    );
}

#[rstest]
#[case::default("")]
#[case::upper_case("timeUnit=MILLISECOND")]
#[case::lower_case("timeUnit=millisecond")]
#[tokio::test]
async fn milliseconds_are_the_default_and_truncate_microseconds(#[case] query: &str) {
    let server = server_at_t0_micros(6000).await;
    let mut client = Client::connect_with_query(&server, query).await;
    assert_eq!(
        client
            .request(r#"{"id":1,"method":"time","params":{"returnRateLimits":false}}"#)
            .await,
        r#"{"id":1,"status":200,"result":{"serverTime":1700000000000}}"#
    );
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
}

#[rstest]
#[case::milliseconds("timeUnit=MILLISECOND", T0, 1_700_000_040_000)]
#[case::microseconds("timeUnit=MICROSECOND", T0_MICROS, 1_700_000_040_000_000)]
#[tokio::test]
async fn time_unit_applies_to_the_429_data_too(
    #[case] query: &str,
    #[case] server_time: i64,
    #[case] retry_after: i64,
) {
    let server = server_at_t0_micros(2).await;
    let mut client = Client::connect_with_query(&server, query).await;
    assert_eq!(
        client.request(r#"{"id":1,"method":"ping"}"#).await,
        golden::TOO_MUCH_WEIGHT
            .render(&[("limit", "2")])
            .reply_with_data(
                "1",
                &format!(r#"{{"serverTime":{server_time},"retryAfter":{retry_after}}}"#),
                &weight_under(3, 2)
            )
    );
}

#[tokio::test]
async fn both_parameters_together() {
    let server = server_at_t0_micros(6000).await;
    let mut client =
        Client::connect_with_query(&server, "returnRateLimits=false&timeUnit=microsecond").await;
    assert_eq!(
        client
            .request(r#"{"id":1,"method":"session.status"}"#)
            .await,
        format!(
            r#"{{"id":1,"status":200,"result":{}}}"#,
            session_result(None, T0_MICROS, false, T0_MICROS)
        )
    );
}
