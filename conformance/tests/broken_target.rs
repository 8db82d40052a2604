//! The harness catches a broken target, and only where it is broken: a WebSocket proxy in
//! front of the in-process mock corrupts one kind of reply, and the runner's report must fail
//! exactly the cases that see that kind of reply, and pass the rest.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use conformance::{in_process_builder, run, Options, Report, Target, TargetKeys, Verdict};
use futures_util::{SinkExt, StreamExt};
use mock_server::MockServer;
use serde_json::Value;
use test_support::errors as golden;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// What the proxy breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Nothing: the proxy only relays.
    Nothing,
    /// Bad signatures answered -1000 instead of -1022.
    SignatureCode,
    /// Replies to `time` count one more weight than the server did.
    TimeCountsOneMore,
    /// The "1000ms ahead" -1021 carries the recvWindow message instead of its own.
    AheadMessage,
}

impl Fault {
    /// The reply as the broken target sends it; `method` is the request's.
    fn apply(self, reply: &str, method: Option<&str>) -> String {
        match self {
            Fault::Nothing => reply.to_owned(),
            Fault::SignatureCode => reply.replace(r#""code":-1022"#, r#""code":-1000"#),
            Fault::AheadMessage => reply.replace(
                golden::TIMESTAMP_AHEAD.template,
                golden::OUTSIDE_RECV_WINDOW.template,
            ),
            Fault::TimeCountsOneMore if method == Some("time") => {
                match reply.rsplit_once(r#""count":"#) {
                    Some((head, tail)) => {
                        let digits: String =
                            tail.chars().take_while(char::is_ascii_digit).collect();
                        let count: u64 = digits.parse().unwrap_or(0);
                        format!("{head}\"count\":{}{}", count + 1, &tail[digits.len()..])
                    }
                    None => reply.to_owned(),
                }
            }
            Fault::TimeCountsOneMore => reply.to_owned(),
        }
    }
}

/// Reads an HTTP head (up to the blank line) byte by byte, so nothing after it is taken.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.ok()?);
        if head.len() > 16 * 1024 {
            return None;
        }
    }
    Some(head)
}

/// Relays one client: the handshake byte for byte, then frames, breaking replies.
async fn relay(mut client: TcpStream, upstream: SocketAddr, fault: Fault) -> Option<()> {
    let request = read_head(&mut client).await?;
    let mut server = TcpStream::connect(upstream).await.ok()?;
    server.write_all(&request).await.ok()?;
    let mut response = read_head(&mut server).await?;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    head.parse(&response).ok()?;
    if head.code != Some(101) {
        // A refusal: its body is what remains before the server closes.
        let _ = server.read_to_end(&mut response).await;
        let _ = client.write_all(&response).await;
        return Some(());
    }
    client.write_all(&response).await.ok()?;
    let client = WebSocketStream::from_raw_socket(client, Role::Server, None).await;
    let server = WebSocketStream::from_raw_socket(server, Role::Client, None).await;
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    // Replies come in request order on a connection: the methods asked, oldest first.
    let methods: Arc<Mutex<VecDeque<Option<String>>>> = Arc::default();
    let asked = methods.clone();
    let upward = async move {
        while let Some(Ok(message)) = from_client.next().await {
            if let Message::Text(text) = &message {
                let method = serde_json::from_str::<Value>(text.as_str())
                    .ok()
                    .and_then(|v| v.get("method").and_then(Value::as_str).map(str::to_owned));
                asked.lock().ok()?.push_back(method);
            }
            to_server.send(message).await.ok()?;
        }
        Some(())
    };
    let downward = async move {
        while let Some(Ok(message)) = from_server.next().await {
            let message = match message {
                Message::Text(text) => {
                    let is_reply = serde_json::from_str::<Value>(text.as_str())
                        .ok()
                        .is_some_and(|v| v.get("id").is_some());
                    let method = if is_reply {
                        methods.lock().ok()?.pop_front().flatten()
                    } else {
                        None
                    };
                    Message::text(fault.apply(text.as_str(), method.as_deref()))
                }
                other => other,
            };
            to_client.send(message).await.ok()?;
        }
        Some(())
    };
    tokio::select! {
        _ = upward => {}
        _ = downward => {}
    }
    Some(())
}

/// A proxy in front of `upstream`, breaking replies with `fault`; returns its address.
async fn broken_proxy(upstream: SocketAddr, fault: Fault) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream, fault));
        }
    });
    address
}

/// Runs every case against the mock behind a proxy breaking replies with `fault`.
async fn run_broken(fault: Fault, options: &Options) -> Report {
    let server: MockServer = in_process_builder().start().await.expect("the mock starts");
    let proxy = broken_proxy(server.address(), fault).await;
    let target = Target::frozen(
        &format!("ws://{proxy}{}", mock_server::PATH),
        server.clock().clone(),
        TargetKeys::in_process(),
        6000,
    );
    run(&target, options, |result| println!("{}", result.line()))
        .await
        .expect("the run starts")
}

fn options() -> Options {
    Options::default().seed(4).cases(24).max_shrink_iters(64)
}

/// Asserts the report fails exactly `expected` and passes everything else that ran.
fn assert_fails_exactly(report: &Report, expected: &[&str]) {
    let mut failed = report.failed_ids();
    failed.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    let lines: Vec<String> = report.results.iter().map(|r| r.line()).collect();
    assert_eq!(failed, want, "report:\n{}", lines.join("\n"));
    for result in &report.results {
        if let Verdict::Skip(reason) = &result.verdict {
            assert!(
                reason.contains("own with special settings")
                    || reason.contains("only the mock makes"),
                "only the cases that start mocks of their own may be skipped: {}",
                result.line()
            );
        }
    }
    assert!(
        report.passed() > 50,
        "most cases still pass: {}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_without_a_fault_fails_nothing() {
    let report = run_broken(Fault::Nothing, &options()).await;
    assert_fails_exactly(&report, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_bad_signatures_with_1000_fails_exactly_the_signature_cases() {
    let report = run_broken(Fault::SignatureCode, &options()).await;
    assert_fails_exactly(
        &report,
        &[
            "SESSION-FAILED-LOGON-KEEPS-SESSION",
            "ERR-1022-INVALID-SIGNATURE",
            "ERR-1022-ESCAPED-SIGNATURE-NAME",
            "ERR-1022-HMAC-LOGON",
            "PROP-SESSION-SEQUENCES",
            "PROP-SIGNATURE-TAMPERING",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_miscounting_time_by_one_fails_exactly_the_cases_that_count_time() {
    let report = run_broken(Fault::TimeCountsOneMore, &options()).await;
    assert_fails_exactly(
        &report,
        &[
            "TIME-SERVER-TIME",
            "WEIGHT-METHODS",
            "PROP-SESSION-SEQUENCES",
            "PROP-ID-ROUNDTRIP",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_with_the_wrong_ahead_message_fails_exactly_the_timing_cases_and_replays_from_its_seed(
) {
    let report = run_broken(Fault::AheadMessage, &options()).await;
    assert_fails_exactly(
        &report,
        &[
            "SESSION-FAILED-LOGON-KEEPS-SESSION",
            "TIMING-EDGES",
            "ACCOUNT-TIMING",
            "ERR-1021-AHEAD",
            "ERR-1021-TIMESTAMP-20-DIGITS",
            "PROP-SESSION-SEQUENCES",
            "PROP-TIMESTAMP-WINDOW",
        ],
    );
    // The failure names its seed and the shrunk sequence; the seed replays it exactly.
    let details = |report: &Report| {
        report
            .result("PROP-TIMESTAMP-WINDOW")
            .map(|r| r.verdict.clone())
    };
    let Some(Verdict::Fail(first)) = details(&report) else {
        panic!("PROP-TIMESTAMP-WINDOW failed above");
    };
    assert!(
        first.starts_with("seed 4 (replay: --only PROP-TIMESTAMP-WINDOW --seed 4)"),
        "{first}"
    );
    assert!(
        first.contains(golden::OUTSIDE_RECV_WINDOW.template),
        "{first}"
    );
    let replay = run_broken(
        Fault::AheadMessage,
        &options().only(["PROP-TIMESTAMP-WINDOW"]),
    )
    .await;
    let Some(Verdict::Fail(again)) = details(&replay) else {
        panic!("the replay fails too");
    };
    // Same sequence, same shrinking; only the server's address and timestamps may differ.
    let ops = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with('#') || l.starts_with("seed"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(ops(&first), ops(&again));
}
