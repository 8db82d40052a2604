//! `ws-client`: call the Spot WebSocket API from the command line and print each reply as one
//! JSON line.
//!
//! ```text
//! ws-client [--url URL] [--api-key KEY] [--key PEM] [--timeout SECS] <ping|time|logon|status|logout|session>
//! ```
//!
//! Exit code 0 on success, 1 when the server answers with an error (printed) or the call
//! fails, 2 on bad usage (including a key file that cannot be read).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Map, Value};
use ws_client::{ApiError, Client, Error, Response, Signer};

/// Where `cargo run -p mock-server` listens by default.
const DEFAULT_URL: &str = "ws://127.0.0.1:9443/ws-api/v3";
/// The mock's demo API key: test material, public on purpose.
const DEMO_API_KEY: &str = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q";
/// The mock's demo Ed25519 private key: test material, public on purpose.
const DEMO_PRIVATE_KEY_PEM: &str =
    include_str!("../../../mock-server/keys/demo-ed25519-private.pem");

const USAGE_ERROR: u8 = 2;
const CALL_ERROR: u8 = 1;

/// Call the Binance Spot WebSocket API (or its mock) and print each reply as one JSON line.
#[derive(Debug, Parser)]
#[command(name = "ws-client", version)]
struct Cli {
    /// The endpoint to connect to.
    #[arg(long, global = true, default_value = DEFAULT_URL)]
    url: String,
    /// The API key for `session.logon` [default: the mock's demo key].
    #[arg(long, global = true, value_name = "KEY")]
    api_key: Option<String>,
    /// Ed25519 private key, PKCS#8 PEM as `openssl genpkey -algorithm ed25519` writes it
    /// [default: the mock's demo key].
    #[arg(long, global = true, value_name = "PEM")]
    key: Option<PathBuf>,
    /// Seconds to wait for each reply.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 10.0)]
    timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Command {
    /// `ping`: check that the server answers.
    Ping,
    /// `time`: the server's time.
    Time,
    /// `session.logon` with the key.
    Logon,
    /// `session.status`.
    Status,
    /// `session.logout`.
    Logout,
    /// logon, status, logout, status on one connection.
    Session,
}

impl Command {
    fn methods(self) -> &'static [&'static str] {
        match self {
            Command::Ping => &["ping"],
            Command::Time => &["time"],
            Command::Logon => &["session.logon"],
            Command::Status => &["session.status"],
            Command::Logout => &["session.logout"],
            Command::Session => &[
                "session.logon",
                "session.status",
                "session.logout",
                "session.status",
            ],
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let timeout = match Duration::try_from_secs_f64(cli.timeout) {
        Ok(timeout) if !timeout.is_zero() => timeout,
        _ => {
            return usage_error(&format!(
                "--timeout {} is not a positive number",
                cli.timeout
            ))
        }
    };
    let methods = cli.command.methods();
    let mut builder = Client::builder(&cli.url).request_timeout(timeout);
    if methods.contains(&"session.logon") {
        let signer = match &cli.key {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|pem| {
                    Signer::ed25519_from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
                }),
            None => Signer::ed25519_from_pem(DEMO_PRIVATE_KEY_PEM).map_err(|e| e.to_string()),
        };
        let signer = match signer {
            Ok(signer) => signer,
            Err(message) => return usage_error(&message),
        };
        let api_key = cli.api_key.as_deref().unwrap_or(DEMO_API_KEY);
        builder = builder.credentials(api_key, signer);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ws-client: cannot start the runtime: {e}");
            return ExitCode::from(CALL_ERROR);
        }
    };
    runtime.block_on(run(builder, &cli.url, methods))
}

/// Connects and makes each call in turn, printing each reply; stops at the first failure.
async fn run(builder: ws_client::ClientBuilder, url: &str, methods: &[&str]) -> ExitCode {
    let client = match builder.connect().await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("ws-client: cannot connect to {url}: {e}");
            return ExitCode::from(CALL_ERROR);
        }
    };
    let mut outcome = ExitCode::SUCCESS;
    for &method in methods {
        let reply = if method == "session.logon" {
            client.signed_request(method, Value::Null).await
        } else {
            client.request(method, Value::Null).await
        };
        match reply {
            Ok(response) => println!("{}", success_line(method, response)),
            Err(Error::Api(error)) => {
                println!("{}", error_line(method, &error));
                eprintln!("ws-client: {method}: {error}");
                outcome = ExitCode::from(CALL_ERROR);
                break;
            }
            Err(error) => {
                eprintln!("ws-client: {method}: {error}");
                outcome = ExitCode::from(CALL_ERROR);
                break;
            }
        }
    }
    client.close().await;
    outcome
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("ws-client: {message}");
    ExitCode::from(USAGE_ERROR)
}

/// `{"method", "status", "result", "rateLimits"?}`: the reply as the server sent it, with
/// the method in place of the `id`.
fn success_line(method: &str, response: Response<Value>) -> Value {
    let mut line = Map::new();
    line.insert("method".to_owned(), method.into());
    line.insert("status".to_owned(), response.status.into());
    line.insert("result".to_owned(), response.result);
    if let Some(limits) = response.rate_limits {
        line.insert("rateLimits".to_owned(), to_json(&limits));
    }
    Value::Object(line)
}

/// `{"method", "status", "error": {"code", "msg", "data"?}, "rateLimits"?}`.
fn error_line(method: &str, error: &ApiError) -> Value {
    let mut body = Map::new();
    body.insert("code".to_owned(), error.code.into());
    body.insert("msg".to_owned(), error.msg.as_str().into());
    if let Some(data) = &error.data {
        body.insert("data".to_owned(), data.clone());
    }
    let mut line = Map::new();
    line.insert("method".to_owned(), method.into());
    line.insert("status".to_owned(), error.status.into());
    line.insert("error".to_owned(), Value::Object(body));
    if let Some(limits) = &error.rate_limits {
        line.insert("rateLimits".to_owned(), to_json(limits));
    }
    Value::Object(line)
}

fn to_json(limits: &[ws_client::RateLimit]) -> Value {
    // Plain strings and integers: serializing cannot fail.
    serde_json::to_value(limits).unwrap_or(Value::Null)
}
