//! `klines` (web-socket-api.md:2052): a symbol's candlesticks, drawn from its price history
//! and its mock accounts' trades on the mock clock (see `market::klines`).

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::{self, Security};
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::market::klines::{self, Interval, TimeZone, Window, DEFAULT_LIMIT, MAX_LIMIT};
use crate::market::{fixed, Listed};
use crate::timing;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "klines",
    weight: Weight::Fixed(2),
    security: Security::None,
    call: answer,
};

/// The legal range a malformed `limit` is refused with, as Binance words it for `limit`.
const LIMIT_RANGE: &str = "^[0-9]{1,20}$";

/// One candle on the wire (web-socket-api.md:2125): open time, open, high, low, close,
/// volume, close time, quote volume, trades, taker buy base and quote volumes, `"0"`.
type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    u64,
    String,
    String,
    &'static str,
);

/// Answers `klines` and `uiKlines` alike: reads `symbol`, `interval`, `startTime`, `endTime`,
/// `timeZone` and `limit`, and writes the candles they ask for.
///
/// Checks, in order: no other params (-1104), `symbol` then `interval` present (-1102), then
/// each value in the order the docs list them: `symbol` listed (-1121), `interval` one of the
/// documented ones (-1120), `startTime` and `endTime` digits (-1100), `timeZone` in range
/// (-1130), `limit` digits (-1100); last, `startTime` not after `endTime` (-1023).
pub(super) fn answer(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    for name in [
        "symbol",
        "interval",
        "startTime",
        "endTime",
        "timeZone",
        "limit",
    ] {
        p.take(name);
    }
    p.finish()?;
    let params = p.all();
    let symbol = auth::mandatory(params, "symbol")?;
    let interval = auth::mandatory(params, "interval")?;
    let listed = ctx.server.market.get(symbol).ok_or(ApiError::BadSymbol)?;
    let interval = Interval::parse(interval).ok_or(ApiError::BadInterval)?;
    let time = |name| {
        params
            .get(name)
            .map(|value| timing::parse_time_param(name, value.text()))
            .transpose()
    };
    let start = time("startTime")?;
    let end = time("endTime")?;
    let zone = match params.get("timeZone") {
        None => TimeZone::UTC,
        Some(value) => {
            TimeZone::parse(value.text()).ok_or(ApiError::InvalidParameter("timeZone"))?
        }
    };
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(value) => parse_limit(value.text())?,
    };
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::StartAfterEnd);
        }
    }
    let window = Window { start, end, limit };
    let candles = klines::candles(&listed.history(), interval, zone, window, ctx.now);
    let unit = ctx.session.time_unit;
    let rows: Vec<Row> = candles
        .iter()
        .map(|c| {
            (
                unit.render(c.open_time),
                listed.price_text(c.open),
                listed.price_text(c.high),
                listed.price_text(c.low),
                listed.price_text(c.close),
                listed.qty_text(c.volume),
                unit.render(c.close_time),
                quote_text(listed, c.quote_volume),
                c.trades,
                listed.qty_text(c.taker_buy_volume),
                quote_text(listed, c.taker_buy_quote_volume),
                "0",
            )
        })
        .collect();
    to_json(&rows)
}

/// A quote-asset amount at the quote asset's precision.
fn quote_text(listed: &Listed, amount: rust_decimal::Decimal) -> String {
    fixed(amount, listed.config.quote_asset_precision)
}

/// `limit`: digits; above 1000 reads as 1000, as Binance silently caps it; 0 reads as the
/// default (docs/FIDELITY.md "Klines").
fn parse_limit(text: &str) -> Result<usize, ApiError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::IllegalChars {
            param: "limit",
            legal_range: LIMIT_RANGE,
        });
    }
    // All digits: parsing fails only past u64::MAX, which is over the cap anyway.
    let value = text.parse::<u64>().unwrap_or(u64::MAX);
    Ok(match value {
        0 => DEFAULT_LIMIT,
        n => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_over_the_maximum_is_capped_and_zero_is_the_default() {
        assert_eq!(parse_limit("1"), Ok(1));
        assert_eq!(parse_limit("1000"), Ok(1000));
        assert_eq!(parse_limit("1001"), Ok(1000));
        assert_eq!(parse_limit("99999999999999999999"), Ok(1000));
        assert_eq!(parse_limit("0"), Ok(500));
        for bad in ["-1", "1.5", "abc", "", "123456789012345678901"] {
            assert!(
                matches!(
                    parse_limit(bad),
                    Err(ApiError::IllegalChars { param: "limit", .. })
                ),
                "{bad:?}"
            );
        }
    }
}
