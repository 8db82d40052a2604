//! `mock-server`: runs the mock from the command line.
//!
//! ```text
//! cargo run --release -p mock-server -- --listen 127.0.0.1:0 --key MyKey=pub.pem
//! ```
//!
//! The first line on stdout holds the `ws://…/ws-api/v3` URL; logs go to stderr. Settings
//! come from `--config FILE.toml`, then the flags, which win. A bad flag or an unreadable key
//! exits with code 2 and one line on stderr.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use clap::Parser;
use mock_server::{
    demo, ed25519_public_key_from_pem, rsa_public_key_from_pem, Account, Balance, Config,
    KeyRegistry, MockServer, Permissions,
};
use serde::Deserialize;

/// The address `cargo run -p mock-server` listens on when given none.
const DEFAULT_LISTEN: &str = "127.0.0.1:9443";

/// A mock of the Binance Spot WebSocket API (/ws-api/v3) for testing clients offline.
#[derive(Debug, Parser)]
#[command(name = "mock-server", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:9443]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Register an Ed25519 key: API key name and a public key PEM file (`openssl pkey -pubout`). Repeatable.
    #[arg(long = "key", value_name = "API_KEY=PATH", value_parser = parse_assignment)]
    keys: Vec<(String, String)>,
    /// Register an RSA key: API key name and a public key PEM file (`openssl pkey -pubout`). Repeatable.
    #[arg(long = "rsa-key", value_name = "API_KEY=PATH", value_parser = parse_assignment)]
    rsa_keys: Vec<(String, String)>,
    /// A key's permissions, replacing its default USER_DATA,USER_STREAM: e.g. MyKey=USER_DATA,TRADE. Repeatable.
    #[arg(long = "permissions", value_name = "API_KEY=P,P,...", value_parser = parse_assignment)]
    permissions: Vec<(String, String)>,
    /// The account a key belongs to (keys of one account share its fixture and events). Repeatable.
    #[arg(long = "account", value_name = "API_KEY=ACCOUNT", value_parser = parse_assignment)]
    accounts: Vec<(String, String)>,
    /// Register an HMAC-SHA256 key: API key name and secret. Repeatable.
    #[arg(long = "hmac-key", value_name = "API_KEY=SECRET", value_parser = parse_assignment)]
    hmac_keys: Vec<(String, String)>,
    /// Read settings from a TOML file; flags given here win over it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Do not register the built-in demo key.
    #[arg(long)]
    no_demo_key: bool,
    /// REQUEST_WEIGHT allowed per IP per minute [default: 6000]
    #[arg(long, value_name = "N")]
    weight_limit: Option<u32>,
    /// Interval between server pings, e.g. 20s [default: 20s]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    ping_interval: Option<Duration>,
    /// Disconnect when a ping is unanswered this long [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pong_timeout: Option<Duration>,
    /// Close connections after this long [default: 24h]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    max_lifetime: Option<Duration>,
    /// Accept only signatures over the raw payload, as Binance does [the default; kept so that
    /// older command lines still run]
    #[arg(long, conflicts_with = "lenient_signing")]
    strict_signing: bool,
    /// Also accept signatures over the percent-encoded payload some connectors sign (Binance
    /// refuses them with -1022)
    #[arg(long)]
    lenient_signing: bool,
    /// New connections allowed per IP per 5 minutes [default: 300]
    #[arg(long, value_name = "N")]
    connection_rate_limit: Option<u32>,
    /// Connections open at once, from all IPs [default: 10000]
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Ban an IP after this many 429s in one minute; 0 disables bans [default: 10]
    #[arg(long, value_name = "N")]
    ban_after: Option<u32>,
    /// Durations of successive bans of an IP, the last repeating [default: 2m,10m,30m,1h,6h,1d,3d]
    #[arg(long, value_name = "D,D,...", value_parser = parse_durations)]
    ban_durations: Option<DurationList>,
    /// How long clients may stay after serverShutdown [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    shutdown_grace: Option<Duration>,
    /// Largest message accepted, in bytes [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// Log level or filter, e.g. info, debug, mock_server=trace [default: info]
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

/// The `--config` file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    listen: Option<SocketAddr>,
    demo_key: Option<bool>,
    weight_limit: Option<u32>,
    #[serde(default, with = "humantime_option")]
    ping_interval: Option<Duration>,
    #[serde(default, with = "humantime_option")]
    pong_timeout: Option<Duration>,
    #[serde(default, with = "humantime_option")]
    max_lifetime: Option<Duration>,
    strict_signing: Option<bool>,
    lenient_signing: Option<bool>,
    connection_rate_limit: Option<u32>,
    max_connections: Option<usize>,
    ban_after: Option<u32>,
    ban_durations: Option<Vec<String>>,
    #[serde(default, with = "humantime_option")]
    shutdown_grace: Option<Duration>,
    max_message_size: Option<usize>,
    log_level: Option<String>,
    /// API key name → Ed25519 public key PEM path (relative to the config file).
    #[serde(default)]
    keys: BTreeMap<String, PathBuf>,
    /// API key name → HMAC secret.
    #[serde(default)]
    hmac_keys: BTreeMap<String, String>,
    /// API key name → RSA public key PEM path (relative to the config file).
    #[serde(default)]
    rsa_keys: BTreeMap<String, PathBuf>,
    /// API key name → its permissions and account.
    #[serde(default)]
    key_options: BTreeMap<String, KeyOptions>,
    /// Account name → its fixture.
    #[serde(default)]
    accounts: BTreeMap<String, AccountSettings>,
}

/// `[key-options.NAME]`: a key's permissions and account.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KeyOptions {
    permissions: Option<Vec<String>>,
    account: Option<String>,
}

/// `[accounts.NAME]`: an account's fixture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AccountSettings {
    uid: Option<u64>,
    #[serde(default)]
    balances: Vec<BalanceSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceSettings {
    asset: String,
    free: String,
    #[serde(default = "zero")]
    locked: String,
}

fn zero() -> String {
    "0.00000000".to_owned()
}

mod humantime_option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| humantime::parse_duration(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A comma-separated list of durations, one flag value: a type of its own, because clap reads
/// an `Option<Vec<_>>` field as a flag given many times, each value one element.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DurationList(Vec<Duration>);

fn parse_durations(text: &str) -> Result<DurationList, String> {
    let durations = text
        .split(',')
        .map(|part| humantime::parse_duration(part.trim()).map_err(|e| format!("{part:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if durations.iter().any(Duration::is_zero) {
        return Err("ban durations must be longer than zero".to_owned());
    }
    Ok(DurationList(durations))
}

/// The levels `--log-level` takes on its own; anything else must be a filter directive such
/// as `mock_server=debug`, since a bare unknown word would silently become a target name.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// The log filter for `text`.
///
/// # Errors
/// A bare word that is no level, an empty text, or a directive the filter syntax refuses.
fn log_filter(text: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    let usage = "error, warn, info, debug, trace, off, or a filter such as mock_server=debug";
    let directives: Vec<&str> = text.split(',').map(str::trim).collect();
    if directives.iter().all(|d| d.is_empty()) {
        return Err(format!("empty log level (expected {usage})"));
    }
    if let Some(bad) = directives.iter().find(|d| {
        !d.contains('=')
            && !d.contains('[')
            && !LOG_LEVELS.contains(&d.to_ascii_lowercase().as_str())
    }) {
        return Err(format!("unknown log level {bad:?} (expected {usage})"));
    }
    tracing_subscriber::EnvFilter::try_new(text)
        .map_err(|error| format!("invalid log level {text:?}: {error}"))
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected API_KEY=VALUE, got {text:?}")),
    }
}

/// Everything the server needs, merged from the file and the flags.
struct Settings {
    listen: SocketAddr,
    config: Config,
    demo_key: bool,
    ed25519_keys: Vec<(String, PathBuf)>,
    rsa_keys: Vec<(String, PathBuf)>,
    hmac_keys: Vec<(String, String)>,
    key_options: BTreeMap<String, KeyOptions>,
    accounts: BTreeMap<String, AccountSettings>,
    log_level: String,
}

fn settings(args: Args) -> anyhow::Result<Settings> {
    let (file, base) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            let file: FileSettings = toml::from_str(&text)
                .map_err(|e| anyhow!("config file {}: {}", path.display(), e.message()))?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (file, base)
        }
        None => (FileSettings::default(), PathBuf::new()),
    };
    let defaults = Config::default();
    let mut config = Config::default();
    config.weight_limit = args
        .weight_limit
        .or(file.weight_limit)
        .unwrap_or(defaults.weight_limit);
    config.ping_interval = args
        .ping_interval
        .or(file.ping_interval)
        .unwrap_or(defaults.ping_interval);
    config.pong_timeout = args
        .pong_timeout
        .or(file.pong_timeout)
        .unwrap_or(defaults.pong_timeout);
    config.max_lifetime = args
        .max_lifetime
        .or(file.max_lifetime)
        .unwrap_or(defaults.max_lifetime);
    config.lenient_signing = if args.strict_signing {
        false
    } else if args.lenient_signing {
        true
    } else {
        match (file.lenient_signing, file.strict_signing) {
            (Some(lenient), Some(strict)) if lenient == strict => bail!(
                "config file: lenient-signing = {lenient} contradicts strict-signing = {strict}"
            ),
            (Some(lenient), _) => lenient,
            (None, Some(strict)) => !strict,
            (None, None) => defaults.lenient_signing,
        }
    };
    config.connection_rate_limit = args
        .connection_rate_limit
        .or(file.connection_rate_limit)
        .unwrap_or(defaults.connection_rate_limit);
    config.max_connections = args
        .max_connections
        .or(file.max_connections)
        .unwrap_or(defaults.max_connections);
    config.bans.after_refusals = args
        .ban_after
        .or(file.ban_after)
        .unwrap_or(defaults.bans.after_refusals);
    let file_ban_durations = match file.ban_durations {
        Some(list) => Some(
            parse_durations(&list.join(","))
                .map_err(|e| anyhow!("config file: ban-durations: {e}"))?,
        ),
        None => None,
    };
    if let Some(DurationList(durations)) = args.ban_durations.or(file_ban_durations) {
        config.bans.durations = durations;
    }
    config.shutdown_grace = args
        .shutdown_grace
        .or(file.shutdown_grace)
        .unwrap_or(defaults.shutdown_grace);
    config.max_message_size = args
        .max_message_size
        .or(file.max_message_size)
        .unwrap_or(defaults.max_message_size);
    if config.max_message_size < 256 {
        bail!("the max message size must be at least 256 bytes");
    }
    for (name, value) in [
        ("ping interval", config.ping_interval),
        ("pong timeout", config.pong_timeout),
        ("max lifetime", config.max_lifetime),
    ] {
        if value.is_zero() {
            bail!("the {name} must be longer than zero");
        }
    }
    let listen = match args.listen.or(file.listen) {
        Some(listen) => listen,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let mut ed25519_keys: Vec<(String, PathBuf)> = file
        .keys
        .into_iter()
        .map(|(name, path)| (name, base.join(path)))
        .collect();
    ed25519_keys.extend(
        args.keys
            .into_iter()
            .map(|(name, path)| (name, PathBuf::from(path))),
    );
    let mut rsa_keys: Vec<(String, PathBuf)> = file
        .rsa_keys
        .into_iter()
        .map(|(name, path)| (name, base.join(path)))
        .collect();
    rsa_keys.extend(
        args.rsa_keys
            .into_iter()
            .map(|(name, path)| (name, PathBuf::from(path))),
    );
    let mut hmac_keys: Vec<(String, String)> = file.hmac_keys.into_iter().collect();
    hmac_keys.extend(args.hmac_keys);
    Ok(Settings {
        listen,
        config,
        demo_key: !args.no_demo_key && file.demo_key.unwrap_or(true),
        ed25519_keys,
        rsa_keys,
        hmac_keys,
        key_options: {
            let mut options = file.key_options;
            for (name, list) in args.permissions {
                options.entry(name).or_default().permissions =
                    Some(list.split(',').map(|p| p.trim().to_owned()).collect());
            }
            for (name, account) in args.accounts {
                options.entry(name).or_default().account = Some(account);
            }
            options
        },
        accounts: file.accounts,
        log_level: args
            .log_level
            .or(file.log_level)
            .unwrap_or_else(|| "info".to_owned()),
    })
}

impl Settings {
    /// Whether the built-in demo key will be registered: asked for, and not replaced by a key
    /// given under its name.
    fn demo_key_active(&self) -> bool {
        let replaced = self
            .ed25519_keys
            .iter()
            .chain(&self.rsa_keys)
            .map(|(name, _)| name)
            .chain(self.hmac_keys.iter().map(|(name, _)| name))
            .any(|name| name == demo::API_KEY);
        self.demo_key && !replaced
    }
}

async fn start(settings: &Settings) -> anyhow::Result<MockServer> {
    let mut builder = MockServer::builder()
        .listen(settings.listen)
        .config(settings.config.clone());
    if settings.demo_key {
        // Registered first, so that a key given under its name replaces it and
        // `--permissions` or `[key-options]` may name it.
        builder = builder.with_keys(KeyRegistry::add_demo_key);
    } else {
        builder = builder.without_demo_key();
    }
    for (name, path) in &settings.ed25519_keys {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("key {name}: cannot read {}", path.display()))?;
        let key = ed25519_public_key_from_pem(&pem)
            .with_context(|| format!("key {name}: {}", path.display()))?;
        builder = builder.ed25519_key(name, key);
    }
    for (name, path) in &settings.rsa_keys {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("key {name}: cannot read {}", path.display()))?;
        let key = rsa_public_key_from_pem(&pem)
            .with_context(|| format!("key {name}: {}", path.display()))?;
        builder = builder.rsa_key(name, key);
    }
    for (name, secret) in &settings.hmac_keys {
        builder = builder.hmac_key(name, secret.as_bytes());
    }
    let mut option_errors = Vec::new();
    builder = builder.with_keys(|keys| {
        for (name, options) in &settings.key_options {
            let Some(key) = keys.get_mut(name) else {
                option_errors.push(format!("options for {name}: no key {name} is registered"));
                continue;
            };
            if let Some(names) = &options.permissions {
                match Permissions::from_names(names.iter().map(String::as_str)) {
                    Ok(permissions) => key.permissions = permissions,
                    Err(bad) => option_errors.push(format!(
                        "permissions of {name}: unknown permission {bad:?} (USER_DATA, USER_STREAM, TRADE)"
                    )),
                }
            }
            if let Some(account) = &options.account {
                key.account.clone_from(account);
            }
        }
    });
    if let Some(error) = option_errors.into_iter().next() {
        bail!("{error}");
    }
    for (name, settings) in &settings.accounts {
        let mut account = Account::fixture(name);
        if let Some(uid) = settings.uid {
            account.uid = uid;
        }
        if !settings.balances.is_empty() {
            account.balances = settings
                .balances
                .iter()
                .map(|b| Balance::new(&b.asset, &b.free, &b.locked))
                .collect();
        }
        builder = builder.account(name, account);
    }
    // `StartError`'s message already holds the operating system's reason: printed as a
    // chain, it would say "Address already in use" twice.
    builder.start().await.map_err(|error| anyhow!("{error}"))
}

/// Ctrl-C and SIGTERM as one stream, listened to from startup on so that none is missed: the
/// first asks for a graceful shutdown, a second one cuts its grace short.
struct ShutdownSignals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl ShutdownSignals {
    /// Starts listening; must run inside the runtime.
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let unix = signal(SignalKind::interrupt())
                .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                .ok();
            ShutdownSignals { unix }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// Waits for the next signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.unix {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The exit code after a second signal ends the shutdown grace: 128 + SIGINT, as shells
/// report an interrupted program.
const INTERRUPTED: u8 = 130;

/// Parses the command line. Help and version go to stdout with exit code 0; a usage error
/// is one line on stderr and exit code 2.
fn parse_args() -> Result<Args, ExitCode> {
    match Args::try_parse() {
        Ok(args) => Ok(args),
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            Err(ExitCode::SUCCESS)
        }
        Err(error) => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("mock-server: {first} (see --help)");
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let settings = match settings(args) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("mock-server: {error:#}");
            return ExitCode::from(2);
        }
    };
    let filter = match log_filter(&settings.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("mock-server: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mock-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let mut signals = ShutdownSignals::listen();
        let server = match start(&settings).await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("mock-server: {error:#}");
                return ExitCode::from(2);
            }
        };
        let demo_key = settings.demo_key_active();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "mock-server listening on {}", server.url());
        if demo_key {
            let _ = writeln!(stdout, "demo API key: {}", demo::API_KEY);
        }
        let _ = stdout.flush();
        drop(stdout);
        if demo_key && !server.address().ip().is_loopback() {
            tracing::warn!(
                "listening on {}, not a loopback address, with the public demo key registered: \
                 anyone who reaches this address can log on with it (--no-demo-key turns it off)",
                server.address()
            );
        }
        signals.next().await;
        tracing::info!("shutting down (a second Ctrl-C exits at once)");
        tokio::select! {
            () = server.shutdown() => ExitCode::SUCCESS,
            () = signals.next() => {
                tracing::warn!("second signal: exiting without waiting for connections");
                ExitCode::from(INTERRUPTED)
            }
        }
    })
}
