//! The API methods: one file each, and the only dispatch `match`.

mod account_rate_limits_orders;
mod account_status;
mod ping;
mod session_logon;
mod session_logout;
mod session_status;
mod session_subscriptions;
mod time;
mod user_data_stream_subscribe;
mod user_data_stream_subscribe_signature;
mod user_data_stream_unsubscribe;

use serde_json::value::RawValue;

use crate::auth::{self, Authenticated, KeyTypes, Security};
use crate::clock::Timestamp;
use crate::envelope::Params;
use crate::error::ApiError;
use crate::session::{ServerState, SessionState};

/// What a method may read and change while it runs: no clock, no socket, no randomness.
pub(crate) struct Context<'a> {
    /// This connection's session.
    pub session: &'a mut SessionState,
    /// What all connections share: keys, accounts, subscription routes.
    pub server: &'a mut ServerState,
    /// The time the request is handled at.
    pub now: Timestamp,
}

impl Context<'_> {
    /// Authenticates a request by its own `apiKey` and `signature` (see `auth`).
    pub fn by_signature(
        &self,
        params: &Params<'_>,
        types: KeyTypes,
        security: Option<Security>,
    ) -> Result<Authenticated<'_>, ApiError> {
        let server = &*self.server;
        auth::by_signature(
            params,
            &server.keys,
            self.now,
            server.strict_signing,
            types,
            security,
        )
    }

    /// Authenticates a SIGNED request by its own credentials or the session's key (see `auth`).
    pub fn signed_request(
        &self,
        params: &Params<'_>,
        security: Security,
    ) -> Result<Authenticated<'_>, ApiError> {
        let server = &*self.server;
        auth::signed_request(
            params,
            self.session,
            &server.keys,
            self.now,
            server.strict_signing,
            security,
        )
    }
}

/// Every method this server implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Ping,
    Time,
    SessionLogon,
    SessionStatus,
    SessionLogout,
    SessionSubscriptions,
    AccountStatus,
    AccountRateLimitsOrders,
    UserDataStreamSubscribe,
    UserDataStreamSubscribeSignature,
    UserDataStreamUnsubscribe,
}

impl Method {
    /// Every method, in the order they are listed to a client that names an unknown one.
    pub const ALL: [Method; 11] = [
        Method::Ping,
        Method::Time,
        Method::SessionLogon,
        Method::SessionStatus,
        Method::SessionLogout,
        Method::SessionSubscriptions,
        Method::AccountStatus,
        Method::AccountRateLimitsOrders,
        Method::UserDataStreamSubscribe,
        Method::UserDataStreamSubscribeSignature,
        Method::UserDataStreamUnsubscribe,
    ];

    /// The legal range named in the error for an unknown method.
    pub const LEGAL_RANGE: &'static str = "ping|time|session.logon|session.status|\
        session.logout|session.subscriptions|account.status|account.rateLimits.orders|\
        userDataStream.subscribe|userDataStream.subscribe.signature|userDataStream.unsubscribe";

    /// The method called `name` (without any `v3/` prefix).
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The method's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ping => ping::NAME,
            Method::Time => time::NAME,
            Method::SessionLogon => session_logon::NAME,
            Method::SessionStatus => session_status::NAME,
            Method::SessionLogout => session_logout::NAME,
            Method::SessionSubscriptions => session_subscriptions::NAME,
            Method::AccountStatus => account_status::NAME,
            Method::AccountRateLimitsOrders => account_rate_limits_orders::NAME,
            Method::UserDataStreamSubscribe => user_data_stream_subscribe::NAME,
            Method::UserDataStreamSubscribeSignature => user_data_stream_subscribe_signature::NAME,
            Method::UserDataStreamUnsubscribe => user_data_stream_unsubscribe::NAME,
        }
    }

    /// REQUEST_WEIGHT charged for a call (spec §5.4).
    pub fn weight(self) -> u32 {
        match self {
            Method::Ping => ping::WEIGHT,
            Method::Time => time::WEIGHT,
            Method::SessionLogon => session_logon::WEIGHT,
            Method::SessionStatus => session_status::WEIGHT,
            Method::SessionLogout => session_logout::WEIGHT,
            Method::SessionSubscriptions => session_subscriptions::WEIGHT,
            Method::AccountStatus => account_status::WEIGHT,
            Method::AccountRateLimitsOrders => account_rate_limits_orders::WEIGHT,
            Method::UserDataStreamSubscribe => user_data_stream_subscribe::WEIGHT,
            Method::UserDataStreamSubscribeSignature => {
                user_data_stream_subscribe_signature::WEIGHT
            }
            Method::UserDataStreamUnsubscribe => user_data_stream_unsubscribe::WEIGHT,
        }
    }

    /// The parameters the method reads, besides the universal `returnRateLimits`.
    fn reads(self) -> &'static [&'static str] {
        match self {
            Method::Ping => ping::PARAMS,
            Method::Time => time::PARAMS,
            Method::SessionLogon => session_logon::PARAMS,
            Method::SessionStatus => session_status::PARAMS,
            Method::SessionLogout => session_logout::PARAMS,
            Method::SessionSubscriptions => session_subscriptions::PARAMS,
            Method::AccountStatus => account_status::PARAMS,
            Method::AccountRateLimitsOrders => account_rate_limits_orders::PARAMS,
            Method::UserDataStreamSubscribe => user_data_stream_subscribe::PARAMS,
            Method::UserDataStreamSubscribeSignature => {
                user_data_stream_subscribe_signature::PARAMS
            }
            Method::UserDataStreamUnsubscribe => user_data_stream_unsubscribe::PARAMS,
        }
    }

    /// Runs the method.
    ///
    /// # Errors
    /// -1104 when params the method does not read were sent; otherwise the method's own.
    pub fn call(
        self,
        ctx: &mut Context<'_>,
        params: &Params<'_>,
    ) -> Result<Box<RawValue>, ApiError> {
        let reads = self.reads();
        let sent = params
            .iter()
            .filter(|(name, _)| *name != "returnRateLimits");
        let (read, unread) = sent.fold((0, 0), |(read, unread), (name, _)| {
            if reads.contains(&name) {
                (read + 1, unread)
            } else {
                (read, unread + 1)
            }
        });
        if unread > 0 {
            return Err(ApiError::UnreadParameters {
                read,
                sent: read + unread,
            });
        }
        match self {
            Method::Ping => ping::call(ctx, params),
            Method::Time => time::call(ctx, params),
            Method::SessionLogon => session_logon::call(ctx, params),
            Method::SessionStatus => session_status::call(ctx, params),
            Method::SessionLogout => session_logout::call(ctx, params),
            Method::SessionSubscriptions => session_subscriptions::call(ctx, params),
            Method::AccountStatus => account_status::call(ctx, params),
            Method::AccountRateLimitsOrders => account_rate_limits_orders::call(ctx, params),
            Method::UserDataStreamSubscribe => user_data_stream_subscribe::call(ctx, params),
            Method::UserDataStreamSubscribeSignature => {
                user_data_stream_subscribe_signature::call(ctx, params)
            }
            Method::UserDataStreamUnsubscribe => user_data_stream_unsubscribe::call(ctx, params),
        }
    }
}

/// A boolean param sent as a JSON boolean or as the string `"true"`/`"false"`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_legal_range_lists_them_all() {
        let listed: Vec<&str> = Method::LEGAL_RANGE.split('|').collect();
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(listed, names);
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(m));
        }
        assert_eq!(Method::from_name("order.place"), None);
    }

    #[test]
    fn weights_are_the_documented_ones() {
        let weights: Vec<u32> = Method::ALL.iter().map(|m| m.weight()).collect();
        assert_eq!(weights, [1, 1, 2, 2, 2, 2, 20, 40, 2, 2, 2]);
    }
}
