//! `depth` (web-socket-api.md:1701): the best `limit` levels each side of a symbol's
//! synthetic book, as (price, quantity) strings at the symbol's precisions.

use rust_decimal::Decimal;

use crate::envelope::Json;
use crate::market::{push_fixed, Book, Listed};

use super::market_params::{listed, sent, status_filter, symbol_name};
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{ParamCursor, ParamValue, Params};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "depth",
    weight: Weight::Rule(weight),
    security: Security::None,
    call,
};

/// `limit` when not sent (web-socket-api.md:1740).
const DEFAULT_LIMIT: u64 = 100;

/// The deepest book returned: a larger `limit` is cut to it, as the REST API documents
/// ("If limit > 5000, only 5000 entries will be returned").
const MAX_LIMIT: u64 = 5000;

/// What a `limit` that is not a count is refused with, as Binance refuses other integers.
const LIMIT_RANGE: &str = "^[0-9]{1,20}$";

/// The `limit` asked for: its digits, saturating, or `None` if it is not digits.
fn limit_of(value: &ParamValue<'_>) -> Option<u64> {
    let text = value.text();
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// The weight by `limit` (web-socket-api.md:1727-1734); the default limit's when `limit` is
/// absent or not a count, 250 when it is cut to 5000.
fn weight(params: &Params<'_>) -> u32 {
    let limit = sent(params.get("limit"))
        .and_then(limit_of)
        .filter(|limit| *limit >= 1)
        .unwrap_or(DEFAULT_LIMIT);
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

/// The result, in the documented key order: `{"lastUpdateId":…,"bids":[[price,qty],…],
/// "asks":[…]}`, prices and quantities as strings at the symbol's precisions. Written by
/// hand: a book of a hundred levels a side is four hundred numbers, and going through a
/// `String` each and serde costs several times the writing (the tests hold it to what
/// serde writes).
fn depth_json(listed: &Listed, book: &Book) -> Json {
    let (quote, base) = (
        listed.config.quote_asset_precision,
        listed.config.base_asset_precision,
    );
    let mut out = String::with_capacity(48 + 40 * (book.bids.len() + book.asks.len()));
    let side = |out: &mut String, levels: &[(Decimal, Decimal)]| {
        for (i, (price, qty)) in levels.iter().enumerate() {
            out.push_str(if i == 0 { "[\"" } else { ",[\"" });
            push_fixed(out, *price, quote);
            out.push_str("\",\"");
            push_fixed(out, *qty, base);
            out.push_str("\"]");
        }
    };
    out.push_str(r#"{"lastUpdateId":"#);
    out.push_str(itoa::Buffer::new().format(listed.update_id));
    out.push_str(r#","bids":["#);
    side(&mut out, &book.bids);
    out.push_str(r#"],"asks":["#);
    side(&mut out, &book.asks);
    out.push_str("]}");
    Json::written(out)
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let symbol = p.take("symbol");
    let limit = p.take("limit");
    let status = p.take("symbolStatus");
    p.finish()?;
    let name = symbol_name(sent(symbol).ok_or(ApiError::MandatoryParam("symbol"))?)?;
    let limit = match sent(limit) {
        None => DEFAULT_LIMIT,
        Some(value) => match limit_of(value) {
            None => {
                return Err(ApiError::IllegalChars {
                    param: "limit",
                    legal_range: LIMIT_RANGE,
                })
            }
            Some(0) => return Err(ApiError::InvalidParameter("limit")),
            Some(limit) => limit.min(MAX_LIMIT),
        },
    };
    let status = status_filter(status)?;
    let listed = listed(&ctx.server.market, name)?;
    if status.is_some_and(|wanted| listed.status != wanted) {
        return Err(ApiError::SymbolStatusMismatch);
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(listed.depth(limit, |book| depth_json(listed, book)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::market::{Market, SymbolConfig};

    /// The result as serde writes it.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Depth {
        last_update_id: u64,
        bids: Vec<[String; 2]>,
        asks: Vec<[String; 2]>,
    }

    #[test]
    fn the_hand_written_book_is_the_serde_one() {
        let market = Market::new(&SymbolConfig::defaults(), Timestamp::from_millis(0));
        for listed in market.all() {
            for limit in [0, 1, 5, 100] {
                let book = listed.book(limit);
                let side = |levels: &[(Decimal, Decimal)]| {
                    levels
                        .iter()
                        .map(|(p, q)| [listed.price_text(*p), listed.qty_text(*q)])
                        .collect()
                };
                let serde = serde_json::to_string(&Depth {
                    last_update_id: listed.update_id,
                    bids: side(&book.bids),
                    asks: side(&book.asks),
                })
                .expect("plain data");
                assert_eq!(
                    depth_json(listed, &book).get(),
                    serde,
                    "{}",
                    listed.config.symbol
                );
            }
        }
    }

    #[test]
    fn the_weight_follows_the_documented_tiers() {
        let of = |limit: &str| {
            weight(&Params::from_pairs(&[
                ("symbol", "BTCUSDT"),
                ("limit", limit),
            ]))
        };
        let tiers: Vec<u32> = [
            "1", "100", "101", "500", "501", "1000", "1001", "5000", "9999",
        ]
        .into_iter()
        .map(of)
        .collect();
        assert_eq!(tiers, [5, 5, 25, 25, 50, 50, 250, 250, 250]);
        assert_eq!(weight(&Params::default()), 5);
        assert_eq!(of("abc"), 5);
        assert_eq!(of("0"), 5);
    }
}
