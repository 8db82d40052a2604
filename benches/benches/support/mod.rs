//! Ratios measured in the same run: each benchmark's per-iteration times are recorded as
//! criterion takes them, and the end of the run prints every mock figure next to its floor.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Per-iteration times (ns) of every `iter_custom` call, by benchmark name.
static SAMPLES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

/// Records one `iter_custom` call: `iters` iterations took `elapsed`.
pub fn record(name: &str, iters: u64, elapsed: Duration) -> Duration {
    if iters > 0 {
        let per_iteration = elapsed.as_nanos() as f64 / iters as f64;
        SAMPLES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_owned())
            .or_default()
            .push(per_iteration);
    }
    elapsed
}

/// The median per-iteration time of `name` in this run, in nanoseconds.
pub fn median_ns(name: &str) -> Option<f64> {
    let samples = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
    let mut values = samples.get(name)?.clone();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// `ns` for reading: µs above 1 µs, else ns.
pub fn human(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Prints `title`, then one line per `(name, floors)`: its median and its ratio to each floor
/// measured in this run. Benchmarks filtered out of the run are left out.
pub fn print_ratios(title: &str, rows: &[(String, Vec<String>)]) {
    let mut lines = Vec::new();
    for (name, floors) in rows {
        let Some(value) = median_ns(name) else {
            continue;
        };
        let mut line = format!("  {name:<38} {:>10}", human(value));
        for floor in floors {
            if let Some(base) = median_ns(floor).filter(|b| *b > 0.0) {
                line.push_str(&format!("   {:.3}× {floor}", value / base));
            }
        }
        lines.push(line);
    }
    if !lines.is_empty() {
        println!("\n{title} (median of criterion's samples, this run)");
        for line in lines {
            println!("{line}");
        }
    }
}
