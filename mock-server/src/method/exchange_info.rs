//! `exchangeInfo` (web-socket-api.md:1448): the rate limits the mock enforces and every
//! symbol's rules: status, assets, precisions, order types, flags, filters, permissions.

use crate::envelope::Json;
use serde::Serialize;

use super::market_params::{listed, sent, status_filter, symbol_name, symbol_names};
use super::{parse_bool, Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor, ParamValue};
use crate::error::ApiError;
use crate::market::{fixed, Listed, SymbolStatus};

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "exchangeInfo",
    weight: Weight::Fixed(20),
    security: Security::None,
    call,
};

/// The symbols listed without `symbol`, `symbols` or `permissions`
/// (web-socket-api.md:1505).
const DEFAULT_PERMISSIONS: [&str; 3] = ["SPOT", "MARGIN", "LEVERAGED"];

/// Decimals in filters are written with eight places, as Binance writes them (filters.md).
const FILTER_PLACES: u32 = 8;

/// A choice: the mock has no self-trade prevention, so it lists Binance's usual default for
/// spot symbols and every mode `enums.md` names (an order's mode is not acted on).
const DEFAULT_STP_MODE: &str = "EXPIRE_MAKER";
const STP_MODES: [&str; 6] = [
    "NONE",
    "EXPIRE_TAKER",
    "EXPIRE_MAKER",
    "EXPIRE_BOTH",
    "DECREMENT",
    "TRANSFER",
];

/// Whether `name` is a permission `enums.md` lists: `SPOT`, `MARGIN`, `LEVERAGED` or a
/// trade group `TRD_GRP_NNN`.
fn is_permission(name: &str) -> bool {
    DEFAULT_PERMISSIONS.contains(&name)
        || name
            .strip_prefix("TRD_GRP_")
            .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The permissions `permissions` filters for: a JSON array of names, or a single name.
///
/// # Errors
/// -1130 for anything else, an empty list, or a name `enums.md` does not list.
fn permission_names(value: &ParamValue<'_>) -> Result<Vec<String>, ApiError> {
    let invalid = ApiError::InvalidParameter("permissions");
    let text = value.text();
    let names: Vec<String> = if text.starts_with('[') {
        serde_json::from_str(text).map_err(|_| invalid.clone())?
    } else {
        vec![text.to_owned()]
    };
    if names.is_empty() || !names.iter().all(|name| is_permission(name)) {
        return Err(invalid);
    }
    Ok(names)
}

/// One entry of `rateLimits`, without the `count` a reply's own `rateLimits` has.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RateLimit {
    rate_limit_type: &'static str,
    interval: &'static str,
    interval_num: u32,
    limit: u32,
}

/// A symbol filter, in the shapes of `filters.md`.
#[derive(Serialize)]
#[serde(tag = "filterType", rename_all = "SCREAMING_SNAKE_CASE")]
enum SymbolFilter {
    #[serde(rename_all = "camelCase")]
    PriceFilter {
        min_price: String,
        max_price: String,
        tick_size: String,
    },
    #[serde(rename_all = "camelCase")]
    LotSize {
        min_qty: String,
        max_qty: String,
        step_size: String,
    },
    #[serde(rename_all = "camelCase")]
    MarketLotSize {
        min_qty: String,
        max_qty: String,
        step_size: String,
    },
    #[serde(rename_all = "camelCase")]
    Notional {
        min_notional: String,
        apply_min_to_market: bool,
        max_notional: String,
        apply_max_to_market: bool,
        avg_price_mins: u32,
    },
    #[serde(rename_all = "camelCase")]
    MaxNumOrders { max_num_orders: u32 },
}

/// One symbol, every documented field in the documented order (web-socket-api.md:1580-1630).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SymbolInfo<'a> {
    symbol: &'a str,
    status: &'static str,
    base_asset: &'a str,
    base_asset_precision: u32,
    quote_asset: &'a str,
    quote_precision: u32,
    quote_asset_precision: u32,
    base_commission_precision: u32,
    quote_commission_precision: u32,
    order_types: Vec<&'static str>,
    iceberg_allowed: bool,
    oco_allowed: bool,
    oto_allowed: bool,
    opo_allowed: bool,
    quote_order_qty_market_allowed: bool,
    allow_trailing_stop: bool,
    cancel_replace_allowed: bool,
    amend_allowed: bool,
    peg_instructions_allowed: bool,
    is_spot_trading_allowed: bool,
    is_margin_trading_allowed: bool,
    filters: [SymbolFilter; 5],
    /// Always empty since permissions moved to `permissionSets` (CHANGELOG.md:1323).
    permissions: [&'static str; 0],
    permission_sets: &'a [Vec<String>],
    default_self_trade_prevention_mode: &'static str,
    allowed_self_trade_prevention_modes: [&'static str; 6],
}

impl<'a> SymbolInfo<'a> {
    fn of(listed: &'a Listed, show_permission_sets: bool) -> Self {
        let c = &listed.config;
        let d = |value| fixed(value, FILTER_PLACES);
        SymbolInfo {
            symbol: listed.name(),
            status: listed.status.as_str(),
            base_asset: &c.base_asset,
            base_asset_precision: c.base_asset_precision,
            quote_asset: &c.quote_asset,
            quote_precision: c.quote_asset_precision,
            quote_asset_precision: c.quote_asset_precision,
            base_commission_precision: c.base_commission_precision,
            quote_commission_precision: c.quote_commission_precision,
            order_types: c.order_types.iter().map(|t| t.as_str()).collect(),
            iceberg_allowed: c.iceberg_allowed,
            oco_allowed: c.order_lists_allowed,
            oto_allowed: c.order_lists_allowed,
            opo_allowed: c.order_lists_allowed,
            quote_order_qty_market_allowed: c.quote_order_qty_market_allowed,
            allow_trailing_stop: c.allow_trailing_stop,
            cancel_replace_allowed: c.cancel_replace_allowed,
            amend_allowed: c.amend_allowed,
            peg_instructions_allowed: c.peg_instructions_allowed,
            is_spot_trading_allowed: c.spot_trading_allowed,
            is_margin_trading_allowed: c.margin_trading_allowed,
            filters: [
                SymbolFilter::PriceFilter {
                    min_price: d(c.price_filter.min_price),
                    max_price: d(c.price_filter.max_price),
                    tick_size: d(c.price_filter.tick_size),
                },
                SymbolFilter::LotSize {
                    min_qty: d(c.lot_size.min_qty),
                    max_qty: d(c.lot_size.max_qty),
                    step_size: d(c.lot_size.step_size),
                },
                SymbolFilter::MarketLotSize {
                    min_qty: d(c.market_lot_size.min_qty),
                    max_qty: d(c.market_lot_size.max_qty),
                    step_size: d(c.market_lot_size.step_size),
                },
                SymbolFilter::Notional {
                    min_notional: d(c.notional.min_notional),
                    apply_min_to_market: c.notional.apply_min_to_market,
                    max_notional: d(c.notional.max_notional),
                    apply_max_to_market: c.notional.apply_max_to_market,
                    avg_price_mins: c.notional.avg_price_mins,
                },
                SymbolFilter::MaxNumOrders {
                    max_num_orders: c.max_num_orders,
                },
            ],
            permissions: [],
            permission_sets: if show_permission_sets {
                &c.permission_sets
            } else {
                &[]
            },
            default_self_trade_prevention_mode: DEFAULT_STP_MODE,
            allowed_self_trade_prevention_modes: STP_MODES,
        }
    }

    /// Whether one of the symbol's permission sets holds one of `wanted`.
    fn permitted(listed: &Listed, wanted: &[impl AsRef<str>]) -> bool {
        listed
            .config
            .permission_sets
            .iter()
            .flatten()
            .any(|held| wanted.iter().any(|w| w.as_ref() == held))
    }
}

/// The result, in the documented key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeInfo<'a> {
    timezone: &'static str,
    server_time: i64,
    rate_limits: [RateLimit; 4],
    exchange_filters: [(); 0],
    symbols: Vec<SymbolInfo<'a>>,
}

/// The first two of `sent` (name, whether sent) that were sent, if two were.
fn two_sent(sent: &[(&'static str, bool)]) -> Option<ApiError> {
    let mut names = sent.iter().filter(|(_, on)| *on).map(|(name, _)| *name);
    let first = names.next()?;
    let second = names.next()?;
    Some(ApiError::ParamsExclusive { first, second })
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let symbol = sent(p.take("symbol"));
    let symbols = sent(p.take("symbols"));
    let permissions = sent(p.take("permissions"));
    let show_permission_sets = sent(p.take("showPermissionSets"));
    let status = p.take("symbolStatus");
    p.finish()?;
    let symbol = symbol.map(symbol_name).transpose()?;
    let symbols = symbols.map(symbol_names).transpose()?;
    let permissions = permissions.map(permission_names).transpose()?;
    let show_permission_sets = match show_permission_sets {
        None => true,
        Some(value) => {
            parse_bool(value.text()).ok_or(ApiError::InvalidParameter("showPermissionSets"))?
        }
    };
    let status = status_filter(status)?;
    // web-socket-api.md:1495, 1501: one of symbol, symbols, permissions; no symbolStatus
    // with symbol or symbols.
    let exclusive = two_sent(&[
        ("symbol", symbol.is_some()),
        ("symbols", symbols.is_some()),
        ("permissions", permissions.is_some()),
    ])
    .or_else(|| {
        two_sent(&[
            ("symbol", symbol.is_some()),
            ("symbols", symbols.is_some()),
            ("symbolStatus", status.is_some()),
        ])
    });
    if let Some(error) = exclusive {
        return Err(error);
    }
    let market = &ctx.server.market;
    let chosen: Vec<&Listed> = match (symbol, symbols) {
        (Some(name), _) => vec![listed(market, name)?],
        (None, Some(names)) => names
            .iter()
            .map(|name| listed(market, name))
            .collect::<Result<_, _>>()?,
        (None, None) => market
            .all()
            .iter()
            .filter(|s| match &permissions {
                Some(wanted) => SymbolInfo::permitted(s, wanted),
                None => SymbolInfo::permitted(s, &DEFAULT_PERMISSIONS),
            })
            .filter(|s| status.is_none_or(|wanted: SymbolStatus| s.status == wanted))
            .collect(),
    };
    let limiter = &ctx.server.limiter;
    let [per_10s, per_day] = ctx.server.orders.limits().each();
    let rate_limit = |rate_limit_type, interval, interval_num, limit| RateLimit {
        rate_limit_type,
        interval,
        interval_num,
        limit,
    };
    to_json(&ExchangeInfo {
        timezone: "UTC",
        server_time: ctx.session.time_unit.render(ctx.now),
        rate_limits: [
            rate_limit("REQUEST_WEIGHT", "MINUTE", 1, limiter.weight_limit()),
            // The ORDERS limits in force, as account.rateLimits.orders reports them.
            rate_limit(
                "ORDERS",
                per_10s.interval,
                per_10s.interval_num,
                per_10s.limit,
            ),
            rate_limit(
                "ORDERS",
                per_day.interval,
                per_day.interval_num,
                per_day.limit,
            ),
            rate_limit("CONNECTIONS", "MINUTE", 5, limiter.connection_limit()),
        ],
        exchange_filters: [],
        symbols: chosen
            .into_iter()
            .map(|s| SymbolInfo::of(s, show_permission_sets))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn permissions_are_a_list_or_one_name_of_the_documented_ones() {
        let raw = ParamValue::Raw(r#"["SPOT","TRD_GRP_004"]"#);
        assert_eq!(
            permission_names(&raw).expect("valid"),
            ["SPOT", "TRD_GRP_004"]
        );
        let one = ParamValue::Str(Cow::Borrowed("MARGIN"));
        assert_eq!(permission_names(&one).expect("valid"), ["MARGIN"]);
        for bad in ["[]", "spot", "FUTURES", "[\"SPOT\"", "TRD_GRP_4"] {
            let value = ParamValue::Str(Cow::Borrowed(bad));
            assert_eq!(
                permission_names(&value),
                Err(ApiError::InvalidParameter("permissions"))
            );
        }
    }

    #[test]
    fn the_first_two_exclusive_params_sent_are_named() {
        assert_eq!(two_sent(&[("a", true), ("b", false), ("c", false)]), None);
        assert_eq!(
            two_sent(&[("a", false), ("b", true), ("c", true)]),
            Some(ApiError::ParamsExclusive {
                first: "b",
                second: "c"
            })
        );
    }
}
