//! `session.logon` over a real socket (spec §3, §4.2): every refusal with its exact frame,
//! parameters sent as JSON numbers or strings, the timing rules on a frozen clock, and which
//! signature payloads are accepted with and without strict signing.

mod common;

use common::{frozen_builder, session_result, start, weight, Client, TestKey, T0};
use mock_server::MockServer;
use rstest::rstest;
use test_support::errors as golden;

const ALICE: &str = "aliceKey1";
const HMAC_KEY: &str = "hmacKey1";

fn alice() -> TestKey {
    TestKey::from_seed(ALICE, 1)
}

/// A key nobody registered.
fn stranger() -> TestKey {
    TestKey::from_seed("strangerKey9", 9)
}

/// A server at [`T0`] that knows alice's Ed25519 key and an HMAC key.
async fn server() -> MockServer {
    start(
        alice()
            .register(frozen_builder())
            .hmac_key(HMAC_KEY, "hmac secret"),
    )
    .await
}

/// A logon request with id 1 and these params.
fn logon_with(params: &str) -> String {
    format!(r#"{{"id":1,"method":"session.logon","params":{params}}}"#)
}

/// The reply to the first request of a connection when it failed in `session.logon`.
fn refused(status: u16, code: i32, msg: &str) -> String {
    format!(
        r#"{{"id":1,"status":{status},"error":{{"code":{code},"msg":{}}}{}}}"#,
        serde_json::to_string(msg).expect("a string serializes"),
        weight(4)
    )
}

/// The reply to a first request that logged alice on at [`T0`].
fn logged_on() -> String {
    format!(
        r#"{{"id":1,"status":200,"result":{}{}}}"#,
        session_result(Some((ALICE, T0)), T0, true, T0),
        weight(4)
    )
}

const BAD_SIGNATURE: &str = golden::INVALID_SIGNATURE.template;
const AHEAD: &str = golden::TIMESTAMP_AHEAD.template;
const OUTSIDE_WINDOW: &str = golden::OUTSIDE_RECV_WINDOW.template;
fn recv_window_too_big() -> String {
    golden::GREATER_THAN_MAXIMUM
        .render(&[("name", "recvWindow"), ("max", "60000")])
        .msg
}
fn recv_window_illegal() -> String {
    let range = test_support::recv_window::LEGAL_RANGE;
    golden::ILLEGAL_CHARACTERS
        .render(&[("name", "recvWindow"), ("legal_range", range)])
        .msg
}

#[tokio::test]
async fn logon_with_a_registered_ed25519_key_authenticates_the_session() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(client.request(&alice().logon("1", T0)).await, logged_on());
}

#[tokio::test]
async fn logon_with_the_built_in_demo_key_works_out_of_the_box() {
    let server = common::frozen_server().await;
    let mut client = Client::connect(&server).await;
    let demo = TestKey::demo();
    let reply = client.request(&demo.logon(r#""demo""#, T0)).await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":"demo","status":200,"result":{}{}}}"#,
            session_result(Some((mock_server::demo::API_KEY, T0)), T0, true, T0),
            weight(4)
        )
    );
}

/// Every way a logon is refused, with its exact status, code and message.
#[rstest]
#[case::unknown_key(
    |_: &TestKey| stranger().logon_params(T0),
    401, -2015, golden::REJECTED_API_KEY.template
)]
#[case::malformed_key_with_a_dash(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""alice-key""#), ("timestamp", "1700000000000")]),
    401, -2014, golden::BAD_API_KEY_FORMAT.template
)]
#[case::malformed_key_too_long(
    |k: &TestKey| k.signed_params(&[("apiKey", &format!(r#""{}""#, "a".repeat(65))), ("timestamp", "1700000000000")]),
    401, -2014, golden::BAD_API_KEY_FORMAT.template
)]
#[case::key_sent_as_a_number(
    |k: &TestKey| k.signed_params(&[("apiKey", "12.5"), ("timestamp", "1700000000000")]),
    401, -2014, golden::BAD_API_KEY_FORMAT.template
)]
#[case::signed_by_another_private_key(
    |_: &TestKey| TestKey::from_seed(ALICE, 2).logon_params(T0),
    400, -1022, BAD_SIGNATURE
)]
#[case::signature_not_base64(
    |k: &TestKey| k.params_with_signature(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000")], "not base64!"),
    400, -1022, BAD_SIGNATURE
)]
#[case::signature_of_the_wrong_length(
    |k: &TestKey| k.params_with_signature(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000")], "AAAA"),
    400, -1022, BAD_SIGNATURE
)]
#[case::signature_over_another_timestamp(
    |k: &TestKey| k.params_with_signature(
        &[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000")],
        &k.sign("apiKey=aliceKey1&timestamp=1700000000001"),
    ),
    400, -1022, BAD_SIGNATURE
)]
#[case::signature_without_the_recv_window_sent(
    |k: &TestKey| k.params_with_signature(
        &[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "5000")],
        &k.sign("apiKey=aliceKey1&timestamp=1700000000000"),
    ),
    400, -1022, BAD_SIGNATURE
)]
#[case::return_rate_limits_left_out_of_the_payload(
    |k: &TestKey| k.params_with_signature(
        &[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("returnRateLimits", "true")],
        &k.sign("apiKey=aliceKey1&timestamp=1700000000000"),
    ),
    400, -1022, BAD_SIGNATURE
)]
#[case::hmac_key_with_a_valid_hmac_signature(
    |k: &TestKey| k.params_with_signature(
        &[("apiKey", r#""hmacKey1""#), ("timestamp", "1700000000000")],
        &common::hmac_sign("hmac secret", "apiKey=hmacKey1&timestamp=1700000000000"),
    ),
    400, -1022, BAD_SIGNATURE
)]
#[case::missing_api_key(
    |k: &TestKey| k.signed_params(&[("timestamp", "1700000000000")]),
    400, -1102, &golden::MANDATORY.render(&[("name", "apiKey")]).msg
)]
#[case::empty_api_key(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""""#), ("timestamp", "1700000000000")]),
    400, -1102, &golden::MANDATORY.render(&[("name", "apiKey")]).msg
)]
#[case::null_api_key(
    |k: &TestKey| k.signed_params(&[("apiKey", "null"), ("timestamp", "1700000000000")]),
    400, -1102, &golden::MANDATORY.render(&[("name", "apiKey")]).msg
)]
#[case::missing_signature(
    |_: &TestKey| r#"{"apiKey":"aliceKey1","timestamp":1700000000000}"#.to_owned(),
    400, -1102, &golden::MANDATORY.render(&[("name", "signature")]).msg
)]
#[case::empty_signature(
    |k: &TestKey| k.params_with_signature(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000")], ""),
    400, -1102, &golden::MANDATORY.render(&[("name", "signature")]).msg
)]
#[case::missing_timestamp(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#)]),
    400, -1102, &golden::MANDATORY.render(&[("name", "timestamp")]).msg
)]
#[case::no_params_at_all(
    |_: &TestKey| "{}".to_owned(),
    400, -1102, &golden::MANDATORY.render(&[("name", "apiKey")]).msg
)]
#[case::timestamp_not_a_number(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", r#""soon""#)]),
    400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "timestamp"), ("legal_range", "^[0-9]{1,20}$")]).msg
)]
#[case::negative_timestamp(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "-1700000000000")]),
    400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "timestamp"), ("legal_range", "^[0-9]{1,20}$")]).msg
)]
#[case::timestamp_1000_ms_ahead(
    |k: &TestKey| k.logon_params(T0 + 1000),
    400, -1021, AHEAD
)]
#[case::timestamp_an_hour_ahead(
    |k: &TestKey| k.logon_params(T0 + 3_600_000),
    400, -1021, AHEAD
)]
#[case::timestamp_exactly_1000_ms_ahead_in_microseconds(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000001000000")]),
    400, -1021, AHEAD
)]
#[case::timestamp_older_than_the_default_window(
    |k: &TestKey| k.logon_params(T0 - 5001),
    400, -1021, OUTSIDE_WINDOW
)]
#[case::timestamp_older_than_a_given_window(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999989999"), ("recvWindow", "10000")]),
    400, -1021, OUTSIDE_WINDOW
)]
#[case::timestamp_a_microsecond_outside_a_fractional_window(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999998999999"), ("recvWindow", "1000.000")]),
    400, -1021, OUTSIDE_WINDOW
)]
#[case::timestamp_a_microsecond_outside_a_window_with_three_decimals(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999993999653"), ("recvWindow", "6000.346")]),
    400, -1021, OUTSIDE_WINDOW
)]
#[case::timestamp_before_2017(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1483228799999"), ("recvWindow", "60000")]),
    400, -1021, OUTSIDE_WINDOW
)]
#[case::recv_window_above_60000(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "60001")]),
    400, -1102, &recv_window_too_big()
)]
#[case::recv_window_a_microsecond_above_60000(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", r#""60000.001""#)]),
    400, -1102, &recv_window_too_big()
)]
#[case::recv_window_far_above_60000(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "99999999999999999999")]),
    400, -1102, &recv_window_too_big()
)]
#[case::recv_window_with_four_decimals(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "5000.1234")]),
    400, -1100, &recv_window_illegal()
)]
#[case::recv_window_as_a_string_with_four_decimals(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", r#""6000.3461""#)]),
    400, -1100, &recv_window_illegal()
)]
#[case::recv_window_in_exponent_form(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "5e3")]),
    400, -1100, &recv_window_illegal()
)]
#[case::negative_recv_window(
    |k: &TestKey| k.signed_params(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "-1")]),
    400, -1100, &recv_window_illegal()
)]
#[tokio::test]
async fn refused_logon_gets_its_exact_error(
    #[case] params: fn(&TestKey) -> String,
    #[case] status: u16,
    #[case] code: i32,
    #[case] msg: &str,
) {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let request = logon_with(&params(&alice()));
    assert_eq!(
        client.request(&request).await,
        refused(status, code, msg),
        "reply to {request}"
    );
    let status = client
        .request(r#"{"id":2,"method":"session.status","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(
        status,
        format!(
            r#"{{"id":2,"status":200,"result":{}}}"#,
            session_result(None, T0, true, T0)
        ),
        "a refused logon authenticated the session"
    );
}

/// Parameters are accepted as JSON numbers or strings, in any order, with the signature over
/// their text as sent (spec §2.5 "a lenient mock should accept both forms").
#[rstest]
#[case::timestamp_as_a_number(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000")])]
#[case::timestamp_as_a_string(&[("apiKey", r#""aliceKey1""#), ("timestamp", r#""1700000000000""#)])]
#[case::timestamp_in_microseconds(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000000")])]
#[case::timestamp_in_microseconds_as_a_string(&[("apiKey", r#""aliceKey1""#), ("timestamp", r#""1699999995000000""#)])]
#[case::timestamp_999_ms_ahead(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000999")])]
#[case::timestamp_at_the_edge_of_the_default_window(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999995000")])]
#[case::recv_window_as_a_number(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999990000"), ("recvWindow", "10000")])]
#[case::recv_window_as_a_string(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999990000"), ("recvWindow", r#""10000""#)])]
#[case::fractional_recv_window_as_a_number(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999993999654"), ("recvWindow", "6000.346")])]
#[case::fractional_recv_window_as_a_string(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999993999654"), ("recvWindow", r#""6000.346""#)])]
#[case::recv_window_of_exactly_60000(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1699999940000"), ("recvWindow", "60000")])]
#[case::recv_window_with_trailing_zero_decimals(&[("apiKey", r#""aliceKey1""#), ("timestamp", "1700000000000"), ("recvWindow", "60000.000")])]
#[case::params_in_reverse_order(&[("timestamp", "1700000000000"), ("apiKey", r#""aliceKey1""#)])]
#[case::escaped_characters_in_the_key(&[("apiKey", r#""alice\u004bey1""#), ("timestamp", "1700000000000")])]
#[tokio::test]
async fn logon_accepts_numbers_and_strings_alike(#[case] params: &[(&str, &str)]) {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let request = logon_with(&alice().signed_params(params));
    assert_eq!(
        client.request(&request).await,
        logged_on(),
        "reply to {request}"
    );
}

#[tokio::test]
async fn return_rate_limits_is_signed_like_any_other_param() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let params = alice().signed_params(&[
        ("apiKey", r#""aliceKey1""#),
        ("returnRateLimits", "false"),
        ("timestamp", "1700000000000"),
    ]);
    assert_eq!(
        client.request(&logon_with(&params)).await,
        format!(
            r#"{{"id":1,"status":200,"result":{}}}"#,
            session_result(Some((ALICE, T0)), T0, true, T0)
        )
    );
}

#[tokio::test]
async fn signature_is_checked_before_the_timestamp_format() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let params = alice().params_with_signature(
        &[("apiKey", r#""aliceKey1""#), ("timestamp", r#""soon""#)],
        &alice().sign("apiKey=aliceKey1&timestamp=later"),
    );
    assert_eq!(
        client.request(&logon_with(&params)).await,
        refused(400, -1022, BAD_SIGNATURE)
    );
}

/// What a logon signed over `signed_value` (in place of `recvWindow`'s value) gets.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// The signature verified: the logon went on to refuse the malformed `recvWindow`.
    SignatureAccepted,
    /// The signature did not verify.
    SignatureRefused,
}

/// No logon param may hold a space or a comma and still succeed (keys are alphanumeric,
/// times are digits), so these logons send one in `recvWindow`: when the signature passes,
/// the reply is the -1100 for `recvWindow`'s format that comes after it; when it does not,
/// -1022. The payload is `apiKey=aliceKey1&recvWindow=<value>&timestamp=1700000000000`.
#[rstest]
#[case::raw_space("1 000", "1 000", false, Verdict::SignatureAccepted)]
#[case::raw_comma("5,000", "5,000", false, Verdict::SignatureAccepted)]
#[case::uri_component_space("1 000", "1%20000", false, Verdict::SignatureAccepted)]
#[case::form_urlencoded_space("1 000", "1+000", false, Verdict::SignatureAccepted)]
#[case::percent_encoded_comma("5,000", "5%2C000", false, Verdict::SignatureAccepted)]
#[case::lower_case_percent_encoding("5,000", "5%2c000", false, Verdict::SignatureRefused)]
#[case::another_value("5,000", "6,000", false, Verdict::SignatureRefused)]
#[case::strict_raw_space("1 000", "1 000", true, Verdict::SignatureAccepted)]
#[case::strict_raw_comma("5,000", "5,000", true, Verdict::SignatureAccepted)]
#[case::strict_uri_component_space("1 000", "1%20000", true, Verdict::SignatureRefused)]
#[case::strict_form_urlencoded_space("1 000", "1+000", true, Verdict::SignatureRefused)]
#[case::strict_percent_encoded_comma("5,000", "5%2C000", true, Verdict::SignatureRefused)]
#[tokio::test]
async fn signature_may_cover_the_raw_or_the_percent_encoded_payload_unless_strict(
    #[case] sent_value: &str,
    #[case] signed_value: &str,
    #[case] strict: bool,
    #[case] verdict: Verdict,
) {
    let server = start(alice().register(frozen_builder()).strict_signing(strict)).await;
    let mut client = Client::connect(&server).await;
    let signature = alice().sign(&format!(
        "apiKey=aliceKey1&recvWindow={signed_value}&timestamp=1700000000000"
    ));
    let params = alice().params_with_signature(
        &[
            ("apiKey", r#""aliceKey1""#),
            ("timestamp", "1700000000000"),
            ("recvWindow", &format!(r#""{sent_value}""#)),
        ],
        &signature,
    );
    let expected = match verdict {
        Verdict::SignatureAccepted => refused(400, -1100, &recv_window_illegal()),
        Verdict::SignatureRefused => refused(400, -1022, BAD_SIGNATURE),
    };
    assert_eq!(client.request(&logon_with(&params)).await, expected);
}

#[rstest]
#[case::lenient(false)]
#[case::strict(true)]
#[tokio::test]
async fn raw_payload_logons_succeed_with_either_signing_mode(#[case] strict: bool) {
    let server = start(alice().register(frozen_builder()).strict_signing(strict)).await;
    let mut client = Client::connect(&server).await;
    assert_eq!(client.request(&alice().logon("1", T0)).await, logged_on());
}

/// Binance verifies over the raw payload only, so by default so does the mock; the builder's
/// `lenient_signing` brings back the percent-encoded payloads some connectors sign.
#[rstest]
#[case::by_default(None, Verdict::SignatureRefused)]
#[case::lenient(Some(true), Verdict::SignatureAccepted)]
#[case::not_lenient(Some(false), Verdict::SignatureRefused)]
#[tokio::test]
async fn a_percent_encoded_signature_is_refused_unless_signing_is_lenient(
    #[case] lenient: Option<bool>,
    #[case] verdict: Verdict,
) {
    let mut builder = alice().register(frozen_builder());
    if let Some(lenient) = lenient {
        builder = builder.lenient_signing(lenient);
    }
    let server = start(builder).await;
    let mut client = Client::connect(&server).await;
    let signature = alice().sign("apiKey=aliceKey1&recvWindow=1%20000&timestamp=1700000000000");
    let params = alice().params_with_signature(
        &[
            ("apiKey", r#""aliceKey1""#),
            ("timestamp", "1700000000000"),
            ("recvWindow", r#""1 000""#),
        ],
        &signature,
    );
    let expected = match verdict {
        Verdict::SignatureAccepted => refused(400, -1100, &recv_window_illegal()),
        Verdict::SignatureRefused => refused(400, -1022, BAD_SIGNATURE),
    };
    assert_eq!(client.request(&logon_with(&params)).await, expected);
}

#[tokio::test]
async fn logon_with_the_v3_prefix_works() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let request = format!(
        r#"{{"id":1,"method":"v3/session.logon","params":{}}}"#,
        alice().logon_params(T0)
    );
    assert_eq!(client.request(&request).await, logged_on());
}

#[tokio::test]
async fn without_the_demo_key_the_demo_key_is_unknown() {
    let server = start(frozen_builder().without_demo_key()).await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(&TestKey::demo().logon("1", T0)).await,
        refused(401, -2015, golden::REJECTED_API_KEY.template)
    );
}
