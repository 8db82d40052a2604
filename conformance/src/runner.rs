//! Runs the catalogue against a target: selects cases, skips what the target cannot offer,
//! reports each case as it finishes.

use std::time::Instant;

use serde_json::Value;

use crate::cases::{self, Case};
use crate::env::{local_now_us, Env};
use crate::op::{render, KeyRef, Op, ReqId, Signing};
use crate::property::case_seed;
use crate::report::{CaseResult, Report, Verdict};
use crate::target::Target;
use crate::wire::Wire;

/// How to run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Run only these case IDs (a trailing `*` matches any ending: `SESSION-*`). Empty: all.
    pub only: Vec<String>,
    /// Skip these case IDs (same patterns).
    pub skip: Vec<String>,
    /// Sequences per property case; `None`: 48 on a frozen clock, 12 on a live one.
    pub cases: Option<u32>,
    /// The run's seed: the same seed replays the same sequences.
    pub seed: u64,
    /// How many replays shrinking a failure may take; `None`: 256 frozen, 32 live.
    pub max_shrink_iters: Option<u32>,
    /// Other clients share this IP's weight: counts are checked as lower bounds.
    pub foreign_weight: bool,
    /// How far live timestamps stay from the edges of the timing window, in ms.
    pub timing_margin_ms: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            only: Vec::new(),
            skip: Vec::new(),
            cases: None,
            seed: 0,
            max_shrink_iters: None,
            foreign_weight: false,
            timing_margin_ms: 1500,
        }
    }
}

impl Options {
    /// Options with this seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Options with this many sequences per property case.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = Some(cases);
        self
    }

    /// Options that run only these IDs or patterns.
    pub fn only<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.only = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Options that skip these IDs or patterns.
    pub fn skip<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.skip = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Options that check counts as lower bounds (other clients on this IP).
    pub fn foreign_weight(mut self, foreign: bool) -> Self {
        self.foreign_weight = foreign;
        self
    }

    /// Options with this bound on shrinking.
    pub fn max_shrink_iters(mut self, iters: u32) -> Self {
        self.max_shrink_iters = Some(iters);
        self
    }
}

/// A case of the catalogue, as listed by [`catalogue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseInfo {
    /// The stable ID.
    pub id: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// Where the expectation comes from.
    pub basis: &'static str,
}

/// Every case, in the order a run reports them.
pub fn catalogue() -> Vec<CaseInfo> {
    cases::all()
        .iter()
        .map(|case| CaseInfo {
            id: case.id,
            title: case.title,
            basis: case.basis,
        })
        .collect()
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// `--only` or `--skip` named no case.
    #[error("no case matches {0:?} (see --list)")]
    UnknownCase(String),
    /// The target could not be reached or did not answer `time`.
    #[error("cannot use the target: {0}")]
    Unreachable(String),
}

fn matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

/// Runs the selected cases against `target`, calling `on_result` as each finishes.
///
/// # Errors
/// [`RunError::UnknownCase`] for a pattern that matches nothing, [`RunError::Unreachable`]
/// when a live target cannot be reached.
pub async fn run(
    target: &Target,
    options: &Options,
    mut on_result: impl FnMut(&CaseResult),
) -> Result<Report, RunError> {
    let all = cases::all();
    for pattern in options.only.iter().chain(&options.skip) {
        if !all.iter().any(|case| matches(pattern, case.id)) {
            return Err(RunError::UnknownCase(pattern.clone()));
        }
    }
    let selected: Vec<&Case> = all
        .iter()
        .filter(|case| options.only.is_empty() || options.only.iter().any(|p| matches(p, case.id)))
        .filter(|case| !options.skip.iter().any(|p| matches(p, case.id)))
        .collect();
    let mut env = Env::new(target, options.foreign_weight);
    env.run_seed = options.seed;
    env.timing_margin_ms = options.timing_margin_ms;
    let frozen = env.is_frozen();
    env.cases = options.cases.unwrap_or(if frozen { 48 } else { 12 });
    env.max_shrink_iters = options
        .max_shrink_iters
        .unwrap_or(if frozen { 256 } else { 32 });
    if !frozen {
        preflight(&mut env).await?;
    }
    let mut report = Report {
        target: target.url().to_owned(),
        seed: options.seed,
        results: Vec::new(),
    };
    for case in selected {
        env.seed = case_seed(options.seed, case.id);
        env.notes.clear();
        let started = Instant::now();
        let mut transcript = Vec::new();
        let unmet = case.needs.iter().find(|need| !need.met(&env));
        let verdict = match unmet {
            Some(need) => {
                let mut reason = need.reason().to_owned();
                if let (cases::Need::UsableKey, Err(why)) = (need, &env.key_usable) {
                    reason = format!("{reason} ({why})");
                }
                Verdict::Skip(reason)
            }
            None => match case.run(&mut env, &mut transcript).await {
                Ok(()) => Verdict::Pass,
                Err(details) => Verdict::Fail(details),
            },
        };
        let result = CaseResult {
            id: case.id.to_owned(),
            title: case.title.to_owned(),
            basis: case.basis.to_owned(),
            verdict,
            duration: started.elapsed(),
            transcript,
            notes: std::mem::take(&mut env.notes),
        };
        on_result(&result);
        report.results.push(result);
    }
    Ok(report)
}

/// Before a live run: estimate the server's clock from `time`, learn the weight count, and
/// see whether the target knows the demo key when no key was given.
async fn preflight(env: &mut Env) -> Result<(), RunError> {
    let unreachable = |e: String| RunError::Unreachable(e);
    let mut wire = env
        .connect("")
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let sent_us = local_now_us();
    wire.send_text(r#"{"id":"clock","method":"time"}"#)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (_, reply) = wire
        .reply()
        .await
        .map_err(|e| unreachable(format!("no reply to time: {e}")))?;
    let received_us = local_now_us();
    let value: Value = serde_json::from_str(&reply)
        .map_err(|e| unreachable(format!("the reply to time is not JSON ({e}): {reply}")))?;
    let Some(server_time) = value["result"]["serverTime"].as_i64() else {
        return Err(unreachable(format!("no serverTime in {reply}")));
    };
    env.set_live_offset(server_time, sent_us, received_us);
    match value["rateLimits"][0]["count"].as_u64() {
        Some(count) => {
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            let _ = env.weight.observe(1, count);
            if let Some(limit) = value["rateLimits"][0]["limit"].as_u64() {
                env.weight_limit = u32::try_from(limit).ok();
            }
        }
        None => env.weight.unobserved(1),
    }
    if !env.keys.explicit {
        let logon = Op::Logon {
            conn: 0,
            id: ReqId::Str("key-check".to_owned()),
            key: KeyRef::Primary,
            signing: Signing::offset_ms(-1000),
            rrl: Some(false),
        };
        if let Some(request) = render(&logon, &env.keys, env.server_now_us()) {
            env.key_usable = check_key(&mut wire, &request.text).await;
            env.weight.unobserved(2);
            let logout = r#"{"id":"key-check","method":"session.logout","params":{"returnRateLimits":false}}"#;
            if wire.send_text(logout).await.is_ok() && wire.reply().await.is_ok() {
                env.weight.unobserved(2);
            }
        }
    }
    wire.close().await;
    Ok(())
}

async fn check_key(wire: &mut Wire, logon: &str) -> Result<(), String> {
    wire.send_text(logon).await.map_err(|e| e.to_string())?;
    let (_, reply) = wire.reply().await.map_err(|e| e.to_string())?;
    if reply.contains(r#""status":200"#) {
        Ok(())
    } else {
        Err(format!("the demo key's logon got {reply}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_unique_and_upper_case() {
        let ids: Vec<&str> = catalogue().iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "duplicate IDs in {ids:?}");
        for id in ids {
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
                "{id}"
            );
        }
    }

    #[test]
    fn patterns_match_whole_ids_or_prefixes() {
        assert!(matches("SESSION-*", "SESSION-LOGON-ED25519"));
        assert!(matches("ERR-1021-AHEAD", "ERR-1021-AHEAD"));
        assert!(!matches("ERR-1021", "ERR-1021-AHEAD"));
    }
}
