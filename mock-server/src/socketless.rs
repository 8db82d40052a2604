//! The server without sockets: the same code the network server runs, driven by hand.
//!
//! A [`Server`] holds what all connections share (keys, accounts, weight windows); a
//! [`Connection`] is one connection's whole state machine: requests, keepalive, lifetime and
//! shutdown. Time is an argument and nothing is sent: what a connection has to send comes out
//! of [`Connection::poll_transmit`], and [`Connection::poll_timeout`] says when to call
//! [`Connection::handle_timeout`] next, as in quinn-proto. The network server is a pump
//! between a socket and these calls; fuzzing, benchmarks and property tests drive them
//! directly, thousands of requests a second.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::Duration;
//! use mock_server::socketless::{Connection, Server, Transmit};
//! use mock_server::{Config, ConnectionOptions, KeyRegistry, Timestamp};
//!
//! let mut server = Server::new(&Config::default(), KeyRegistry::with_demo_key());
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
//! let mut conn = Connection::open(&mut server, ip, now, ConnectionOptions::default());
//! conn.handle_text(r#"{"id":1,"method":"time"}"#, now, &mut server);
//! let Some(Transmit::Text(reply)) = conn.poll_transmit() else { panic!("a reply") };
//! assert!(reply.starts_with(r#"{"id":1,"status":200,"result":{"serverTime":1700000000000}"#));
//! // Opening the connection cost 2, `time` 1.
//! assert!(reply.ends_with(r#""count":3}]}"#));
//!
//! // The first keepalive ping is due 20 s after the connection opened.
//! let due = conn.poll_timeout().expect("a ping is due");
//! assert_eq!(due, now.plus(Duration::from_secs(20)));
//! conn.handle_timeout(due);
//! assert_eq!(conn.poll_transmit(), Some(Transmit::Ping(b"1".to_vec())));
//! ```

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::envelope::{result_start, Json};

use crate::clock::Timestamp;
use crate::close::CloseReason;
use crate::control::ConnectionInfo;
use crate::envelope::{
    parse_request, write_reply, ParamCursor, RateLimitEntry, Rejected, RequestId, TimeUnit,
};
use crate::error::ApiError;
use crate::fault::Applied;
use crate::journal::{JournalError, Record, SignatureRecord};
use crate::keepalive::Keepalive;
use crate::keys::KeyRegistry;
use crate::method::{parse_bool, Context};
use crate::orders::OrderLimit;
use crate::rate_limit::{Charge, Verdict};
use crate::session::{ConnectionOptions, RequestSummary, SessionState};
use crate::user_data::{self, Subscriptions};

pub use crate::auth::{CheckedSignature, SignatureCheck};
pub use crate::state::Server;

/// REQUEST_WEIGHT charged for opening a connection (spec §5.1).
const CONNECTION_WEIGHT: u32 = 2;

/// Something a connection has to send, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// A text frame: a reply, a frame that follows one, or a pushed event.
    Text(String),
    /// A keepalive ping with this payload (spec §1.3).
    Ping(Vec<u8>),
    /// A Close frame for this reason; nothing follows it.
    Close(CloseReason),
    /// A text frame to send only after this much real time (a `delay` fault).
    Late(String, Duration),
    /// A Close frame with this code and reason (the control plane's); nothing follows it.
    CloseWith(u16, String),
    /// Cut the connection: no Close frame, nothing more (a `drop` fault).
    Cut,
}

/// One connection, opened on a [`Server`]: its session, keepalive, lifetime and shutdown.
#[derive(Debug)]
pub struct Connection {
    ip: IpAddr,
    /// The client's port: with `ip`, its address as the journal shows it.
    port: u16,
    state: SessionState,
    last: Option<RequestSummary>,
    keepalive: Keepalive,
    lifetime_end: Timestamp,
    /// When an announced shutdown closes the connection, if it does.
    shutdown_close: Option<Timestamp>,
    shutdown_announced: bool,
    /// Why the connection is closing, once a Close for a [`CloseReason`] is queued.
    closing: Option<CloseReason>,
    /// Set once a Close (of any kind) or a cut is queued: nothing else is handled or sent
    /// after it.
    ended: bool,
    transmits: VecDeque<Transmit>,
    /// Journal entries this connection's requests pushed out of the ring, to be dropped by
    /// [`release_evicted`](Self::release_evicted) outside the server lock.
    evicted: Vec<Record>,
    /// The [`KeyRegistry::revision`] at which the keys of this session and its
    /// subscriptions were last checked (0: never).
    keys_checked: u64,
}

/// How one text frame was answered, before the reply is written.
struct Answer {
    id: RequestId,
    method: Option<&'static str>,
    /// The method name the frame gave, when it is not a known one and the journal keeps it.
    named: Option<String>,
    outcome: Result<Json, ApiError>,
    charge: Option<Charge>,
    show_rate_limits: bool,
    banned: bool,
    fault: Option<Applied>,
    /// What the signature check saw, if the request carried a signature.
    signature: Option<SignatureRecord>,
}

impl Connection {
    /// Opens a connection from `ip` at `now`, charging the weight of a new connection.
    pub fn open(
        server: &mut Server,
        ip: IpAddr,
        now: Timestamp,
        options: ConnectionOptions,
    ) -> Self {
        Connection::open_from(server, SocketAddr::new(ip, 0), now, options)
    }

    /// [`open`](Self::open), for a client whose port is known: the control plane lists it.
    pub fn open_from(
        server: &mut Server,
        peer: SocketAddr,
        now: Timestamp,
        options: ConnectionOptions,
    ) -> Self {
        let ip = peer.ip();
        server.limiter.charge(ip, CONNECTION_WEIGHT, now);
        let connection = server.next_connection;
        server.next_connection += 1;
        let timers = server.timers;
        server.directory.insert(
            connection,
            ConnectionInfo {
                id: connection,
                peer,
                connected_since: now,
                api_key: None,
                authorized_since: None,
                subscriptions: Vec::new(),
                time_unit: options.time_unit,
                return_rate_limits: options.return_rate_limits,
            },
        );
        Connection {
            ip,
            port: peer.port(),
            state: SessionState {
                connection,
                connected_since: now,
                return_rate_limits: options.return_rate_limits,
                time_unit: options.time_unit,
                logon: None,
                subscriptions: Subscriptions::default(),
                follow_ups: Vec::new(),
                preceding: Vec::new(),
                order_counts: None,
            },
            last: None,
            keepalive: Keepalive::new(now, timers.ping_interval, timers.pong_timeout),
            lifetime_end: now.plus(timers.max_lifetime),
            shutdown_close: None,
            shutdown_announced: false,
            closing: None,
            ended: false,
            transmits: VecDeque::new(),
            evicted: Vec::new(),
            keys_checked: 0,
        }
    }

    /// This connection's id, as [`Server::user_data_event`] names it.
    pub fn id(&self) -> u64 {
        self.state.connection
    }

    /// The unit of time fields on this connection.
    pub fn time_unit(&self) -> TimeUnit {
        self.state.time_unit
    }

    /// Whether the connection has any User Data Stream subscription.
    pub fn has_subscriptions(&self) -> bool {
        self.state.subscriptions.any()
    }

    /// Why the connection is closing, once a Close is queued.
    pub fn closing(&self) -> Option<CloseReason> {
        self.closing
    }

    /// Drops the journal entries this connection's requests evicted from the ring: called
    /// after the server lock is released, so the frees happen outside it. Entries not
    /// released are dropped with the connection.
    pub fn release_evicted(&mut self) {
        // Taken, not cleared: an idle connection keeps no room for entries it may never
        // evict again.
        drop(std::mem::take(&mut self.evicted));
    }

    /// The next thing to send, in order; `None` when there is nothing (more) to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next: the next ping,
    /// pong deadline, end of lifetime or end of a shutdown's grace, whichever comes first.
    /// `None` once the connection is closing.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.ended {
            return None;
        }
        let mut next = self.keepalive.next_ping().min(self.lifetime_end);
        if let Some(deadline) = self.keepalive.pong_deadline() {
            next = next.min(deadline);
        }
        if let Some(close) = self.shutdown_close {
            next = next.min(close);
        }
        Some(next)
    }

    /// Applies every deadline reached at `now`: the end of a shutdown's grace (close 1001),
    /// a ping due, a pong overdue (close 1008), the end of the lifetime (close 1000).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.ended {
            return;
        }
        if self.shutdown_close.is_some_and(|close| now >= close) {
            return self.close(CloseReason::ServerShutdown);
        }
        if let Some(payload) = self.keepalive.ping_due(now) {
            self.transmits.push_back(Transmit::Ping(payload));
        }
        if self.keepalive.timed_out(now) {
            return self.close(CloseReason::PongTimeout);
        }
        if now >= self.lifetime_end {
            self.close(CloseReason::LifetimeExceeded);
        }
    }

    /// A pong arrived; only one that echoes an unanswered ping counts (spec §1.3).
    pub fn handle_pong(&mut self, payload: &[u8]) {
        self.keepalive.pong(payload);
    }

    /// Queues the Close frame for `reason`, unless one is queued already.
    pub fn close(&mut self, reason: CloseReason) {
        if !self.ended {
            self.ended = true;
            self.closing = Some(reason);
            self.transmits.push_back(Transmit::Close(reason));
        }
    }

    /// Queues a Close frame with `code` and `reason` (the control plane's), unless a Close
    /// or a cut is queued already.
    pub fn close_with(&mut self, code: u16, reason: &str) {
        if !self.ended {
            self.ended = true;
            self.transmits
                .push_back(Transmit::CloseWith(code, reason.to_owned()));
        }
    }

    /// Queues a cut: the connection ends without a Close frame.
    pub fn cut(&mut self) {
        if !self.ended {
            self.ended = true;
            self.transmits.push_back(Transmit::Cut);
        }
    }

    /// When the connection's lifetime ends.
    pub fn lifetime_end(&self) -> Timestamp {
        self.lifetime_end
    }

    /// Applies a change of keys at once instead of on the next request: a session whose
    /// key is gone is revoked and its subscriptions end, with the frames that announce it.
    pub fn recheck_keys(&mut self, now: Timestamp, server: &mut Server) {
        if self.ended {
            return;
        }
        self.revoke_invalid_keys(&server.keys, &mut server.routes, now);
        self.transmits
            .extend(self.state.follow_ups.drain(..).map(Transmit::Text));
        self.sync_directory(server);
    }

    /// Announces `serverShutdown` at `now` (spec §1.4), once, with `E` in the connection's
    /// time unit; the connection keeps being served, and closes with 1001 at `close_at` if
    /// given (an earlier one wins).
    pub fn announce_shutdown(&mut self, now: Timestamp, close_at: Option<Timestamp>) {
        if self.ended {
            return;
        }
        if !self.shutdown_announced {
            self.shutdown_announced = true;
            let time = self.state.time_unit.render(now);
            let event = format!(r#"{{"event":{{"e":"serverShutdown","E":{time}}}}}"#);
            self.transmits.push_back(Transmit::Text(event));
        }
        if let Some(close_at) = close_at {
            self.shutdown_close = Some(self.shutdown_close.map_or(close_at, |c| c.min(close_at)));
        }
    }

    /// Queues a frame pushed to the connection (a User Data Stream event).
    pub fn push_text(&mut self, frame: String) {
        if !self.ended {
            self.transmits.push_back(Transmit::Text(frame));
        }
    }

    /// Ends the connection: its subscriptions stop receiving events.
    pub fn end(self, server: &mut Server) {
        server.routes.remove_connection(&self.state);
        server.directory.remove(&self.state.connection);
    }

    /// Brings the control plane's view of this connection up to date with its session.
    fn sync_directory(&self, server: &mut Server) {
        if let Some(info) = server.directory.get_mut(&self.state.connection) {
            info.sync(&self.state);
        }
    }

    /// How the last frame answered went, for the connection's log.
    pub(crate) fn last_request(&self) -> Option<&RequestSummary> {
        self.last.as_ref()
    }

    /// Spec §4.7: once the session's key is no longer valid, the next request revokes the
    /// session, with a `401` / -2015 message of `id: null` sent after that request's reply.
    /// Subscriptions made with a key that is gone end too.
    fn revoke_invalid_keys(
        &mut self,
        keys: &KeyRegistry,
        server_routes: &mut user_data::Routes,
        now: Timestamp,
    ) {
        // Every key checked last time was there, and no key has gone since.
        if keys.revision() == self.keys_checked {
            return;
        }
        self.keys_checked = keys.revision();
        if let Some(logon) = &self.state.logon {
            if keys.get(&logon.api_key).is_none() {
                self.state.logon = None;
                let notice = write_reply(
                    &RequestId::Null,
                    &Err(ApiError::RejectedApiKey),
                    None,
                    self.state.time_unit,
                );
                self.state.follow_ups.push(notice);
            }
        }
        user_data::terminate(&mut self.state, server_routes, now, |_, s| {
            keys.get(&s.api_key).is_none()
        });
    }

    /// Writes the reply to an answered request and queues it (or what a fault makes of it),
    /// then the frames that follow it; remembers how it went, journals it and counts it.
    fn finish(&mut self, text: &str, mut answer: Answer, now: Timestamp, server: &mut Server) {
        let order_counts = self.state.order_counts.take();
        // At most three entries (two ORDERS, then REQUEST_WEIGHT): held in place, not in a
        // vector allocated for every reply.
        let entries = answer.charge.as_ref().map(|charge| {
            let weight = charge.entry();
            let mut entries = [weight; 3];
            let mut len = 0;
            // The ORDERS counts of a request that places orders come first, as documented
            // (`web-socket-api.md:3814`).
            if let Some(counts) = order_counts {
                for (
                    OrderLimit {
                        interval,
                        interval_num,
                        limit,
                    },
                    count,
                ) in server.orders.limits().each().into_iter().zip(counts)
                {
                    entries[len] = RateLimitEntry {
                        rate_limit_type: "ORDERS",
                        interval,
                        interval_num,
                        limit,
                        count,
                    };
                    len += 1;
                }
            }
            entries[len] = weight;
            (entries, len + 1)
        });
        let rate_limits = entries
            .as_ref()
            .filter(|_| answer.show_rate_limits)
            .map(|(entries, len)| &entries[..*len]);
        let reply = write_reply(
            &answer.id,
            &answer.outcome,
            rate_limits,
            self.state.time_unit,
        );
        let (status, code) = match &answer.outcome {
            Ok(_) => (200, None),
            Err(error) => (error.status(), Some(error.code())),
        };
        if let Some(method) = answer.method {
            server.calls.count(method);
        }
        let sent = match answer.fault {
            None | Some(Applied::Reply { .. }) => Some(Transmit::Text(reply)),
            Some(Applied::Delay(delay)) => Some(Transmit::Late(reply, delay)),
            Some(Applied::NoReply | Applied::Close { .. } | Applied::Drop) => None,
        };
        if server.journal.is_on() {
            let reply = sent.as_ref().map(|sent| match sent {
                Transmit::Text(reply) | Transmit::Late(reply, _) => reply.as_str(),
                _ => "",
            });
            let entry = self.journal_entry(&mut answer, status, reply.is_some(), now, server);
            // A result held shared (a cached book) is kept by reference, not copied.
            let shared = match (&answer.outcome, reply) {
                (Ok(result), Some(reply)) => result
                    .shared()
                    .and_then(|shared| Some((result_start(reply)?, shared))),
                _ => None,
            };
            // Whatever a pump did not release is freed here: the list holds one request's.
            self.evicted.clear();
            server
                .journal
                .push_sharing(entry, text, reply, shared, &mut self.evicted);
        }
        // The events the request caused here, when they go first (`events-before-reply`).
        self.transmits
            .extend(self.state.preceding.drain(..).map(Transmit::Text));
        if let Some(sent) = sent {
            self.transmits.push_back(sent);
        }
        match &answer.fault {
            Some(Applied::Close { code, reason }) => self.close_with(*code, reason),
            Some(Applied::Drop) => self.cut(),
            _ => {}
        }
        self.transmits
            .extend(self.state.follow_ups.drain(..).map(Transmit::Text));
        let weight = answer.charge.as_ref().map_or(0, |charge| charge.weight);
        let banned_until = answer
            .charge
            .as_ref()
            .filter(|charge| charge.ban_started)
            .and_then(|charge| match charge.verdict {
                Verdict::Banned { until } => Some(until),
                _ => None,
            });
        if answer.banned {
            self.close(CloseReason::IpBanned);
        }
        self.sync_directory(server);
        self.last = Some(RequestSummary {
            method: answer.method,
            id: answer.id,
            status,
            code,
            weight,
            banned_until,
        });
    }

    /// The journal's entry for how a request was answered; its texts (the request's and
    /// the reply's) are written by [`Journal::push`](crate::journal::Journal::push).
    fn journal_entry(
        &self,
        answer: &mut Answer,
        status: u16,
        replied: bool,
        now: Timestamp,
        server: &mut Server,
    ) -> Record {
        // Moved, not copied: the journal is the last to read it.
        let signature = answer.signature.take().map(Box::new);
        let error = match &answer.outcome {
            Err(error) if replied => Some(Box::new(JournalError {
                code: error.code(),
                msg: error.message(),
            })),
            _ => None,
        };
        let api_key = match &signature {
            Some(record) => record.valid.then_some(record.api_key.as_str()),
            None => self.state.logon.as_ref().map(|l| l.api_key.as_str()),
        };
        let api_key = api_key.map(|key| server.journal.key(key));
        Record {
            seq: server.journal.next_seq(),
            at: now.as_millis(),
            connection: self.state.connection,
            peer: SocketAddr::new(self.ip, self.port),
            method: match (answer.method, &answer.named) {
                (Some(known), _) => Some(Cow::Borrowed(known)),
                (None, named) => named.clone().map(Cow::Owned),
            },
            id: answer.id.clone(),
            text: String::new(),
            request_len: 0,
            replied,
            status,
            weight: answer.charge.as_ref().map_or(0, |charge| charge.weight),
            truncated: false,
            error,
            signature,
            api_key,
            shared: None,
        }
    }

    /// Answers one text frame received at `now`: its reply and the frames that follow it
    /// are queued; after a reply that bans the IP, the Close too.
    ///
    /// Order (spec §9): parse and validate `id` → find the method → charge its weight (a 429
    /// stops here) → check the params → run the method. Frames refused before the weight
    /// is charged carry no `rateLimits`.
    pub fn handle_text(&mut self, text: &str, now: Timestamp, server: &mut Server) {
        self.handle_checked_text(text, now, server, None);
    }

    /// [`handle_text`](Self::handle_text) for a frame whose signature was checked already,
    /// outside the server lock ([`Server::check_signature_of`]): the request is handled as
    /// usual, but its signature is not verified again, unless the key or the signing rules
    /// changed in between.
    pub fn handle_checked_text(
        &mut self,
        text: &str,
        now: Timestamp,
        server: &mut Server,
        checked: Option<CheckedSignature>,
    ) {
        if self.ended {
            return;
        }
        self.revoke_invalid_keys(&server.keys, &mut server.routes, now);
        let answer = self.answer(text, now, server, checked.as_ref());
        self.finish(text, answer, now, server);
    }

    /// The fault rule that applies to a request for `method` on this connection, if any.
    fn fault_for(&self, method: Option<&str>, server: &mut Server) -> Option<Applied> {
        if server.faults.is_empty() {
            return None;
        }
        server.faults.take(method, self.state.connection)
    }

    /// Decides how a text frame is answered: parse, fault rules, weight, params, method.
    fn answer(
        &mut self,
        text: &str,
        now: Timestamp,
        server: &mut Server,
        checked: Option<&CheckedSignature>,
    ) -> Answer {
        let request = match parse_request(text) {
            Ok(request) => request,
            Err(Rejected { id, error }) => {
                let fault = self.fault_for(None, server);
                return Answer {
                    id,
                    method: None,
                    named: None,
                    outcome: Err(canned(fault.as_ref()).unwrap_or(error)),
                    charge: None,
                    show_rate_limits: false,
                    banned: false,
                    fault,
                    signature: None,
                };
            }
        };
        let fault = self.fault_for(Some(&request.method), server);
        let methods = server.methods;
        let Some(method) = methods.find(&request.method) else {
            let named = server.journal.is_on().then(|| request.method.to_string());
            return Answer {
                id: request.id,
                method: None,
                named,
                outcome: Err(canned(fault.as_ref()).unwrap_or_else(|| methods.unknown_method())),
                charge: None,
                show_rate_limits: false,
                banned: false,
                fault,
                signature: None,
            };
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
        let seen = RefCell::new(None);
        let mut banned = false;
        let outcome = if let Some(error) = canned(fault.as_ref()) {
            Err(error)
        } else if let Verdict::Banned { until } = charge.verdict {
            banned = true;
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
                checked,
                seen: &seen,
            };
            let mut cursor = ParamCursor::new(params);
            cursor.take("returnRateLimits");
            (method.call)(&mut ctx, &mut cursor)
        };
        let mut charge = charge;
        if outcome.is_ok() && method.weight.free_on_success() {
            // Successful order requests weigh nothing (`CHANGELOG.md:176`).
            server.limiter.refund(self.ip, charge.weight, now);
            charge.used = charge.used.saturating_sub(charge.weight);
            charge.weight = 0;
        }
        Answer {
            id: request.id,
            method: Some(method.name),
            named: None,
            outcome,
            charge: Some(charge),
            show_rate_limits,
            banned,
            fault,
            signature: seen.into_inner(),
        }
    }

    /// [`handle_text`](Self::handle_text), returning the reply itself; what was queued
    /// before it and the frames that follow it stay queued. `None` once the connection is
    /// closing.
    pub fn reply_to(&mut self, text: &str, now: Timestamp, server: &mut Server) -> Option<String> {
        let at = self.transmits.len();
        self.handle_text(text, now, server);
        match self.transmits.remove(at) {
            Some(Transmit::Text(reply)) => Some(reply),
            _ => None,
        }
    }

    /// Answers a binary frame: JSON sessions take text frames only (spec §1.3). It is not
    /// a request: no fault rule applies and the journal does not keep it.
    pub fn handle_binary(&mut self) {
        if self.ended {
            return;
        }
        let error = ApiError::BinaryFrame;
        let reply = write_reply(
            &RequestId::Null,
            &Err(error.clone()),
            None,
            self.state.time_unit,
        );
        self.transmits.push_back(Transmit::Text(reply));
        self.last = Some(RequestSummary {
            method: None,
            id: RequestId::Null,
            status: error.status(),
            code: Some(error.code()),
            weight: 0,
            banned_until: None,
        });
    }
}

/// The error a `reply` fault answers with instead of running the method.
fn canned(fault: Option<&Applied>) -> Option<ApiError> {
    match fault {
        Some(Applied::Reply { status, code, msg }) => Some(ApiError::Canned {
            status: *status,
            code: *code,
            msg: msg.clone(),
        }),
        _ => None,
    }
}
/// Drives a fresh server with arbitrary bytes and panics if any invariant breaks: the body
/// of the fuzz target (`fuzz/`), also replayed over its committed corpus by the tests.
///
/// The bytes are split at `0xFF` (never part of UTF-8) into frames: valid UTF-8 is sent as
/// a text frame, anything else as a binary frame. Every reply must be a JSON object with the
/// envelope's keys in order and a negative error code whenever the status is not 200.
///
/// # Panics
/// On a malformed reply: that is the point.
pub fn exercise(data: &[u8]) {
    use std::net::Ipv4Addr;

    let now = Timestamp::from_millis(1_700_000_000_000);
    let mut server = Server::new(&crate::Config::default(), KeyRegistry::with_demo_key());
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut connection = Connection::open(&mut server, ip, now, ConnectionOptions::default());
    for frame in data.split(|&b| b == 0xFF) {
        match std::str::from_utf8(frame) {
            Ok(text) => connection.handle_text(text, now, &mut server),
            Err(_) => connection.handle_binary(),
        }
        if let Some(Transmit::Text(reply)) = connection.poll_transmit() {
            check_envelope(&reply);
        }
        while connection.poll_transmit().is_some() {}
    }
}

fn check_envelope(reply: &str) {
    let value: serde_json::Value = match serde_json::from_str(reply) {
        Ok(value) => value,
        Err(error) => panic!("reply is not JSON ({error}): {reply}"),
    };
    let Some(object) = value.as_object() else {
        panic!("reply is not an object: {reply}");
    };
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let outcome = if object.get("status").and_then(serde_json::Value::as_u64) == Some(200) {
        "result"
    } else {
        let code = object
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(serde_json::Value::as_i64);
        assert!(
            code.is_some_and(|c| c < 0),
            "error without a negative code: {reply}"
        );
        "error"
    };
    assert!(
        keys == ["id", "status", outcome] || keys == ["id", "status", outcome, "rateLimits"],
        "envelope keys {keys:?}: {reply}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::to_json;
    use crate::method::{self, MethodTable};
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn server(limit: u32) -> Server {
        let config = crate::Config {
            weight_limit: limit,
            ..crate::Config::default()
        };
        Server::new(&config, KeyRegistry::with_demo_key())
    }

    fn session_on(server: &mut Server) -> Connection {
        Connection::open(
            server,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Timestamp::from_millis(1_000),
            ConnectionOptions::default(),
        )
    }

    impl Connection {
        /// The reply to `text`, and nothing else queued after it.
        fn request(&mut self, text: &str, now: Timestamp, server: &mut Server) -> String {
            self.handle_text(text, now, server);
            let reply = match self.poll_transmit() {
                Some(Transmit::Text(reply)) => reply,
                other => panic!("a reply, not {other:?}"),
            };
            assert_eq!(self.poll_transmit(), None, "after {reply}");
            reply
        }

        fn drain(&mut self) -> Vec<Transmit> {
            std::iter::from_fn(|| self.poll_transmit()).collect()
        }
    }

    #[test]
    fn ping_is_answered_with_its_weight() {
        let mut server = server(6000);
        let reply = session_on(&mut server).request(
            r#"{"id":1,"method":"ping"}"#,
            Timestamp::from_millis(2_000),
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":1,"status":200,"result":{},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":3}]}"#
        );
    }

    #[test]
    fn anonymous_status_has_null_key_fields_in_order() {
        let mut server = server(6000);
        let reply = session_on(&mut server).request(
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
        // Opening the connection costs 2 of the 5, `session.status` 2 more.
        let mut server = server(5);
        let mut s = session_on(&mut server);
        let now = Timestamp::from_millis(59_000);
        s.request(r#"{"id":1,"method":"session.status"}"#, now, &mut server);
        let reply = s.request(r#"{"id":2,"method":"session.logout"}"#, now, &mut server);
        assert_eq!(
            reply,
            r#"{"id":2,"status":429,"error":{"code":-1003,"msg":"Too much request weight used; current limit is 5 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.","data":{"serverTime":59000,"retryAfter":60000}},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":5,"count":6}]}"#
        );
    }

    /// A method that exists only in the test table below.
    fn echo(_ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
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
        let reply = s.request(
            r#"{"id":1,"method":"test.echo","params":{"x":"hi"}}"#,
            now,
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":1,"status":200,"result":{"echo":"hi"},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":9}]}"#
        );
        let reply = s.request(
            r#"{"id":2,"method":"v3/test.echo","params":{"x":1,"y":2,"returnRateLimits":false}}"#,
            now,
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":2,"status":400,"error":{"code":-1104,"msg":"Not all sent parameters were read; read '1' parameter(s) but was sent '2'."}}"#
        );
        // `ping` is not in this table.
        let reply = s.request(r#"{"id":3,"method":"ping"}"#, now, &mut server);
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
            let reply = s.request(&request, now, &mut server);
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
        let reply = session_on(&mut server).request(
            r#"{"id":1,"method":"ping","params":{"apiKey":"x","returnRateLimits":"false"}}"#,
            Timestamp::from_millis(2_000),
            &mut server,
        );
        assert_eq!(
            reply,
            r#"{"id":1,"status":400,"error":{"code":-1104,"msg":"Not all sent parameters were read; read '0' parameter(s) but was sent '1'."}}"#
        );
    }

    const T0: Timestamp = Timestamp::from_millis(1_000);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn keepalive_pings_every_interval_and_a_matching_pong_keeps_the_connection() {
        let mut server = server(6000);
        let mut c = session_on(&mut server);
        assert_eq!(c.poll_timeout(), Some(T0.plus(secs(20))));
        c.handle_timeout(T0.plus(secs(19)));
        assert_eq!(c.drain(), []);
        c.handle_timeout(T0.plus(secs(20)));
        assert_eq!(c.drain(), [Transmit::Ping(b"1".to_vec())]);
        // The next ping 20 s on; the pong deadline 60 s after the first ping.
        assert_eq!(c.poll_timeout(), Some(T0.plus(secs(40))));
        c.handle_pong(b"1");
        c.handle_timeout(T0.plus(secs(40)));
        assert_eq!(c.drain(), [Transmit::Ping(b"2".to_vec())]);
        c.handle_pong(b"2");
        c.handle_timeout(T0.plus(secs(100)));
        assert_eq!(c.drain(), [Transmit::Ping(b"3".to_vec())]);
        assert_eq!(c.closing(), None);
    }

    #[test]
    fn a_ping_unanswered_for_the_pong_timeout_closes_with_1008() {
        let mut server = server(6000);
        let mut c = session_on(&mut server);
        c.handle_timeout(T0.plus(secs(20)));
        c.handle_pong(b"not ours");
        c.handle_timeout(T0.plus(secs(40)));
        c.handle_timeout(T0.plus(secs(60)));
        assert_eq!(c.poll_timeout(), Some(T0.plus(secs(80))));
        c.handle_timeout(T0.plus(secs(79)));
        assert_eq!(c.closing(), None);
        c.handle_timeout(T0.plus(secs(80)));
        assert_eq!(
            c.drain(),
            [
                Transmit::Ping(b"1".to_vec()),
                Transmit::Ping(b"2".to_vec()),
                Transmit::Ping(b"3".to_vec()),
                Transmit::Ping(b"4".to_vec()),
                Transmit::Close(CloseReason::PongTimeout),
            ]
        );
        assert_eq!(c.poll_timeout(), None);
        // Closing: nothing more is answered.
        c.handle_text(
            r#"{"id":1,"method":"ping"}"#,
            T0.plus(secs(80)),
            &mut server,
        );
        assert_eq!(c.drain(), []);
    }

    #[test]
    fn the_lifetime_ends_the_connection_with_1000() {
        let config = crate::Config {
            max_lifetime: secs(30),
            ..crate::Config::default()
        };
        let mut server = Server::new(&config, KeyRegistry::with_demo_key());
        let mut c = session_on(&mut server);
        c.handle_timeout(T0.plus(secs(20)));
        assert_eq!(c.poll_timeout(), Some(T0.plus(secs(30))));
        c.handle_timeout(T0.plus(secs(30)));
        assert_eq!(
            c.drain(),
            [
                Transmit::Ping(b"1".to_vec()),
                Transmit::Close(CloseReason::LifetimeExceeded)
            ]
        );
    }

    #[test]
    fn a_shutdown_is_announced_once_in_the_time_unit_and_closes_at_the_end_of_its_grace() {
        let mut server = server(6000);
        let options = ConnectionOptions {
            time_unit: TimeUnit::Microsecond,
            ..ConnectionOptions::default()
        };
        let mut c = Connection::open(&mut server, IpAddr::V4(Ipv4Addr::LOCALHOST), T0, options);
        let at = T0.plus(secs(3));
        c.announce_shutdown(at, Some(at.plus(secs(5))));
        c.announce_shutdown(at.plus(secs(1)), Some(at.plus(secs(9))));
        assert_eq!(
            c.drain(),
            [Transmit::Text(
                r#"{"event":{"e":"serverShutdown","E":4000000}}"#.to_owned()
            )]
        );
        assert_eq!(c.poll_timeout(), Some(at.plus(secs(5))));
        // Still served during the grace.
        let reply = c.request(
            r#"{"id":1,"method":"ping","params":{"returnRateLimits":false}}"#,
            at.plus(secs(4)),
            &mut server,
        );
        assert_eq!(reply, r#"{"id":1,"status":200,"result":{}}"#);
        c.handle_timeout(at.plus(secs(5)));
        assert_eq!(c.drain(), [Transmit::Close(CloseReason::ServerShutdown)]);
    }

    #[test]
    fn a_shutdown_without_a_close_time_keeps_the_connection_open() {
        let mut server = server(6000);
        let mut c = session_on(&mut server);
        c.announce_shutdown(T0, None);
        assert_eq!(
            c.drain(),
            [Transmit::Text(
                r#"{"event":{"e":"serverShutdown","E":1000}}"#.to_owned()
            )]
        );
        assert_eq!(c.poll_timeout(), Some(T0.plus(secs(20))));
        c.handle_timeout(T0.plus(secs(20)));
        assert_eq!(c.drain(), [Transmit::Ping(b"1".to_vec())]);
    }

    #[test]
    fn a_reply_that_bans_the_ip_is_followed_by_the_close() {
        let config = crate::Config {
            weight_limit: 2,
            bans: crate::BanPolicy {
                after_refusals: 1,
                durations: vec![secs(120)],
            },
            ..crate::Config::default()
        };
        let mut server = Server::new(&config, KeyRegistry::with_demo_key());
        let mut c = session_on(&mut server);
        let ping = r#"{"id":1,"method":"ping","params":{"returnRateLimits":false}}"#;
        c.handle_text(ping, T0, &mut server);
        c.handle_text(ping, T0, &mut server);
        let sent = c.drain();
        assert!(
            matches!(&sent[..], [Transmit::Text(a), Transmit::Text(b), Transmit::Close(CloseReason::IpBanned)]
                if a.contains("-1003") && a.contains(r#""status":429"#) && b.contains(r#""status":418"#)),
            "{sent:?}"
        );
    }

    /// A `session.logon` by the demo key at `timestamp` ms, signed over `signed` (the real
    /// payload when `None`).
    fn demo_logon(timestamp: i64, signed: Option<&str>) -> String {
        use base64::Engine as _;
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        use ed25519_dalek::Signer as _;
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(crate::demo::PRIVATE_KEY_PEM)
            .expect("the demo key parses");
        let payload = format!("apiKey={}&timestamp={timestamp}", crate::demo::API_KEY);
        let signature = key.sign(signed.unwrap_or(&payload).as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());
        format!(
            r#"{{"id":"in","method":"session.logon","params":{{"apiKey":"{}","timestamp":{timestamp},"signature":"{signature}","returnRateLimits":false}}}}"#,
            crate::demo::API_KEY
        )
    }

    #[test]
    fn a_signature_checked_outside_the_lock_answers_as_one_checked_inside() {
        let now = T0.plus(secs(1));
        for signed in [None, Some("apiKey=tampered&timestamp=1")] {
            let text = demo_logon(now.as_millis(), signed);
            let mut server = server(6000);
            let mut inline = session_on(&mut server);
            let expected = inline.request(&text, now, &mut server);
            let check = server.check_signature_of(&text).expect("a signed request");
            let mut outside = session_on(&mut server);
            outside.handle_checked_text(&text, now, &mut server, Some(check.run()));
            assert_eq!(outside.drain(), [Transmit::Text(expected)]);
        }
    }

    #[test]
    fn a_check_is_not_used_for_another_request_or_a_replaced_key() {
        let now = T0.plus(secs(1));
        let valid = demo_logon(now.as_millis(), None);
        // Made on a server of its own, so that replacing the key below leaves it as it was.
        let checked = || {
            server(6000)
                .check_signature_of(&valid)
                .map(SignatureCheck::run)
        };
        let mut server = server(6000);
        // The same signature on another request: its own payload is verified, and fails.
        let other = valid.replace(
            &format!("\"timestamp\":{}", now.as_millis()),
            &format!("\"timestamp\":{}", now.as_millis() - 1),
        );
        let mut c = session_on(&mut server);
        c.handle_checked_text(&other, now, &mut server, checked());
        assert!(
            matches!(&c.drain()[..], [Transmit::Text(reply)] if reply.contains("-1022")),
            "a check of one payload must not pass another"
        );
        // The key replaced after the check: the new material decides.
        let other_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        server
            .keys_mut()
            .insert_ed25519(crate::demo::API_KEY, other_key)
            .expect("a well-formed key");
        let mut c = session_on(&mut server);
        c.handle_checked_text(&valid, now, &mut server, checked());
        assert!(
            matches!(&c.drain()[..], [Transmit::Text(reply)] if reply.contains("-1022")),
            "a check against replaced key material must not pass"
        );
    }

    #[test]
    fn only_requests_with_their_own_signature_for_a_known_key_need_a_check() {
        let server = server(6000);
        assert!(server
            .check_signature_of(r#"{"id":1,"method":"ping"}"#)
            .is_none());
        assert!(server
            .check_signature_of(r#"{"id":1,"method":"session.logon","params":{"apiKey":"Nobody","signature":"x","timestamp":1}}"#)
            .is_none());
        assert!(server.check_signature_of("not json").is_none());
        assert!(server.check_signature_of(&demo_logon(1, None)).is_some());
    }

    fn fault(method: Option<&str>, times: Option<i64>, action: crate::FaultAction) -> crate::Fault {
        crate::Fault {
            method: method.map(str::to_owned),
            connection: None,
            times,
            action,
        }
    }

    #[test]
    fn a_canned_reply_carries_the_id_and_rate_limits_and_charges_the_weight() {
        let mut server = server(6000);
        let action = crate::FaultAction::Reply {
            status: 400,
            error: crate::CannedError {
                code: -1001,
                msg: "Internal error.".to_owned(),
            },
        };
        server
            .faults
            .add(fault(Some("v3/session.status"), Some(1), action));
        let mut c = session_on(&mut server);
        let now = T0.plus(secs(1));
        let status = r#"{"id":"q","method":"session.status"}"#;
        let canned = c.request(status, now, &mut server);
        assert_eq!(
            canned,
            r#"{"id":"q","status":400,"error":{"code":-1001,"msg":"Internal error."},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":4}]}"#
        );
        // Used up: the next one is answered as usual, and counted after the canned one.
        let normal = c.request(status, now, &mut server);
        assert!(
            normal.contains(r#""status":200"#) && normal.contains(r#""count":6"#),
            "{normal}"
        );
        assert!(server.faults.is_empty());
    }

    #[test]
    fn faults_that_hold_back_the_reply_still_run_the_request() {
        let now = T0.plus(secs(1));
        let logout = r#"{"id":1,"method":"session.logout"}"#;
        let cases = [
            (crate::FaultAction::NoReply {}, vec![]),
            (
                crate::FaultAction::Close {
                    code: 4000,
                    reason: Some("bye".to_owned()),
                },
                vec![Transmit::CloseWith(4000, "bye".to_owned())],
            ),
            (crate::FaultAction::Drop {}, vec![Transmit::Cut]),
        ];
        for (action, expected) in cases {
            let mut server = server(6000);
            server.faults.add(fault(None, None, action.clone()));
            let mut c = session_on(&mut server);
            c.handle_text(logout, now, &mut server);
            assert_eq!(c.drain(), expected, "{action:?}");
            // Executed: its weight is counted (2 for the connection, 2 for the logout).
            let entry = &server.journal.query(&crate::JournalQuery::default())[0];
            assert_eq!((entry.status, entry.reply.as_deref()), (None, None));
            assert_eq!(server.limiter.charge(c.ip, 0, now).entry().count, 4);
        }
        let mut server = server(6000);
        let delay = crate::FaultAction::Delay { ms: 250 };
        server
            .faults
            .add(fault(Some("session.logout"), None, delay));
        let mut c = session_on(&mut server);
        c.handle_text(logout, now, &mut server);
        assert!(matches!(
            &c.drain()[..],
            [Transmit::Late(reply, delay)] if reply.contains(r#""status":200"#)
                && *delay == Duration::from_millis(250)
        ));
    }

    #[test]
    fn the_journal_keeps_the_exact_text_and_the_payload_a_bad_signature_was_checked_over() {
        let mut server = server(6000);
        let mut c = session_on(&mut server);
        let now = T0.plus(secs(1));
        let tampered = demo_logon(now.as_millis(), Some("apiKey=tampered&timestamp=1"));
        let reply = c.request(&tampered, now, &mut server);
        assert!(reply.contains("-1022"), "{reply}");
        let ping = r#"{"id": 7 , "method":"ping"}"#;
        let pong = c.request(ping, now, &mut server);
        let entries = server.journal.query(&crate::JournalQuery::default());
        assert_eq!(entries.len(), 2);
        let (logon, ping_entry) = (&entries[0], &entries[1]);
        assert_eq!(logon.request, tampered);
        assert_eq!(logon.reply.as_deref(), Some(reply.as_str()));
        let signature = logon.signature.as_ref().expect("it carried one");
        assert_eq!(
            signature.payload,
            format!(
                "apiKey={}&returnRateLimits=false&timestamp={}",
                crate::demo::API_KEY,
                now.as_millis()
            )
        );
        assert_eq!(
            (signature.valid, signature.key_type),
            (false, Some("ED25519"))
        );
        assert_eq!(logon.error.as_ref().map(|e| e.code), Some(-1022));
        assert_eq!(logon.api_key, None);
        assert_eq!(ping_entry.request, ping);
        assert_eq!(ping_entry.reply.as_deref(), Some(pong.as_str()));
        assert_eq!(ping_entry.id, serde_json::json!(7));
        assert_eq!((ping_entry.seq, ping_entry.weight), (2, 1));
        assert!(ping_entry.signature.is_none());
    }
}
