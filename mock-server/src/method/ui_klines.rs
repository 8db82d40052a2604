//! `uiKlines` (web-socket-api.md:2151): klines "optimized for presentation", with the same
//! params and reply as `klines`. What Binance modifies for presentation is not documented;
//! on the mock's synthetic market the candles are exactly those of `klines`
//! (docs/FIDELITY.md "Klines").

use super::{klines, MethodSpec, Weight};
use crate::auth::Security;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "uiKlines",
    weight: Weight::Fixed(2),
    security: Security::None,
    call: klines::answer,
};
