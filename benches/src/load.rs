//! Load: C connections, each keeping D requests in flight, for a duration.
//!
//! Every connection sends from the same request mix, in the mix's order from its own
//! starting point, and answers each reply with the next request, so D requests stay in
//! flight. A warm-up comes first; latencies and throughput are taken over the measured
//! window only, and so is the server's CPU time when its pid is known. The load stops by
//! itself: no request is sent after the window, outstanding replies get a short grace, and
//! the connections are closed.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws};
use crate::procfs;
use crate::requests::{self, LogonSigner, RequestKind, SignedLogon};

/// Most connections one load opens (`load idle` reaches it only with several source
/// addresses, and an open-files limit above it for the tool and for the server).
pub const MAX_CONNECTIONS: usize = 50_000;
/// Most requests one connection keeps in flight.
pub const MAX_DEPTH: usize = 1024;
/// Longest measured window.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// How long outstanding replies may take after the window before they count as unanswered.
const GRACE: Duration = Duration::from_secs(2);
/// How many handshakes are in flight at once while connections open.
const CONNECT_CONCURRENCY: usize = 64;
/// How long a signed logon is reused before it is signed again (its window is 5 s).
const RESIGN_AFTER: Duration = Duration::from_secs(1);

/// The requests of a load and their proportions, e.g. `ping=8,status=1,logon=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// One cycle of the mix, interleaved: `ping=2,status=1` is `[ping, status, ping]`.
    pattern: Vec<RequestKind>,
    text: String,
}

impl Mix {
    /// A mix of one kind of request.
    pub fn only(kind: RequestKind) -> Self {
        Mix {
            pattern: vec![kind],
            text: kind.method().to_owned(),
        }
    }

    /// Whether any request of the mix is a logon.
    pub fn has_logon(&self) -> bool {
        self.pattern.contains(&RequestKind::Logon)
    }

    /// Whether any request of the mix places, tests or cancels an order: each connection
    /// then logs on once, before the load, and the mock needs room for the orders (ORDERS
    /// limits, a balance).
    pub fn has_place(&self) -> bool {
        self.pattern.iter().any(|kind| {
            matches!(
                kind,
                RequestKind::Place | RequestKind::Test | RequestKind::Cancel
            )
        })
    }

    /// Whether the mix cancels orders: its placements are then named, to be cancelled.
    pub fn has_cancel(&self) -> bool {
        self.pattern.contains(&RequestKind::Cancel)
    }

    fn kind_at(&self, index: u64) -> RequestKind {
        let len = self.pattern.len() as u64;
        self.pattern[(index % len) as usize]
    }
}

impl FromStr for Mix {
    type Err = anyhow::Error;

    /// `ping`, `ping,status`, `ping=8,status=1,logon=1`; weights up to 1000.
    fn from_str(text: &str) -> anyhow::Result<Self> {
        let mut weights: Vec<(RequestKind, u32)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = match part.split_once('=') {
                Some((name, weight)) => (name, weight.parse::<u32>().ok()),
                None => (part, Some(1)),
            };
            let kind = RequestKind::parse(name).with_context(|| {
                format!(
                    "unknown request {name:?}: ping, status, logon, place, test, depth or cancel"
                )
            })?;
            let weight = weight
                .filter(|w| (1..=1000).contains(w))
                .with_context(|| format!("weight of {name} must be 1 to 1000"))?;
            weights.push((kind, weight));
        }
        if weights.is_empty() {
            bail!("empty mix: give e.g. ping=8,status=1,logon=1");
        }
        // Interleave (smooth weighted round robin) so a cycle does not bunch one kind.
        let total: i64 = weights.iter().map(|&(_, w)| i64::from(w)).sum();
        let mut credit = vec![0i64; weights.len()];
        let mut pattern = Vec::new();
        for _ in 0..total {
            for (c, &(_, w)) in credit.iter_mut().zip(&weights) {
                *c += i64::from(w);
            }
            let (best, _) = credit
                .iter()
                .enumerate()
                .max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i)))
                .context("empty mix")?;
            credit[best] -= total;
            pattern.push(weights[best].0);
        }
        Ok(Mix {
            pattern,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Connections, opened before the warm-up starts.
    pub connections: usize,
    /// Requests each connection keeps in flight.
    pub depth: usize,
    /// Time before the measured window: sent and answered, not counted.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The requests sent.
    pub mix: Mix,
    /// The key logons are signed with; needed when the mix has logons.
    pub signer: Option<Arc<LogonSigner>>,
    /// The server's process, to read its CPU time over the window.
    pub server_pid: Option<u32>,
}

impl LoadSpec {
    /// Checks the bounds that keep a load small enough for a shared test machine.
    ///
    /// # Errors
    /// When a bound is exceeded or a logon mix has no key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            bail!("connections must be 1 to {MAX_CONNECTIONS}");
        }
        if !(1..=MAX_DEPTH).contains(&self.depth) {
            bail!("depth must be 1 to {MAX_DEPTH}");
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION || self.warmup > MAX_DURATION {
            bail!("duration must be more than 0 and at most {MAX_DURATION:?}");
        }
        if (self.mix.has_logon() || self.mix.has_place()) && self.signer.is_none() {
            bail!("a mix with logons or orders needs a key");
        }
        Ok(())
    }
}

/// What went wrong during a load. Every field counts events, none is expected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Errors {
    /// Connections that could not be opened.
    pub connect: u64,
    /// Connections that failed or were closed while requests were outstanding.
    pub closed: u64,
    /// Replies with a status other than 200, by status.
    pub status: BTreeMap<u16, u64>,
    /// Replies that were not `{"id":<the id sent>,…}` in order.
    pub bad_reply: u64,
    /// Requests still unanswered at the end of the grace period.
    pub unanswered: u64,
}

impl Errors {
    /// All errors together.
    pub fn total(&self) -> u64 {
        self.connect
            + self.closed
            + self.status.values().sum::<u64>()
            + self.bad_reply
            + self.unanswered
    }

    fn add(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.closed += other.closed;
        for (status, n) in &other.status {
            *self.status.entry(*status).or_default() += n;
        }
        self.bad_reply += other.bad_reply;
        self.unanswered += other.unanswered;
    }

    fn to_json(&self) -> Value {
        let status: serde_json::Map<String, Value> = self
            .status
            .iter()
            .map(|(s, n)| (s.to_string(), json!(n)))
            .collect();
        json!({
            "total": self.total(),
            "connect": self.connect,
            "closed": self.closed,
            "status": status,
            "bad_reply": self.bad_reply,
            "unanswered": self.unanswered,
        })
    }
}

/// The outcome of one load.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Connections that opened.
    pub connections_opened: usize,
    /// Replies received in the measured window.
    pub replies: u64,
    /// The measured window as it was.
    pub elapsed: Duration,
    /// Round-trip latency of those replies, in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Everything that went wrong, warm-up included.
    pub errors: Errors,
    /// The server's CPU time over the window, when its pid was given.
    pub server_cpu: Option<Duration>,
    /// This process's CPU time over the window.
    pub client_cpu: Option<Duration>,
}

impl LoadReport {
    /// Replies per second in the window.
    pub fn requests_per_second(&self) -> f64 {
        self.replies as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile (`0.5`, `0.99`, …) in microseconds.
    pub fn latency_us(&self, quantile: f64) -> f64 {
        self.latency_ns.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// Server CPU time per reply, in microseconds.
    pub fn server_cpu_us_per_request(&self) -> Option<f64> {
        self.server_cpu
            .map(|cpu| cpu.as_secs_f64() * 1e6 / (self.replies.max(1)) as f64)
    }

    /// The report as one JSON object, with the figures rounded for reading.
    pub fn to_json(&self, target: &str, spec: &LoadSpec) -> Value {
        let per_request = |cpu: Option<Duration>| {
            cpu.map(|cpu| round2(cpu.as_secs_f64() * 1e6 / (self.replies.max(1)) as f64))
        };
        json!({
            "mode": "run",
            "target": target,
            "connections": spec.connections,
            "connections_opened": self.connections_opened,
            "depth": spec.depth,
            "mix": spec.mix.to_string(),
            "warmup_s": spec.warmup.as_secs_f64(),
            "duration_s": round2(self.elapsed.as_secs_f64()),
            "requests": self.replies,
            "requests_per_s": self.requests_per_second().round(),
            "latency_us": {
                "p50": round2(self.latency_us(0.5)),
                "p90": round2(self.latency_us(0.9)),
                "p99": round2(self.latency_us(0.99)),
                "p999": round2(self.latency_us(0.999)),
                "max": round2(self.latency_ns.max() as f64 / 1000.0),
            },
            "server_cpu_us_per_request": per_request(self.server_cpu),
            "client_cpu_us_per_request": per_request(self.client_cpu),
            "errors": self.errors.to_json(),
        })
    }
}

/// `x` rounded to two decimals, for reports.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 ns to 60 s at three significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).context("histogram bounds")
}

/// Runs `spec` against the loopback `url` and reports what happened.
///
/// # Errors
/// When the spec is out of bounds, the URL is not loopback, or not one connection opens.
pub async fn run(url: &str, spec: &LoadSpec) -> anyhow::Result<LoadReport> {
    spec.validate()?;
    client::ensure_loopback(url)?;
    procfs::raise_open_files_limit(spec.connections as u64 + 256)?;

    let (sockets, mut errors) = open(url, spec.connections).await;
    if sockets.is_empty() {
        bail!("no connection to {url} could be opened");
    }
    let connections_opened = sockets.len();
    let warmup_end = Instant::now() + spec.warmup;
    let window_end = warmup_end + spec.duration;
    let spec = Arc::new(spec.clone());
    let mut tasks = Vec::with_capacity(sockets.len());
    for (index, ws) in sockets.into_iter().enumerate() {
        let spec = spec.clone();
        let latency_ns = new_histogram()?;
        tasks.push(tokio::spawn(drive(
            ws,
            index as u64,
            spec,
            latency_ns,
            (warmup_end, window_end),
        )));
    }

    // CPU time is sampled at the window's edges, as the replies are counted.
    tokio::time::sleep_until(warmup_end).await;
    let server_start = spec.server_pid.map(procfs::cpu_time).transpose()?;
    let client_start = procfs::cpu_time(std::process::id()).ok();
    let started = Instant::now();
    tokio::time::sleep_until(window_end).await;
    let elapsed = started.elapsed();
    let server_cpu = match (spec.server_pid, server_start) {
        (Some(pid), Some(start)) => Some(procfs::cpu_time(pid)?.saturating_sub(start)),
        _ => None,
    };
    let client_cpu = client_start.and_then(|start| {
        procfs::cpu_time(std::process::id())
            .ok()
            .map(|end| end.saturating_sub(start))
    });

    let mut latency_ns = new_histogram()?;
    let mut replies = 0;
    for task in tasks {
        let outcome = task.await.context("a connection task panicked")?;
        latency_ns.add(&outcome.latency_ns).context("histogram")?;
        replies += outcome.replies;
        errors.add(&outcome.errors);
    }
    Ok(LoadReport {
        connections_opened,
        replies,
        elapsed,
        latency_ns,
        errors,
        server_cpu,
        client_cpu,
    })
}

/// Opens `n` connections to a loopback `url`, a few handshakes at a time; returns those that
/// opened and the count of those that did not.
pub async fn open(url: &str, n: usize) -> (Vec<Ws>, Errors) {
    open_from(url, n, &[]).await
}

/// [`open`], the connections taking their local address from `sources` in turn (none: the
/// system's choice), so that each address's ports carry a share of them.
pub async fn open_from(url: &str, n: usize, sources: &[IpAddr]) -> (Vec<Ws>, Errors) {
    let results: Vec<anyhow::Result<Ws>> = futures_util::stream::iter(0..n)
        .map(|i| {
            let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
            client::connect_from(url, source)
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let mut errors = Errors::default();
    let mut sockets = Vec::with_capacity(n);
    for result in results {
        match result {
            Ok(ws) => sockets.push(ws),
            Err(error) => {
                if errors.connect == 0 {
                    eprintln!("load: first connection error: {error:#}");
                }
                errors.connect += 1;
            }
        }
    }
    (sockets, errors)
}

struct ConnectionOutcome {
    replies: u64,
    latency_ns: Histogram<u64>,
    errors: Errors,
}

/// Writes the requests of one connection, re-signing its logon once a second.
struct RequestWriter {
    spec: Arc<LoadSpec>,
    /// The connection's number, in the names of its orders.
    index: u64,
    next: u64,
    logon: Option<(Instant, SignedLogon)>,
    /// With `cancel` in the mix: the ids of the requests that placed the orders not yet
    /// cancelled, oldest first (an order is named `load-<connection>-<id>`).
    placed: VecDeque<u64>,
    text: String,
    name: String,
}

impl RequestWriter {
    fn next_request(&mut self) -> (u64, Message) {
        let id = self.next;
        self.next += 1;
        self.text.clear();
        match (self.spec.mix.kind_at(id), &self.spec.signer) {
            (RequestKind::Logon, Some(signer)) => {
                let now = Instant::now();
                let signed = match &self.logon {
                    Some((at, signed)) if now.duration_since(*at) < RESIGN_AFTER => signed,
                    _ => {
                        let signed = signer.sign(requests::now_millis(), None);
                        &self.logon.insert((now, signed)).1
                    }
                };
                signer.write_request(id, signed, &mut self.text);
            }
            (RequestKind::Cancel, _) => match self.placed.pop_front() {
                Some(placed) => {
                    self.name_order(placed);
                    requests::write_cancel(id, requests::now_millis(), &self.name, &mut self.text);
                }
                None => self.place_named(id),
            },
            (RequestKind::Place, _) if self.spec.mix.has_cancel() => self.place_named(id),
            (RequestKind::Place, _) => {
                requests::write_place(id, requests::now_millis(), &mut self.text);
            }
            (RequestKind::Test, _) => {
                requests::write_test(id, requests::now_millis(), &mut self.text);
            }
            (RequestKind::Depth, _) => requests::write_depth(id, &mut self.text),
            (kind, _) => requests::write_unsigned(kind, id, &mut self.text),
        }
        (id, Message::text(self.text.as_str()))
    }

    fn name_order(&mut self, placed: u64) {
        self.name.clear();
        let _ = write!(self.name, "load-{}-{placed}", self.index);
    }

    fn place_named(&mut self, id: u64) {
        self.name_order(id);
        requests::write_place_named(id, requests::now_millis(), &self.name, &mut self.text);
        self.placed.push_back(id);
    }
}

/// `{"id":<n>` and, when present, `,"status":<s>` from the head of a reply. Both the mock and
/// the JSON floor write `id` then `status` first; the echo floor returns the request,
/// which has an `id` and no `status`.
fn reply_head(reply: &str) -> Option<(u64, Option<u16>)> {
    let rest = reply.strip_prefix(r#"{"id":"#)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let id = rest[..end].parse().ok()?;
    let status = match rest[end..].strip_prefix(r#","status":"#) {
        Some(after) => Some(after.get(..3)?.parse().ok()?),
        None => None,
    };
    Some((id, status))
}

async fn drive(
    mut ws: Ws,
    index: u64,
    spec: Arc<LoadSpec>,
    latency_ns: Histogram<u64>,
    (warmup_end, window_end): (Instant, Instant),
) -> ConnectionOutcome {
    let mut outcome = ConnectionOutcome {
        replies: 0,
        latency_ns,
        errors: Errors::default(),
    };
    let depth = spec.depth;
    let mut writer = RequestWriter {
        spec,
        // Connections start at different points of the mix so their kinds interleave.
        index,
        next: index * 7 + 1,
        logon: None,
        placed: VecDeque::new(),
        text: String::new(),
        name: String::new(),
    };
    let mut pending: VecDeque<(u64, Instant)> = VecDeque::with_capacity(depth);

    if writer.spec.mix.has_place() {
        if let Some(signer) = writer.spec.signer.clone() {
            // Orders ride on the session: one logon (id 0, before any other id), not counted.
            let logon = signer.request_now(0, None);
            match client::round_trip(&mut ws, &logon).await {
                Ok(reply) => match reply_head(&reply) {
                    Some((0, None | Some(200))) => {}
                    Some((0, Some(status))) => {
                        *outcome.errors.status.entry(status).or_default() += 1;
                    }
                    _ => outcome.errors.bad_reply += 1,
                },
                Err(_) => {
                    outcome.errors.closed += 1;
                    return outcome;
                }
            }
        }
    }

    for _ in 0..depth {
        let (id, message) = writer.next_request();
        pending.push_back((id, Instant::now()));
        if ws.feed(message).await.is_err() {
            outcome.errors.closed += 1;
            return outcome;
        }
    }
    if ws.flush().await.is_err() {
        outcome.errors.closed += 1;
        return outcome;
    }

    let give_up = window_end + GRACE;
    while !pending.is_empty() {
        let frame = match tokio::time::timeout_at(give_up, ws.next()).await {
            Err(_) => {
                outcome.errors.unanswered += pending.len() as u64;
                break;
            }
            Ok(frame) => frame,
        };
        let reply = match frame {
            Some(Ok(Message::Text(reply))) => reply,
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                outcome.errors.closed += 1;
                outcome.errors.unanswered += pending.len() as u64;
                return outcome;
            }
            Some(Ok(_)) => continue,
        };
        let received = Instant::now();
        let Some((sent_id, sent_at)) = pending.pop_front() else {
            break;
        };
        match reply_head(reply.as_str()) {
            Some((id, status)) if id == sent_id => {
                if let Some(status) = status.filter(|s| *s != 200) {
                    *outcome.errors.status.entry(status).or_default() += 1;
                }
            }
            _ => outcome.errors.bad_reply += 1,
        }
        if received >= warmup_end && received <= window_end {
            outcome.replies += 1;
            let nanos = u64::try_from(received.duration_since(sent_at).as_nanos()).unwrap_or(0);
            outcome.latency_ns.saturating_record(nanos.max(1));
        }
        if received < window_end {
            let (id, message) = writer.next_request();
            pending.push_back((id, Instant::now()));
            if ws.send(message).await.is_err() {
                outcome.errors.closed += 1;
                return outcome;
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_interleave_by_weight() -> anyhow::Result<()> {
        let mix: Mix = "ping=2,status=1".parse()?;
        assert_eq!(
            mix.pattern,
            [RequestKind::Ping, RequestKind::Status, RequestKind::Ping]
        );
        let mix: Mix = "ping,status,logon".parse()?;
        assert_eq!(mix.pattern.len(), 3);
        assert!(mix.has_logon());
        assert!(!mix.has_place());
        let mix: Mix = "place=3,ping=1".parse()?;
        assert_eq!(mix.pattern.len(), 4);
        assert!(mix.has_place() && !mix.has_logon());
        assert!("test".parse::<Mix>()?.has_place());
        assert!(!"depth".parse::<Mix>()?.has_place());
        let cancels: Mix = "place,cancel".parse()?;
        assert!(cancels.has_place() && cancels.has_cancel());
        assert!(!"place".parse::<Mix>()?.has_cancel());
        assert!("ping=0".parse::<Mix>().is_err());
        assert!("order".parse::<Mix>().is_err());
        assert!("".parse::<Mix>().is_err());
        Ok(())
    }

    #[test]
    fn reply_heads_are_read_from_mock_floor_and_echo() {
        assert_eq!(
            reply_head(r#"{"id":12,"status":200,"result":{}}"#),
            Some((12, Some(200)))
        );
        assert_eq!(
            reply_head(r#"{"id":3,"status":429,"error":{}}"#),
            Some((3, Some(429)))
        );
        assert_eq!(reply_head(r#"{"id":5,"method":"ping"}"#), Some((5, None)));
        assert_eq!(reply_head(r#"{"id":null,"status":400}"#), None);
        assert_eq!(reply_head("garbage"), None);
    }
}
