//! The property cases: generated sequences, every reply checked against the model.

use super::{Body, Case, Need, RunResult, Transcript};
use crate::env::Env;
use crate::strategy::Gen;
use crate::target::in_process_builder;

const KEY: &[Need] = &[Need::UsableKey];

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "PROP-SESSION-SEQUENCES",
            title: "random sequences of logon (good and bad), status, logout, ping, time, account and \
                    User Data Stream requests, reconnects and clock moves, over three connections",
            basis: "spec §3–§6; docs/FIDELITY.md",
            needs: KEY,
            body: Body::Property(|gen| gen.sequences(24)),
        },
        Case {
            id: "PROP-SIGNATURE-TAMPERING",
            title: "one byte of the signature or of any signed param changed after signing: -1022 \
                    (or the key's own error when the apiKey changed)",
            basis: "spec §3.2, §3.3; docs/FIDELITY.md (order of the checks)",
            needs: KEY,
            body: Body::Property(Gen::tampered_requests),
        },
        Case {
            id: "PROP-TIMESTAMP-WINDOW",
            title: "any timestamp outside the window gets -1021 with the right message; inside, success",
            basis: "spec §3.3",
            needs: KEY,
            body: Body::Property(Gen::timed_requests),
        },
        Case {
            id: "PROP-ID-ROUNDTRIP",
            title: "every valid id shape (int64, 1-36 of [a-zA-Z0-9-_], null, none) is echoed with its type",
            basis: "spec §2.1, §2.5",
            needs: &[],
            body: Body::Property(Gen::valid_ids),
        },
        Case {
            id: "PROP-ID-INVALID",
            title: "every invalid id gets -1135 with id null, no rateLimits, no weight",
            basis: "spec §2.5 (observed)",
            needs: &[],
            body: Body::Property(Gen::invalid_ids),
        },
        Case {
            id: "PROP-WEIGHT-LIMIT",
            title: "random requests and clock moves against a limit of 40: 429s with retryAfter, \
                    counts past the limit, fresh minutes",
            basis: "spec §5.1, §5.3; docs/FIDELITY.md §10.16",
            needs: &[Need::PrivateServers],
            body: custom!(weight_limit),
        },
    ]
}

/// PROP-WEIGHT-LIMIT on a mock of its own: a low limit, bans off.
async fn weight_limit(env: &mut Env, _transcript: &mut Transcript) -> RunResult {
    let limit = 40;
    let no_bans = mock_server::BanPolicy {
        after_refusals: 0,
        durations: Vec::new(),
    };
    let server = in_process_builder()
        .weight_limit(limit)
        .ban_policy(no_bans)
        .start()
        .await
        .map_err(|e| format!("the case's own mock did not start: {e}"))?;
    let mut private = env.private(server.url(), server.clock().clone(), limit);
    let strategy = Gen::for_env(&private).weight_limited();
    let outcome = crate::property::check(&mut private, "PROP-WEIGHT-LIMIT", strategy).await;
    env.notes.append(&mut private.notes);
    outcome
}
