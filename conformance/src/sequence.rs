//! Runs a sequence of operations against a target and the model side by side, comparing
//! every reply and every event.

use std::fmt;

use serde_json::Value;

use crate::check::{self, Bindings};
use crate::env::Env;
use crate::model::Model;
use crate::op::{render, Op, ReqId};
use crate::wire::{Wire, EVENT_TIMEOUT};

/// Connections a sequence may use.
pub(crate) const MAX_CONNECTIONS: usize = 3;

/// Operations to run, on connections opened on first use with these URL options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scenario {
    /// Each connection's `returnRateLimits` URL parameter (none: not in the URL).
    pub url_return_rate_limits: Vec<Option<bool>>,
    pub ops: Vec<Op>,
}

impl Scenario {
    /// Operations on connections without URL options.
    pub fn new(ops: Vec<Op>) -> Scenario {
        Scenario {
            url_return_rate_limits: vec![None; MAX_CONNECTIONS],
            ops,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (conn, option) in self.url_return_rate_limits.iter().enumerate() {
            let used = self.ops.iter().any(|op| op.conn() == Some(conn));
            if let (Some(show), true) = (option, used) {
                writeln!(f, "conn {conn} opened with ?returnRateLimits={show}")?;
            }
        }
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "#{i} {op}")?;
        }
        Ok(())
    }
}

/// What happened at one step.
#[derive(Clone, Debug, Default)]
pub(crate) struct Step {
    pub reply: Option<Value>,
    pub events: Vec<Value>,
}

/// Where and how a sequence went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The step (`ops.len()` and up: the final check of each connection).
    step: usize,
    op: String,
    problems: Vec<String>,
    sent: Option<String>,
    received: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "at #{} {}:", self.step, self.op)?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        if let Some(sent) = &self.sent {
            writeln!(f, "  sent:     {sent}")?;
        }
        for frame in &self.received {
            writeln!(f, "  received: {frame}")?;
        }
        Ok(())
    }
}

/// Runs `scenario`: every reply and event is compared with the model's; returns what each
/// step received, or the first difference.
pub(crate) async fn run(env: &mut Env, scenario: &Scenario) -> Result<Vec<Step>, Mismatch> {
    env.fresh_case();
    let mut model = Model::new(&env.keys, env.weight_limit, env.frozen_now_us());
    let mut wires: Vec<Option<Wire>> = (0..MAX_CONNECTIONS).map(|_| None).collect();
    let mut bindings = Bindings::default();
    let mut steps = Vec::new();
    let outcome = run_steps(
        env,
        scenario,
        &mut model,
        &mut wires,
        &mut bindings,
        &mut steps,
    )
    .await;
    for wire in wires.into_iter().flatten() {
        wire.close().await;
    }
    outcome.map(|()| steps)
}

async fn run_steps(
    env: &mut Env,
    scenario: &Scenario,
    model: &mut Model,
    wires: &mut [Option<Wire>],
    bindings: &mut Bindings,
    steps: &mut Vec<Step>,
) -> Result<(), Mismatch> {
    for (index, op) in scenario.ops.iter().enumerate() {
        let step = match op {
            Op::AdvanceClock { ms } => {
                if env.is_frozen() {
                    env.advance(*ms);
                    model.advance(*ms);
                }
                Step::default()
            }
            Op::Reconnect { conn } => {
                // Closed now, opened again by the next request on it: a connection's weight
                // is charged once the server's task for it starts, after the handshake, so
                // only a request on the new connection itself is sure to come after it.
                let conn = (*conn).min(MAX_CONNECTIONS - 1);
                if let Some(wire) = wires[conn].take() {
                    wire.close().await;
                }
                model.close(conn);
                bindings.reopened(conn);
                Step::default()
            }
            _ => request(env, scenario, model, wires, bindings, index, op).await?,
        };
        steps.push(step);
    }
    // Nothing unexpected may be left on any connection: a quiet ping on each, whose reply
    // must come with no event before it.
    for conn in 0..MAX_CONNECTIONS {
        if wires[conn].is_some() {
            let barrier = Op::Ping {
                conn,
                id: ReqId::Str("final-check".to_owned()),
                rrl: Some(false),
            };
            let index = scenario.ops.len() + conn;
            request(env, scenario, model, wires, bindings, index, &barrier).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn open(
    env: &mut Env,
    scenario: &Scenario,
    model: &mut Model,
    wires: &mut [Option<Wire>],
    bindings: &mut Bindings,
    conn: usize,
    index: usize,
    op: &Op,
) -> Result<(), Mismatch> {
    let option = scenario.url_return_rate_limits.get(conn).copied().flatten();
    let query = option
        .map(|show| format!("returnRateLimits={show}"))
        .unwrap_or_default();
    let wire = env.connect(&query).await.map_err(|e| Mismatch {
        step: index,
        op: op.to_string(),
        problems: vec![format!("opening connection {conn}: {e}")],
        sent: None,
        received: Vec::new(),
    })?;
    model.open(conn, option);
    bindings.reopened(conn);
    wires[conn] = Some(wire);
    Ok(())
}

async fn request(
    env: &mut Env,
    scenario: &Scenario,
    model: &mut Model,
    wires: &mut [Option<Wire>],
    bindings: &mut Bindings,
    index: usize,
    op: &Op,
) -> Result<Step, Mismatch> {
    let conn = op.conn().unwrap_or(0).min(MAX_CONNECTIONS - 1);
    if wires[conn].is_none() {
        open(env, scenario, model, wires, bindings, conn, index, op).await?;
    }
    let fail = |problems: Vec<String>, sent: Option<String>, received: Vec<String>| Mismatch {
        step: index,
        op: op.to_string(),
        problems,
        sent,
        received,
    };
    if op.keys().iter().any(|key| key.pair(&env.keys).is_none()) {
        return Err(fail(
            vec!["the target lacks a key this operation needs".to_owned()],
            None,
            Vec::new(),
        ));
    }
    // Never the cause of a 429 on a live target: wait for a new minute if this could be.
    env.pace(crate::spec::weight("account.rateLimits.orders"))
        .await;
    let Some(rendered) = render(op, &env.keys, env.server_now_us()) else {
        return Err(fail(vec!["nothing to send".to_owned()], None, Vec::new()));
    };
    let text = rendered.text;
    let Some(expected) = model.request(op) else {
        return Err(fail(
            vec!["not a request".to_owned()],
            Some(text),
            Vec::new(),
        ));
    };
    let Some(wire) = wires[conn].as_mut() else {
        return Err(fail(
            vec!["no connection".to_owned()],
            Some(text),
            Vec::new(),
        ));
    };
    if let Err(e) = wire.send_text(&text).await {
        return Err(fail(vec![format!("sending: {e}")], Some(text), Vec::new()));
    }
    let (before, reply) = match wire.reply().await {
        Ok(frames) => frames,
        Err(e) => return Err(fail(vec![format!("no reply: {e}")], Some(text), Vec::new())),
    };
    let mut received: Vec<String> = before.clone();
    received.push(reply.clone());
    let mut problems: Vec<String> = before
        .iter()
        .map(|event| {
            format!("unexpected frame before the reply (left by an earlier step?): {event}")
        })
        .collect();
    problems.extend(check::reply(env, &expected, &reply, bindings));
    env.count(match &expected.outcome {
        crate::model::Outcome::Ok(_) => "200".to_owned(),
        crate::model::Outcome::Err(e, _) => e.code.to_string(),
    });
    for _ in &expected.terminated {
        env.count("eventStreamTerminated".to_owned());
    }
    let mut step = Step {
        reply: serde_json::from_str(&reply).ok(),
        events: Vec::new(),
    };
    if problems.is_empty() {
        for id in &expected.terminated {
            match wire.event(EVENT_TIMEOUT).await {
                Ok(event) => {
                    received.push(event.clone());
                    problems.extend(check::terminated_event(env, &expected, *id, &event));
                    step.events.extend(serde_json::from_str(&event).ok());
                }
                Err(e) => problems.push(format!(
                    "eventStreamTerminated for subscription {id} expected: {e}"
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(step)
    } else {
        Err(fail(problems, Some(text), received))
    }
}
