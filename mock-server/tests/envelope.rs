//! The request/response envelope over a real socket (spec §2): raw JSON text in, whole frames
//! compared as exact strings, so a serde mistake shared by server and client cannot hide.
//! Every bad frame is followed by a request that shows the connection still works.

mod common;

use common::{error_reply, frozen_server, weight, Client};
use rstest::rstest;
use test_support::errors as golden;
use tokio_tungstenite::tungstenite::Message;

fn invalid_json() -> String {
    golden::INVALID_JSON.error().reply("null", "")
}
fn invalid_id() -> String {
    golden::INVALID_ID.error().reply("null", "")
}
fn no_method() -> String {
    golden::mandatory("method").reply("7", "")
}
fn unknown_method() -> String {
    golden::unknown_method().reply("7", "")
}
fn params_not_object() -> String {
    golden::PARAMS_NOT_AN_OBJECT.error().reply("7", "")
}

/// The reply to `{"id":2,"method":"ping"}` when nothing but the connection (2) was charged
/// before it.
fn first_ping_reply() -> String {
    format!(r#"{{"id":2,"status":200,"result":{{}}{}}}"#, weight(3))
}

/// Frames refused before their weight is charged: exact reply without `rateLimits`, nothing
/// counted, and the connection goes on.
#[rstest]
#[case::unterminated_object("{", &invalid_json())]
#[case::not_json_at_all("not json", &invalid_json())]
#[case::empty_text("", &invalid_json())]
#[case::only_whitespace(" \n\t ", &invalid_json())]
#[case::top_level_array(r#"[1,"ping",{}]"#, &invalid_json())]
#[case::top_level_string(r#""ping""#, &invalid_json())]
#[case::top_level_number("42", &invalid_json())]
#[case::top_level_null("null", &invalid_json())]
#[case::trailing_garbage(r#"{"id":1,"method":"ping"} x"#, &invalid_json())]
#[case::two_objects(r#"{"id":1,"method":"ping"}{"id":2,"method":"ping"}"#, &invalid_json())]
#[case::duplicate_id(r#"{"id":1,"id":2,"method":"ping"}"#, &invalid_json())]
#[case::id_of_51_characters(
    r#"{"id":"e2a85d9f-07a5-4f94-8d5f-789dc3deb097-0123456789","method":"ping"}"#,
    &invalid_id()
)]
#[case::id_of_37_characters(
    r#"{"id":"0123456789012345678901234567890123456","method":"ping"}"#,
    &invalid_id()
)]
#[case::empty_string_id(r#"{"id":"","method":"ping"}"#, &invalid_id())]
#[case::id_with_a_space(r#"{"id":"a b","method":"ping"}"#, &invalid_id())]
#[case::id_with_a_dot(r#"{"id":"a.b","method":"ping"}"#, &invalid_id())]
#[case::non_ascii_id(r#"{"id":"é","method":"ping"}"#, &invalid_id())]
#[case::fractional_id(r#"{"id":1.5,"method":"ping"}"#, &invalid_id())]
#[case::exponent_id(r#"{"id":1e3,"method":"ping"}"#, &invalid_id())]
#[case::id_above_i64(r#"{"id":9223372036854775808,"method":"ping"}"#, &invalid_id())]
#[case::id_below_i64(r#"{"id":-9223372036854775809,"method":"ping"}"#, &invalid_id())]
#[case::boolean_id(r#"{"id":true,"method":"ping"}"#, &invalid_id())]
#[case::array_id(r#"{"id":[1],"method":"ping"}"#, &invalid_id())]
#[case::object_id(r#"{"id":{},"method":"ping"}"#, &invalid_id())]
#[case::missing_method(r#"{"id":7}"#, &no_method())]
#[case::missing_method_with_params(r#"{"id":7,"params":{}}"#, &no_method())]
#[case::null_method(r#"{"id":7,"method":null}"#, &no_method())]
#[case::numeric_method(r#"{"id":7,"method":1}"#, &no_method())]
#[case::array_method(r#"{"id":7,"method":["ping"]}"#, &no_method())]
#[case::empty_method(r#"{"id":7,"method":""}"#, &no_method())]
#[case::bare_prefix_method(r#"{"id":7,"method":"v3/"}"#, &no_method())]
#[case::unknown_method(r#"{"id":7,"method":"order.amend.keepPriority"}"#, &unknown_method())]
#[case::method_in_upper_case(r#"{"id":7,"method":"PING"}"#, &unknown_method())]
#[case::method_with_another_version(r#"{"id":7,"method":"v2/ping"}"#, &unknown_method())]
#[case::method_with_a_doubled_prefix(r#"{"id":7,"method":"v3/v3/ping"}"#, &unknown_method())]
#[case::method_with_padding(r#"{"id":7,"method":" ping"}"#, &unknown_method())]
#[case::params_array(r#"{"id":7,"method":"ping","params":[]}"#, &params_not_object())]
#[case::params_string(r#"{"id":7,"method":"ping","params":"{}"}"#, &params_not_object())]
#[case::params_number(r#"{"id":7,"method":"ping","params":1}"#, &params_not_object())]
#[case::params_boolean(r#"{"id":7,"method":"ping","params":true}"#, &params_not_object())]
#[tokio::test]
async fn refused_frames_get_an_exact_reply_and_leave_the_connection_usable(
    #[case] frame: &str,
    #[case] expected: &str,
) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(client.request(frame).await, expected, "reply to {frame:?}");
    assert_eq!(
        client.request(r#"{"id":2,"method":"ping"}"#).await,
        first_ping_reply(),
        "the refused frame was charged, or the connection broke"
    );
}

/// Deep nesting must not overflow the server's stack wherever it appears.
#[tokio::test]
async fn deeply_nested_values_are_refused_without_harm() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases = [
        (nested.clone(), invalid_json()),
        (
            format!(r#"{{"id":{nested},"method":"ping"}}"#),
            invalid_id(),
        ),
        (
            format!(r#"{{"id":7,"method":"ping","params":{nested}}}"#),
            params_not_object(),
        ),
        (
            format!(r#"{{"id":7,"method":"ping","params":{{"a":{nested}}}}}"#),
            golden::UNREAD_PARAMETERS
                .render(&[("read", "0"), ("sent", "1")])
                .reply("7", &weight(3)),
        ),
    ];
    for (frame, expected) in cases {
        let reply = client.request(&frame).await;
        assert!(reply == expected, "got {reply}, expected {expected}");
    }
    client.assert_usable().await;
}

#[tokio::test]
async fn invalid_id_is_answered_with_a_null_id_and_no_rate_limits() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request(r#"{"id":"0123456789012345678901234567890123456789abcdefghijk","method":"ping"}"#)
        .await;
    assert_eq!(reply, invalid_id());
    client.assert_usable().await;
}

#[tokio::test]
async fn binary_frame_is_refused_like_bad_json_even_when_it_holds_a_request() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    client
        .send_message(Message::binary(&br#"{"id":1,"method":"ping"}"#[..]))
        .await;
    assert_eq!(client.recv().await, invalid_json());
    client
        .send_message(Message::binary(vec![0xFF, 0x00, 0x80]))
        .await;
    assert_eq!(client.recv().await, invalid_json());
    assert_eq!(
        client.request(r#"{"id":2,"method":"ping"}"#).await,
        first_ping_reply()
    );
}

#[tokio::test]
async fn a_run_of_bad_frames_never_closes_the_connection() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    for _ in 0..20 {
        assert_eq!(client.request("{").await, invalid_json());
        let long_id = format!(r#"{{"id":"{}","method":"ping"}}"#, "x".repeat(50));
        assert_eq!(client.request(&long_id).await, invalid_id());
    }
    client.assert_usable().await;
}

/// The `id` comes back with the same JSON type and value (spec §2.1, §2.2).
#[rstest]
#[case::positive_integer("1", "1")]
#[case::zero("0", "0")]
#[case::negative_integer("-7", "-7")]
#[case::largest_i64("9223372036854775807", "9223372036854775807")]
#[case::smallest_i64("-9223372036854775808", "-9223372036854775808")]
#[case::string(
    r#""e2a85d9f-07a5-4f94-8d5f-789dc3deb097""#,
    r#""e2a85d9f-07a5-4f94-8d5f-789dc3deb097""#
)]
#[case::string_of_digits(r#""007""#, r#""007""#)]
#[case::string_of_dashes_and_underscores(r#""-_-""#, r#""-_-""#)]
#[case::escaped_string(r#""\u0041b""#, r#""Ab""#)]
#[case::null("null", "null")]
#[tokio::test]
async fn id_is_echoed_with_its_json_type(#[case] sent: &str, #[case] echoed: &str) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request(&format!(r#"{{"id":{sent},"method":"ping"}}"#))
        .await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":{echoed},"status":200,"result":{{}}{}}}"#,
            weight(3)
        )
    );
}

#[tokio::test]
async fn absent_id_is_answered_as_null() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(r#"{"method":"ping"}"#).await,
        format!(r#"{{"id":null,"status":200,"result":{{}}{}}}"#, weight(3))
    );
}

#[tokio::test]
async fn id_is_echoed_on_errors_too() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(r#"{"id":"err-1","method":"nope"}"#).await,
        error_reply(r#""err-1""#, 400, -1100, &golden::unknown_method().msg)
    );
    assert_eq!(
        client
            .request(r#"{"id":-3,"method":"session.logon"}"#)
            .await,
        golden::mandatory("apiKey").reply("-3", &weight(4))
    );
}

#[rstest]
#[case::ping("v3/ping", r#"{}"#)]
#[case::time("v3/time", r#"{"serverTime":1700000000000}"#)]
#[tokio::test]
async fn method_may_carry_the_v3_prefix(#[case] method: &str, #[case] result: &str) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request(&format!(r#"{{"id":1,"method":"{method}"}}"#))
        .await;
    assert_eq!(
        reply,
        format!(r#"{{"id":1,"status":200,"result":{result}{}}}"#, weight(3))
    );
}

#[tokio::test]
async fn pretty_printed_requests_and_any_key_order_are_accepted() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request("\n {\n  \"params\" : { } ,\n  \"method\" : \"time\" ,\n  \"id\" : 5\n }\n")
        .await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":5,"status":200,"result":{{"serverTime":1700000000000}}{}}}"#,
            weight(3)
        )
    );
}

#[tokio::test]
async fn empty_and_null_params_are_the_same_as_none() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    for (i, params) in [r#","params":{}"#, r#","params":null"#, ""]
        .iter()
        .enumerate()
    {
        let reply = client
            .request(&format!(r#"{{"id":1,"method":"ping"{params}}}"#))
            .await;
        let count = 3 + u32::try_from(i).expect("small index");
        assert_eq!(
            reply,
            format!(r#"{{"id":1,"status":200,"result":{{}}{}}}"#, weight(count)),
            "params {params:?}"
        );
    }
}

/// Errors found after the weight is charged carry `rateLimits`, and the request counts.
#[rstest]
#[case::extra_param_on_ping(
    r#"{"id":7,"method":"ping","params":{"symbol":"BTCUSDT"}}"#,
    -1104,
    &golden::UNREAD_PARAMETERS.render(&[("read", "0"), ("sent", "1")]).msg
)]
#[case::extra_params_on_logon(
    r#"{"id":7,"method":"session.logon","params":{"apiKey":"a","signature":"b","timestamp":1,"x":1,"y":2}}"#,
    -1104,
    &golden::UNREAD_PARAMETERS.render(&[("read", "3"), ("sent", "5")]).msg
)]
#[case::duplicate_param(
    r#"{"id":7,"method":"ping","params":{"returnRateLimits":true,"returnRateLimits":true}}"#,
    -1101,
    golden::DUPLICATE_PARAMETER.template
)]
#[case::duplicate_logon_param(
    r#"{"id":7,"method":"session.logon","params":{"apiKey":"a","apiKey":"b"}}"#,
    -1101,
    golden::DUPLICATE_PARAMETER.template
)]
#[case::return_rate_limits_not_a_boolean(
    r#"{"id":7,"method":"ping","params":{"returnRateLimits":"yes"}}"#,
    -1130,
    &golden::INVALID_PARAMETER.render(&[("name", "returnRateLimits")]).msg
)]
#[case::return_rate_limits_as_a_number(
    r#"{"id":7,"method":"ping","params":{"returnRateLimits":1}}"#,
    -1130,
    &golden::INVALID_PARAMETER.render(&[("name", "returnRateLimits")]).msg
)]
#[case::return_rate_limits_in_upper_case(
    r#"{"id":7,"method":"ping","params":{"returnRateLimits":"TRUE"}}"#,
    -1130,
    &golden::INVALID_PARAMETER.render(&[("name", "returnRateLimits")]).msg
)]
#[tokio::test]
async fn param_errors_are_charged_and_leave_the_connection_usable(
    #[case] frame: &str,
    #[case] code: i32,
    #[case] msg: &str,
) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let weight_of_method = if frame.contains("session.logon") {
        2
    } else {
        1
    };
    let expected = format!(
        r#"{{"id":7,"status":400,"error":{{"code":{code},"msg":{}}}{}}}"#,
        serde_json::to_string(msg).expect("a string serializes"),
        weight(2 + weight_of_method)
    );
    assert_eq!(client.request(frame).await, expected);
    assert_eq!(
        client.request(r#"{"id":2,"method":"ping"}"#).await,
        format!(
            r#"{{"id":2,"status":200,"result":{{}}{}}}"#,
            weight(3 + weight_of_method)
        )
    );
}

#[tokio::test]
async fn invalid_escapes_inside_strings_are_refused_without_harm() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    // A lone surrogate is well-formed JSON text but no Unicode string: refused where it is
    // decoded, keeping the id when the id itself was fine.
    let invalid_json_id_7 = error_reply("7", 400, -1135, golden::INVALID_JSON.template);
    for (frame, expected) in [
        (r#"{"id":7,"method":"\ud800"}"#, invalid_json_id_7.as_str()),
        (
            r#"{"id":7,"method":"ping","params":{"a":"\ud800"}}"#,
            invalid_json_id_7.as_str(),
        ),
        (r#"{"id":"\ud800","method":"ping"}"#, &invalid_id()),
        (r#"{"id":7,"method":"ping\x"}"#, &invalid_json()),
    ] {
        assert_eq!(client.request(frame).await, expected, "reply to {frame}");
    }
    client.assert_usable().await;
}
