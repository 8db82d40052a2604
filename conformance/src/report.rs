//! The outcome of a run: one result per case, printed as `PASS`/`FAIL`/`SKIP` lines and a
//! summary, and written as JUnit XML for CI dashboards.

use std::fmt::Write as _;
use std::time::Duration;

/// What a case came to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The target behaved as the spec (or the mock's documented choice) says.
    Pass,
    /// It did not: what differed, and how to replay it.
    Fail(String),
    /// The case could not run against this target: why.
    Skip(String),
}

/// A request sent and the frames received for it, kept for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The frame sent (or the URL of a handshake).
    pub sent: String,
    /// The frames received, in order (or how the handshake ended).
    pub received: Vec<String>,
}

impl Exchange {
    pub(crate) fn new(sent: &str, received: Vec<String>) -> Exchange {
        Exchange {
            sent: sent.to_owned(),
            received,
        }
    }
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's stable ID, e.g. `SESSION-RELOGON-REPLACES-KEY`.
    pub id: String,
    /// What the case checks.
    pub title: String,
    /// Where the expectation comes from (spec section, or the mock's documented choice).
    pub basis: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How long the case took.
    pub duration: Duration,
    /// Frames of table and custom cases, in order.
    pub transcript: Vec<Exchange>,
    /// Remarks: waits for a new minute, and the like.
    pub notes: Vec<String>,
}

impl CaseResult {
    /// The report line: `PASS  ID  (0.01 s)`, `FAIL  ID  ...` with the details indented
    /// below, or `SKIP  ID  reason`.
    pub fn line(&self) -> String {
        let mut line = match &self.verdict {
            Verdict::Pass => format!("PASS  {}  ({:.2} s)", self.id, self.duration.as_secs_f64()),
            Verdict::Skip(reason) => format!("SKIP  {}  {reason}", self.id),
            Verdict::Fail(details) => {
                let mut text = format!(
                    "FAIL  {}  ({:.2} s) {} [{}]",
                    self.id,
                    self.duration.as_secs_f64(),
                    self.title,
                    self.basis
                );
                for detail in details.lines() {
                    text.push_str("\n      ");
                    text.push_str(detail);
                }
                text
            }
        };
        for note in &self.notes {
            line.push_str("\n      note: ");
            line.push_str(note);
        }
        line
    }
}

/// The results of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The URL checked.
    pub target: String,
    /// The run's seed (`--seed` replays it).
    pub seed: u64,
    /// One per case, in catalogue order.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// The result of case `id`, if it ran (or was skipped).
    pub fn result(&self, id: &str) -> Option<&CaseResult> {
        self.results.iter().find(|r| r.id == id)
    }

    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Pass))
    }

    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Fail(_)))
    }

    /// How many cases were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Skip(_)))
    }

    fn count(&self, which: impl Fn(&Verdict) -> bool) -> usize {
        self.results.iter().filter(|r| which(&r.verdict)).count()
    }

    /// The IDs of the failed cases.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.ids(|v| matches!(v, Verdict::Fail(_)))
    }

    /// The IDs of the passed cases.
    pub fn passed_ids(&self) -> Vec<&str> {
        self.ids(|v| matches!(v, Verdict::Pass))
    }

    fn ids(&self, which: impl Fn(&Verdict) -> bool) -> Vec<&str> {
        self.results
            .iter()
            .filter(|r| which(&r.verdict))
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Whether nothing failed.
    pub fn success(&self) -> bool {
        self.failed() == 0
    }

    /// The last line of a run: `N passed, N failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// The results as JUnit XML: one `testcase` per case, classname the ID's first word.
    pub fn junit_xml(&self) -> String {
        let total: f64 = self.results.iter().map(|r| r.duration.as_secs_f64()).sum();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let counts = format!(
            "tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{total:.3}\"",
            self.results.len(),
            self.failed(),
            self.skipped()
        );
        let _ = writeln!(xml, "<testsuites name=\"conformance\" {counts}>");
        let _ = writeln!(xml, "  <testsuite name=\"conformance\" {counts}>");
        let _ = writeln!(
            xml,
            "    <properties>\n      <property name=\"target\" value=\"{}\"/>\n      <property name=\"seed\" value=\"{}\"/>\n    </properties>",
            escape(&self.target),
            self.seed
        );
        for result in &self.results {
            let group = result.id.split('-').next().unwrap_or("CASE");
            let _ = write!(
                xml,
                "    <testcase classname=\"conformance.{}\" name=\"{}\" time=\"{:.3}\"",
                escape(group),
                escape(&result.id),
                result.duration.as_secs_f64()
            );
            let mut body = String::new();
            match &result.verdict {
                Verdict::Pass => {}
                Verdict::Skip(reason) => {
                    let _ = writeln!(body, "      <skipped message=\"{}\"/>", escape(reason));
                }
                Verdict::Fail(details) => {
                    let first = details.lines().next().unwrap_or("failed");
                    let _ = writeln!(
                        body,
                        "      <failure message=\"{}\">{}</failure>",
                        escape(first),
                        escape(&format!("{} [{}]\n{details}", result.title, result.basis))
                    );
                }
            }
            if !result.transcript.is_empty() || !result.notes.is_empty() {
                let mut out = String::new();
                for note in &result.notes {
                    let _ = writeln!(out, "note: {note}");
                }
                for exchange in &result.transcript {
                    let _ = writeln!(out, "> {}", exchange.sent);
                    for frame in &exchange.received {
                        let _ = writeln!(out, "< {frame}");
                    }
                }
                let _ = writeln!(body, "      <system-out>{}</system-out>", escape(&out));
            }
            if body.is_empty() {
                xml.push_str("/>\n");
            } else {
                let _ = write!(xml, ">\n{body}    </testcase>\n");
            }
        }
        xml.push_str("  </testsuite>\n</testsuites>\n");
        xml
    }
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if c < ' ' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            title: "t".to_owned(),
            basis: "spec §1".to_owned(),
            verdict,
            duration: Duration::from_millis(10),
            transcript: vec![Exchange::new("{\"id\":1}", vec!["<&>".to_owned()])],
            notes: Vec::new(),
        }
    }

    #[test]
    fn junit_xml_has_one_testcase_per_case_and_escapes_text() {
        let report = Report {
            target: "ws://h/ws-api/v3?a=1&b=2".to_owned(),
            seed: 7,
            results: vec![
                result("SESSION-A", Verdict::Pass),
                result(
                    "ERR-B",
                    Verdict::Fail("count 3, expected <2>\nmore".to_owned()),
                ),
                result("PROP-C", Verdict::Skip("needs \"x\"".to_owned())),
            ],
        };
        let xml = report.junit_xml();
        assert!(
            xml.contains(r#"tests="3" failures="1" skipped="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase classname="conformance.ERR" name="ERR-B""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="count 3, expected &lt;2&gt;">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="needs &quot;x&quot;"/>"#),
            "{xml}"
        );
        assert!(xml.contains("a=1&amp;b=2"), "{xml}");
        assert_eq!(report.summary(), "1 passed, 1 failed");
    }

    #[test]
    fn a_failure_line_carries_its_details_indented() {
        let line = result("ERR-B", Verdict::Fail("one\ntwo".to_owned())).line();
        assert!(
            line.starts_with("FAIL  ERR-B  (0.01 s) t [spec §1]"),
            "{line}"
        );
        assert!(line.ends_with("\n      one\n      two"), "{line}");
    }
}
