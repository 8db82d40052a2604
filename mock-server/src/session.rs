//! The per-connection state machine: a text frame and the time in, a reply out.
//!
//! No I/O here: [`Session::handle_text`] takes `now` as an argument and the server-wide state
//! as a `&mut`, so property tests can run thousands of sessions a second.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::account::Accounts;
use crate::clock::Timestamp;
use crate::close::CloseReason;
use crate::envelope::{
    parse_request, to_json, write_reply, ParamCursor, Rejected, RequestId, TimeUnit,
};
use crate::error::ApiError;
use crate::keys::KeyRegistry;
use crate::method::{self, parse_bool, Context, MethodTable};
use crate::rate_limit::{Charge, Limiter, Verdict};
use crate::user_data::{self, ConnectionId, Routes, Subscriptions};

/// Options a client chose in the connection URL (spec §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// Whether replies carry `rateLimits` unless a request says otherwise (default true).
    pub return_rate_limits: bool,
    /// The unit of time fields in replies (default milliseconds).
    pub time_unit: TimeUnit,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            return_rate_limits: true,
            time_unit: TimeUnit::Millisecond,
        }
    }
}

/// The authenticated key of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logon {
    pub api_key: String,
    pub authorized_since: Timestamp,
}

/// What one connection remembers between requests.
#[derive(Debug, Clone)]
pub(crate) struct SessionState {
    pub connection: ConnectionId,
    pub connected_since: Timestamp,
    pub return_rate_limits: bool,
    pub time_unit: TimeUnit,
    pub logon: Option<Logon>,
    pub subscriptions: Subscriptions,
    /// Frames to send after the current reply: events such as `eventStreamTerminated`.
    pub outbox: Vec<String>,
}

impl SessionState {
    /// The result object shared by `session.logon`, `.status` and `.logout` (spec §4.1), with
    /// its keys in the documented order.
    pub fn result(&self, now: Timestamp) -> Result<Box<RawValue>, ApiError> {
        let unit = self.time_unit;
        to_json(&SessionResult {
            api_key: self.logon.as_ref().map(|l| l.api_key.as_str()),
            authorized_since: self.logon.as_ref().map(|l| unit.render(l.authorized_since)),
            connected_since: unit.render(self.connected_since),
            return_rate_limits: self.return_rate_limits,
            server_time: unit.render(now),
            user_data_stream: self.subscriptions.any(),
        })
    }
}

/// Spec §4.1, field for field.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionResult<'a> {
    api_key: Option<&'a str>,
    authorized_since: Option<i64>,
    connected_since: i64,
    return_rate_limits: bool,
    server_time: i64,
    user_data_stream: bool,
}

/// The server-wide state every connection shares, held behind one short-lived lock.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub limiter: Limiter,
    pub keys: KeyRegistry,
    pub accounts: Accounts,
    pub routes: Routes,
    pub strict_signing: bool,
    pub next_connection: ConnectionId,
    /// The methods requests are dispatched to: [`method::TABLE`] but in tests.
    pub methods: &'static MethodTable,
}

impl ServerState {
    /// Server state with these limits and keys, no connection yet.
    pub fn new(
        limiter: Limiter,
        keys: KeyRegistry,
        accounts: Accounts,
        strict_signing: bool,
    ) -> Self {
        ServerState {
            limiter,
            keys,
            accounts,
            routes: Routes::default(),
            strict_signing,
            next_connection: 0,
            methods: &method::TABLE,
        }
    }
}

/// How the last request of a connection went: what the connection logs for it, since the
/// core itself does no I/O. Filled from values the reply needed anyway (the `id` is moved in,
/// not copied), so it costs nothing when nobody logs it.
#[derive(Debug)]
pub(crate) struct RequestSummary {
    /// The method, when the frame named a known one.
    pub method: Option<&'static str>,
    /// The request's `id` as echoed (`null` when it had none or an invalid one).
    pub id: RequestId,
    /// The reply's HTTP-like status.
    pub status: u16,
    /// The error code of an error reply.
    pub code: Option<i32>,
    /// REQUEST_WEIGHT charged: 0 for a frame refused before its weight is charged.
    pub weight: u32,
    /// When this request got the IP banned: until when.
    pub banned_until: Option<Timestamp>,
}

/// One connection's session.
#[derive(Debug)]
pub(crate) struct Session {
    ip: IpAddr,
    state: SessionState,
    closing: Option<CloseReason>,
    last: Option<RequestSummary>,
}

impl Session {
    /// A new anonymous session for a client at `ip`, connected at `connected_since`.
    pub fn new(
        server: &mut ServerState,
        ip: IpAddr,
        connected_since: Timestamp,
        options: ConnectionOptions,
    ) -> Self {
        let connection = server.next_connection;
        server.next_connection += 1;
        Session {
            ip,
            state: SessionState {
                connection,
                connected_since,
                return_rate_limits: options.return_rate_limits,
                time_unit: options.time_unit,
                logon: None,
                subscriptions: Subscriptions::default(),
                outbox: Vec::new(),
            },
            closing: None,
            last: None,
        }
    }

    /// This session's connection.
    pub fn connection(&self) -> ConnectionId {
        self.state.connection
    }

    /// Whether the session has any User Data Stream subscription.
    pub fn has_subscriptions(&self) -> bool {
        self.state.subscriptions.any()
    }

    /// The unit of time fields on this connection.
    pub fn time_unit(&self) -> TimeUnit {
        self.state.time_unit
    }

    /// Takes the frames to send after the last reply.
    pub fn take_outbox(&mut self) -> Vec<String> {
        std::mem::take(&mut self.state.outbox)
    }

    /// Forgets this session's subscriptions in the server's routes: the connection is gone.
    pub fn close(&mut self, server: &mut ServerState) {
        server.routes.remove_connection(&self.state);
    }

    /// Spec §4.7: once the session's key is no longer valid, the next request revokes the
    /// session, with a `401` / -2015 message of `id: null` sent after that request's reply.
    /// Subscriptions made with a key that is gone end too.
    fn revoke_invalid_keys(&mut self, server: &mut ServerState, now: Timestamp) {
        let ServerState { keys, routes, .. } = server;
        if let Some(logon) = &self.state.logon {
            if keys.get(&logon.api_key).is_none() {
                self.state.logon = None;
                let notice = write_reply(
                    &RequestId::Null,
                    &Err(ApiError::RejectedApiKey),
                    None,
                    self.state.time_unit,
                );
                self.state.outbox.push(notice);
            }
        }
        user_data::terminate(&mut self.state, routes, now, |_, s| {
            keys.get(&s.api_key).is_none()
        });
    }

    /// Set once a reply requires the connection to close after it is sent (a 418 ban).
    pub fn closing(&self) -> Option<CloseReason> {
        self.closing
    }

    /// How the last frame answered went; `None` before the first.
    pub fn last_request(&self) -> Option<&RequestSummary> {
        self.last.as_ref()
    }

    /// Writes the reply to a request and remembers how it went.
    fn answer(
        &mut self,
        id: RequestId,
        method: Option<&'static str>,
        outcome: &Result<Box<RawValue>, ApiError>,
        charge: Option<&Charge>,
        show_rate_limits: bool,
    ) -> String {
        let entries = charge.map(|charge| [charge.entry()]);
        let rate_limits = entries.as_ref().filter(|_| show_rate_limits);
        let reply = write_reply(
            &id,
            outcome,
            rate_limits.map(|entries| &entries[..]),
            self.state.time_unit,
        );
        let (status, code) = match outcome {
            Ok(_) => (200, None),
            Err(error) => (error.status(), Some(error.code())),
        };
        self.last = Some(RequestSummary {
            method,
            id,
            status,
            code,
            weight: charge.map_or(0, |charge| charge.weight),
            banned_until: charge.filter(|charge| charge.ban_started).and_then(
                |charge| match charge.verdict {
                    Verdict::Banned { until } => Some(until),
                    _ => None,
                },
            ),
        });
        reply
    }

    /// Answers one text frame.
    ///
    /// Order (spec §9): parse and validate `id` → find the method → charge its weight (a 429
    /// stops here) → check the params → run the method. Frames refused before the weight
    /// is charged carry no `rateLimits`.
    pub fn handle_text(&mut self, text: &str, now: Timestamp, server: &mut ServerState) -> String {
        self.revoke_invalid_keys(server, now);
        let request = match parse_request(text) {
            Ok(request) => request,
            Err(Rejected { id, error }) => return self.answer(id, None, &Err(error), None, false),
        };
        let methods = server.methods;
        let Some(method) = methods.find(&request.method) else {
            let outcome = Err(methods.unknown_method());
            return self.answer(request.id, None, &outcome, None, false);
        };
        let params = &request.params;
        let requested = params
            .get("returnRateLimits")
            .map(|value| parse_bool(value.text()));
        let show_rate_limits = match requested {
            Some(Some(show)) => show,
            _ => self.state.return_rate_limits,
        };
        let charge = server
            .limiter
            .charge(self.ip, method.weight.of(params), now);
        let outcome = if let Verdict::Banned { until } = charge.verdict {
            self.closing = Some(CloseReason::IpBanned);
            Err(ApiError::IpBanned {
                server_time: now,
                until,
            })
        } else if let Verdict::OverLimit { window_end } = charge.verdict {
            Err(ApiError::TooMuchWeight {
                limit: charge.limit,
                server_time: now,
                retry_after: window_end,
            })
        } else if requested == Some(None) {
            Err(ApiError::InvalidParameter("returnRateLimits"))
        } else if params.has_duplicates() {
            Err(ApiError::DuplicateParameter)
        } else {
            let mut ctx = Context {
                session: &mut self.state,
                server,
                now,
                security: method.security,
            };
            let mut cursor = ParamCursor::new(params);
            cursor.take("returnRateLimits");
            (method.call)(&mut ctx, &mut cursor)
        };
        let id = request.id;
        self.answer(
            id,
            Some(method.name),
            &outcome,
            Some(&charge),
            show_rate_limits,
        )
    }

    /// Answers a binary frame: JSON sessions take text frames only (spec §1.3).
    pub fn handle_binary(&mut self) -> String {
        self.answer(
            RequestId::Null,
            None,
            &Err(ApiError::BinaryFrame),
            None,
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn server(limit: u32) -> ServerState {
        ServerState::new(
            Limiter::new(limit, 300, crate::rate_limit::BanPolicy::default()),
            KeyRegistry::with_demo_key(),
            Accounts::default(),
            false,
        )
    }

    fn session_on(server: &mut ServerState) -> Session {
        Session::new(
            server,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Timestamp::from_millis(1_000),
            ConnectionOptions::default(),
        )
    }

    #[test]
    fn ping_is_answered_with_its_weight() {
        let mut server = server(6000);
        let reply = session_on(&mut server).handle_text(
            r#"{"id":1,"method":"ping"}"#,
            Timestamp::from_millis(2_000),
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":1,"status":200,"result":{},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":1}]}"#
        );
    }

    #[test]
    fn anonymous_status_has_null_key_fields_in_order() {
        let mut server = server(6000);
        let reply = session_on(&mut server).handle_text(
            r#"{"id":"s","method":"session.status","params":{"returnRateLimits":false}}"#,
            Timestamp::from_millis(2_000),
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":"s","status":200,"result":{"apiKey":null,"authorizedSince":null,"connectedSince":1000,"returnRateLimits":true,"serverTime":2000,"userDataStream":false}}"#
        );
    }

    #[test]
    fn over_the_limit_the_method_is_not_run() {
        let mut server = server(3);
        let mut s = session_on(&mut server);
        let now = Timestamp::from_millis(59_000);
        s.handle_text(r#"{"id":1,"method":"session.status"}"#, now, &mut server);
        let reply = s.handle_text(r#"{"id":2,"method":"session.logout"}"#, now, &mut server);
        assert_eq!(
            reply,
            r#"{"id":2,"status":429,"error":{"code":-1003,"msg":"Too much request weight used; current limit is 3 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.","data":{"serverTime":59000,"retryAfter":60000}},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":3,"count":4}]}"#
        );
    }

    /// A method that exists only in the test table below.
    fn echo(
        _ctx: &mut Context<'_>,
        p: &mut ParamCursor<'_, '_>,
    ) -> Result<Box<RawValue>, ApiError> {
        let x = p.take("x").map(|v| v.text().to_owned());
        p.finish()?;
        to_json(&serde_json::json!({ "echo": x }))
    }

    static ECHO: method::MethodSpec = method::MethodSpec {
        name: "test.echo",
        weight: method::Weight::Fixed(7),
        security: crate::auth::Security::None,
        call: echo,
    };
    static ONE_METHOD: MethodTable = MethodTable::new(&[&ECHO]);

    #[test]
    fn names_weights_unknown_methods_and_unread_params_all_come_from_the_table() {
        let mut server = server(6000);
        server.methods = &ONE_METHOD;
        let mut s = session_on(&mut server);
        let now = Timestamp::from_millis(2_000);
        let reply = s.handle_text(
            r#"{"id":1,"method":"test.echo","params":{"x":"hi"}}"#,
            now,
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":1,"status":200,"result":{"echo":"hi"},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":7}]}"#
        );
        let reply = s.handle_text(
            r#"{"id":2,"method":"v3/test.echo","params":{"x":1,"y":2,"returnRateLimits":false}}"#,
            now,
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":2,"status":400,"error":{"code":-1104,"msg":"Not all sent parameters were read; read '1' parameter(s) but was sent '2'."}}"#
        );
        // `ping` is not in this table.
        let reply = s.handle_text(r#"{"id":3,"method":"ping"}"#, now, &mut server);
        assert_eq!(
            reply,
            r#"{"id":3,"status":400,"error":{"code":-1100,"msg":"Illegal characters found in parameter 'method'; legal range is 'test.echo'."}}"#
        );
    }

    #[test]
    fn every_method_of_the_table_refuses_a_param_it_does_not_read() {
        // The cursor's `finish` is each handler's to call: this holds every handler to it.
        let mut server = server(6000);
        let now = Timestamp::from_millis(2_000);
        for spec in method::TABLE.specs() {
            let mut s = session_on(&mut server);
            let request = format!(
                r#"{{"id":1,"method":"{}","params":{{"noSuchParam":1,"returnRateLimits":false}}}}"#,
                spec.name
            );
            let reply = s.handle_text(&request, now, &mut server);
            assert!(
                reply.contains(r#""code":-1104"#) && reply.ends_with(r#"but was sent '1'."}}"#),
                "{}: {reply}",
                spec.name
            );
        }
    }

    #[test]
    fn unread_params_are_named_by_count() {
        let mut server = server(6000);
        let reply = session_on(&mut server).handle_text(
            r#"{"id":1,"method":"ping","params":{"apiKey":"x","returnRateLimits":"false"}}"#,
            Timestamp::from_millis(2_000),
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":1,"status":400,"error":{"code":-1104,"msg":"Not all sent parameters were read; read '0' parameter(s) but was sent '1'."}}"#
        );
    }
}
