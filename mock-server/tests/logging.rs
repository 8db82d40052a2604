//! What the server logs: one `debug` line per request with its envelope (connection, peer,
//! method, id, status, error code, weight), and at `info` every 429, 418, ban and refused
//! handshake. Never a signature.
//!
//! The events are captured in-process by a subscriber that records each one's fields. Tokio
//! tests run on one thread, so the subscriber set for the test sees the server's tasks too.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::{frozen_builder, refused_upgrade, start, Client, TestKey, QUIET_PING, T0};
use mock_server::BanPolicy;
use test_support::errors as golden;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One logged event: its level and its fields as text (`message` included).
#[derive(Debug, Clone)]
struct Logged {
    level: Level,
    fields: BTreeMap<String, String>,
}

impl Logged {
    fn message(&self) -> &str {
        self.fields.get("message").map_or("", String::as_str)
    }

    /// The fields other than `message` and `peer` (whose port changes from run to run).
    fn stable_fields(&self) -> BTreeMap<&str, &str> {
        self.fields
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "message" | "peer"))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }
}

/// Records every event of the mock server's crate.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Logged>>>);

impl Capture {
    fn events(&self) -> Vec<Logged> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn with_message(&self, message: &str) -> Vec<Logged> {
        self.events()
            .into_iter()
            .filter(|event| event.message() == message)
            .collect()
    }
}

struct FieldText<'a>(&'a mut BTreeMap<String, String>);

impl Visit for FieldText<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !event.metadata().target().starts_with("mock_server") {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut FieldText(&mut fields));
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Logged {
                level: *event.metadata().level(),
                fields,
            });
    }
}

/// Captures the events at `level` and above until the guard is dropped.
fn capture(level: LevelFilter) -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(level));
    (capture, tracing::subscriber::set_default(subscriber))
}

fn fields<'a>(pairs: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
    pairs.iter().copied().collect()
}

#[tokio::test]
async fn at_debug_every_request_is_logged_with_its_envelope_and_never_its_signature() {
    let (capture, _guard) = capture(LevelFilter::DEBUG);
    let server = start(frozen_builder()).await;
    let mut client = Client::connect(&server).await;
    let demo = TestKey::demo();
    let logon = demo.logon("\"in\"", T0);
    assert_eq!(client.request_json(&logon).await["status"], 200);
    client.request(QUIET_PING).await;
    client.request(r#"{"id":7,"method":"nope"}"#).await;
    client.request("not json").await;

    let requests = capture.with_message("request");
    let logged: Vec<_> = requests.iter().map(Logged::stable_fields).collect();
    assert_eq!(
        logged,
        [
            fields(&[
                ("connection", "0"),
                ("method", "session.logon"),
                ("id", "in"),
                ("status", "200"),
                ("weight", "2"),
            ]),
            fields(&[
                ("connection", "0"),
                ("method", "ping"),
                ("id", "still-there"),
                ("status", "200"),
                ("weight", "1"),
            ]),
            fields(&[
                ("connection", "0"),
                ("id", "7"),
                ("status", "400"),
                ("code", "-1100"),
                ("weight", "0"),
            ]),
            fields(&[
                ("connection", "0"),
                ("id", "null"),
                ("status", "400"),
                ("code", "-1135"),
                ("weight", "0"),
            ]),
        ]
    );
    for request in &requests {
        assert_eq!(request.level, Level::DEBUG);
        assert!(
            request.fields["peer"].starts_with("127.0.0.1:"),
            "{request:?}"
        );
    }
    let signature = demo.sign(&format!("apiKey={}&timestamp={T0}", demo.api_key));
    for event in capture.events() {
        for value in event.fields.values() {
            assert!(
                !value.contains(&signature),
                "a signature was logged: {event:?}"
            );
        }
    }
}

#[tokio::test]
async fn at_info_429s_418s_the_ban_and_refused_handshakes_are_logged_and_requests_are_not() {
    let (capture, _guard) = capture(LevelFilter::INFO);
    let bans = BanPolicy {
        after_refusals: 1,
        durations: vec![Duration::from_secs(120)],
    };
    let server = start(frozen_builder().weight_limit(3).ban_policy(bans)).await;
    let mut client = Client::connect(&server).await;
    // The connection cost 2 of the limit of 3.
    assert_eq!(client.request_json(QUIET_PING).await["status"], 200);
    assert_eq!(client.request_json(QUIET_PING).await["status"], 429);
    assert_eq!(client.request_json(QUIET_PING).await["status"], 418);
    let refused = refused_upgrade(&server, mock_server::PATH).await;
    assert_eq!(refused.status, 418);

    let logged: Vec<_> = capture
        .events()
        .into_iter()
        .map(|event| {
            assert_eq!(event.level, Level::INFO, "{event:?}");
            let mut stable = event.stable_fields();
            stable.insert("message", event.message());
            stable
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect::<BTreeMap<_, _>>()
        })
        .collect();
    let until = (T0 + 120_000).to_string();
    let ban_message = golden::IP_BANNED.render(&[("until", &until)]).msg;
    let expected: Vec<BTreeMap<String, String>> = [
        vec![
            ("message", "request refused"),
            ("connection", "0"),
            ("method", "ping"),
            ("id", "still-there"),
            ("status", "429"),
            ("code", "-1003"),
            ("weight", "1"),
        ],
        vec![
            ("message", "request refused"),
            ("connection", "0"),
            ("method", "ping"),
            ("id", "still-there"),
            ("status", "418"),
            ("code", "-1003"),
            ("weight", "1"),
        ],
        vec![
            ("message", "IP banned"),
            ("connection", "0"),
            ("until", until.as_str()),
        ],
        vec![
            ("message", "handshake refused"),
            ("path", mock_server::PATH),
            ("status", "418"),
            ("code", "-1003"),
            ("msg", ban_message.as_str()),
        ],
    ]
    .into_iter()
    .map(|pairs| {
        pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    })
    .collect();
    assert_eq!(logged, expected);
}
