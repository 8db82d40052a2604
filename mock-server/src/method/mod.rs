//! The API methods: one file each, and the only dispatch `match`.

mod ping;
mod session_logon;
mod session_logout;
mod session_status;
mod time;

use serde_json::Value;

use crate::clock::Timestamp;
use crate::envelope::Params;
use crate::error::ApiError;
use crate::keys::KeyRegistry;
use crate::session::SessionState;

/// What a method may read and change while it runs: no clock, no socket, no randomness.
pub(crate) struct Context<'a> {
    /// This connection's session.
    pub session: &'a mut SessionState,
    /// The server's API keys.
    pub keys: &'a KeyRegistry,
    /// The time the request is handled at.
    pub now: Timestamp,
    /// Accept only signatures over the raw payload (spec §3.2).
    pub strict_signing: bool,
}

/// Every method this server implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Ping,
    Time,
    SessionLogon,
    SessionStatus,
    SessionLogout,
}

impl Method {
    /// Every method, in the order they are listed to a client that names an unknown one.
    pub const ALL: [Method; 5] = [
        Method::Ping,
        Method::Time,
        Method::SessionLogon,
        Method::SessionStatus,
        Method::SessionLogout,
    ];

    /// The legal range named in the error for an unknown method.
    pub const LEGAL_RANGE: &'static str = "ping|time|session.logon|session.status|session.logout";

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
        }
    }

    /// Runs the method.
    ///
    /// # Errors
    /// -1104 when params the method does not read were sent; otherwise the method's own.
    pub fn call(self, ctx: &mut Context<'_>, params: &Params<'_>) -> Result<Value, ApiError> {
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
        }
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
        assert_eq!(weights, [1, 1, 2, 2, 2]);
    }
}
