//! Faults a test injects (`POST /__admin/faults`, [`MockServer::add_fault`]): rules that
//! give matching requests a canned reply, a late reply, no reply, a close or a cut
//! connection instead of, or besides, their normal handling.
//!
//! [`MockServer::add_fault`]: crate::MockServer::add_fault

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::envelope::bare_method;

/// The longest `delay` a rule may ask for: ten minutes, far past any client's timeout.
pub const MAX_DELAY_MS: u64 = 600_000;

/// A rule to add: which requests it matches and what they get.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// The method it matches, with or without the `v3/` prefix; every method if absent.
    #[serde(default)]
    pub method: Option<String>,
    /// The connection it matches; every connection if absent.
    #[serde(default)]
    pub connection: Option<u64>,
    /// How many requests it applies to before it is removed; until removed if absent.
    #[serde(default)]
    pub times: Option<i64>,
    /// What a matching request gets.
    pub action: FaultAction,
}

/// What a request matched by a [`Fault`] gets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultAction {
    /// Not executed: this reply instead, with the request's `id` and the `rateLimits` its
    /// method's reply would carry; the method's weight is charged.
    Reply {
        /// The reply's `status`.
        status: u16,
        /// The reply's `error`.
        error: CannedError,
    },
    /// Executed normally; the reply is sent this many milliseconds (real time) later.
    Delay {
        /// The delay in milliseconds, at most 600,000 (ten minutes).
        ms: u64,
    },
    /// Executed; the reply is never sent.
    NoReply {},
    /// Executed; then the connection is closed with this code instead of the reply.
    Close {
        /// The close code: 1000 or 3000 to 4999.
        code: u16,
        /// The close reason, at most 123 bytes.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Executed; then the TCP connection is cut, without a Close frame or the reply.
    Drop {},
}

/// The `error` of a canned reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CannedError {
    /// The error code, e.g. -1001.
    pub code: i32,
    /// The error message.
    pub msg: String,
}

/// A rule as the server holds it: `GET /__admin/faults` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRule {
    /// The rule's id, never reused within a process.
    pub id: u64,
    /// The method it matches, as given; `null` for every method.
    pub method: Option<String>,
    /// The connection it matches; `null` for every connection.
    pub connection: Option<u64>,
    /// How many requests it was given; `null` for until removed.
    pub times: Option<i64>,
    /// How many requests it still applies to; `null` for until removed.
    pub remaining: Option<i64>,
    /// What a matching request gets.
    pub action: FaultAction,
}

/// A close code a client may be sent: 1000, or the ranges for libraries and applications.
pub fn is_sendable_close_code(code: u16) -> bool {
    code == 1000 || (3000..=4999).contains(&code)
}

/// The longest close reason: a Close frame's payload is at most 125 bytes, two of them the
/// code (RFC 6455 §5.5).
pub const MAX_CLOSE_REASON: usize = 123;

impl Fault {
    /// Why this rule cannot be added, if it cannot (a 400).
    pub fn invalid(&self) -> Option<String> {
        if self.times.is_some_and(|times| times <= 0) {
            return Some("`times` must be at least 1".to_owned());
        }
        match &self.action {
            FaultAction::Reply { status, .. } if !(100..=999).contains(status) => {
                Some("`action.status` must be a status from 100 to 999".to_owned())
            }
            FaultAction::Delay { ms } if *ms > MAX_DELAY_MS => Some(format!(
                "`action.ms` must be at most {MAX_DELAY_MS} (ten minutes)"
            )),
            FaultAction::Close { code, reason } => close_invalid(*code, reason.as_deref()),
            _ => None,
        }
    }
}

/// Why a close with `code` and `reason` cannot be sent, if it cannot.
pub(crate) fn close_invalid(code: u16, reason: Option<&str>) -> Option<String> {
    if !is_sendable_close_code(code) {
        return Some(format!(
            "close code {code} is not 1000 or from 3000 to 4999"
        ));
    }
    if reason.is_some_and(|reason| reason.len() > MAX_CLOSE_REASON) {
        return Some(format!("the close reason is over {MAX_CLOSE_REASON} bytes"));
    }
    None
}

/// What the matched request's handling does besides, or instead of, replying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Not executed: answered with this status, code and message.
    Reply { status: u16, code: i32, msg: String },
    /// The reply is sent late.
    Delay(Duration),
    /// The reply is not sent.
    NoReply,
    /// The reply is not sent; the connection is closed.
    Close { code: u16, reason: String },
    /// The reply is not sent; the connection is cut.
    Drop,
}

/// The rules in force, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl Faults {
    /// Adds a checked rule; returns its id.
    pub fn add(&mut self, fault: Fault) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.rules.push(FaultRule {
            id,
            method: fault.method,
            connection: fault.connection,
            times: fault.times,
            remaining: fault.times,
            action: fault.action,
        });
        id
    }

    /// Removes rule `id`; whether it existed.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|rule| rule.id != id);
        self.rules.len() != before
    }

    /// Removes every rule; ids go on counting.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The rules, oldest first.
    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Whether no rule is in force: the fast path of every request.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The action of the oldest rule matching a request for `method` (`None` for a frame
    /// that named none) on `connection`, counting the request against the rule.
    pub fn take(&mut self, method: Option<&str>, connection: u64) -> Option<Applied> {
        let index = self.rules.iter().position(|rule| {
            let method_matches = match (&rule.method, method) {
                (None, _) => true,
                (Some(wanted), Some(method)) => bare_method(wanted) == bare_method(method),
                (Some(_), None) => false,
            };
            method_matches && rule.connection.is_none_or(|c| c == connection)
        })?;
        let rule = &mut self.rules[index];
        let applied = match &rule.action {
            FaultAction::Reply { status, error } => Applied::Reply {
                status: *status,
                code: error.code,
                msg: error.msg.clone(),
            },
            FaultAction::Delay { ms } => Applied::Delay(Duration::from_millis(*ms)),
            FaultAction::NoReply {} => Applied::NoReply,
            FaultAction::Close { code, reason } => Applied::Close {
                code: *code,
                reason: reason.clone().unwrap_or_default(),
            },
            FaultAction::Drop {} => Applied::Drop,
        };
        if let Some(remaining) = &mut rule.remaining {
            *remaining -= 1;
            if *remaining <= 0 {
                self.rules.remove(index);
            }
        }
        Some(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(method: Option<&str>, connection: Option<u64>, times: Option<i64>) -> Fault {
        Fault {
            method: method.map(str::to_owned),
            connection,
            times,
            action: FaultAction::NoReply {},
        }
    }

    #[test]
    fn the_oldest_matching_rule_applies_and_counts_down() {
        let mut faults = Faults::default();
        faults.add(rule(Some("v3/ping"), None, Some(1)));
        let close = Fault {
            action: FaultAction::Drop {},
            ..rule(None, Some(7), None)
        };
        faults.add(close);
        assert_eq!(faults.take(Some("time"), 1), None);
        assert_eq!(faults.take(Some("ping"), 7), Some(Applied::NoReply));
        // Used up: the next `ping` on 7 falls through to the rule for every method on 7.
        assert_eq!(faults.rules().len(), 1);
        assert_eq!(faults.take(Some("ping"), 7), Some(Applied::Drop));
        assert_eq!(faults.take(None, 7), Some(Applied::Drop));
        assert_eq!(faults.rules()[0].remaining, None);
    }

    #[test]
    fn bad_rules_are_named() {
        assert!(rule(None, None, Some(0)).invalid().is_some());
        assert!(rule(None, None, Some(1)).invalid().is_none());
        let close = |code, reason: &str| Fault {
            action: FaultAction::Close {
                code,
                reason: Some(reason.to_owned()),
            },
            ..rule(None, None, None)
        };
        assert!(close(1000, "").invalid().is_none());
        assert!(close(4999, "").invalid().is_none());
        assert!(close(1001, "").invalid().is_some());
        assert!(close(5000, "").invalid().is_some());
        assert!(close(3000, &"x".repeat(124)).invalid().is_some());
        assert!(close(3000, &"x".repeat(123)).invalid().is_none());
    }
}
