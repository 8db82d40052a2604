//! The params the order methods share: the order a request names (`orderId`,
//! `origClientOrderId`), ids and `limit` as digits.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::envelope::{ParamValue, Params};
use crate::error::ApiError;
use crate::market::Market;
use crate::orders::{Order, OrderRef, Orders};
use crate::timing;

use super::market_params::{listed, sent, symbol_name};

/// The legal range Binance quotes for a malformed id (`orderId`, `fromId`): digits.
const ID_RANGE: &str = "^[0-9]{1,20}$";

/// The legal range quoted for a malformed `limit`.
const LIMIT_RANGE: &str = "^[0-9]{1,20}$";

/// The mandatory `symbol`, well formed and listed.
///
/// # Errors
/// -1102 when absent or empty, -1100 when malformed, -1121 when not listed.
pub(super) fn symbol<'p>(params: &'p Params<'_>, market: &Market) -> Result<&'p str, ApiError> {
    let value = sent(params.get("symbol")).ok_or(ApiError::MandatoryParam("symbol"))?;
    let name = symbol_name(value)?;
    listed(market, name)?;
    Ok(name)
}

/// An optional id param (`orderId`, `fromId`): digits.
///
/// # Errors
/// -1100 for anything but 1 to 20 digits that fit in 64 bits.
pub(super) fn id(params: &Params<'_>, name: &'static str) -> Result<Option<u64>, ApiError> {
    let Some(value) = sent(params.get(name)) else {
        return Ok(None);
    };
    digits(value, name, ID_RANGE).map(Some)
}

/// `limit`: digits, `default` when not sent, at most `max` (a larger one reads as `max`, as
/// Binance caps it); 0 reads as the default.
///
/// # Errors
/// -1100 for anything but digits.
pub(super) fn limit(params: &Params<'_>, default: usize, max: usize) -> Result<usize, ApiError> {
    let Some(value) = sent(params.get("limit")) else {
        return Ok(default);
    };
    let n = digits(value, "limit", LIMIT_RANGE)?;
    Ok(match usize::try_from(n).unwrap_or(usize::MAX) {
        0 => default,
        n => n.min(max),
    })
}

fn digits(
    value: &ParamValue<'_>,
    name: &'static str,
    range: &'static str,
) -> Result<u64, ApiError> {
    let text = value.text();
    let illegal = ApiError::IllegalChars {
        param: name,
        legal_range: range,
    };
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(illegal);
    }
    // All digits: only a value past u64::MAX fails, and no id or limit is that large.
    text.parse().map_err(|_| illegal)
}

/// The order a request names: by `orderId`, by `origClientOrderId`, or by both (then the
/// order of that id, if its client order id is the one sent: `web-socket-api.md:7077`).
pub(super) struct Named {
    id: Option<u64>,
    client: Option<String>,
}

impl Named {
    /// Reads `orderId` and `origClientOrderId`.
    ///
    /// # Errors
    /// -1100 for a malformed `orderId`; -1102 when neither is sent, with the message real
    /// servers give ("Param 'origClientOrderId' or 'orderId' must be sent, but both were
    /// empty/null!").
    pub fn read(params: &Params<'_>) -> Result<Self, ApiError> {
        let id = id(params, "orderId")?;
        let client = sent(params.get("origClientOrderId")).map(|v| v.text().to_owned());
        if id.is_none() && client.is_none() {
            return Err(ApiError::EitherParam("origClientOrderId", "orderId"));
        }
        Ok(Named { id, client })
    }

    /// The named order of `account` on `symbol`, open or done.
    pub fn find<'o>(&self, orders: &'o Orders, account: &str, symbol: &str) -> Option<&'o Order> {
        match (self.id, &self.client) {
            (Some(id), client) => orders
                .find(account, symbol, &OrderRef::Id(id))
                .filter(|o| client.as_ref().is_none_or(|c| &o.client_order_id == c)),
            (None, Some(client)) => orders.find(account, symbol, &OrderRef::Client(client.clone())),
            (None, None) => None,
        }
    }
}

/// The longest `startTime`..`endTime` of `allOrders` and `myTrades`
/// (`web-socket-api.md:7279`: "can't be longer than 24 hours").
const MAX_SPAN: Duration = Duration::from_secs(24 * 60 * 60);

/// The `startTime`..`endTime` window of a history query, if either is sent.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl Window {
    /// Reads `startTime` and `endTime` (ms or µs, as `timestamp`).
    ///
    /// # Errors
    /// -1100 for a malformed time; -1023 for a start after the end; -1127 for more than 24
    /// hours between them.
    pub fn read(params: &Params<'_>) -> Result<Self, ApiError> {
        let time = |name| {
            sent(params.get(name))
                .map(|value| timing::parse_time_param(name, value.text()))
                .transpose()
        };
        let window = Window {
            start: time("startTime")?,
            end: time("endTime")?,
        };
        if let (Some(start), Some(end)) = (window.start, window.end) {
            if start > end {
                return Err(ApiError::StartAfterEnd);
            }
            if end.as_micros() - start.as_micros() > MAX_SPAN.as_micros() as i64 {
                return Err(ApiError::SpanTooLong { hours: 24 });
            }
        }
        Ok(window)
    }

    /// Whether either bound was sent.
    pub fn is_set(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }

    /// Whether `at` is within the window (both bounds included).
    pub fn holds(&self, at: Timestamp) -> bool {
        self.start.is_none_or(|start| at >= start) && self.end.is_none_or(|end| at <= end)
    }
}

/// The first `limit` of `items` (oldest first) when `from_start`, else the last `limit`.
pub(super) fn page<T>(mut items: Vec<T>, limit: usize, from_start: bool) -> Vec<T> {
    if from_start {
        items.truncate(limit);
        items
    } else {
        let skip = items.len().saturating_sub(limit);
        items.split_off(skip)
    }
}
