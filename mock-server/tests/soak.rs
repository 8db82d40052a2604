//! Soak: many clients connect, log on, send garbage and leave at random, while an observer
//! is served throughout. Afterwards no connection is left open, every connection task has
//! ended (the runtime's live tasks are back to what the idle server had), and the rate-limit
//! state holds one IP.
//!
//! Memory is not asserted here: in seconds only a gross leak would show above allocator
//! noise. The benches measure it (`load idle` reports the server's RSS per connection).
//!
//! Seconds by default; longer with `MOCK_SOAK_SECS=300 cargo test -p mock-server --test soak
//! -- --nocapture`. Bounded in time and in count; loopback only.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 16;
const MAX_ROUNDS_PER_CLIENT: usize = 100_000;

/// splitmix64: a fixed-seed generator, so a failing soak can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn garbage(&mut self) -> String {
        let len = self.below(64);
        (0..len)
            .map(|_| char::from_u32(u32::try_from(self.below(0x2FF)).unwrap_or(0)).unwrap_or('?'))
            .collect()
    }
}

/// Tasks alive on this test's runtime: the server's own, and one per open connection.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until the runtime has no more live tasks than `idle`, failing the test after
/// [`STEP`]: a connection task that never ends fails it.
async fn wait_for_tasks_back_to(idle: usize) {
    let waited = tokio::time::timeout(STEP, async {
        while alive_tasks() > idle {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{} tasks alive after the soak, {idle} when idle",
        alive_tasks()
    );
}

async fn one_client_life(server: &mock_server::MockServer, rng: &mut Rng, key: &TestKey) {
    let mut client = Client::connect(server).await;
    for _ in 0..rng.below(20) {
        match rng.below(7) {
            0 => {
                let reply = client.request_json(&key.logon("1", T0)).await;
                assert_eq!(reply["status"], 200, "{reply}");
            }
            1 => {
                let reply = client
                    .request_json(&TestKey::from_seed("Other", 3).logon("2", T0))
                    .await;
                assert_eq!(reply["error"]["code"], -1022, "{reply}");
            }
            2 => {
                let reply = client.request_json(&rng.garbage()).await;
                assert_eq!(reply["status"], 400, "{reply}");
            }
            3 => {
                let bytes: Vec<u8> = (0..rng.below(32)).map(|_| rng.next() as u8).collect();
                client.send_message(Message::binary(bytes)).await;
                client.recv().await;
            }
            4 => {
                let reply = client
                    .request_json(r#"{"id":3,"method":"session.status"}"#)
                    .await;
                assert_eq!(reply["status"], 200, "{reply}");
            }
            5 => {
                // Send and leave without reading the reply or closing.
                client.send(r#"{"id":4,"method":"session.logout"}"#).await;
                return;
            }
            _ => client.assert_usable().await,
        }
    }
    if rng.below(2) == 0 {
        // A proper close; otherwise the TCP connection is just dropped.
        client.send_message(Message::Close(None)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_come_and_go_and_the_server_returns_to_rest() {
    let seconds: u64 = std::env::var("MOCK_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let key = TestKey::from_seed("SoakKey", 5);
    let server = start(
        key.register(frozen_builder())
            .ed25519_key(
                "Other",
                TestKey::from_seed("Unrelated", 4).signing.verifying_key(),
            )
            .weight_limit(u32::MAX)
            .connection_rate_limit(u32::MAX),
    )
    .await;
    // The server's own tasks, before any connection; the soak's clients are futures on this
    // task, not tasks of their own.
    let idle_tasks = alive_tasks();

    let mut observer = Client::connect(&server).await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for seed in 0..CLIENTS {
        let key = TestKey::from_seed("SoakKey", 5);
        let server = &server;
        tasks.push(async move {
            let mut rng = Rng(seed as u64);
            let mut lives = 0usize;
            while Instant::now() < deadline && lives < MAX_ROUNDS_PER_CLIENT {
                one_client_life(server, &mut rng, &key).await;
                lives += 1;
            }
            lives
        });
    }
    let observe = async {
        let mut served = 0u64;
        while Instant::now() < deadline {
            observer.assert_usable().await;
            served += 1;
        }
        served
    };
    let (lives, served) = tokio::join!(futures_util::future::join_all(tasks), observe);
    let lives: usize = lives.iter().sum();
    drop(observer);

    within(server.wait_for_open_connections(|open| open == 0)).await;
    assert_eq!(server.open_connections(), 0);
    wait_for_tasks_back_to(idle_tasks).await;
    assert_eq!(server.tracked_ips(), 1);
    println!("soak: {seconds}s, {lives} client lives, observer served {served} times");
}
