//! The catalogue: every case with its stable ID, what it checks, where the expectation comes
//! from, and what it needs of the target.
//!
//! IDs are stable: a report from one run can be compared with another's, a failure can be
//! replayed with `--only ID`, and a case that needs what a target cannot offer is skipped with
//! the reason, never silently dropped.

/// The body of a case written out by hand as `async fn name(env, transcript)`.
macro_rules! custom {
    ($run:path) => {
        $crate::cases::Body::Custom(|env, transcript| {
            futures_util::FutureExt::boxed_local($run(env, transcript))
        })
    };
}

mod connections;
mod errors;
mod keepalive;
mod market;
mod orders;
mod properties;
mod scenarios;

use futures_util::future::LocalBoxFuture;

use crate::env::Env;
use crate::op::{Auth, KeyRef, Op, ReqId, Signing};
use crate::report::Exchange;
use crate::sequence::{self, Scenario, Step};

pub(crate) use errors::ErrorRow;

/// What a case needs of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// The target's clock frozen and in the harness's hand.
    FrozenClock,
    /// Mocks of the case's own, started with special settings.
    PrivateServers,
    /// The in-process mock itself (a mock-only choice no other endpoint shares).
    InProcess,
    /// A second registered Ed25519 key.
    SecondKey,
    /// A registered HMAC key.
    HmacKey,
    /// A primary key the target accepts.
    UsableKey,
}

impl Need {
    /// Why a case is skipped when the need is not met.
    pub fn reason(self) -> &'static str {
        match self {
            Need::FrozenClock => "needs the frozen clock of the in-process mock",
            Need::PrivateServers => {
                "starts mocks of its own with special settings (low limits): in-process only"
            }
            Need::InProcess => "checks a choice only the mock makes: in-process only",
            Need::SecondKey => "needs a second registered Ed25519 key: --api-key2 and --key2",
            Need::HmacKey => "needs a registered HMAC key: in-process only",
            Need::UsableKey => "the target does not accept the key: pass --api-key and --key",
        }
    }

    /// Whether `env`'s target meets the need.
    pub fn met(self, env: &Env) -> bool {
        match self {
            Need::FrozenClock => env.is_frozen(),
            Need::PrivateServers => env.private_servers,
            Need::InProcess => env.in_process,
            Need::SecondKey => env.keys.secondary.is_some(),
            Need::HmacKey => env.keys.hmac.is_some(),
            Need::UsableKey => env.key_usable.is_ok(),
        }
    }
}

/// An explicit check of what the steps of a fixed sequence received.
pub(crate) type StepCheck = fn(&Env, &[Step]) -> Result<(), String>;

/// The frames a case exchanged, in order, for the report.
pub(crate) type Transcript = Vec<Exchange>;

/// What running a case found: `Err` says what went wrong.
pub(crate) type RunResult = Result<(), String>;

/// Writes what arrived (or why nothing did) into the transcript as the answer to `label`,
/// then checks it with `ok`: the error names `when`, what arrived and what was `expected`.
pub(crate) fn check_arrival<E: std::fmt::Display>(
    transcript: &mut Transcript,
    label: String,
    arrived: Result<String, E>,
    ok: impl Fn(&str) -> bool,
    when: &str,
    expected: &dyn std::fmt::Display,
) -> RunResult {
    let shown = match &arrived {
        Ok(frame) => frame.clone(),
        Err(e) => e.to_string(),
    };
    transcript.push(Exchange::new(&label, vec![shown.clone()]));
    match arrived {
        Ok(frame) if ok(&frame) => Ok(()),
        _ => Err(format!("{when}: {shown}, expected {expected}")),
    }
}

/// A case written out by hand, recording the frames it exchanged.
pub(crate) type CustomRun =
    for<'a> fn(&'a mut Env, &'a mut Transcript) -> LocalBoxFuture<'a, RunResult>;

/// A case's body.
pub(crate) enum Body {
    /// A fixed sequence checked against the model, then by an optional explicit check of
    /// what the steps received.
    Ops {
        scenario: fn() -> Scenario,
        then: Option<StepCheck>,
    },
    /// One request and its exact error reply.
    Row(ErrorRow),
    /// Generated sequences against the model.
    Property(fn(&crate::strategy::Gen) -> proptest::strategy::SBoxedStrategy<Scenario>),
    /// Anything else.
    Custom(CustomRun),
}

/// One case.
pub(crate) struct Case {
    pub id: &'static str,
    pub title: &'static str,
    /// Where the expectation comes from: a section of the spec, or the mock's documented
    /// choice (docs/FIDELITY.md) where Binance documents nothing.
    pub basis: &'static str,
    pub needs: &'static [Need],
    pub body: Body,
}

impl Case {
    /// Runs the case, recording the frames of row and custom cases in `transcript`.
    pub async fn run(&self, env: &mut Env, transcript: &mut Vec<Exchange>) -> Result<(), String> {
        match &self.body {
            Body::Ops { scenario, then } => {
                let scenario = scenario();
                let steps = sequence::run(env, &scenario)
                    .await
                    .map_err(|m| format!("{scenario}{m}"))?;
                match then {
                    Some(check) => check(env, &steps),
                    None => Ok(()),
                }
            }
            Body::Row(row) => errors::run_row(env, row, transcript).await,
            Body::Property(strategy) => {
                let strategy = strategy(&crate::strategy::Gen::for_env(env));
                crate::property::check(env, self.id, strategy).await
            }
            Body::Custom(run) => run(env, transcript).await,
        }
    }
}

/// Every case, in report order.
pub(crate) fn all() -> Vec<Case> {
    let mut cases = scenarios::cases();
    cases.extend(errors::cases());
    cases.extend(connections::cases());
    cases.extend(keepalive::cases());
    cases.extend(properties::cases());
    cases.extend(market::cases());
    cases.extend(orders::cases());
    cases
}

/// `Ok` when a custom case found no `problems`, else all of them, one a line.
pub(crate) fn verdict(problems: &[String]) -> RunResult {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

// Short constructors for the fixed sequences.

/// A timestamp comfortably inside the window on any clock.
pub(crate) fn good() -> Signing {
    Signing::offset_ms(-1000)
}

pub(crate) fn id(text: &str) -> ReqId {
    ReqId::Str(text.to_owned())
}

pub(crate) fn logon(conn: usize, key: KeyRef) -> Op {
    logon_with(conn, key, good())
}

pub(crate) fn logon_with(conn: usize, key: KeyRef, signing: Signing) -> Op {
    Op::Logon {
        conn,
        id: id("logon"),
        key,
        signing,
        rrl: None,
    }
}

pub(crate) fn status(conn: usize) -> Op {
    Op::Status {
        conn,
        id: id("status"),
        rrl: None,
    }
}

pub(crate) fn logout(conn: usize) -> Op {
    Op::Logout {
        conn,
        id: id("logout"),
        rrl: None,
    }
}

pub(crate) fn ping(conn: usize) -> Op {
    Op::Ping {
        conn,
        id: id("ping"),
        rrl: None,
    }
}

pub(crate) fn subscribe(conn: usize) -> Op {
    Op::Subscribe {
        conn,
        id: id("subscribe"),
        rrl: None,
    }
}

pub(crate) fn subscribe_signature(conn: usize, key: KeyRef) -> Op {
    Op::SubscribeSignature {
        conn,
        id: id("subscribe-signature"),
        key,
        signing: good(),
        rrl: None,
    }
}

pub(crate) fn unsubscribe(conn: usize, subscription: Option<u32>) -> Op {
    Op::Unsubscribe {
        conn,
        id: id("unsubscribe"),
        subscription,
        rrl: None,
    }
}

pub(crate) fn subscriptions(conn: usize) -> Op {
    Op::Subscriptions {
        conn,
        id: id("subscriptions"),
        rrl: None,
    }
}

pub(crate) fn account_status(conn: usize, auth: Auth, signing: Signing) -> Op {
    Op::AccountStatus {
        conn,
        id: id("account"),
        auth,
        signing,
        rrl: None,
    }
}

pub(crate) fn orders(conn: usize, auth: Auth) -> Op {
    Op::OrdersRateLimits {
        conn,
        id: id("orders"),
        auth,
        signing: good(),
        rrl: None,
    }
}
