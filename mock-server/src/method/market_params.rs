//! The params the market-data methods share (`symbol`, `symbols`, `symbolStatus`), checked
//! as Binance checks them, and the choice of symbols a ticker reports on.

use crate::envelope::{ParamCursor, ParamValue, Params};
use crate::error::ApiError;
use crate::market::{Listed, Market, SymbolStatus};

/// The legal range Binance quotes for a malformed `symbol`: word characters, `-`, `.` and
/// `_`, no lower-case letter, 1 to 50 of them. `\w` is Unicode's (`币安人生USDT` is listed).
const SYMBOL_RANGE: &str = r"^[\w\-._&&[^a-z]]{1,50}$";

/// The legal range Binance quotes for a malformed `symbols`: a JSON array of such names.
const SYMBOLS_RANGE: &str =
    r#"^\[("[\w\-._&&[^a-z]]{1,50}"(,"[\w\-._&&[^a-z]]{1,50}"){0,}){0,1}\]$"#;

/// Whether `name` is in [`SYMBOL_RANGE`].
fn is_symbol_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=50).contains(&length)
        && name.chars().all(|c| {
            (c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) && !c.is_ascii_lowercase()
        })
}

/// An optional param's value, an empty string counting as not sent (spec §2.5).
pub(crate) fn sent<'p, 'a>(value: Option<&'p ParamValue<'a>>) -> Option<&'p ParamValue<'a>> {
    value.filter(|v| !v.text().is_empty())
}

/// The name in `symbol`.
///
/// # Errors
/// -1100 for a name outside Binance's legal range.
pub(crate) fn symbol_name<'p>(value: &'p ParamValue<'_>) -> Result<&'p str, ApiError> {
    let name = value.text();
    if is_symbol_name(name) {
        Ok(name)
    } else {
        Err(ApiError::IllegalChars {
            param: "symbol",
            legal_range: SYMBOL_RANGE,
        })
    }
}

/// The mandatory `symbol` of `depth` and `avgPrice`, listed.
///
/// # Errors
/// -1102 when absent or empty, -1100 when malformed, -1121 when not listed.
pub(crate) fn required_symbol<'m>(
    market: &'m Market,
    value: Option<&ParamValue<'_>>,
) -> Result<&'m Listed, ApiError> {
    let value = sent(value).ok_or(ApiError::MandatoryParam("symbol"))?;
    listed(market, symbol_name(value)?)
}

/// The names in `symbols`: a JSON array of strings, sent as an array or as its text.
///
/// # Errors
/// -1100 for anything but an array of well-formed names, -1151 for a name given twice.
pub(crate) fn symbol_names(value: &ParamValue<'_>) -> Result<Vec<String>, ApiError> {
    let illegal = ApiError::IllegalChars {
        param: "symbols",
        legal_range: SYMBOLS_RANGE,
    };
    let names: Vec<String> = serde_json::from_str(value.text()).map_err(|_| illegal.clone())?;
    if !names.iter().all(|name| is_symbol_name(name)) {
        return Err(illegal);
    }
    for (at, name) in names.iter().enumerate() {
        if names[..at].contains(name) {
            return Err(ApiError::DuplicateSymbols);
        }
    }
    Ok(names)
}

/// The status `symbolStatus` filters for, if sent.
///
/// # Errors
/// -1122 for anything but the values the docs list as valid: `TRADING`, `HALT`, `BREAK`.
pub(crate) fn status_filter(
    value: Option<&ParamValue<'_>>,
) -> Result<Option<SymbolStatus>, ApiError> {
    let Some(value) = sent(value) else {
        return Ok(None);
    };
    match SymbolStatus::parse(value.text()) {
        Some(status @ (SymbolStatus::Trading | SymbolStatus::Halt | SymbolStatus::Break)) => {
            Ok(Some(status))
        }
        _ => Err(ApiError::InvalidSymbolStatus),
    }
}

/// The symbol called `name`.
///
/// # Errors
/// -1121 when it is not listed.
pub(crate) fn listed<'m>(market: &'m Market, name: &str) -> Result<&'m Listed, ApiError> {
    market.get(name).ok_or(ApiError::BadSymbol)
}

/// The symbols a ticker reports on.
pub(crate) enum Selection<'m> {
    /// `symbol` was sent: the result is one object.
    One(&'m Listed),
    /// `symbols` or neither was sent: the result is an array.
    Many(Vec<&'m Listed>),
}

/// The params of `ticker.price` and `ticker.book`, taken: `symbol`, `symbols`, `symbolStatus`.
pub(crate) struct TickerParams<'p, 'a> {
    symbol: Option<&'p ParamValue<'a>>,
    symbols: Option<&'p ParamValue<'a>>,
    status: Option<&'p ParamValue<'a>>,
}

impl<'p, 'a> TickerParams<'p, 'a> {
    /// Takes the ticker params from `p`.
    pub fn take(p: &mut ParamCursor<'p, 'a>) -> Self {
        TickerParams {
            symbol: p.take("symbol"),
            symbols: p.take("symbols"),
            status: p.take("symbolStatus"),
        }
    }

    /// The symbols these params select (web-socket-api.md:3028-3038): one by `symbol`,
    /// those of `symbols` in the order named, or every symbol currently trading; with
    /// `symbolStatus`, one symbol must have it (-1220), several without it are left out.
    ///
    /// # Errors
    /// -1100, -1151 and -1122 for malformed params, -1128 for `symbol` with `symbols`,
    /// -1121 for a symbol not listed, -1220 for one symbol of another status.
    pub fn select<'m>(&self, market: &'m Market) -> Result<Selection<'m>, ApiError> {
        let symbol = sent(self.symbol).map(symbol_name).transpose()?;
        let symbols = sent(self.symbols).map(symbol_names).transpose()?;
        let status = status_filter(self.status)?;
        match (symbol, symbols) {
            (Some(_), Some(_)) => Err(ApiError::ParamsExclusive {
                first: "symbol",
                second: "symbols",
            }),
            (Some(name), None) => {
                let one = listed(market, name)?;
                match status {
                    Some(wanted) if one.status != wanted => Err(ApiError::SymbolStatusMismatch),
                    _ => Ok(Selection::One(one)),
                }
            }
            (None, Some(names)) => {
                let mut many = Vec::with_capacity(names.len());
                for name in &names {
                    many.push(listed(market, name)?);
                }
                many.retain(|s| status.is_none_or(|wanted| s.status == wanted));
                Ok(Selection::Many(many))
            }
            (None, None) => {
                let wanted = status.unwrap_or(SymbolStatus::Trading);
                Ok(Selection::Many(
                    market.all().iter().filter(|s| s.status == wanted).collect(),
                ))
            }
        }
    }
}

/// The weight of `ticker.price` and `ticker.book` (web-socket-api.md:2999-3005): 2 for
/// `symbol`, 4 for `symbols` or neither.
pub(crate) fn ticker_weight(params: &Params<'_>) -> u32 {
    let named = |name| sent(params.get(name)).is_some();
    if named("symbol") && !named("symbols") {
        2
    } else {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn text(s: &str) -> ParamValue<'_> {
        ParamValue::Str(Cow::Borrowed(s))
    }

    #[test]
    fn symbol_names_follow_binances_legal_range() {
        assert!(is_symbol_name("BTCUSDT"));
        assert!(is_symbol_name("币安人生USDT"));
        assert!(is_symbol_name("1000CAT-X_Y.Z"));
        assert!(!is_symbol_name("btcusdt"));
        assert!(!is_symbol_name("BTC/USDT"));
        assert!(!is_symbol_name(""));
        assert!(!is_symbol_name(&"A".repeat(51)));
    }

    #[test]
    fn symbols_is_an_array_of_distinct_names() {
        assert_eq!(
            symbol_names(&ParamValue::Raw(r#"["BTCUSDT", "ETHUSDT"]"#)).expect("valid"),
            ["BTCUSDT", "ETHUSDT"]
        );
        assert_eq!(
            symbol_names(&text(r#"["BTCUSDT"]"#)).expect("valid"),
            ["BTCUSDT"]
        );
        assert!(symbol_names(&text("[]")).expect("valid").is_empty());
        for bad in ["BTCUSDT", r#"["btcusdt"]"#, "[1]", r#"["A","#] {
            assert!(matches!(
                symbol_names(&text(bad)),
                Err(ApiError::IllegalChars {
                    param: "symbols",
                    ..
                })
            ));
        }
        assert_eq!(
            symbol_names(&text(r#"["BTCUSDT","BTCUSDT"]"#)),
            Err(ApiError::DuplicateSymbols)
        );
    }

    #[test]
    fn symbol_status_filters_take_the_three_documented_values() {
        assert_eq!(
            status_filter(Some(&text("HALT"))),
            Ok(Some(SymbolStatus::Halt))
        );
        assert_eq!(status_filter(None), Ok(None));
        for bad in ["END_OF_DAY", "CANCEL_ONLY", "trading"] {
            assert_eq!(
                status_filter(Some(&text(bad))),
                Err(ApiError::InvalidSymbolStatus)
            );
        }
    }

    #[test]
    fn ticker_weights_depend_on_what_is_named() {
        assert_eq!(ticker_weight(&Params::from_pairs(&[("symbol", "X")])), 2);
        assert_eq!(ticker_weight(&Params::from_pairs(&[("symbols", "[]")])), 4);
        assert_eq!(ticker_weight(&Params::default()), 4);
    }
}
