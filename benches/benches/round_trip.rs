//! Sequential round trips over loopback: one request, wait for its reply, repeat.
//!
//! Server and client share one current-thread runtime, as in a `#[tokio::test]` that starts
//! the mock in-process: no cross-thread wake-ups, so the figure is the CPU cost of a round
//! trip (socket, framing, runtime, and what the server does) and holds up on a noisy
//! machine. The floors are measured in the same run with the same client and requests, and
//! the run ends with the mock's ratios to them.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

mod support;

use std::time::Instant;

use benches::client::{self, Ws};
use benches::floor;
use benches::requests::{LogonSigner, PING, STATUS};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mock_server::MockServer;
use tokio::runtime::Runtime;

#[derive(Clone, Copy)]
enum Request {
    Ping,
    Status,
    Logon,
}

impl Request {
    fn name(self) -> &'static str {
        match self {
            Request::Ping => "ping",
            Request::Status => "session.status",
            Request::Logon => "session.logon",
        }
    }

    /// The text to send for a batch; a logon is signed afresh (valid for 60 s).
    fn text(self, signer: &LogonSigner) -> String {
        match self {
            Request::Ping => PING.to_owned(),
            Request::Status => STATUS.to_owned(),
            Request::Logon => signer.request_now(1, Some(60_000)),
        }
    }
}

fn connect(runtime: &Runtime, url: &str) -> Ws {
    runtime
        .block_on(client::connect(url))
        .expect("the benchmark server accepts connections")
}

fn round_trips(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let signer = LogonSigner::demo().expect("the demo key parses");
    let (echo_url, _echo) = runtime
        .block_on(floor::start_echo())
        .expect("the echo floor starts");
    let (json_url, _json) = runtime
        .block_on(floor::start_json())
        .expect("the JSON floor starts");
    let mock = runtime
        .block_on(
            MockServer::builder()
                .weight_limit(u32::MAX)
                .connection_rate_limit(u32::MAX)
                .start(),
        )
        .expect("the mock starts");
    let targets = [
        ("floor-echo", echo_url),
        ("floor-json", json_url),
        ("mock", mock.url()),
    ];

    let mut group = c.benchmark_group("round_trip");
    for request in [Request::Ping, Request::Status, Request::Logon] {
        for (target, url) in &targets {
            // A connection per benchmark: a logon must not change what status answers.
            let mut ws = connect(&runtime, url);
            // Warm the connection, the allocator and the caches before criterion's clock.
            let text = request.text(&signer);
            runtime.block_on(async {
                for _ in 0..200 {
                    client::round_trip(&mut ws, &text).await.expect("a reply");
                }
            });
            let name = format!("round_trip/{target}/{}", request.name());
            group.bench_function(BenchmarkId::new(*target, request.name()), |b| {
                b.iter_custom(|iters| {
                    let text = request.text(&signer);
                    runtime.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let reply = client::round_trip(&mut ws, &text).await.expect("a reply");
                            debug_assert!(reply.starts_with(r#"{"id":1,"#), "{reply}");
                        }
                        support::record(&name, iters, start.elapsed())
                    })
                });
            });
        }
    }
    group.finish();

    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for method in ["ping", "session.status", "session.logon"] {
        let echo = format!("round_trip/floor-echo/{method}");
        let json = format!("round_trip/floor-json/{method}");
        rows.push((echo.clone(), vec![]));
        rows.push((json.clone(), vec![echo.clone()]));
        rows.push((format!("round_trip/mock/{method}"), vec![echo, json]));
    }
    support::print_ratios("round trip: the mock and the floors, one thread", &rows);
    if let (Some(logon), Some(floor)) = (
        support::median_ns("round_trip/mock/session.logon"),
        support::median_ns("round_trip/floor-json/session.logon"),
    ) {
        println!(
            "  session.logon above the JSON floor: {} (one Ed25519 verification: see in_process/signature)",
            support::human(logon - floor)
        );
    }
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
