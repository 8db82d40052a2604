//! What follows a connection's end or the server's: events stop reaching a connection that
//! is gone (spec §4.6), and a shutdown is announced in each connection's `timeUnit`
//! (spec §1.4, §1.2). Both need mocks of their own: one to push events into, one to stop.

use std::time::Duration;

use serde_json::{json, Value};

use super::errors::{logon_and_subscribe, private};
use super::{verdict, Case, Need, RunResult, Transcript};
use crate::env::Env;
use crate::report::Exchange;
use crate::spec;
use crate::target::in_process_builder;
use crate::wire::EVENT_TIMEOUT;

const PRIVATE: &[Need] = &[Need::PrivateServers];

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "UDS-EVENTS-END-WITH-THE-CONNECTION",
            title: "an account's event reaches its subscribed connection; once that closes, none",
            basis: "spec §4.6; docs/FIDELITY.md (push_user_data_event counts subscriptions)",
            needs: PRIVATE,
            body: custom!(events_end_with_the_connection),
        },
        Case {
            id: "SHUTDOWN-NOTICE-IN-TIME-UNIT",
            title: "serverShutdown's E is in each connection's timeUnit, then close 1001",
            basis: "spec §1.4, §1.2; docs/FIDELITY.md (E of serverShutdown, server shutdown)",
            needs: PRIVATE,
            body: custom!(shutdown_notice_in_time_unit),
        },
    ]
}

async fn events_end_with_the_connection(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (server, mut env) =
        private(env, in_process_builder(), spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    // The server's first connection stays anonymous, so the subscribed one is not the
    // first the server numbers.
    let bystander = env.connect("").await.map_err(|e| e.to_string())?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    logon_and_subscribe(&mut env, &mut wire, transcript).await?;
    let account = env.keys.primary.api_key().to_owned();
    let event = json!({"e": "balanceUpdate", "E": 1, "a": "BTC", "d": "1.00000000", "T": 1});
    let reached = server.push_user_data_event(&account, event.clone());
    let received = wire
        .event(EVENT_TIMEOUT)
        .await
        .map_err(|e| format!("no event after push_user_data_event ({reached} subscriptions): {e}"));
    let received = match received {
        Ok(frame) => frame,
        Err(e) => {
            wire.close().await;
            bystander.close().await;
            return Err(e);
        }
    };
    transcript.push(Exchange::new("(event pushed)", vec![received.clone()]));
    let want = json!({"subscriptionId": 0, "event": event});
    let mut problems = Vec::new();
    let tracked = server.tracked_ips();
    if tracked != 1 {
        problems.push(format!(
            "tracked_ips {tracked} with one client IP, expected 1"
        ));
    }
    if reached != 1 {
        problems.push(format!("pushed to {reached} subscriptions, expected 1"));
    }
    if serde_json::from_str::<Value>(&received).ok() != Some(want.clone()) {
        problems.push(format!("event {received}, expected {want}"));
    }
    wire.close().await;
    let gone = tokio::time::timeout(
        EVENT_TIMEOUT,
        server.wait_for_open_connections(|open| open <= 1),
    )
    .await;
    if gone.is_err() {
        problems.push("the closed connection was still open after 3 s".to_owned());
    }
    let after = server.push_user_data_event(&account, event);
    transcript.push(Exchange::new(
        "(event pushed after the close)",
        vec![format!("reached {after} subscriptions")],
    ));
    if after != 0 {
        problems.push(format!(
            "after the subscribed connection closed, pushed to {after} subscriptions, expected 0"
        ));
    }
    bystander.close().await;
    verdict(&problems)
}

async fn shutdown_notice_in_time_unit(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    // No grace: the notice, then the close, whatever clock the grace runs on.
    let builder = in_process_builder().shutdown_grace(Duration::ZERO);
    let (server, mut env) = private(env, builder, spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let now_us = env.server_now_us();
    let mut problems = Vec::new();
    let mut wires = Vec::new();
    for (query, e) in [("", now_us / 1000), ("timeUnit=MICROSECOND", now_us)] {
        wires.push((
            query,
            e,
            env.connect(query).await.map_err(|e| e.to_string())?,
        ));
    }
    let stopped = tokio::time::timeout(EVENT_TIMEOUT, server.shutdown());
    let heard = async {
        let mut heard = Vec::new();
        for (query, e, wire) in &mut wires {
            let notice = wire.event(EVENT_TIMEOUT).await.map_err(|e| e.to_string());
            let closed = wire.closed(EVENT_TIMEOUT).await.map_err(|e| e.to_string());
            heard.push((*query, *e, notice, closed));
        }
        heard
    };
    let (stopped, heard) = tokio::join!(stopped, heard);
    if stopped.is_err() {
        problems.push("shutdown did not finish within 3 s".to_owned());
    }
    for (query, e, notice, closed) in heard {
        let shown = format!("{notice:?}, {closed:?}");
        transcript.push(Exchange::new(&format!("(shutdown) ?{query}"), vec![shown]));
        let want = json!({"event": {"e": "serverShutdown", "E": e}});
        match notice {
            Ok(text) if serde_json::from_str::<Value>(&text).ok() == Some(want.clone()) => {}
            other => problems.push(format!("?{query}: {other:?}, expected {want}")),
        }
        match closed {
            Ok(text) if text == "close 1001 server shutting down" => {}
            other => problems.push(format!(
                "?{query}: {other:?}, expected close 1001 server shutting down"
            )),
        }
    }
    verdict(&problems)
}
