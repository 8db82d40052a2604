//! `klines` and `uiKlines` over real sockets (web-socket-api.md:2052, 2151): candles drawn
//! from the price history on a frozen mock clock, moved with `MockServer::set_price` and the
//! clock; alignment of every kind of interval in UTC and in a `timeZone`; `startTime`,
//! `endTime` and `limit`; the connection's time unit; every error.

mod common;

use std::time::Duration;

use common::*;
use mock_server::Timestamp;
use serde_json::Value;
use test_support::errors as golden;

/// The open of the minute holding [`T0`] (2023-11-14T22:13:20Z, a Tuesday).
const MINUTE_OPEN: i64 = 1_699_999_980_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A quiet `method` request (no `rateLimits`) with `params` written as raw JSON members.
fn request(method: &str, params: &str) -> String {
    let comma = if params.is_empty() { "" } else { "," };
    format!(
        r#"{{"id":"k","method":"{method}","params":{{{params}{comma}"returnRateLimits":false}}}}"#
    )
}

/// `klines` on BTCUSDT with `interval` and further raw `params`.
fn btc(interval: &str, params: &str) -> String {
    let comma = if params.is_empty() { "" } else { "," };
    request(
        "klines",
        &format!(r#""symbol":"BTCUSDT","interval":"{interval}"{comma}{params}"#),
    )
}

/// The `result` of a successful reply.
fn candles(reply: &str) -> Vec<Value> {
    let reply: Value = serde_json::from_str(reply).expect("reply is JSON");
    assert_eq!(reply["status"], 200, "{reply}");
    reply["result"]
        .as_array()
        .expect("an array of candles")
        .clone()
}

/// Each candle's open time.
fn open_times(reply: &str) -> Vec<i64> {
    candles(reply)
        .iter()
        .map(|c| c[0].as_i64().expect("an open time"))
        .collect()
}

/// Each candle's open, high, low and close.
fn prices(candle: &Value) -> [&str; 4] {
    [1, 2, 3, 4].map(|i| candle[i].as_str().expect("a price"))
}

#[tokio::test]
async fn a_candle_without_moves_or_trades_is_flat_at_the_start_up_price_with_zero_volume_byte_for_byte(
) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request(
            r#"{"id":1,"method":"klines","params":{"symbol":"BTCUSDT","interval":"1m","limit":1}}"#,
        )
        .await;
    let flat = "60000.00000000";
    let zero = "0.00000000";
    assert_eq!(
        reply,
        format!(
            r#"{{"id":1,"status":200,"result":[[{MINUTE_OPEN},"{flat}","{flat}","{flat}","{flat}","{zero}",{},"{zero}",0,"{zero}","{zero}","0"]]{}}}"#,
            MINUTE_OPEN + MINUTE - 1,
            // The connection's own weight of 2, then the request's 2.
            weight(4)
        )
    );
}

#[tokio::test]
async fn a_price_moved_within_a_candle_gives_its_high_low_and_close_and_the_next_opens_there() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    server
        .set_price("BTCUSDT", "61000.00")
        .expect("a valid price");
    server.clock().advance(Duration::from_secs(10));
    server
        .set_price("BTCUSDT", "59500.00")
        .expect("a valid price");
    server.clock().advance(Duration::from_secs(10));
    server
        .set_price("BTCUSDT", "60500.00")
        .expect("a valid price");
    // Into the next minute, which opens now.
    server.clock().advance(Duration::from_secs(20));
    let reply = client.request(&btc("1m", r#""limit":3"#)).await;
    let got = candles(&reply);
    assert_eq!(
        open_times(&reply),
        [MINUTE_OPEN - MINUTE, MINUTE_OPEN, MINUTE_OPEN + MINUTE]
    );
    assert_eq!(prices(&got[0]), ["60000.00000000"; 4]);
    assert_eq!(
        prices(&got[1]),
        [
            "60000.00000000",
            "61000.00000000",
            "59500.00000000",
            "60500.00000000"
        ]
    );
    assert_eq!(prices(&got[2]), ["60500.00000000"; 4]);
    assert_eq!(got[1][5], "0.00000000", "a move is no trade");
    assert_eq!(got[1][8], 0);
}

#[tokio::test]
async fn without_start_or_end_the_newest_limit_candles_end_with_the_one_holding_now() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let opens = open_times(&client.request(&btc("1m", "")).await);
    assert_eq!(opens.len(), 500, "the default limit");
    assert_eq!(opens.last(), Some(&MINUTE_OPEN));
    assert!(opens.windows(2).all(|w| w[1] - w[0] == MINUTE));
    // Over the maximum is no error: Binance caps it at 1000.
    assert_eq!(
        open_times(&client.request(&btc("1s", r#""limit":5000"#)).await).len(),
        1000
    );
}

#[tokio::test]
async fn start_time_end_time_and_limit_choose_the_candles_and_none_is_after_now() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let minutes = |k: i64| MINUTE_OPEN + k * MINUTE;
    let ask = |params: String| btc("1m", &params);
    // From startTime, the oldest first; a startTime inside a candle begins with the next.
    let reply = client
        .request(&ask(format!(
            r#""startTime":{},"limit":2"#,
            minutes(-5) + 1
        )))
        .await;
    assert_eq!(open_times(&reply), [minutes(-4), minutes(-3)]);
    // Both: from startTime, not past endTime (the candle holding endTime included).
    let reply = client
        .request(&ask(format!(
            r#""startTime":{},"endTime":{}"#,
            minutes(-3),
            minutes(-2) + 5
        )))
        .await;
    assert_eq!(open_times(&reply), [minutes(-3), minutes(-2)]);
    // endTime alone: the newest up to it.
    let reply = client
        .request(&ask(format!(r#""endTime":{},"limit":3"#, minutes(-2))))
        .await;
    assert_eq!(open_times(&reply), [minutes(-4), minutes(-3), minutes(-2)]);
    // Never after now, whatever endTime says; a startTime after now finds nothing.
    let reply = client
        .request(&ask(format!(
            r#""startTime":{},"endTime":{}"#,
            minutes(-1),
            minutes(10)
        )))
        .await;
    assert_eq!(open_times(&reply), [minutes(-1), minutes(0)]);
    let reply = client
        .request(&ask(format!(r#""startTime":{}"#, minutes(1))))
        .await;
    assert_eq!(reply, r#"{"id":"k","status":200,"result":[]}"#);
}

#[tokio::test]
async fn weeks_months_three_days_and_days_are_aligned_in_utc_and_in_the_time_zone() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let monday = 1_699_833_600_000; // 2023-11-13T00:00Z
    let november = 1_698_796_800_000; // 2023-11-01T00:00Z
    let today = 1_699_920_000_000; // 2023-11-14T00:00Z
    let cases: [(&str, i64, [i64; 4]); 3] = [
        // (timeZone, offset, [1w, 1M, 3d, 1d]), the 3d candles counted from the epoch
        // (2023-11-13 is day 19674 = 3 × 6558).
        ("0", 0, [monday, november, monday, today]),
        // 06:13 on Wednesday the 15th in UTC+8.
        ("8", 8 * HOUR, [monday, november, monday, today + DAY]),
        // 20:43 on Tuesday the 14th in UTC−1:30.
        ("-1:30", -90 * MINUTE, [monday, november, monday, today]),
    ];
    for (zone, offset, local_opens) in cases {
        for (interval, local_open) in ["1w", "1M", "3d", "1d"].into_iter().zip(local_opens) {
            let reply = client
                .request(&btc(interval, &format!(r#""timeZone":"{zone}","limit":1"#)))
                .await;
            assert_eq!(
                open_times(&reply),
                [local_open - offset],
                "{interval} in {zone}"
            );
        }
    }
    // Each candle closes a millisecond before the next opens: November ends with its 30th day.
    let reply = client.request(&btc("1M", r#""limit":2"#)).await;
    let got = candles(&reply);
    assert_eq!(got[0][0], 1_696_118_400_000_i64, "October");
    assert_eq!(got[0][6], november - 1);
    assert_eq!(got[1][6], november + 30 * DAY - 1);
    let reply = client.request(&btc("3d", r#""limit":2"#)).await;
    assert_eq!(open_times(&reply), [monday - 3 * DAY, monday]);
}

#[tokio::test]
async fn in_microseconds_the_times_are_microseconds_and_start_time_may_be_either() {
    let server = frozen_server().await;
    let mut client = Client::connect_with_query(&server, "timeUnit=MICROSECOND").await;
    let micros = MINUTE_OPEN * 1000;
    for start in [MINUTE_OPEN, micros] {
        let reply = client
            .request(&btc("1m", &format!(r#""startTime":{start}"#)))
            .await;
        let got = candles(&reply);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0][0], micros);
        assert_eq!(got[0][6], micros + MINUTE * 1000 - 1);
    }
}

#[tokio::test]
async fn ui_klines_answers_what_klines_answers_and_weighs_the_same() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    server
        .set_price("ETHUSDT", "3100.00")
        .expect("a valid price");
    server.clock().advance(Duration::from_secs(90));
    server.clock().set(Timestamp::from_millis(T0 + 3 * 60_000));
    // The clock moved into a later minute: its weight window starts empty.
    let mut count = 0;
    for params in [r#""limit":4"#, r#""timeZone":"05:45","limit":3"#] {
        let body = format!(r#""symbol":"ETHUSDT","interval":"1m",{params}"#);
        let klines = client
            .request(&format!(
                r#"{{"id":1,"method":"klines","params":{{{body}}}}}"#
            ))
            .await;
        let ui = client
            .request(&format!(
                r#"{{"id":1,"method":"uiKlines","params":{{{body}}}}}"#
            ))
            .await;
        count += 4;
        let (klines_result, klines_weight) =
            klines.split_once(r#","rateLimits""#).expect("rateLimits");
        let (ui_result, ui_weight) = ui.split_once(r#","rateLimits""#).expect("rateLimits");
        assert_eq!(ui_result, klines_result);
        assert_eq!(
            format!(r#","rateLimits"{ui_weight}"#),
            format!("{}}}", weight(count))
        );
        assert_eq!(
            format!(r#","rateLimits"{klines_weight}"#),
            format!("{}}}", weight(count - 2))
        );
    }
    // The minute the price moved in: from the start-up price to the new one.
    let reply = client
        .request(&request(
            "uiKlines",
            r#""symbol":"ETHUSDT","interval":"1m","limit":4"#,
        ))
        .await;
    assert_eq!(
        prices(&candles(&reply)[0]),
        [
            "3000.00000000",
            "3100.00000000",
            "3000.00000000",
            "3100.00000000"
        ]
    );
}

#[tokio::test]
async fn every_error_of_the_kline_methods_is_the_documented_one() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let illegal = |name: &str| {
        golden::ILLEGAL_CHARACTERS.render(&[("name", name), ("legal_range", "^[0-9]{1,20}$")])
    };
    let cases: Vec<(String, golden::ApiError)> = vec![
        (
            request("klines", r#""interval":"1m""#),
            golden::mandatory("symbol"),
        ),
        (
            request("klines", r#""symbol":"","interval":"1m""#),
            golden::mandatory("symbol"),
        ),
        (
            request("uiKlines", r#""symbol":"BTCUSDT""#),
            golden::mandatory("interval"),
        ),
        (
            request("klines", r#""symbol":"NOPE","interval":"1m""#),
            golden::BAD_SYMBOL.error(),
        ),
        (btc("1H", ""), golden::BAD_INTERVAL.error()),
        (btc("1mo", ""), golden::BAD_INTERVAL.error()),
        (btc("2d", ""), golden::BAD_INTERVAL.error()),
        (btc("1m", r#""startTime":"abc""#), illegal("startTime")),
        (btc("1m", r#""endTime":-1"#), illegal("endTime")),
        (btc("1m", r#""limit":-1"#), illegal("limit")),
        (btc("1m", r#""limit":1.5"#), illegal("limit")),
        (
            btc("1m", r#""timeZone":"14:30""#),
            golden::INVALID_PARAMETER.render(&[("name", "timeZone")]),
        ),
        (
            btc("1m", r#""timeZone":"-12:01""#),
            golden::INVALID_PARAMETER.render(&[("name", "timeZone")]),
        ),
        (
            btc("1m", r#""timeZone":"UTC""#),
            golden::INVALID_PARAMETER.render(&[("name", "timeZone")]),
        ),
        (
            btc("1m", &format!(r#""startTime":{},"endTime":{}"#, T0, T0 - 1)),
            golden::START_AFTER_END.error(),
        ),
        (
            btc("1m", r#""fromId":1"#),
            golden::UNREAD_PARAMETERS.render(&[("read", "2"), ("sent", "3")]),
        ),
    ];
    for (text, error) in cases {
        let reply = client.request(&text).await;
        assert_eq!(
            reply,
            error_reply(r#""k""#, error.status, error.code, &error.msg),
            "{text}"
        );
    }
    client.assert_usable().await;
}
