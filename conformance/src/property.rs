//! Property cases: generated sequences run against the target and the model, with
//! proptest's generation and shrinking driven from async code, from a seed.
//!
//! Each case's random stream comes from the run's seed and the case's ID only, so
//! `--only ID --seed S` replays exactly the sequences of a run with seed `S`, whatever else
//! ran, and shrinks a failure to the same minimal sequence.

use std::hash::Hasher as _;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};

use crate::env::Env;
use crate::sequence::{self, Mismatch, Scenario};

/// The seed of case `id` in a run seeded with `seed`: FNV-1a over the run's seed and then
/// the ID. Each byte step of FNV-1a is a bijection, so two runs' seeds never give one case
/// the same stream, and the value is the same on every platform.
pub(crate) fn case_seed(seed: u64, id: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(&seed.to_le_bytes());
    hasher.write(id.as_bytes());
    hasher.finish()
}

/// A runner whose ChaCha stream is proptest's own expansion of `seed`, without failure
/// files: a replay comes from `--seed`, not from a file left behind.
pub(crate) fn runner(seed: u64) -> TestRunner {
    let config = Config {
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    TestRunner::new(config)
}

/// Runs `env.cases` sequences from `strategy`. On a failure, shrinks it (at most
/// `env.max_shrink_iters` replays) and describes the minimal sequence found.
pub(crate) async fn check(
    env: &mut Env,
    id: &str,
    strategy: impl Strategy<Value = Scenario>,
) -> Result<(), String> {
    let mut runner = runner(env.seed);
    env.tally.clear();
    for case in 0..env.cases {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|reason| format!("cannot generate a sequence: {reason}"))?;
        let first = tree.current();
        let Err(mismatch) = sequence::run(env, &first).await else {
            continue;
        };
        let original_len = first.ops.len();
        let (minimal, mismatch, steps) = shrink(env, &mut tree, first, mismatch).await;
        return Err(format!(
            "seed {seed} (replay: --only {id} --seed {seed}): sequence {n} of {cases} failed; \
             shrunk in {steps} steps from {original_len} to {len} operations:\n{minimal}{mismatch}",
            seed = env.run_seed,
            n = case + 1,
            cases = env.cases,
            len = minimal.ops.len(),
        ));
    }
    let tally: Vec<String> = env
        .tally
        .iter()
        .map(|(kind, n)| format!("{kind} x{n}"))
        .collect();
    env.notes.push(format!(
        "{} sequences; replies and events: {}",
        env.cases,
        tally.join(", ")
    ));
    Ok(())
}

/// Proptest's shrinking loop: simplify while the sequence still fails, complicate back when
/// a simplification passes.
async fn shrink<T: ValueTree<Value = Scenario>>(
    env: &mut Env,
    tree: &mut T,
    failing: Scenario,
    mismatch: Mismatch,
) -> (Scenario, Mismatch, u32) {
    let mut best = (failing, mismatch);
    let mut steps = 0;
    if !tree.simplify() {
        return (best.0, best.1, steps);
    }
    while steps < env.max_shrink_iters {
        steps += 1;
        let candidate = tree.current();
        match sequence::run(env, &candidate).await {
            Ok(_) => {
                if !tree.complicate() {
                    break;
                }
            }
            Err(mismatch) => {
                best = (candidate, mismatch);
                if !tree.simplify() {
                    break;
                }
            }
        }
    }
    (best.0, best.1, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_seed_gives_the_same_values_every_time() {
        let draw = |seed| {
            let mut runner = runner(case_seed(seed, "PROP-X"));
            (0..5)
                .map(|_| {
                    any::<u64>()
                        .new_tree(&mut runner)
                        .map(|t| t.current())
                        .unwrap_or_default()
                })
                .collect::<Vec<u64>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert_ne!(case_seed(7, "PROP-X"), case_seed(7, "PROP-Y"));
    }

    #[test]
    fn a_case_seed_is_the_same_on_every_platform() {
        // FNV-1a over the seed's little-endian bytes, then the ID's: a seed printed by a
        // run on one machine replays on another.
        assert_eq!(case_seed(7, "PROP-X"), 0x1b8b_4308_1fca_da5e);
    }
}
