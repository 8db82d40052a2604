//! `load`: drives C connections × D requests in flight against the mock or a floor, each
//! server in its own process, and prints one JSON line per run.
//!
//! ```text
//! load run     --target mock -c 100 -d 16 --duration 5s --mix ping=8,status=1,logon=1
//! load compare -c 1 -d 1 --duration 4s --mix place --rounds 3    # order.place, resting
//! load compare -c 1 -d 1 --duration 5s --mix ping --rounds 3      # floors and mock, ratios
//! load idle    --target mock -n 10000                              # server RSS per connection
//! load run     --target ws://127.0.0.1:PORT/ws-api/v3 --server-pid PID
//! ```
//!
//! Named targets (`floor-echo`, `floor-json`, `mock`) are started by this tool as child
//! processes (`load serve …`, or `--mock-bin` for the `mock-server` binary), so their CPU
//! time and memory are theirs alone; the children stop when the tool does. A URL target
//! must be loopback. Every load is bounded in connections, depth and time and stops by
//! itself.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use benches::load::{self, round2, LoadSpec, Mix};
use benches::requests::{place_account, place_balances, LogonSigner, PING};
use benches::{client, floor, procfs};
use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use mock_server::{demo, BanPolicy, MockServer};
use serde_json::{json, Value};

/// The mock's cap on open connections when this tool starts it: above any load it sends.
const MOCK_MAX_CONNECTIONS: usize = 2 * load::MAX_CONNECTIONS;

#[derive(Parser)]
#[command(
    name = "load",
    about = "Load and memory figures of the mock against the floor"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Exit with status 0 even when requests or connections failed (by default any error
    /// makes the exit status 1, after the JSON line is printed).
    #[arg(long, global = true)]
    allow_errors: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// One load against one target; prints one JSON line.
    Run(RunArgs),
    /// Each target in turn (floors and mock), for some rounds; a JSON line per load, then one
    /// with the medians and the mock's ratios to the floors.
    Compare(CompareArgs),
    /// Opens N connections, pings each once and holds them; prints the server's RSS.
    Idle(IdleArgs),
    /// Serves a floor or the mock; prints its URL on the first line and stops when stdin
    /// closes (used by the other commands for their child processes).
    #[command(hide = true)]
    Serve(ServeArgs),
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// Connections.
    #[arg(short = 'c', long, default_value_t = 1)]
    connections: usize,
    /// Requests in flight per connection.
    #[arg(short = 'd', long, default_value_t = 1)]
    depth: usize,
    /// The measured window.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Time before the window: requests sent, not counted.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Requests and weights: `ping`, `ping,status`, `ping=8,status=1,logon=1`; also `place`,
    /// `test`, `depth` and `cancel` (`place,cancel`: each connection places and cancels
    /// its own orders).
    #[arg(long, default_value = "ping")]
    mix: Mix,
    /// API key for logons (default: the mock's demo key).
    #[arg(long, requires = "private_key_pem")]
    api_key: Option<String>,
    /// Ed25519 PKCS#8 PEM private key file for logons.
    #[arg(long, requires = "api_key")]
    private_key_pem: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct ServerArgs {
    /// Run the `mock` target as this `mock-server` binary (`--listen 127.0.0.1:0
    /// --weight-limit N --orders-per-10s N --orders-per-day N --config FILE`, the file giving
    /// the demo account its balances) instead of the mock library in `load serve`.
    #[arg(long)]
    mock_bin: Option<PathBuf>,
    /// REQUEST_WEIGHT per minute of the mock this tool starts (the API's is 6000).
    #[arg(long, default_value_t = u32::MAX)]
    weight_limit: u32,
    /// ORDERS per 10 seconds and per day of the mock this tool starts (the API's are 50 and
    /// 160000).
    #[arg(long, default_value_t = u32::MAX)]
    orders_limit: u32,
    /// Read buffer of the floor servers, in bytes (the mock's is 1 KiB).
    #[arg(long, default_value_t = floor::READ_BUFFER_SIZE)]
    floor_read_buffer: usize,
    /// Floor servers write the replies to all frames already received at once, as the
    /// mock and the `floor-json-batch` target do (by default `floor-echo` and
    /// `floor-json` write each reply on its own).
    #[arg(long)]
    floor_batch_writes: bool,
    /// Entries the mock's request journal keeps (its default: the mock-server binary's);
    /// 0 turns the journal off, to see what it costs.
    #[arg(long)]
    mock_journal_size: Option<usize>,
    /// Pin the server this tool starts to this CPU (`taskset -c N`), apart from the load,
    /// whatever CPUs the tool itself runs on.
    #[arg(long)]
    server_cpu: Option<usize>,
}

#[derive(Args)]
struct RunArgs {
    /// `floor-echo`, `floor-json`, `mock`, or a loopback `ws://` URL.
    #[arg(long, default_value = "mock")]
    target: Target,
    /// The pid of a URL target's server, to report its CPU time per request.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct CompareArgs {
    /// The targets, run in this order in each round.
    #[arg(
        long,
        default_value = "floor-echo,floor-json,mock",
        value_delimiter = ','
    )]
    targets: Vec<Target>,
    /// Rounds: each target once per round; the summary takes medians over rounds.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct IdleArgs {
    /// `floor-echo`, `floor-json`, `mock`, or a loopback `ws://` URL (with `--server-pid`).
    #[arg(long, default_value = "mock")]
    target: Target,
    /// The pid of a URL target's server.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Connections to hold.
    #[arg(short = 'n', long, default_value_t = 1000)]
    connections: usize,
    /// How long to hold them before reading the RSS.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    hold: Duration,
    /// Open the connections from this many loopback source addresses in turn (127.0.0.2,
    /// 127.0.0.3, …), each with ports of its own: one address's ephemeral ports (about
    /// 28,000) cannot reach 50,000. 0: the system's choice, 127.0.0.1. Linux routes all of
    /// 127.0.0.0/8 to loopback; elsewhere the addresses may need adding first.
    #[arg(long, default_value_t = 0)]
    source_addresses: u8,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// `floor-echo`, `floor-json` or `mock`.
    #[arg(long)]
    target: Target,
    /// REQUEST_WEIGHT per minute of the mock.
    #[arg(long, default_value_t = u32::MAX)]
    weight_limit: u32,
    /// ORDERS per 10 seconds and per day of the mock.
    #[arg(long, default_value_t = u32::MAX)]
    orders_limit: u32,
    /// Read buffer of a floor server, in bytes.
    #[arg(long, default_value_t = floor::READ_BUFFER_SIZE)]
    read_buffer: usize,
    /// A floor server batches its writes.
    #[arg(long)]
    batch_writes: bool,
    /// Entries the mock's request journal keeps (0: off).
    #[arg(long)]
    journal_size: Option<usize>,
    /// Stop after this long even if stdin stays open.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    max_lifetime: Duration,
}

/// What the load is sent to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    FloorEcho,
    FloorJson,
    FloorJsonBatch,
    Mock,
    /// The mock with its request journal off: beside `mock` in one compare, what the
    /// journal costs, round by round.
    MockJournalOff,
    Url(String),
}

impl FromStr for Target {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        Ok(match text {
            "floor-echo" => Target::FloorEcho,
            "floor-json" => Target::FloorJson,
            "floor-json-batch" => Target::FloorJsonBatch,
            "mock" => Target::Mock,
            "mock-journal-off" => Target::MockJournalOff,
            url if url.starts_with("ws://") => {
                client::ensure_loopback(url)?;
                Target::Url(url.to_owned())
            }
            other => bail!(
                "unknown target {other:?}: floor-echo, floor-json, floor-json-batch, mock, \
                 mock-journal-off or ws://…"
            ),
        })
    }
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::FloorEcho => "floor-echo",
            Target::FloorJson => "floor-json",
            Target::FloorJsonBatch => "floor-json-batch",
            Target::Mock => "mock",
            Target::MockJournalOff => "mock-journal-off",
            Target::Url(url) => url,
        }
    }

    /// The journal size to start this target's mock with: `--mock-journal-size`, or 0 for
    /// `mock-journal-off`; `None` leaves the mock's default.
    fn journal_size(&self, server: &ServerArgs) -> Option<usize> {
        match self {
            Target::MockJournalOff => Some(0),
            _ => server.mock_journal_size,
        }
    }
}

/// A server in a child process; killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
    /// The config file written for a `mock-server` binary, removed when dropped.
    config_file: Option<PathBuf>,
}

/// Writes the `mock-server` binary's config file for a load: the demo account's
/// [`place_balances`] (balances have no flag).
fn write_mock_config() -> anyhow::Result<PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "load-mock-{}-{}.toml",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let balances: Vec<String> = place_balances()
        .iter()
        .map(|(asset, free)| format!("{{ asset = {asset:?}, free = {free:?} }}"))
        .collect();
    let text = format!(
        "[accounts.{:?}]\nbalances = [{}]\n",
        mock_server::demo::API_KEY,
        balances.join(", ")
    );
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

impl ServerProcess {
    /// Starts `target` in a child process and reads its URL from the first stdout line.
    fn spawn(target: &Target, server: &ServerArgs) -> anyhow::Result<Self> {
        let mut config_file = None;
        let mut command = match (target, &server.mock_bin) {
            (Target::Mock | Target::MockJournalOff, Some(bin)) => {
                let mut command = Command::new(bin);
                command.args(["--listen", "127.0.0.1:0", "--weight-limit"]);
                command.arg(server.weight_limit.to_string());
                let orders = server.orders_limit.to_string();
                command.args(["--orders-per-10s", &orders, "--orders-per-day", &orders]);
                let path = write_mock_config()?;
                command.arg("--config").arg(&path);
                config_file = Some(path);
                // Load opens more connections, faster, than the API allows one IP.
                command.args(["--connection-rate-limit", &u32::MAX.to_string()]);
                command.args(["--max-connections", &MOCK_MAX_CONNECTIONS.to_string()]);
                command.args(["--ban-after", "0", "--log-level", "warn"]);
                if let Some(entries) = target.journal_size(server) {
                    command.args(["--journal-size", &entries.to_string()]);
                }
                command
            }
            (Target::Url(url), _) => bail!("{url} is not started by this tool"),
            (named, _) => {
                let mut command = Command::new(std::env::current_exe()?);
                command.args(["serve", "--target", named.name(), "--weight-limit"]);
                command.arg(server.weight_limit.to_string());
                command.arg("--orders-limit");
                command.arg(server.orders_limit.to_string());
                command.arg("--read-buffer");
                command.arg(server.floor_read_buffer.to_string());
                if server.floor_batch_writes {
                    command.arg("--batch-writes");
                }
                if let Some(entries) = named.journal_size(server) {
                    command.args(["--journal-size", &entries.to_string()]);
                }
                command
            }
        };
        if let Some(cpu) = server.server_cpu {
            // The same command under `taskset`, so the server has that CPU to itself.
            let mut pinned = Command::new("taskset");
            pinned
                .arg("-c")
                .arg(cpu.to_string())
                .arg(command.get_program());
            pinned.args(command.get_args());
            command = pinned;
        }
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the {} server", target.name()))?;
        let mut process = ServerProcess {
            child,
            url: String::new(),
            config_file,
        };
        let child = &mut process.child;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        // `load serve` prints the URL alone, `mock-server` "mock-server listening on <URL>".
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .unwrap_or_default()
            .to_owned();
        if let Err(error) = client::ensure_loopback(&url) {
            bail!(
                "the {} server printed no loopback URL: {error}",
                target.name()
            );
        }
        process.url = url;
        Ok(process)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = self.config_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Cmd::Serve(args) = &cli.command {
        return serve(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let errors = runtime.block_on(async {
        match cli.command {
            Cmd::Run(args) => {
                let line = run_one(&args.target, args.server_pid, &args.load, &args.server).await?;
                print_line(&line);
                Ok(line["errors"]["total"].as_u64().unwrap_or(1))
            }
            Cmd::Compare(args) => compare(&args).await,
            Cmd::Idle(args) => idle(&args).await,
            Cmd::Serve(_) => Ok(0),
        }
    })?;
    if errors > 0 && !cli.allow_errors {
        eprintln!("load: {errors} error(s); see the JSON line (--allow-errors to exit 0)");
        std::process::exit(1);
    }
    Ok(())
}

fn print_line(line: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn spec(load: &LoadArgs, server_pid: Option<u32>) -> anyhow::Result<LoadSpec> {
    let signer = match (&load.api_key, &load.private_key_pem) {
        (Some(api_key), Some(pem)) => {
            let pem = std::fs::read_to_string(pem)
                .with_context(|| format!("cannot read {}", pem.display()))?;
            Some(LogonSigner::from_pem(api_key, &pem)?)
        }
        _ => Some(LogonSigner::demo()?),
    };
    let spec = LoadSpec {
        connections: load.connections,
        depth: load.depth,
        warmup: load.warmup,
        duration: load.duration,
        mix: load.mix.clone(),
        signer: signer.map(Arc::new),
        server_pid,
    };
    spec.validate()?;
    Ok(spec)
}

/// Starts the target if it is named, runs the load, and returns its JSON line.
async fn run_one(
    target: &Target,
    server_pid: Option<u32>,
    load: &LoadArgs,
    server: &ServerArgs,
) -> anyhow::Result<Value> {
    let process = match target {
        Target::Url(_) => None,
        named => Some(ServerProcess::spawn(named, server)?),
    };
    let (url, pid) = match (&process, target) {
        (Some(process), _) => (process.url.clone(), Some(process.pid())),
        (None, Target::Url(url)) => (url.clone(), server_pid),
        (None, _) => bail!("no server for {}", target.name()),
    };
    let spec = spec(load, pid)?;
    let report = load::run(&url, &spec).await?;
    let mut line = report.to_json(target.name(), &spec);
    annotate(&mut line, target, server);
    Ok(line)
}

/// Says which server answered: the `mock-server` binary, or a floor's read buffer.
fn annotate(line: &mut Value, target: &Target, server: &ServerArgs) {
    match (target, &server.mock_bin) {
        (Target::Mock | Target::MockJournalOff, Some(bin)) => {
            line["server"] = json!(bin.display().to_string());
        }
        (Target::FloorEcho | Target::FloorJson | Target::FloorJsonBatch, _) => {
            line["read_buffer"] = json!(server.floor_read_buffer);
            if server.floor_batch_writes {
                line["batch_writes"] = json!(true);
            }
        }
        _ => {}
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

async fn compare(args: &CompareArgs) -> anyhow::Result<u64> {
    if args.rounds == 0 || args.rounds > 20 {
        bail!("rounds must be 1 to 20");
    }
    let mut lines: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for round in 1..=args.rounds {
        for target in &args.targets {
            let mut line = run_one(target, None, &args.load, &args.server).await?;
            line["round"] = json!(round);
            print_line(&line);
            lines
                .entry(target.name().to_owned())
                .or_default()
                .push(line);
        }
    }
    let figure = |target: &str, pointer: &str| -> Option<f64> {
        median(
            lines
                .get(target)?
                .iter()
                .filter_map(|line| line.pointer(pointer)?.as_f64())
                .collect(),
        )
    };
    let figures = [
        ("p50_us", "/latency_us/p50"),
        ("p90_us", "/latency_us/p90"),
        ("p99_us", "/latency_us/p99"),
        ("p999_us", "/latency_us/p999"),
        ("requests_per_s", "/requests_per_s"),
        ("server_cpu_us_per_request", "/server_cpu_us_per_request"),
    ];
    let mut medians = serde_json::Map::new();
    for (name, pointer) in figures {
        let per_target: serde_json::Map<String, Value> = lines
            .keys()
            .map(|target| (target.clone(), json!(figure(target, pointer).map(round2))))
            .collect();
        medians.insert(name.to_owned(), Value::Object(per_target));
    }
    let mut ratios = serde_json::Map::new();
    // What the mock is held against; the mock without its journal is one, for the journal.
    let floors = [
        "floor-echo",
        "floor-json",
        "floor-json-batch",
        "mock-journal-off",
    ];
    for target in lines.keys().filter(|t| !floors.contains(&t.as_str())) {
        for floor in floors.iter().filter(|f| lines.contains_key(**f)) {
            for (name, pointer) in figures {
                let ratio = match (figure(target, pointer), figure(floor, pointer)) {
                    (Some(a), Some(b)) if b > 0.0 => Some((a / b * 1000.0).round() / 1000.0),
                    _ => None,
                };
                ratios.insert(format!("{target}/{floor} {name}"), json!(ratio));
            }
        }
    }
    // The same ratios taken in each round, then their median: targets of one round ran
    // minutes apart at most, so a slow phase of the machine weighs on both sides of a ratio.
    let mut by_round = serde_json::Map::new();
    for target in lines.keys().filter(|t| !floors.contains(&t.as_str())) {
        for floor in floors.iter().filter(|f| lines.contains_key(**f)) {
            for (name, pointer) in figures {
                let per_round: Vec<f64> = lines[target]
                    .iter()
                    .zip(&lines[*floor])
                    .filter_map(|(a, b)| {
                        let (a, b) = (a.pointer(pointer)?.as_f64()?, b.pointer(pointer)?.as_f64()?);
                        (b > 0.0).then(|| a / b)
                    })
                    .collect();
                let ratio = median(per_round).map(|r| (r * 1000.0).round() / 1000.0);
                by_round.insert(format!("{target}/{floor} {name}"), json!(ratio));
            }
        }
    }
    let errors: u64 = lines
        .values()
        .flatten()
        .filter_map(|line| line.pointer("/errors/total")?.as_u64())
        .sum();
    print_line(&json!({
        "mode": "compare",
        "connections": args.load.connections,
        "depth": args.load.depth,
        "mix": args.load.mix.to_string(),
        "duration_s": args.load.duration.as_secs_f64(),
        "rounds": args.rounds,
        "medians": medians,
        "ratios": ratios,
        "ratios_by_round": by_round,
        "errors": errors,
    }));
    Ok(errors)
}

async fn idle(args: &IdleArgs) -> anyhow::Result<u64> {
    if !(1..=load::MAX_CONNECTIONS).contains(&args.connections) {
        bail!("connections must be 1 to {}", load::MAX_CONNECTIONS);
    }
    if args.hold > Duration::from_secs(600) {
        bail!("hold at most 10 minutes");
    }
    if args.source_addresses > 250 {
        bail!("source addresses must be 0 to 250 (127.0.0.2 to 127.0.0.251)");
    }
    let wanted = args.connections as u64 + 256;
    let limit = procfs::raise_open_files_limit(wanted)?;
    if limit < wanted {
        bail!(
            "the open files limit is {limit}, {wanted} are needed for {} connections \
             (here and in the server): raise the hard limit (ulimit -Hn)",
            args.connections
        );
    }
    let sources: Vec<IpAddr> = (0..args.source_addresses)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
        .collect();
    let process = match &args.target {
        Target::Url(_) => None,
        named => Some(ServerProcess::spawn(named, &args.server)?),
    };
    let (url, pid) = match (&process, &args.target) {
        (Some(process), _) => (process.url.clone(), process.pid()),
        (None, Target::Url(url)) => (
            url.clone(),
            args.server_pid
                .context("a URL target needs --server-pid to read its memory")?,
        ),
        (None, _) => bail!("no server"),
    };
    // One connection opened and closed first, so the baseline has the runtime warmed up.
    let (warm, _) = load::open(&url, 1).await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = procfs::rss_bytes(pid)?;

    let (mut sockets, mut errors) = load::open_from(&url, args.connections, &sources).await;
    let opened = sockets.len();
    let served = ping_each(&mut sockets).await;
    tokio::time::sleep(args.hold).await;
    let after = procfs::rss_bytes(pid)?;
    // Held is not served: each connection answers a ping once more, after the reading.
    let served_after = ping_each(&mut sockets).await;
    errors.bad_reply += (opened - served) as u64 + (opened - served_after) as u64;
    let mib = |bytes: u64| round2(bytes as f64 / (1024.0 * 1024.0));
    let per_connection = after.saturating_sub(before) as f64 / opened.max(1) as f64;
    let mut line = json!({
        "mode": "idle",
        "target": args.target.name(),
        "connections": args.connections,
        "opened": opened,
        "served": served,
        "served_after_hold": served_after,
        "source_addresses": args.source_addresses,
        "server_rss_before_mib": mib(before),
        "server_rss_after_mib": mib(after),
        "server_rss_per_connection_kib": round2(per_connection / 1024.0),
        "errors": errors.total(),
    });
    annotate(&mut line, &args.target, &args.server);
    print_line(&line);
    drop(sockets);
    Ok(errors.total())
}

/// How many of `sockets` answer a `ping` (64 at a time).
async fn ping_each(sockets: &mut [client::Ws]) -> usize {
    futures_util::stream::iter(sockets.iter_mut())
        .map(|ws| async move {
            let reply = tokio::time::timeout(Duration::from_secs(10), client::round_trip(ws, PING));
            matches!(reply.await, Ok(Ok(reply)) if reply.contains(r#""status":200"#) || reply.as_str() == PING)
        })
        .buffer_unordered(64)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let _ = procfs::raise_open_files_limit(load::MAX_CONNECTIONS as u64 + 1024);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (stdin_closed_tx, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    // A plain thread: a blocking read must not hold the runtime open at exit.
    std::thread::spawn(move || {
        let mut buffer = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
        let _ = stdin_closed_tx.send(());
    });
    runtime.block_on(async {
        let mut floor_server = None;
        let mut mock = None;
        let url = match args.target {
            Target::FloorEcho | Target::FloorJson | Target::FloorJsonBatch => {
                let kind = match args.target {
                    Target::FloorEcho => floor::Floor::Echo,
                    Target::FloorJson => floor::Floor::Json,
                    _ => floor::Floor::JsonBatch,
                };
                let settings = floor::Settings::default()
                    .read_buffer_size(args.read_buffer)
                    .batch_writes(args.batch_writes);
                let (url, server) = floor::start_with(kind, settings).await?;
                floor_server = Some(server);
                url
            }
            Target::Mock | Target::MockJournalOff => {
                let bans = BanPolicy {
                    after_refusals: 0,
                    ..BanPolicy::default()
                };
                let account = place_account();
                let mut builder = MockServer::builder();
                if let Some(entries) = args.journal_size {
                    builder = builder.journal_size(entries);
                }
                let server = builder
                    .weight_limit(args.weight_limit)
                    .orders_per_10s(args.orders_limit)
                    .orders_per_day(args.orders_limit)
                    .account(demo::API_KEY, account)
                    .connection_rate_limit(u32::MAX)
                    .max_connections(MOCK_MAX_CONNECTIONS)
                    .ban_policy(bans)
                    .start()
                    .await?;
                let url = server.url();
                mock = Some(server);
                url
            }
            Target::Url(_) => bail!("serve takes floor-echo, floor-json, floor-json-batch or mock"),
        };
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{url}")?;
            out.flush()?;
        }
        tokio::select! {
            _ = stdin_closed => {}
            _ = tokio::time::sleep(args.max_lifetime) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        drop(floor_server);
        drop(mock);
        Ok(())
    })
}
