//! Random operations for the property cases (proptest strategies).
//!
//! Every operation is valid in every state (the model says what any of them must get), so
//! sequences need no preconditions and shrink by plain removal. What is generated depends on
//! the target: clock moves and timestamps a millisecond from a rule's edge only on a frozen
//! clock; on a live one, timestamps stay a margin away from both edges of the window.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::{SBoxedStrategy, Union};

use crate::env::Env;
use crate::op::{Auth, KeyRef, Op, ReqId, SignedParam, Signing, Tamper};
use crate::sequence::{Scenario, MAX_CONNECTIONS};
use crate::spec;

/// `Op::$variant` of a signed method: its connection, id, credentials (the variant's
/// `$field`), signing and `returnRateLimits`.
macro_rules! signed_op {
    ($variant:ident, $field:ident = $credentials:expr, $conn:expr, $id:expr, $signing:expr, $rrl:expr) => {
        Op::$variant {
            conn: $conn,
            id: $id,
            $field: $credentials,
            signing: $signing,
            rrl: $rrl,
        }
    };
}

/// What the strategies may use.
#[derive(Clone, Debug)]
pub(crate) struct Gen {
    frozen: bool,
    /// Registered Ed25519 keys.
    ed25519: Vec<KeyRef>,
    /// Registered keys of any type.
    signers: Vec<KeyRef>,
    margin_us: i64,
}

impl Gen {
    /// What `env`'s target allows.
    pub fn for_env(env: &Env) -> Gen {
        let mut ed25519 = vec![KeyRef::Primary];
        if env.keys.secondary.is_some() {
            ed25519.push(KeyRef::Secondary);
        }
        if env.keys.tertiary.is_some() {
            ed25519.push(KeyRef::Tertiary);
        }
        let mut signers = ed25519.clone();
        if env.keys.hmac.is_some() {
            signers.push(KeyRef::Hmac);
        }
        Gen {
            frozen: env.is_frozen(),
            ed25519,
            signers,
            margin_us: env.timing_margin_ms * 1000,
        }
    }

    fn registered_ed25519(&self) -> SBoxedStrategy<KeyRef> {
        select(self.ed25519.clone()).sboxed()
    }

    /// Mostly registered keys, sometimes one the target must refuse.
    fn any_key(&self) -> SBoxedStrategy<KeyRef> {
        prop_oneof![
            8 => select(self.signers.clone()),
            1 => Just(KeyRef::Unknown),
            1 => Just(KeyRef::Malformed),
        ]
        .sboxed()
    }

    /// A `recvWindow`: none mostly, within the maximum, fractional, or over it.
    fn recv_window(&self) -> SBoxedStrategy<Option<String>> {
        let lowest = if self.frozen {
            0
        } else {
            u32::try_from(self.margin_us * 4 / 1000).unwrap_or(6000)
        };
        prop_oneof![
            6 => Just(None),
            2 => (lowest..=60_000u32).prop_map(|ms| Some(ms.to_string())),
            1 => (lowest..=59_999u32, 0u32..1000).prop_map(|(ms, frac)| Some(format!("{ms}.{frac:03}"))),
            1 => (60_001u32..=10_000_000).prop_map(|ms| Some(ms.to_string())),
        ]
        .sboxed()
    }

    /// A timestamp offset from the server's time (µs) given the window: inside it, at its
    /// edges (frozen clocks only), stale, or ahead, weighted by `weights`.
    fn offset(&self, window_us: i64, weights: [u32; 4]) -> SBoxedStrategy<i64> {
        let [good, edge, stale, ahead] = weights;
        let ahead_limit = spec::AHEAD_LIMIT_US;
        let hour = 3_600_000_000i64;
        let mut arms: Vec<(u32, SBoxedStrategy<i64>)> = Vec::new();
        if self.frozen {
            arms.push((good, (-window_us..ahead_limit).sboxed()));
            arms.push((
                edge,
                select(vec![
                    -window_us,
                    -window_us - 1,
                    -window_us - 1000,
                    ahead_limit - 1,
                    ahead_limit - 1000,
                    ahead_limit,
                ])
                .sboxed(),
            ));
            arms.push((stale, (-window_us - hour..-window_us).sboxed()));
            arms.push((ahead, (ahead_limit..ahead_limit + hour).sboxed()));
        } else {
            let m = self.margin_us;
            let (low, high) = (-(window_us - m), ahead_limit - m);
            if low <= high {
                arms.push((good + edge, (low..=high).sboxed()));
            }
            arms.push((stale, (-window_us - m - hour..=-window_us - m).sboxed()));
            arms.push((ahead, (ahead_limit + m..=ahead_limit + m + hour).sboxed()));
        }
        arms.retain(|(weight, _)| *weight > 0);
        Union::new_weighted(arms).sboxed()
    }

    /// A signing: a `recvWindow` or none, a timestamp offset (in ms unless `micros`).
    fn signing(&self, weights: [u32; 4], tamper_percent: u32) -> SBoxedStrategy<Signing> {
        let gen = self.clone();
        let tamper = self.tamper(tamper_percent);
        (self.recv_window(), any::<bool>(), 0u32..5)
            .prop_flat_map(move |(recv_window, coin, fifth)| {
                let window_us = recv_window
                    .as_deref()
                    .map_or(Ok(spec::DEFAULT_RECV_WINDOW_US), spec::parse_recv_window)
                    .unwrap_or(spec::DEFAULT_RECV_WINDOW_US);
                // Microsecond timestamps one time in five.
                let micros = coin && fifth == 0;
                (
                    Just(recv_window),
                    Just(micros),
                    gen.offset(window_us, weights),
                    tamper.clone(),
                )
            })
            .prop_map(|(recv_window, micros, offset_us, tamper)| Signing {
                offset_us: if micros {
                    offset_us
                } else {
                    offset_us.div_euclid(1000) * 1000
                },
                micros,
                recv_window,
                tamper,
            })
            .sboxed()
    }

    /// A timestamp inside the window, no `recvWindow`, nothing changed.
    fn good_signing(&self) -> SBoxedStrategy<Signing> {
        let window = spec::DEFAULT_RECV_WINDOW_US;
        self.offset(window, [1, 0, 0, 0])
            .prop_map(|offset_us| Signing {
                offset_us: offset_us.div_euclid(1000) * 1000,
                micros: false,
                recv_window: None,
                tamper: None,
            })
            .sboxed()
    }

    fn tamper(&self, percent: u32) -> SBoxedStrategy<Option<Tamper>> {
        let change = prop_oneof![
            3 => (0usize..64, 1u8..=255).prop_map(|(index, xor)| Tamper::SignatureByte { index, xor }),
            1 => (0usize..64, prop::char::ranges(vec!['0'..='9', 'a'..='z', 'A'..='Z', '-'..='-'].into()))
                .prop_map(|(index, with)| Tamper::Param { param: SignedParam::ApiKey, index, with }),
            1 => (0usize..20, prop::char::range('0', '9'))
                .prop_map(|(index, with)| Tamper::Param { param: SignedParam::Timestamp, index, with }),
            1 => (0usize..10, prop::char::range('0', '9'))
                .prop_map(|(index, with)| Tamper::Param { param: SignedParam::RecvWindow, index, with }),
        ];
        if percent >= 100 {
            change.prop_map(Some).sboxed()
        } else {
            prop_oneof![
                (100 - percent) => Just(None),
                percent => change.prop_map(Some),
            ]
            .sboxed()
        }
    }

    /// Any operation of the session, account and User Data Stream methods.
    pub fn op(&self) -> SBoxedStrategy<Op> {
        // Mostly the first connection, so that logons, subscriptions and logouts meet.
        let conn = prop_oneof![6 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
        let mixed = [4, 1, 1, 1];
        // An arm of `weight` for a method without params of its own.
        let unsigned = |weight: u32, op: fn(usize, ReqId, Option<bool>) -> Op| {
            let strategy = (conn.clone(), seq_id(), rrl()).prop_map(move |(c, i, r)| op(c, i, r));
            (weight, strategy.sboxed())
        };
        // An arm of `weight` for a signed method whose credentials, the variant's `$field`,
        // come from `$credentials`.
        macro_rules! signed {
            ($weight:expr, $variant:ident { $field:ident }, $credentials:expr, $signing:expr) => {
                (
                    $weight,
                    (conn.clone(), seq_id(), $credentials, $signing, rrl())
                        .prop_map(|(conn, id, credentials, signing, rrl)| {
                            signed_op!($variant, $field = credentials, conn, id, signing, rrl)
                        })
                        .sboxed(),
                )
            };
        }
        let mut arms: Vec<(u32, SBoxedStrategy<Op>)> = vec![
            signed!(
                5,
                Logon { key },
                self.registered_ed25519(),
                self.good_signing()
            ),
            signed!(2, Logon { key }, self.any_key(), self.signing(mixed, 15)),
            unsigned(4, |conn, id, rrl| Op::Status { conn, id, rrl }),
            unsigned(2, |conn, id, rrl| Op::Logout { conn, id, rrl }),
            unsigned(2, |conn, id, rrl| Op::Ping { conn, id, rrl }),
            unsigned(1, |conn, id, rrl| Op::Time { conn, id, rrl }),
            unsigned(2, |conn, id, rrl| Op::Subscriptions { conn, id, rrl }),
            signed!(
                2,
                AccountStatus { auth },
                Just(Auth::Session),
                self.signing([8, 1, 1, 1], 0)
            ),
            signed!(
                1,
                AccountStatus { auth },
                self.any_key().prop_map(Auth::Own),
                self.signing(mixed, 10)
            ),
            signed!(
                1,
                OrdersRateLimits { auth },
                self.auth(),
                self.signing([8, 1, 1, 1], 0)
            ),
            (
                4,
                (conn.clone(), seq_id(), rrl())
                    .prop_map(|(conn, id, rrl)| Op::Subscribe { conn, id, rrl })
                    .sboxed(),
            ),
            signed!(
                3,
                SubscribeSignature { key },
                self.any_key(),
                self.signing([8, 1, 1, 1], 5)
            ),
            (
                3,
                (
                    conn.clone(),
                    seq_id(),
                    prop::option::weighted(0.7, 0u32..5),
                    rrl(),
                )
                    .prop_map(|(conn, id, subscription, rrl)| Op::Unsubscribe {
                        conn,
                        id,
                        subscription,
                        rrl,
                    })
                    .sboxed(),
            ),
            (
                1,
                conn.clone()
                    .prop_map(|conn| Op::Reconnect { conn })
                    .sboxed(),
            ),
            (
                1,
                (conn, invalid_id())
                    .prop_map(|(conn, raw_id)| Op::InvalidId { conn, raw_id })
                    .sboxed(),
            ),
        ];
        if self.frozen {
            arms.push((
                1,
                clock_move().prop_map(|ms| Op::AdvanceClock { ms }).sboxed(),
            ));
        }
        Union::new_weighted(arms).sboxed()
    }

    fn auth(&self) -> SBoxedStrategy<Auth> {
        prop_oneof![
            3 => Just(Auth::Session),
            1 => select(self.signers.clone()).prop_map(Auth::Own),
        ]
        .sboxed()
    }

    /// Sequences of up to `max_ops` operations over up to three connections.
    /// Most start with a logon on the first connection, so that what needs one gets going.
    pub fn sequences(&self, max_ops: usize) -> SBoxedStrategy<Scenario> {
        let first_logon = prop::option::weighted(
            0.8,
            (seq_id(), self.registered_ed25519(), self.good_signing()).prop_map(
                |(id, key, signing)| Op::Logon {
                    conn: 0,
                    id,
                    key,
                    signing,
                    rrl: None,
                },
            ),
        );
        // Operations first: proptest shrinks a tuple's members in order, and dropping
        // operations is what makes a failing sequence short.
        (
            prop::collection::vec(self.op(), 1..=max_ops),
            first_logon,
            url_options(),
        )
            .prop_map(|(rest, first, url_return_rate_limits)| Scenario {
                url_return_rate_limits,
                ops: first.into_iter().chain(rest).collect(),
            })
            .sboxed()
    }

    /// Signed requests changed after signing: one byte of the signature, or one character
    /// of `apiKey`, `timestamp` or `recvWindow`.
    pub fn tampered_requests(&self) -> SBoxedStrategy<Scenario> {
        let signing = (self.good_signing(), self.recv_window(), self.tamper(100)).prop_map(
            |(mut signing, recv_window, tamper)| {
                if recv_window
                    .as_deref()
                    .is_some_and(|w| spec::parse_recv_window(w).is_ok())
                {
                    signing.recv_window = recv_window;
                }
                signing.tamper = tamper;
                signing
            },
        );
        let op = (0u8..4, seq_id(), select(self.signers.clone()), signing).prop_map(
            |(method, id, key, signing)| match method {
                0 => signed_op!(Logon, key = key, 0, id, signing, None),
                1 => signed_op!(AccountStatus, auth = Auth::Own(key), 0, id, signing, None),
                2 => signed_op!(
                    OrdersRateLimits,
                    auth = Auth::Own(key),
                    0,
                    id,
                    signing,
                    None
                ),
                _ => signed_op!(SubscribeSignature, key = key, 0, id, signing, None),
            },
        );
        prop::collection::vec(op, 1..=4)
            .prop_map(Scenario::new)
            .sboxed()
    }

    /// Signed requests with timestamps on both sides of the window's edges.
    pub fn timed_requests(&self) -> SBoxedStrategy<Scenario> {
        let signing = self.signing([2, 3, 2, 2], 0);
        let op = (0u8..5, seq_id(), self.registered_ed25519(), signing).prop_map(
            |(method, id, key, signing)| match method {
                0..=2 => signed_op!(Logon, key = key, 0, id, signing, None),
                3 => signed_op!(AccountStatus, auth = Auth::Session, 0, id, signing, None),
                _ => signed_op!(AccountStatus, auth = Auth::Own(key), 0, id, signing, None),
            },
        );
        prop::collection::vec(op, 1..=5)
            .prop_map(Scenario::new)
            .sboxed()
    }

    /// Requests with every shape of valid `id`.
    pub fn valid_ids(&self) -> SBoxedStrategy<Scenario> {
        let op = (0u8..3, req_id(), rrl()).prop_map(|(method, id, rrl)| match method {
            0 => Op::Ping { conn: 0, id, rrl },
            1 => Op::Time { conn: 0, id, rrl },
            _ => Op::Status { conn: 0, id, rrl },
        });
        prop::collection::vec(op, 1..=8)
            .prop_map(Scenario::new)
            .sboxed()
    }

    /// Requests with invalid `id`s, between valid ones.
    pub fn invalid_ids(&self) -> SBoxedStrategy<Scenario> {
        let op = prop_oneof![
            3 => invalid_id().prop_map(|raw_id| Op::InvalidId { conn: 0, raw_id }),
            1 => (seq_id(), rrl()).prop_map(|(id, rrl)| Op::Ping { conn: 0, id, rrl }),
        ];
        prop::collection::vec(op, 1..=8)
            .prop_map(Scenario::new)
            .sboxed()
    }

    /// Cheap requests and clock moves against a low weight limit: 429s and new windows.
    pub fn weight_limited(&self) -> SBoxedStrategy<Scenario> {
        let conn = 0..2usize;
        let op = prop_oneof![
            3 => (conn.clone(), seq_id()).prop_map(|(conn, id)| Op::Ping { conn, id, rrl: None }),
            2 => (conn.clone(), seq_id()).prop_map(|(conn, id)| Op::Status { conn, id, rrl: None }),
            2 => (conn.clone(), seq_id(), self.registered_ed25519(), self.good_signing())
                .prop_map(|(conn, id, key, signing)| Op::Logon { conn, id, key, signing, rrl: None }),
            1 => (conn.clone(), seq_id(), self.good_signing()).prop_map(|(conn, id, signing)| {
                Op::AccountStatus { conn, id, auth: Auth::Session, signing, rrl: None }
            }),
            1 => (conn.clone(), seq_id()).prop_map(|(conn, id)| Op::Subscribe { conn, id, rrl: None }),
            1 => (conn.clone(), seq_id(), rrl()).prop_map(|(conn, id, rrl)| Op::Time { conn, id, rrl }),
            1 => conn.clone().prop_map(|conn| Op::Reconnect { conn }),
            1 => (conn, invalid_id()).prop_map(|(conn, raw_id)| Op::InvalidId { conn, raw_id }),
            2 => clock_move().prop_map(|ms| Op::AdvanceClock { ms }),
        ];
        prop::collection::vec(op, 1..=32)
            .prop_map(Scenario::new)
            .sboxed()
    }
}

/// A clock move: mostly a few seconds, sometimes past the end of the minute.
fn clock_move() -> SBoxedStrategy<u32> {
    prop_oneof![
        3 => 0u32..=3_000,
        2 => 3_000u32..=75_000,
    ]
    .sboxed()
}

/// Each connection's URL `returnRateLimits`: mostly not in the URL.
fn url_options() -> SBoxedStrategy<Vec<Option<bool>>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(None),
            1 => Just(Some(false)),
            1 => Just(Some(true)),
        ],
        MAX_CONNECTIONS,
    )
    .sboxed()
}

/// A per-request `returnRateLimits`: mostly not sent.
fn rrl() -> SBoxedStrategy<Option<bool>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(true)),
        1 => Just(Some(false)),
    ]
    .sboxed()
}

/// An `id` for requests whose point is elsewhere: every shape, small values (they shrink in
/// a few steps).
fn seq_id() -> SBoxedStrategy<ReqId> {
    prop_oneof![
        3 => (0i64..1000).prop_map(ReqId::Int),
        3 => "[a-zA-Z0-9_-]{1,8}".prop_map(ReqId::Str),
        1 => Just(ReqId::Null),
        1 => Just(ReqId::Absent),
    ]
    .sboxed()
}

/// A valid `id` (spec §2.1): any 64-bit signed integer, a string of 1 to 36 of
/// `[a-zA-Z0-9-_]`, `null`, or none at all.
pub(crate) fn req_id() -> SBoxedStrategy<ReqId> {
    prop_oneof![
        3 => any::<i64>().prop_map(ReqId::Int),
        2 => (-5i64..1000).prop_map(ReqId::Int),
        3 => "[a-zA-Z0-9_-]{1,36}".prop_map(ReqId::Str),
        1 => Just(ReqId::Int(i64::MIN)),
        1 => Just(ReqId::Int(i64::MAX)),
        1 => Just(ReqId::Null),
        1 => Just(ReqId::Absent),
    ]
    .sboxed()
}

pub(crate) use test_support::strategy::invalid_id;
