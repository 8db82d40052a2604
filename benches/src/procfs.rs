//! A process's CPU time and resident memory, read from Linux's `/proc`.
//!
//! Each server runs in its own process during load, so that its CPU time per request can be
//! told apart from the client's.

use std::io;
use std::time::Duration;

use anyhow::Context as _;

/// Clock ticks per second in `/proc/<pid>/stat`: `USER_HZ`, fixed at 100 by the Linux ABI.
const USER_HZ: u64 = 100;

/// User plus system CPU time of process `pid` (all its threads, living or exited), at
/// 10 ms resolution.
///
/// # Errors
/// When `/proc/<pid>/stat` cannot be read or parsed (not Linux, or no such process).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, field 2, is in parentheses and may hold spaces: count from its end.
    let after_name = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .context("malformed /proc/<pid>/stat")?;
    // After the name: state is field 3, utime field 14, stime field 15.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .context("short /proc/<pid>/stat")?
            .parse::<u64>()
            .context("malformed /proc/<pid>/stat")
    };
    let total = ticks(14 - 3)? + ticks(15 - 3)?;
    Ok(Duration::from_millis(total * 1000 / USER_HZ))
}

/// Resident set size of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
/// When `/proc/<pid>/status` cannot be read or has no `VmRSS` line.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .context("no VmRSS in /proc/<pid>/status")?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .context("malformed VmRSS")?;
    Ok(kib * 1024)
}

/// Raises this process's soft limit on open files to at least `wanted` (capped at the hard
/// limit) and returns the limit now in force.
///
/// # Errors
/// When the limit cannot be read or set.
pub fn raise_open_files_limit(wanted: u64) -> io::Result<u64> {
    rlimit::increase_nofile_limit(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() -> anyhow::Result<()> {
        let pid = std::process::id();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(cpu_time(pid)? < Duration::from_secs(3600));
        assert!(rss_bytes(pid)? > 1024 * 1024);
        Ok(())
    }
}
