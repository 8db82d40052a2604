//! Keepalive and lifetime (spec §1.3): the server pings every 20 s, a ping left unanswered
//! for a minute ends the connection, and so does the end of its 24 h lifetime. Payloads and
//! close frames are the mock's documented choices (docs/FIDELITY.md, connections). Each case
//! runs on a mock of its own with the documented timers, its frozen clock moved by hand: a
//! deadline is met exactly, never waited for.

use futures_util::FutureExt as _;
use mock_server::MockServer;

use super::errors::private;
use super::{check_arrival, Body, Case, Need, RunResult, Transcript};
use crate::env::Env;
use crate::report::Exchange;
use crate::spec;
use crate::target::in_process_builder;
use crate::wire::{Pongs, Wire, EVENT_TIMEOUT};

const PRIVATE: &[Need] = &[Need::PrivateServers];

/// The body of a case run on a mock of its own with the documented keepalive timers:
/// `steps` gets the environment and a connection opened at the start, closed after it.
macro_rules! on_keepalive_mock {
    ($steps:path) => {
        Body::Custom(|env, transcript| {
            async move {
                let (_server, mut env, mut wire) = keepalive_mock(env).await?;
                let outcome = $steps(&mut env, &mut wire, transcript).await;
                wire.close().await;
                outcome
            }
            .boxed_local()
        })
    };
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "KEEPALIVE-PINGS-EVERY-20-S",
            title: "pings 20 s after the connection opened and every 20 s on, with payloads 1, 2, \
                    3, 4; echoed, the connection outlives the pong timeout",
            basis: "spec §1.3; docs/FIDELITY.md (ping payload)",
            needs: PRIVATE,
            body: on_keepalive_mock!(pings_every_interval),
        },
        Case {
            id: "KEEPALIVE-PINGS-AFTER-A-LATE-CLOCK",
            title: "the clock moved 30 s at once, past the first ping's time: ping 1 comes all \
                    the same",
            basis: "spec §1.3 (a ping every 20 s); docs/FIDELITY.md (ping payload)",
            needs: PRIVATE,
            body: on_keepalive_mock!(pings_after_a_late_clock),
        },
        Case {
            id: "KEEPALIVE-NO-PONG-CLOSES-1008",
            title: "pings answered only by empty pongs: open until 60 s after the first ping, \
                    then close 1008 pong timeout",
            basis: "spec §1.3 (unsolicited pongs do not prevent disconnection); \
                    docs/FIDELITY.md §10.5 (close after a pong timeout)",
            needs: PRIVATE,
            body: on_keepalive_mock!(no_pong_closes),
        },
        Case {
            id: "KEEPALIVE-LATER-PONG-ANSWERS-EARLIER-PINGS",
            title: "the first ping unanswered, the second echoed: still open 60 s after the first",
            basis: "docs/FIDELITY.md (which pong counts: a pong answers its ping and every \
                    earlier one)",
            needs: PRIVATE,
            body: on_keepalive_mock!(later_pong_answers_earlier_pings),
        },
        Case {
            id: "LIFETIME-24-H-CLOSES-1000",
            title: "open until 24 h after it opened, then close 1000 connection lifetime exceeded",
            basis: "spec §1.3; docs/FIDELITY.md §10.5 (close at the end of the lifetime)",
            needs: PRIVATE,
            body: on_keepalive_mock!(lifetime_ends),
        },
    ]
}

/// Milliseconds of `d`, for [`Env::advance`].
fn ms(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// A mock of the case's own with the documented keepalive and lifetime, and one connection
/// to it, opened at the start of a minute of its frozen clock.
async fn keepalive_mock(env: &Env) -> Result<(MockServer, Env, Wire), String> {
    let builder = in_process_builder()
        .ping_interval(spec::PING_INTERVAL)
        .pong_timeout(spec::PONG_TIMEOUT)
        .max_lifetime(spec::MAX_LIFETIME);
    let (server, mut env) = private(env, builder, spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let wire = env.connect("").await.map_err(|e| e.to_string())?;
    Ok((server, env, wire))
}

/// Moves the clock `by` ms (from `at` ms after the connection opened); the server's next
/// ping must come, with `payload`. Its pong goes out at once, as the wire is told.
async fn expect_ping(
    env: &mut Env,
    wire: &mut Wire,
    (at, by): (u32, u32),
    payload: &str,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    env.advance(by);
    let ping = wire.ping(EVENT_TIMEOUT).await;
    let ping = ping.map(|got| format!("ping {:?}", String::from_utf8_lossy(&got)));
    let when = format!("{} ms after the connection opened", at + by);
    let want = format!("ping {payload:?}");
    let label = format!("(clock at {when})");
    check_arrival(transcript, label, ping, |got| got == want, &when, &want)
}

/// Sends a request and expects its reply: the connection is open, and everything sent on it
/// before (a pong) has been read by the server.
async fn still_open(
    env: &mut Env,
    wire: &mut Wire,
    when: &str,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    let text = r#"{"id":"open","method":"time","params":{"returnRateLimits":false}}"#;
    let sent = wire.send_text(text).await;
    let reply = match sent {
        Ok(()) => wire.reply().await.map(|(_, reply)| reply),
        Err(e) => Err(e),
    };
    env.weight.unobserved(spec::weight("time"));
    let shown = match &reply {
        Ok(reply) => reply.clone(),
        Err(e) => e.to_string(),
    };
    transcript.push(Exchange::new(text, vec![shown.clone()]));
    match reply {
        Ok(reply) if reply.starts_with(r#"{"id":"open","status":200,"#) => Ok(()),
        _ => Err(format!(
            "{when}: {shown}, expected the connection open and a reply"
        )),
    }
}

/// The connection must close with `want` (the wire's `close CODE REASON`) at once.
async fn expect_close(
    wire: &mut Wire,
    when: &str,
    want: &str,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    let closed = wire.closed(EVENT_TIMEOUT).await;
    let label = format!("(clock at {when})");
    check_arrival(transcript, label, closed, |why| why == want, when, &want)
}

async fn pings_every_interval(
    env: &mut Env,
    wire: &mut Wire,
    transcript: &mut Transcript,
) -> RunResult {
    let interval = ms(spec::PING_INTERVAL);
    // The fourth ping goes out a pong timeout after the first.
    for (n, payload) in ["1", "2", "3", "4"].into_iter().enumerate() {
        let at = interval * u32::try_from(n).unwrap_or(0);
        expect_ping(env, wire, (at, interval), payload, transcript).await?;
        let when = format!("after ping {payload} was echoed");
        still_open(env, wire, &when, transcript).await?;
    }
    Ok(())
}

async fn pings_after_a_late_clock(
    env: &mut Env,
    wire: &mut Wire,
    transcript: &mut Transcript,
) -> RunResult {
    // Half an interval late: a deadline passed, not met exactly.
    let late = ms(spec::PING_INTERVAL) * 3 / 2;
    expect_ping(env, wire, (0, late), "1", transcript).await?;
    still_open(env, wire, "after the late ping was echoed", transcript).await
}

async fn no_pong_closes(env: &mut Env, wire: &mut Wire, transcript: &mut Transcript) -> RunResult {
    wire.answer_pings(Pongs::Empty);
    let interval = ms(spec::PING_INTERVAL);
    let timeout = ms(spec::PONG_TIMEOUT);
    // Pings at 20, 40 and 60 s, each answered by an empty pong.
    for (n, payload) in ["1", "2", "3"].into_iter().enumerate() {
        let at = interval * u32::try_from(n).unwrap_or(0);
        expect_ping(env, wire, (at, interval), payload, transcript).await?;
        let when = format!("after ping {payload} got an empty pong");
        still_open(env, wire, &when, transcript).await?;
    }
    // 1 ms before the first ping's deadline, then at it.
    let deadline = interval + timeout;
    env.advance(deadline - 1 - 3 * interval);
    let when = format!("{} ms after the first ping", timeout - 1);
    still_open(env, wire, &when, transcript).await?;
    env.advance(1);
    let when = format!("{timeout} ms after the first ping, unanswered");
    expect_close(wire, &when, spec::PONG_TIMEOUT_CLOSE, transcript).await
}

async fn later_pong_answers_earlier_pings(
    env: &mut Env,
    wire: &mut Wire,
    transcript: &mut Transcript,
) -> RunResult {
    let interval = ms(spec::PING_INTERVAL);
    wire.answer_pings(Pongs::Empty);
    expect_ping(env, wire, (0, interval), "1", transcript).await?;
    still_open(env, wire, "after ping 1 got an empty pong", transcript).await?;
    wire.answer_pings(Pongs::Echo);
    for (n, payload) in [(1, "2"), (2, "3"), (3, "4")] {
        expect_ping(env, wire, (interval * n, interval), payload, transcript).await?;
    }
    let when = "a pong timeout after ping 1, pings 2 to 4 echoed";
    still_open(env, wire, when, transcript).await
}

async fn lifetime_ends(env: &mut Env, wire: &mut Wire, transcript: &mut Transcript) -> RunResult {
    let lifetime = ms(spec::MAX_LIFETIME);
    env.advance(lifetime - 1);
    let when = format!("{} ms after the connection opened", lifetime - 1);
    still_open(env, wire, &when, transcript).await?;
    env.advance(1);
    let when = format!("{lifetime} ms after the connection opened");
    expect_close(wire, &when, spec::LIFETIME_CLOSE, transcript).await
}
