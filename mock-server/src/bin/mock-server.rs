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

/// The log level when given none.
const DEFAULT_LOG_LEVEL: &str = "info";

/// A mock of the Binance Spot WebSocket API (/ws-api/v3) for testing clients offline.
#[derive(Debug, Parser)]
#[command(name = "mock-server", version, about)]
struct Args {
    #[arg(long, value_name = "ADDR", value_parser = resolve_listen)]
    #[arg(help = with_default(
        "Address to listen on (IP:PORT or HOST:PORT); port 0 picks a free port",
        DEFAULT_LISTEN,
    ))]
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
    #[command(flatten)]
    server: ConfigFlags,
    #[arg(long, value_name = "LEVEL")]
    #[arg(help = with_default(
        "Log level or filter, e.g. info, debug, mock_server=trace",
        DEFAULT_LOG_LEVEL,
    ))]
    log_level: Option<String>,
}

/// The flags that set a [`Config`] field, each named as the field's key in the config file.
/// A flag left out leaves the file's value, or the default, in place. The help shows
/// [`Config::default`]'s values, so that no default is written twice.
#[derive(Debug, clap::Args)]
struct ConfigFlags {
    #[arg(long, value_name = "N")]
    #[arg(help = with_default(
        "REQUEST_WEIGHT allowed per IP per minute",
        Config::default().weight_limit,
    ))]
    weight_limit: Option<u32>,
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[arg(help = with_default(
        "Interval between server pings, e.g. 20s",
        duration(Config::default().ping_interval),
    ))]
    ping_interval: Option<Duration>,
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[arg(help = with_default(
        "Disconnect when a ping is unanswered this long",
        duration(Config::default().pong_timeout),
    ))]
    pong_timeout: Option<Duration>,
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[arg(help = with_default(
        "Close connections after this long",
        duration(Config::default().max_lifetime),
    ))]
    max_lifetime: Option<Duration>,
    /// Accept only signatures over the raw payload, as Binance does [the default; kept so that
    /// older command lines still run]
    #[arg(long, conflicts_with = "lenient_signing")]
    strict_signing: bool,
    /// Also accept signatures over the percent-encoded payload some connectors sign (Binance
    /// refuses them with -1022)
    #[arg(long)]
    lenient_signing: bool,
    /// Send the events an order request causes on its own connection before its reply (by
    /// default the reply goes first)
    #[arg(long)]
    events_before_reply: bool,
    #[arg(long, value_name = "N")]
    #[arg(help = with_default(
        "New connections allowed per IP per 5 minutes",
        Config::default().connection_rate_limit,
    ))]
    connection_rate_limit: Option<u32>,
    #[arg(long, value_name = "N")]
    #[arg(help = with_default(
        "Connections open at once, from all IPs",
        Config::default().max_connections,
    ))]
    max_connections: Option<usize>,
    #[arg(long, value_name = "N")]
    #[arg(help = with_default(
        "Ban an IP after this many 429s in one minute; 0 disables bans",
        Config::default().bans.after_refusals,
    ))]
    ban_after: Option<u32>,
    #[arg(long, value_name = "D,D,...", value_parser = parse_durations)]
    #[arg(help = with_default(
        "Durations of successive bans of an IP, the last repeating",
        durations(&Config::default().bans.durations),
    ))]
    ban_durations: Option<DurationList>,
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[arg(help = with_default(
        "How long clients may stay after serverShutdown",
        duration(Config::default().shutdown_grace),
    ))]
    shutdown_grace: Option<Duration>,
    #[arg(long, value_name = "BYTES")]
    #[arg(help = with_default(
        "Largest message accepted, in bytes",
        Config::default().max_message_size,
    ))]
    max_message_size: Option<usize>,
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[arg(help = with_default(
        "Disconnect a client that takes longer than this to accept one frame",
        duration(Config::default().write_timeout),
    ))]
    write_timeout: Option<Duration>,
    #[arg(long, value_name = "N")]
    #[arg(help = with_default(
        "Pushed User Data Stream events that may wait for one connection before it is closed",
        Config::default().event_queue,
    ))]
    event_queue: Option<usize>,
    /// Turn the control plane (/__admin/*) off, on every address
    #[arg(long, conflicts_with = "admin_token")]
    no_admin: bool,
    /// Require `Authorization: Bearer TOKEN` on every control-plane call; also turns the
    /// control plane on off loopback (it is on by default on loopback only)
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    #[arg(long, value_name = "N")]
    #[arg(help = with_default(
        "Requests the journal (GET /__admin/requests) keeps; 0 keeps none",
        Config::default().journal_size,
    ))]
    journal_size: Option<usize>,
    #[arg(long = "orders-per-10s", value_name = "N")]
    #[arg(help = with_default(
        "ORDERS: new orders per account per 10 seconds; past it order.place gets -1015",
        Config::default().orders_per_10s,
    ))]
    orders_per_10s: Option<u32>,
    #[arg(long = "orders-per-day", value_name = "N")]
    #[arg(help = with_default(
        "ORDERS: new orders per account per UTC day",
        Config::default().orders_per_day,
    ))]
    orders_per_day: Option<u32>,
}

/// A flag's help: `text`, then the default it leaves in place (clap shows a default only
/// for a flag that always has a value, and these must tell whether they were given).
fn with_default(text: &str, default: impl std::fmt::Display) -> String {
    format!("{text} [default: {default}]")
}

fn duration(value: Duration) -> String {
    humantime::format_duration(value).to_string()
}

fn durations(values: &[Duration]) -> String {
    let texts: Vec<String> = values.iter().copied().map(duration).collect();
    texts.join(",")
}

impl ConfigFlags {
    /// Writes each flag given into `config`, where it replaces the file's value.
    fn apply(self, config: &mut Config) {
        fn set<T>(field: &mut T, flag: Option<T>) {
            if let Some(value) = flag {
                *field = value;
            }
        }
        // Destructured, so that a flag added above and forgotten here does not compile.
        let ConfigFlags {
            weight_limit,
            ping_interval,
            pong_timeout,
            max_lifetime,
            strict_signing,
            lenient_signing,
            events_before_reply,
            connection_rate_limit,
            max_connections,
            ban_after,
            ban_durations,
            shutdown_grace,
            max_message_size,
            write_timeout,
            event_queue,
            no_admin,
            admin_token,
            journal_size,
            orders_per_10s,
            orders_per_day,
        } = self;
        set(&mut config.weight_limit, weight_limit);
        set(&mut config.ping_interval, ping_interval);
        set(&mut config.pong_timeout, pong_timeout);
        set(&mut config.max_lifetime, max_lifetime);
        // `--lenient-signing` sets it, `--strict-signing` clears it (clap refuses the two).
        set(
            &mut config.lenient_signing,
            (strict_signing || lenient_signing).then_some(lenient_signing),
        );
        set(
            &mut config.events_before_reply,
            events_before_reply.then_some(true),
        );
        set(&mut config.connection_rate_limit, connection_rate_limit);
        set(&mut config.max_connections, max_connections);
        set(&mut config.bans.after_refusals, ban_after);
        set(&mut config.bans.durations, ban_durations.map(|list| list.0));
        set(&mut config.shutdown_grace, shutdown_grace);
        set(&mut config.max_message_size, max_message_size);
        set(&mut config.write_timeout, write_timeout);
        set(&mut config.event_queue, event_queue);
        set(&mut config.admin, no_admin.then_some(Some(false)));
        set(&mut config.admin_token, admin_token.map(Some));
        set(&mut config.journal_size, journal_size);
        set(&mut config.orders_per_10s, orders_per_10s);
        set(&mut config.orders_per_day, orders_per_day);
    }
}

/// The `--config` file: every [`Config`] key, under the flag's name, and the settings only
/// the binary has (the listen address, keys, accounts, logging).
///
/// Unknown keys are refused, though this struct cannot say `deny_unknown_fields` (serde does
/// not combine it with `flatten`): every key not named here goes to [`Config`], which refuses
/// the keys it does not know, by name.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileSettings {
    listen: Option<String>,
    demo_key: Option<bool>,
    log_level: Option<String>,
    /// The opposite of `lenient-signing`, still read so that files written for the older
    /// `--strict-signing` keep working.
    strict_signing: Option<bool>,
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
    /// The server's settings: the file's other keys.
    #[serde(flatten)]
    config: Config,
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

/// A comma-separated list of durations, one flag value: a type of its own, because clap reads
/// an `Option<Vec<_>>` field as a flag given many times, each value one element.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DurationList(Vec<Duration>);

fn parse_durations(text: &str) -> Result<DurationList, String> {
    text.split(',')
        .map(|part| humantime::parse_duration(part.trim()).map_err(|e| format!("{part:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()
        .map(DurationList)
}

/// Refuses the settings the server cannot run with, wherever they came from.
fn check(config: &Config) -> anyhow::Result<()> {
    if config.max_message_size < 256 {
        bail!("the max message size must be at least 256 bytes");
    }
    for (name, value) in [
        ("ping interval", config.ping_interval),
        ("pong timeout", config.pong_timeout),
        ("max lifetime", config.max_lifetime),
        ("write timeout", config.write_timeout),
    ] {
        if value.is_zero() {
            bail!("the {name} must be longer than zero");
        }
    }
    if config.bans.durations.is_empty() || config.bans.durations.iter().any(Duration::is_zero) {
        bail!("ban durations must be given, each longer than zero");
    }
    if config.event_queue == 0 {
        bail!("the event queue must hold at least one event");
    }
    Ok(())
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

/// The public key of API key `name` in the PEM file at `path`.
fn read_key<K>(
    name: &str,
    path: &Path,
    parse: impl Fn(&str) -> Result<K, mock_server::KeyError>,
) -> anyhow::Result<K> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("key {name}: cannot read {}", path.display()))?;
    parse(&pem).with_context(|| format!("key {name}: {}", path.display()))
}

/// A listen address: `IP:PORT`, or `HOST:PORT` resolved to its first address (so that
/// whether the control plane is on by default follows the address the name stands for).
fn resolve_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    text.to_socket_addrs()
        .map_err(|e| format!("{text:?} is not an address to listen on: {e}"))?
        .next()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
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

/// Reads the `--config` file, if any: its settings and the folder its paths are relative to.
fn read_file(path: Option<&Path>) -> anyhow::Result<(FileSettings, PathBuf)> {
    let Some(path) = path else {
        return Ok((FileSettings::default(), PathBuf::new()));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let file =
        FileSettings::parse(&text).with_context(|| format!("config file {}", path.display()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((file, base))
}

impl FileSettings {
    /// The settings `text` holds, in the TOML of a `--config` file.
    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut file: FileSettings =
            toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        if let Some(strict) = file.strict_signing {
            if strict && file.config.lenient_signing {
                bail!("lenient-signing = true contradicts strict-signing = true");
            }
            file.config.lenient_signing = !strict;
        }
        Ok(file)
    }
}

/// Merges the file's settings (its paths relative to `base`) and the flags, which win.
fn settings(args: Args, file: FileSettings, base: &Path) -> anyhow::Result<Settings> {
    let mut config = file.config;
    args.server.apply(&mut config);
    check(&config)?;
    let listen = match (args.listen, file.listen) {
        (Some(listen), _) => listen,
        (None, Some(listen)) => resolve_listen(&listen).map_err(|e| anyhow!("listen: {e}"))?,
        (None, None) => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    // The file's key paths are relative to the file; the flags', to the working directory.
    let key_files = |from_file: BTreeMap<String, PathBuf>, from_flags: Vec<(String, String)>| {
        let from_file = from_file
            .into_iter()
            .map(|(name, path)| (name, base.join(path)));
        let from_flags = from_flags
            .into_iter()
            .map(|(name, path)| (name, PathBuf::from(path)));
        from_file.chain(from_flags).collect::<Vec<_>>()
    };
    let ed25519_keys = key_files(file.keys, args.keys);
    let rsa_keys = key_files(file.rsa_keys, args.rsa_keys);
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
            .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned()),
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
        builder = builder.ed25519_key(name, read_key(name, path, ed25519_public_key_from_pem)?);
    }
    for (name, path) in &settings.rsa_keys {
        builder = builder.rsa_key(name, read_key(name, path, rsa_public_key_from_pem)?);
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
    let settings = match read_file(args.config.as_deref())
        .and_then(|(file, base)| settings(args, file, &base))
    {
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
        if server.admin_enabled() {
            let _ = writeln!(stdout, "control plane: {}", server.admin_url());
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory as _;

    use super::*;

    /// The [`Config`] keys set by a switch rather than a flag with a value, tested on their
    /// own: `lenient-signing`, `events-before-reply` and `admin` (`--no-admin`).
    /// `admin-token` is never written out.
    const SWITCHES: [&str; 3] = ["lenient-signing", "events-before-reply", "admin"];

    /// The [`Config`] keys only a config file sets: a list of tables has no flag form.
    const FILE_ONLY: [&str; 1] = ["symbols"];

    /// For every other [`Config`] key: a value for the file and one for the flag, each
    /// unlike the default and unlike each other.
    const SAMPLES: [(&str, &str, &str); 15] = [
        ("weight-limit", "7", "8"),
        ("ping-interval", "\"7s\"", "8s"),
        ("pong-timeout", "\"7s\"", "8s"),
        ("max-lifetime", "\"7m\"", "8m"),
        ("connection-rate-limit", "7", "8"),
        ("max-connections", "7", "8"),
        ("ban-after", "7", "8"),
        ("ban-durations", "[\"7s\", \"7m\"]", "8s,8m"),
        ("shutdown-grace", "\"7s\"", "8s"),
        ("max-message-size", "7000", "8000"),
        ("write-timeout", "\"7s\"", "8s"),
        ("event-queue", "7", "8"),
        ("journal-size", "7", "8"),
        ("orders-per-10s", "7", "8"),
        ("orders-per-day", "7", "8"),
    ];

    /// The keys of [`Config`]'s file form.
    fn config_keys() -> BTreeSet<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(keys)) => keys.keys().cloned().collect(),
            other => panic!("a Config serializes as a map: {other:?}"),
        }
    }

    /// The keys whose values in `config` differ from the default's.
    fn changed(config: &Config) -> Vec<String> {
        let value = |c: &Config| serde_json::to_value(c).expect("serializes");
        let (ours, default) = (value(config), value(&Config::default()));
        config_keys()
            .into_iter()
            .filter(|key| ours[key] != default[key])
            .collect()
    }

    /// The [`Config`] that `flags` and a config file holding `file` give.
    fn config(flags: &[&str], file: &str) -> anyhow::Result<Config> {
        let args =
            Args::try_parse_from(std::iter::once("mock-server").chain(flags.iter().copied()))?;
        let file = FileSettings::parse(file)?;
        Ok(settings(args, file, Path::new(""))?.config)
    }

    #[test]
    fn every_config_key_is_read_from_the_file_and_from_its_flag_and_the_flag_wins() {
        let sampled: BTreeSet<String> = SAMPLES.iter().map(|(key, ..)| key.to_string()).collect();
        let mut expected = config_keys();
        for switch in SWITCHES.iter().chain(&FILE_ONLY) {
            expected.remove(*switch);
        }
        assert_eq!(sampled, expected, "SAMPLES must cover every Config key");
        for (key, file_value, flag_value) in SAMPLES {
            let file = format!("{key} = {file_value}\n");
            let flag = format!("--{key}");
            let from_file = config(&[], &file).expect("the file is read");
            assert_eq!(changed(&from_file), [key], "{file}");
            let from_flag = config(&[&flag, flag_value], "").expect("the flag is read");
            assert_eq!(changed(&from_flag), [key], "{flag} {flag_value}");
            assert_ne!(from_file, from_flag, "{key}: the samples differ");
            let both = config(&[&flag, flag_value], &file).expect("both are read");
            assert_eq!(both, from_flag, "{key}: the flag wins");
        }
    }

    #[test]
    fn events_follow_the_reply_unless_file_or_flag_puts_them_first() {
        let first =
            |flags: &[&str], file: &str| config(flags, file).expect("read").events_before_reply;
        assert!(!first(&[], ""));
        assert!(first(&[], "events-before-reply = true"));
        assert!(first(&["--events-before-reply"], ""));
        assert!(first(
            &["--events-before-reply"],
            "events-before-reply = false"
        ));
    }

    #[test]
    fn signing_is_raw_only_unless_file_or_flag_makes_it_lenient_and_the_flag_wins() {
        let lenient =
            |flags: &[&str], file: &str| config(flags, file).expect("read").lenient_signing;
        assert!(!lenient(&[], ""));
        assert!(lenient(&[], "lenient-signing = true"));
        assert!(lenient(&[], "strict-signing = false"));
        assert!(!lenient(&[], "strict-signing = true"));
        assert!(lenient(&["--lenient-signing"], ""));
        assert!(!lenient(&["--strict-signing"], "lenient-signing = true"));
        assert!(lenient(&["--lenient-signing"], "strict-signing = true"));
    }

    #[test]
    fn the_control_plane_is_set_from_file_or_flags_and_the_flags_win() {
        let read = |flags: &[&str], file: &str| config(flags, file).expect("read");
        let default = read(&[], "");
        assert_eq!((default.admin, default.admin_token), (None, None));
        assert_eq!(read(&[], "admin = false").admin, Some(false));
        assert_eq!(read(&["--no-admin"], "").admin, Some(false));
        assert_eq!(read(&["--no-admin"], "admin = true").admin, Some(false));
        let token = read(&["--admin-token", "flag"], "admin-token = \"file\"");
        assert_eq!(token.admin_token.as_deref(), Some("flag"));
        let from_file = read(&[], "admin-token = \"file\"");
        assert_eq!(from_file.admin_token.as_deref(), Some("file"));
        // A token is a secret: the config's written form never holds it.
        let written = serde_json::to_string(&token).expect("serializes");
        assert!(!written.contains("flag"), "{written}");
    }

    #[test]
    fn an_unknown_key_is_refused_by_name_beside_the_binarys_own_and_the_configs() {
        for (file, unknown) in [
            (
                "listen = \"127.0.0.1:0\"\nlisten-address = \"127.0.0.1:0\"\n",
                "listen-address",
            ),
            ("weight-limit = 5\nweight_limit = 5\n", "weight_limit"),
            ("[keys]\n\n[key]\nX = \"x.pem\"\n", "key"),
            ("[key-options.X]\npermission = [\"TRADE\"]\n", "permission"),
        ] {
            let error = FileSettings::parse(file).expect_err("refused");
            let message = format!("{error:#}");
            assert!(
                message.contains(&format!("`{unknown}`")),
                "{file}: {message}"
            );
        }
    }

    #[test]
    fn the_help_shows_the_defaults_of_config() {
        let help = Args::command().render_help().to_string();
        let shown = |flag: &str| {
            let line = help
                .lines()
                .find(|line| line.trim_start().starts_with(&format!("{flag} ")))
                .unwrap_or_else(|| panic!("{flag} is in the help: {help}"));
            let start = line.find("[default: ").expect("a default") + "[default: ".len();
            line[start..].trim_end_matches(']').to_owned()
        };
        let defaults = Config::default();
        assert_eq!(shown("--weight-limit"), "6000");
        assert_eq!(shown("--ping-interval"), "20s");
        assert_eq!(shown("--max-lifetime"), "1day");
        assert_eq!(shown("--ban-durations"), "2m,10m,30m,1h,6h,1day,3days");
        assert_eq!(shown("--event-queue"), defaults.event_queue.to_string());
        assert_eq!(shown("--listen"), DEFAULT_LISTEN);
        assert_eq!(read_back(shown), defaults);
    }

    /// The [`Config`] that the defaults a document shows (`shown("--flag")`, as text) make
    /// when written into a config file: [`Config::default`] if the document is right.
    fn read_back(shown: impl Fn(&str) -> String) -> Config {
        let defaults = serde_json::to_value(Config::default()).expect("serializes");
        let mut file = String::new();
        for key in config_keys()
            .into_iter()
            .filter(|key| !SWITCHES.contains(&key.as_str()) && !FILE_ONLY.contains(&key.as_str()))
        {
            let text = shown(&format!("--{key}"));
            let value = match &defaults[&key] {
                serde_json::Value::Number(_) => text,
                serde_json::Value::Array(_) => format!("{:?}", text.split(',').collect::<Vec<_>>()),
                _ => format!("{text:?}"),
            };
            file.push_str(&format!("{key} = {value}\n"));
        }
        FileSettings::parse(&file)
            .unwrap_or_else(|e| panic!("{file}: {e:#}"))
            .config
    }

    #[test]
    fn symbols_are_read_from_the_config_file_and_replace_the_default_market() {
        let file = r#"
[[symbols]]
symbol = "SOLUSDT"
base-asset = "SOL"
quote-asset = "USDT"
price = "150.00"
level-quantity = "5.000"
price-filter = { min-price = "0.01", max-price = "10000.00", tick-size = "0.01" }
lot-size = { min-qty = "0.001", max-qty = "9000.00", step-size = "0.001" }
market-lot-size = { min-qty = "0", max-qty = "1000.00", step-size = "0" }
notional = { min-notional = "5.00", apply-min-to-market = true, max-notional = "9000000.00", apply-max-to-market = false, avg-price-mins = 5 }
"#;
        let read = config(&[], file).expect("the file is read");
        assert_eq!(read.symbols.len(), 1);
        assert_eq!(read.symbols[0].symbol, "SOLUSDT");
        assert_eq!(read.symbols[0].price.to_string(), "150.00");
        assert_eq!(
            read.symbols[0].book_levels, 1000,
            "a default fills what is left out"
        );
        let error = config(&[], &file.replace("price = ", "prize = ")).expect_err("refused");
        assert!(format!("{error:#}").contains("prize"), "{error:#}");
    }

    const README: &str = include_str!("../../../README.md");

    #[test]
    fn the_readme_flags_table_shows_the_defaults_of_config() {
        let shown = |flag: &str| {
            let row = README
                .lines()
                .find(|line| line.starts_with(&format!("| `{flag} ")))
                .unwrap_or_else(|| panic!("{flag} has a row in the README's flags table"));
            let column = row.split('|').nth(2).expect("a default column");
            column.trim().trim_matches('`').to_owned()
        };
        assert_eq!(read_back(shown), Config::default());
    }

    #[test]
    fn the_readme_config_example_holds_the_defaults_of_config() {
        let start = README.find("```toml\n").expect("a TOML example") + "```toml\n".len();
        let example = &README[start..];
        let example = &example[..example.find("```").expect("the example ends")];
        let file = FileSettings::parse(example).expect("the example parses");
        assert_eq!(file.config, Config::default());
    }

    #[test]
    fn the_readme_market_example_is_a_config_file_of_one_symbol() {
        let marker = "```toml\n[[symbols]]";
        let start = README.find(marker).expect("a market example") + "```toml\n".len();
        let example = &README[start..];
        let example = &example[..example.find("```").expect("the example ends")];
        let file = FileSettings::parse(example).expect("the example parses");
        let symbols: Vec<&str> = file
            .config
            .symbols
            .iter()
            .map(|s| s.symbol.as_str())
            .collect();
        assert_eq!(symbols, ["SOLUSDT"]);
    }
}
