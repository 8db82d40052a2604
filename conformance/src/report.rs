//! The outcome of a run: one result per case, printed as `PASS`/`FAIL`/`SKIP` lines and a
//! summary, and written as JUnit XML for CI dashboards.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

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

    /// The results as JUnit XML: one `testcase` per case, classname the ID's first word, the
    /// frames and notes of a case in its `system-out`.
    ///
    /// # Errors
    /// Only if the XML writer fails, which writing to memory does not.
    pub fn junit_xml(&self) -> Result<String, quick_junit::SerializeError> {
        self.junit().to_string()
    }

    fn junit(&self) -> quick_junit::Report {
        let total: Duration = self.results.iter().map(|r| r.duration).sum();
        let mut suite = TestSuite::new("conformance");
        suite
            .set_time(total)
            .add_property(Property::new("target", &self.target))
            .add_property(Property::new("seed", self.seed.to_string()));
        suite.add_test_cases(self.results.iter().map(CaseResult::junit));
        let mut report = quick_junit::Report::new("conformance");
        report.set_time(total).add_test_suite(suite);
        report
    }
}

impl CaseResult {
    fn junit(&self) -> TestCase {
        let status = match &self.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::Skip(reason) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(reason.as_str());
                status
            }
            Verdict::Fail(details) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(details.lines().next().unwrap_or("failed"))
                    .set_description(format!("{} [{}]\n{details}", self.title, self.basis));
                status
            }
        };
        let group = self.id.split('-').next().unwrap_or("CASE");
        let mut case = TestCase::new(self.id.as_str(), status);
        case.set_classname(format!("conformance.{group}"))
            .set_time(self.duration);
        if !self.transcript.is_empty() || !self.notes.is_empty() {
            let mut out = String::new();
            for note in &self.notes {
                let _ = writeln!(out, "note: {note}");
            }
            for exchange in &self.transcript {
                let _ = writeln!(out, "> {}", exchange.sent);
                for frame in &exchange.received {
                    let _ = writeln!(out, "< {frame}");
                }
            }
            case.set_system_out(out);
        }
        case
    }
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

    fn parsed(report: &Report) -> quick_junit::Report {
        let xml = report.junit_xml().expect("XML written to memory");
        quick_junit::Report::deserialize_from_str(&xml)
            .unwrap_or_else(|e| panic!("not JUnit XML ({e}):\n{xml}"))
    }

    #[test]
    fn junit_xml_has_one_testcase_per_case_with_its_verdict_and_frames() {
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
        let xml = report.junit_xml().expect("XML written to memory");
        assert!(xml.contains("a=1&amp;b=2"), "{xml}");
        assert!(
            xml.contains(r#"message="count 3, expected &lt;2&gt;""#),
            "{xml}"
        );

        let parsed = parsed(&report);
        assert_eq!(
            (parsed.tests, parsed.failures, parsed.skipped, parsed.errors),
            (3, 1, 1, 0)
        );
        assert_eq!(parsed.time, Some(Duration::from_millis(30)));
        let [suite] = parsed.test_suites.as_slice() else {
            panic!("one suite expected: {xml}");
        };
        assert_eq!(suite.name.as_str(), "conformance");
        let properties: Vec<(&str, &str)> = suite
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            properties,
            [("target", "ws://h/ws-api/v3?a=1&b=2"), ("seed", "7")]
        );
        let cases: Vec<(&str, Option<&str>)> = suite
            .test_cases
            .iter()
            .map(|c| (c.name.as_str(), c.classname.as_ref().map(|n| n.as_str())))
            .collect();
        assert_eq!(
            cases,
            [
                ("SESSION-A", Some("conformance.SESSION")),
                ("ERR-B", Some("conformance.ERR")),
                ("PROP-C", Some("conformance.PROP")),
            ]
        );
        let [pass, fail, skip] = suite.test_cases.as_slice() else {
            panic!("three cases expected: {xml}");
        };
        assert!(
            matches!(pass.status, TestCaseStatus::Success { .. }),
            "{xml}"
        );
        assert_eq!(pass.time, Some(Duration::from_millis(10)));
        let TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            message,
            description,
            ..
        } = &fail.status
        else {
            panic!("a failure expected: {xml}");
        };
        assert_eq!(
            message.as_ref().map(|m| m.as_str()),
            Some("count 3, expected <2>")
        );
        assert_eq!(
            description.as_ref().map(|d| d.as_str()),
            Some("t [spec §1]\ncount 3, expected <2>\nmore")
        );
        let TestCaseStatus::Skipped { message, .. } = &skip.status else {
            panic!("a skip expected: {xml}");
        };
        assert_eq!(message.as_ref().map(|m| m.as_str()), Some("needs \"x\""));
        assert_eq!(
            pass.system_out.as_ref().map(|o| o.as_str().trim_end()),
            Some("> {\"id\":1}\n< <&>")
        );
        assert_eq!(report.summary(), "1 passed, 1 failed");
    }

    #[test]
    fn a_control_character_in_a_frame_still_gives_well_formed_xml() {
        let mut case = result("ERR-B", Verdict::Fail("bell \u{7} here".to_owned()));
        case.transcript = vec![Exchange::new("\u{1b}[31m\u{0}", vec!["ok".to_owned()])];
        let report = Report {
            results: vec![case],
            ..Report::default()
        };
        let parsed = parsed(&report);
        assert_eq!(parsed.failures, 1);
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
