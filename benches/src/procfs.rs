//! A process's CPU time and resident memory, read from Linux's `/proc` through the `procfs`
//! crate (which also asks the kernel for its clock-tick rate instead of assuming one).
//!
//! Each server runs in its own process during load, so that its CPU time per request can be
//! told apart from the client's.

use std::io;
use std::time::Duration;

use ::procfs::process::Process;
use anyhow::Context as _;

/// User plus system CPU time of process `pid` (all its threads, living or exited), at the
/// resolution of the kernel's clock ticks (`sysconf(_SC_CLK_TCK)`, usually 10 ms).
///
/// # Errors
/// When `/proc/<pid>/stat` cannot be read or parsed (not Linux, or no such process).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = process(pid)?.stat().context("reading /proc/<pid>/stat")?;
    let ticks = stat.utime + stat.stime;
    let per_second = ::procfs::ticks_per_second();
    anyhow::ensure!(
        per_second > 0,
        "the kernel reports no clock ticks per second"
    );
    Ok(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / per_second,
    ))
}

/// Resident set size of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
/// When `/proc/<pid>/status` cannot be read or has no `VmRSS` line.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = process(pid)?
        .status()
        .context("reading /proc/<pid>/status")?;
    let kib = status.vmrss.context("no VmRSS in /proc/<pid>/status")?;
    Ok(kib * 1024)
}

fn process(pid: u32) -> anyhow::Result<Process> {
    let pid = i32::try_from(pid).context("a pid beyond i32")?;
    Process::new(pid).with_context(|| format!("no process {pid} in /proc"))
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
