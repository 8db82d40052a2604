//! In-process costs, no socket: what the server does with one request's text.
//!
//! - `mock/<method>`: the mock's request decode + dispatch + reply encode
//!   ([`Connection::handle_text`], the code its connections run under the lock).
//! - `floor-json/<method>`: the JSON floor's parse, echo the `id`, serialize.
//! - `signature/…`: the signature payload plus one Ed25519 verification, as a logon does it.
//!
//! The run ends with the mock's ratios to the JSON floor, and with how much a logon costs
//! beyond a `session.status` next to the cost of one verification.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

mod support;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use benches::floor::json_reply;
use benches::requests::{place_account, signature_payload, write_place, LogonSigner, PING, STATUS};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signature, VerifyingKey};
use mock_server::socketless::{Connection, Server};
use mock_server::{demo, Config, ConnectionOptions, KeyRegistry, Timestamp};

fn in_process(c: &mut Criterion) {
    let signer = LogonSigner::demo().expect("the demo key parses");
    let now = Timestamp::system_now();
    let signed = signer.sign(now.as_millis(), None);
    let mut logon = String::new();
    signer.write_request(1, &signed, &mut logon);

    let mut config = Config::default();
    config.weight_limit = u32::MAX;
    let mut core = Server::new(&config, KeyRegistry::with_demo_key());
    // The same server without its request journal: what journaling costs per request.
    config.journal_size = 0;
    let mut unjournaled = Server::new(&config, KeyRegistry::with_demo_key());
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);

    let mut group = c.benchmark_group("in_process");
    for (method, text) in [
        ("ping", PING),
        ("session.status", STATUS),
        ("session.logon", logon.as_str()),
    ] {
        let name = format!("in_process/floor-json/{method}");
        group.bench_function(format!("floor-json/{method}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(json_reply(black_box(text)));
                }
                support::record(&name, iters, start.elapsed())
            });
        });

        for (variant, core) in [("mock", &mut core), ("mock-unjournaled", &mut unjournaled)] {
            let mut conn = Connection::open(core, ip, now, ConnectionOptions::default());
            let first = conn.reply_to(text, now, core).expect("a reply");
            assert!(first.contains(r#""status":200"#), "{first}");
            let name = format!("in_process/{variant}/{method}");
            group.bench_function(format!("{variant}/{method}"), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(conn.reply_to(black_box(text), now, core).expect("a reply"));
                    }
                    support::record(&name, iters, start.elapsed())
                });
            });
        }
    }

    // order.place (LIMIT, resting, ACK) on a logged-on session with no User Data Stream
    // subscription, as the `place` mix of `load` sends it. Each batch gets a new server, so
    // the orders a batch leaves resting do not pile up across batches.
    let mut place = String::new();
    write_place(2, now.as_millis(), &mut place);
    let floor_place = "in_process/floor-json/order.place";
    group.bench_function("floor-json/order.place", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(json_reply(black_box(&place)));
            }
            support::record(floor_place, iters, start.elapsed())
        });
    });
    group.bench_function("mock/order.place", |b| {
        b.iter_custom(|iters| {
            let (mut core, mut conn) = placing_session(&logon, now, ip);
            let start = Instant::now();
            for _ in 0..iters {
                black_box(
                    conn.reply_to(black_box(&place), now, &mut core)
                        .expect("a reply"),
                );
            }
            support::record("in_process/mock/order.place", iters, start.elapsed())
        });
    });

    // What session.logon adds: the payload over its params, the signature decoded, and one
    // strict Ed25519 verification (the mock's `signature::verify` for a raw-payload signature).
    let public: VerifyingKey =
        mock_server::ed25519_public_key_from_pem(mock_server::demo::PUBLIC_KEY_PEM)
            .expect("the demo public key parses");
    let timestamp = signed.timestamp.to_string();
    let params = [
        ("apiKey", signer.api_key()),
        ("signature", signed.signature.as_str()),
        ("timestamp", timestamp.as_str()),
    ];
    group.bench_function("signature/payload+verify", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let payload = signature_payload(black_box(&params));
                let bytes = BASE64.decode(black_box(&signed.signature)).expect("base64");
                let signature = Signature::from_slice(&bytes).expect("64 bytes");
                let valid = public.verify_strict(payload.as_bytes(), &signature).is_ok();
                assert!(black_box(valid));
            }
            support::record(
                "in_process/signature/payload+verify",
                iters,
                start.elapsed(),
            )
        });
    });
    group.finish();

    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for method in ["ping", "session.status", "session.logon", "order.place"] {
        let floor = format!("in_process/floor-json/{method}");
        rows.push((floor.clone(), vec![]));
        rows.push((format!("in_process/mock/{method}"), vec![floor]));
    }
    rows.push(("in_process/signature/payload+verify".to_owned(), vec![]));
    support::print_ratios("in-process: the mock against the JSON floor", &rows);
    if let (Some(logon), Some(status), Some(verify)) = (
        support::median_ns("in_process/mock/session.logon"),
        support::median_ns("in_process/mock/session.status"),
        support::median_ns("in_process/signature/payload+verify"),
    ) {
        println!(
            "  session.logon beyond session.status: {} = {:.2}× one payload+verify ({})",
            support::human(logon - status),
            (logon - status) / verify,
            support::human(verify)
        );
    }
}

/// A server whose ORDERS limits and demo account's USDT never refuse an order, and a
/// connection logged on to it with `logon`, its first `order.place` checked.
fn placing_session(logon: &str, now: Timestamp, ip: IpAddr) -> (Server, Connection) {
    let mut config = Config::default();
    config.weight_limit = u32::MAX;
    config.orders_per_10s = u32::MAX;
    config.orders_per_day = u32::MAX;
    let mut core = Server::new(&config, KeyRegistry::with_demo_key());
    core.set_account(demo::API_KEY, place_account());
    let mut conn = Connection::open(&mut core, ip, now, ConnectionOptions::default());
    let reply = conn.reply_to(logon, now, &mut core).expect("a reply");
    assert!(reply.contains(r#""status":200"#), "{reply}");
    let mut place = String::new();
    write_place(1, now.as_millis(), &mut place);
    let reply = conn.reply_to(&place, now, &mut core).expect("a reply");
    assert!(reply.contains(r#""orderId":1"#), "{reply}");
    (core, conn)
}

criterion_group!(benches, in_process);
criterion_main!(benches);
