//! The docs check: every error message `docs/FIDELITY.md` quotes is a row of the golden table
//! (with the docs' placeholders, such as `<M>` or `'R'`, standing for the blanks, and a
//! message cut short with `...` read as a prefix).

use regex::Regex;
use test_support::errors::{self as golden, Golden, TABLE};

const FIDELITY: &str = include_str!("../../docs/FIDELITY.md");

/// Every (code, message) the docs quote: `` `-1102` "msg" `` in prose, and
/// `{"code":-1194,"msg":"msg"}` in quoted bodies.
fn quoted_errors() -> Vec<(i32, String)> {
    let prose = Regex::new(r#"`(-\d+)` "([^"]+)""#).expect("a valid regex");
    let body = Regex::new(r#""code":(-\d+),"msg":"([^"]+)""#).expect("a valid regex");
    prose
        .captures_iter(FIDELITY)
        .chain(body.captures_iter(FIDELITY))
        .map(|c| (c[1].parse().expect("a code"), c[2].to_owned()))
        .collect()
}

/// The template's literal pieces, between its `{blank}`s.
fn pieces(template: &str) -> Vec<&str> {
    Regex::new(r"\{[a-z_]+\}")
        .expect("a valid regex")
        .split(template)
        .collect()
}

/// Whether `quoted` (whole, or a prefix when `cut`) reads as `template` with its blanks
/// filled by one character or more.
fn fits(pieces: &[&str], quoted: &str, cut: bool) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return quoted.is_empty();
    };
    if cut && quoted.len() <= first.len() {
        return first.starts_with(quoted);
    }
    let Some(after) = quoted.strip_prefix(first) else {
        return false;
    };
    if rest.is_empty() {
        return after.is_empty() || cut;
    }
    // A blank: one character or more, then the rest.
    (1..=after.len())
        .filter(|&n| after.is_char_boundary(n))
        .any(|n| fits(rest, &after[n..], cut))
        || (cut && !after.is_empty())
}

fn golden_row_for(code: i32, quoted: &str) -> Option<&'static Golden> {
    let (text, cut) = match quoted
        .strip_suffix("...")
        .or_else(|| quoted.strip_suffix('…'))
    {
        Some(prefix) => (prefix.trim_end(), true),
        None => (quoted, false),
    };
    TABLE
        .iter()
        .find(|g| g.code == code && fits(&pieces(g.template), text, cut))
}

#[test]
fn every_error_message_fidelity_quotes_is_in_the_golden_table() {
    let quoted = quoted_errors();
    assert!(
        quoted.len() >= 20,
        "the docs quote more messages than {quoted:?}"
    );
    let missing: Vec<_> = quoted
        .iter()
        .filter(|(code, msg)| golden_row_for(*code, msg).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "quoted in FIDELITY.md, not in the table: {missing:#?}"
    );
}

#[test]
fn a_message_the_table_does_not_hold_is_caught() {
    assert!(golden_row_for(-1102, "Mandatory parameter 'x' was not sent.").is_none());
    assert!(golden_row_for(
        -1100,
        "Mandatory parameter 'x' was not sent, was empty/null, or malformed."
    )
    .is_none());
    assert!(golden_row_for(
        -1003,
        "Way too much request weight used; IP banned until <ms>. ..."
    )
    .is_some());
    assert!(golden_row_for(-1003, "Way too much weight; IP banned until <ms>. ...").is_none());
}

#[test]
fn every_row_of_the_table_but_the_internal_ones_is_quoted_in_fidelity() {
    let quoted = quoted_errors();
    let unquoted: Vec<&Golden> = TABLE
        .iter()
        .filter(|g| g.code != 0 && g.code != -1000)
        .filter(|g| {
            !quoted
                .iter()
                .any(|(code, msg)| golden_row_for(*code, msg) == Some(*g))
        })
        .collect();
    // Rows Binance documents verbatim (spec §3.3, §7) need no FIDELITY row; those it does
    // not are choices, and FIDELITY.md records every choice.
    let documented_by_binance = [
        golden::OUTSIDE_RECV_WINDOW,
        golden::TIMESTAMP_AHEAD,
        golden::BAD_API_KEY_FORMAT,
        golden::REJECTED_API_KEY,
        golden::INVALID_ID,
        golden::TOO_MUCH_WEIGHT,
        // errors.md words these exactly as the mock does.
        golden::BAD_INTERVAL,
        golden::BAD_SYMBOL,
        golden::INVALID_SYMBOL_STATUS,
        golden::SYMBOL_STATUS_MISMATCH,
        golden::DUPLICATE_SYMBOLS,
    ];
    let unrecorded: Vec<_> = unquoted
        .iter()
        .filter(|g| !documented_by_binance.contains(g))
        .collect();
    assert!(
        unrecorded.is_empty(),
        "no FIDELITY.md row quotes {unrecorded:#?}"
    );
}

#[test]
fn the_methods_fidelity_lists_for_an_unknown_method_are_the_golden_ones() {
    let listed = test_support::errors::MOCK_METHODS.join("\\|");
    assert!(
        FIDELITY.contains(&format!("(today `{listed}`)")),
        "FIDELITY.md §10.2 should list `{listed}`"
    );
}
