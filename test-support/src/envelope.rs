//! The documented rule for a reply's envelope (spec §2.2, §2.3), the one every test and the
//! harness check replies against: members `id`, `status`, then `result` (status 200) or
//! `error` (any other status, with a negative integer `code` and a string `msg`), then
//! `rateLimits` if any, in that order and nothing else; `id` is `null`, an integer or a string.

use serde_json::Value;

/// What a well-formed envelope holds, for a caller to compare with what it expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The `id` echoed.
    pub id: Value,
    /// The `status`.
    pub status: u64,
    /// Whether the reply is a `result` (status 200) rather than an `error`.
    pub is_result: bool,
    /// Whether a `rateLimits` member follows.
    pub has_rate_limits: bool,
}

/// Checks `reply` against the documented envelope rule.
///
/// # Errors
/// A description of the first rule `reply` breaks.
pub fn check(reply: &str) -> Result<Envelope, String> {
    let value: Value =
        serde_json::from_str(reply).map_err(|e| format!("the reply is not JSON ({e})"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "the reply is not a JSON object".to_owned())?;
    let status = object
        .get("status")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("no integer status: {reply}"))?;
    let is_result = status == 200;
    let outcome = if is_result { "result" } else { "error" };
    let members: Vec<&str> = object.keys().map(String::as_str).collect();
    let has_rate_limits = members.last() == Some(&"rateLimits");
    let mut expected = vec!["id", "status", outcome];
    if has_rate_limits {
        expected.push("rateLimits");
    }
    if members != expected {
        return Err(format!(
            "members {members:?}, expected {expected:?}: {reply}"
        ));
    }
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    if !(id.is_null() || id.is_i64() || id.is_string()) {
        return Err(format!(
            "an id that is not null, an integer or a string: {reply}"
        ));
    }
    if !is_result {
        let error = &object["error"];
        if error
            .get("code")
            .and_then(Value::as_i64)
            .is_none_or(|c| c >= 0)
        {
            return Err(format!("an error without a negative integer code: {reply}"));
        }
        if !error.get("msg").is_some_and(Value::is_string) {
            return Err(format!("an error without a string msg: {reply}"));
        }
    }
    Ok(Envelope {
        id,
        status,
        is_result,
        has_rate_limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_envelopes_pass_and_say_what_they_hold() {
        let ok = check(r#"{"id":1,"status":200,"result":{},"rateLimits":[]}"#);
        assert_eq!(
            ok,
            Ok(Envelope {
                id: Value::from(1),
                status: 200,
                is_result: true,
                has_rate_limits: true,
            })
        );
        let err = check(r#"{"id":null,"status":400,"error":{"code":-1135,"msg":"x"}}"#);
        assert!(err.is_ok_and(|e| !e.is_result && !e.has_rate_limits));
    }

    #[test]
    fn every_broken_rule_is_caught() {
        for reply in [
            "not json",
            "[]",
            r#"{"status":200,"id":1,"result":{}}"#,
            r#"{"id":1,"status":200,"error":{"code":-1,"msg":"x"}}"#,
            r#"{"id":1,"status":400,"result":{}}"#,
            r#"{"id":1,"status":400,"error":{"code":1,"msg":"x"}}"#,
            r#"{"id":1,"status":400,"error":{"code":-1}}"#,
            r#"{"id":1.5,"status":200,"result":{}}"#,
            r#"{"id":1,"status":200,"result":{},"extra":1}"#,
            r#"{"id":1,"status":"200","result":{}}"#,
            r#"{"id":1,"status":200,"rateLimits":[],"result":{}}"#,
        ] {
            assert!(check(reply).is_err(), "{reply}");
        }
    }
}
