//! `conformance`: checks a Spot WebSocket API endpoint against the model and the error table,
//! printing one `PASS`/`FAIL`/`SKIP` line per case and `N passed, N failed` at the end.
//! Exit code 0 when nothing failed, 1 on any failure, 2 on bad usage.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use conformance::{catalogue, run, KeyPair, Options, RunError, Target, TargetKeys};

/// Checks a Spot WebSocket API endpoint (/ws-api/v3) against the spec: sessions, signatures,
/// timing, weights, signed account requests and User Data Stream subscriptions.
///
/// Without --target, starts the mock in-process on a frozen clock and runs every case.
#[derive(Parser, Debug)]
#[command(name = "conformance", version)]
struct Args {
    /// The endpoint, e.g. ws://127.0.0.1:9443/ws-api/v3 or
    /// wss://ws-api.testnet.binance.vision/ws-api/v3 (wss needs the `tls` feature).
    #[arg(long)]
    target: Option<String>,
    /// API key of a registered Ed25519 key (default: the mock's demo key).
    #[arg(long, requires = "key")]
    api_key: Option<String>,
    /// Its private key, PKCS#8 PEM (as `openssl genpkey -algorithm ed25519` writes).
    #[arg(long, requires = "api_key")]
    key: Option<PathBuf>,
    /// API key of a second registered Ed25519 key (for re-logon and per-request keys).
    #[arg(long, requires = "key2")]
    api_key2: Option<String>,
    /// Its private key, PKCS#8 PEM.
    #[arg(long, requires = "api_key2")]
    key2: Option<PathBuf>,
    /// The keys belong to one account (they share User Data Stream subscriptions).
    #[arg(long)]
    same_account: bool,
    /// Run only these case IDs (`PREFIX-*` matches a group); repeatable or comma-separated.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    only: Vec<String>,
    /// Skip these case IDs; repeatable or comma-separated.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    skip: Vec<String>,
    /// Sequences per property case (default 48 in-process, 12 against a URL).
    #[arg(long)]
    cases: Option<u32>,
    /// Seed of the generated sequences; a failure names it, and the same seed replays it.
    #[arg(long)]
    seed: Option<u64>,
    /// How many replays shrinking a failure may take (default 256 in-process, 32 otherwise).
    #[arg(long)]
    max_shrink: Option<u32>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Other clients share this IP's request weight: check counts as lower bounds.
    #[arg(long)]
    foreign_weight: bool,
    /// Against a URL, keep timestamps this far (ms) from the timing window's edges.
    #[arg(long, default_value_t = 1500)]
    timing_margin_ms: i64,
    /// List the case IDs and exit.
    #[arg(long)]
    list: bool,
}

fn read_key(api_key: &str, path: &PathBuf) -> anyhow::Result<KeyPair> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    KeyPair::ed25519_from_pem(api_key, &pem).with_context(|| format!("in {}", path.display()))
}

fn keys(args: &Args) -> anyhow::Result<TargetKeys> {
    let mut keys = match (&args.api_key, &args.key) {
        (Some(api_key), Some(path)) => TargetKeys::with_primary(read_key(api_key, path)?),
        _ => TargetKeys::demo(),
    };
    if let (Some(api_key), Some(path)) = (&args.api_key2, &args.key2) {
        keys.secondary = Some(read_key(api_key, path)?);
    }
    keys.same_account = args.same_account;
    Ok(keys)
}

fn random_seed() -> u64 {
    use std::hash::BuildHasher as _;
    // Std's per-process random hash keys: a fresh value every run, printed to replay it.
    // 48 bits, so the seed stays short to type and exact in any JSON reader.
    std::hash::RandomState::new().hash_one(std::process::id()) >> 16
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        let mut stdout = std::io::stdout().lock();
        for case in catalogue() {
            // A reader that has seen enough (`conformance --list | head`) ends the list.
            if writeln!(stdout, "{:<48} {}  [{}]", case.id, case.title, case.basis).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    match main_with(args).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("conformance: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn main_with(args: Args) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "tls")]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target = match &args.target {
        Some(url) => Target::remote(url, keys(&args)?),
        None => Target::in_process()
            .await
            .context("the in-process mock did not start")?,
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut options = Options::default()
        .seed(seed)
        .only(args.only.clone())
        .skip(args.skip.clone())
        .foreign_weight(args.foreign_weight);
    options.timing_margin_ms = args.timing_margin_ms;
    if let Some(cases) = args.cases {
        options = options.cases(cases);
    }
    if let Some(iters) = args.max_shrink {
        options = options.max_shrink_iters(iters);
    }
    let clock = if target.is_frozen() {
        "in-process mock, frozen clock"
    } else {
        "live clock"
    };
    println!("conformance: {} ({clock}), seed {seed}", target.url());
    let report = match run(&target, &options, |result| println!("{}", result.line())).await {
        Ok(report) => report,
        Err(error @ RunError::UnknownCase(_)) => return Err(error.into()),
        Err(error) => {
            println!("FAIL  PREFLIGHT  {error}");
            println!("0 passed, 1 failed");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(path) = &args.junit {
        let xml = report
            .junit_xml()
            .context("cannot write the JUnit report")?;
        std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.skipped() > 0 {
        println!("{} skipped", report.skipped());
    }
    println!("{}", report.summary());
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
