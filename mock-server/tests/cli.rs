//! The `mock-server` binary as users start it: flags, config file, exit codes, shutdown.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use mock_server::demo;
use rstest::rstest;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_mock-server");
const LIMIT: Duration = Duration::from_secs(10);

/// A mock-server process, killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    /// Starts the binary with `args`, on a free loopback port and at log level `warn` unless
    /// `args` say otherwise; its stderr is the test's.
    fn start(args: &[&str]) -> Running {
        Running::spawn(args, Stdio::inherit())
    }

    /// Like [`start`](Self::start), with stderr piped for the test to read.
    fn start_capturing_stderr(args: &[&str]) -> (Running, ChildStderr) {
        let mut running = Running::spawn(args, Stdio::piped());
        let stderr = running.child.stderr.take().expect("stderr is piped");
        (running, stderr)
    }

    fn spawn(args: &[&str], stderr: Stdio) -> Running {
        let mut command = Command::new(BIN);
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        if !args.contains(&"--log-level") {
            command.args(["--log-level", "warn"]);
        }
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("the binary prints a first line");
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .unwrap_or_else(|| panic!("no URL in the first line: {first:?}"))
            .to_owned();
        assert!(url.ends_with("/ws-api/v3"), "{url}");
        Running { child, url }
    }

    fn signal_terminate(&self) {
        self.signal("-TERM");
    }

    fn signal_interrupt(&self) {
        self.signal("-INT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, failing the test (and killing the process) when it
    /// has not within [`LIMIT`].
    fn wait(self) -> ExitStatus {
        let pid = self.child.id();
        let (sent, exited) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut running = self;
            let _ = sent.send(running.child.wait());
        });
        match exited.recv_timeout(LIMIT) {
            Ok(status) => status.expect("the binary exits"),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("the binary did not exit within {LIMIT:?}");
            }
        }
    }

    /// The port the server listens on, from its URL.
    fn port(&self) -> u16 {
        let authority = self
            .url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("an authority");
        let (_, port) = authority.rsplit_once(':').expect("a port");
        port.parse().expect("a port number")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(LIMIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connects in time")
        .expect("connects");
    ws
}

async fn call(ws: &mut Ws, request: Value) -> Value {
    ws.send(Message::text(request.to_string()))
        .await
        .expect("sends");
    next_text(ws).await
}

async fn next_text(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("a reply in time")
            .expect("the connection stays open")
            .expect("a valid frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("replies are JSON");
        }
    }
}

fn logon(api_key: &str, key: &SigningKey, timestamp_ms: u128) -> Value {
    let payload = format!("apiKey={api_key}&timestamp={timestamp_ms}");
    let signature = BASE64.encode(key.sign(payload.as_bytes()).to_bytes());
    json!({"id": "logon", "method": "session.logon",
           "params": {"apiKey": api_key, "timestamp": timestamp_ms, "signature": signature}})
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn demo_signing_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(demo::PRIVATE_KEY_PEM).expect("the demo PEM parses")
}

#[tokio::test]
async fn binary_prints_its_url_accepts_the_demo_key_and_shuts_down_on_sigterm() {
    let server = Running::start(&["--shutdown-grace", "30s"]);
    let mut ws = connect(&server.url).await;
    let reply = call(&mut ws, logon(demo::API_KEY, &demo_signing_key(), now_ms())).await;
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(reply["result"]["apiKey"], demo::API_KEY);

    server.signal_terminate();
    // The server announces its shutdown (spec §1.4) and keeps serving during the grace period.
    let event = next_text(&mut ws).await;
    assert_eq!(event["event"]["e"], "serverShutdown", "{event}");
    assert!(event.get("id").is_none(), "{event}");
    let status = call(&mut ws, json!({"id": 2, "method": "session.status"})).await;
    assert_eq!(status["result"]["apiKey"], demo::API_KEY, "{status}");
    // A client that leaves lets the server exit at once, well within the 30 s grace.
    ws.close(None).await.expect("closes");
    let exit = server.wait();
    assert!(exit.success(), "exit status {exit}");
}

/// Runs the binary with `args` (on a free loopback port unless they say otherwise) to its
/// exit: its exit code and stderr.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(BIN);
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let output = output_within_limit(command.args(args));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `command` to its exit, failing the test (and killing the process) when it has not
/// exited within [`LIMIT`]: a binary that starts serving where it should have refused its
/// arguments must fail the test, not hang it.
fn output_within_limit(command: &mut Command) -> std::process::Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id();
    let (sent, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(child.wait_with_output());
    });
    match exited.recv_timeout(LIMIT) {
        Ok(output) => output.expect("the binary exits"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the binary did not exit within {LIMIT:?}: {command:?}");
        }
    }
}

#[rstest]
#[case::unknown_flag(&["--bogus"])]
#[case::weight_limit_not_a_number(&["--weight-limit", "many"])]
#[case::key_without_a_path(&["--key", "MyKey"])]
#[case::key_file_missing(&["--key", "MyKey=/nonexistent/key.pem"])]
#[case::zero_ping_interval(&["--ping-interval", "0s"])]
#[case::bad_duration(&["--pong-timeout", "soon"])]
#[case::malformed_api_key_name(&["--hmac-key", "bad name=secret"])]
#[case::missing_config_file(&["--config", "/nonexistent/mock.toml"])]
#[case::zero_ban_duration(&["--ban-durations", "2m,0s"])]
#[case::tiny_max_message_size(&["--max-message-size", "10"])]
#[case::zero_write_timeout(&["--write-timeout", "0s"])]
#[case::empty_event_queue(&["--event-queue", "0"])]
#[case::event_queue_not_a_number(&["--event-queue", "many"])]
fn bad_usage_exits_with_code_2_and_one_line(#[case] args: &[&str]) {
    let (code, stderr) = run_to_exit(args);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("mock-server: "), "stderr: {stderr}");
}

#[test]
fn a_key_file_that_does_not_parse_exits_with_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("garbage.pem");
    std::fs::write(
        &path,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .expect("writes");
    let arg = format!("MyKey={}", path.display());
    let (code, stderr) = run_to_exit(&["--key", &arg]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains("MyKey"), "names the key: {stderr}");
}

fn write_public_key(dir: &Path, name: &str, key: &SigningKey) {
    let pem = key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .expect("encodes");
    std::fs::write(dir.join(name), pem).expect("writes");
}

#[tokio::test]
async fn config_file_registers_keys_and_settings_and_flags_win_over_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seeded = SigningKey::from_bytes(&[9; 32]);
    write_public_key(dir.path(), "seeded.pem", &seeded);
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        r#"
demo-key = false
weight-limit = 50
pong-timeout = "90s"

[keys]
SeededKey = "seeded.pem"

[hmac-keys]
HmacKey = "secret"
"#,
    )
    .expect("writes");
    let config = config.display().to_string();

    let server = Running::start(&["--config", &config]);
    let mut ws = connect(&server.url).await;
    let ping = call(&mut ws, json!({"id": 1, "method": "ping"})).await;
    assert_eq!(ping["rateLimits"][0]["limit"], 50, "{ping}");
    assert_eq!(ping["rateLimits"][0]["count"], 3, "{ping}");

    let seeded_logon = call(&mut ws, logon("SeededKey", &seeded, now_ms())).await;
    assert_eq!(seeded_logon["status"], 200, "{seeded_logon}");
    let demo_logon = call(&mut ws, logon(demo::API_KEY, &demo_signing_key(), now_ms())).await;
    assert_eq!(
        demo_logon["error"]["code"], -2015,
        "demo key is off: {demo_logon}"
    );
    let hmac_logon = call(&mut ws, logon("HmacKey", &seeded, now_ms())).await;
    assert_eq!(hmac_logon["error"]["code"], -1022, "{hmac_logon}");
    drop(server);

    let server = Running::start(&["--config", &config, "--weight-limit", "70"]);
    let mut ws = connect(&server.url).await;
    let ping = call(&mut ws, json!({"id": 1, "method": "ping"})).await;
    assert_eq!(ping["rateLimits"][0]["limit"], 70, "{ping}");
}

#[rstest]
#[case::snake_case_config_key("weight_limit = 5\n", "weight_limit")]
#[case::unknown_top_level_key(
    "listen = \"127.0.0.1:0\"\nlisten-address = \"127.0.0.1:0\"\n",
    "listen-address"
)]
#[case::snake_case_new_key("write_timeout = \"5s\"\n", "write_timeout")]
#[case::unknown_key_option("[key-options.MyKey]\naccounts = \"main\"\n", "accounts")]
fn a_config_file_with_an_unknown_setting_is_refused_by_name(
    #[case] toml: &str,
    #[case] unknown: &str,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, toml).expect("writes");
    let (code, stderr) = run_to_exit(&["--config", &config.display().to_string()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("`{unknown}`")),
        "names the setting: {stderr}"
    );
}

/// The config file example in the README is the one users copy: it must work as shown.
#[tokio::test]
async fn the_readme_config_example_starts_a_server() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &readme[start..];
    let example = &example[..example.find("```").expect("the example ends")];
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("keys")).expect("mkdir");
    let key = SigningKey::from_bytes(&[11; 32]);
    write_public_key(&dir.path().join("keys"), "my-key.pub.pem", &key);
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, example).expect("writes");

    let server = Running::start(&["--config", &config.display().to_string()]);
    let mut ws = connect(&server.url).await;
    let logon = call(&mut ws, logon("MyEd25519Key", &key, now_ms())).await;
    assert_eq!(logon["status"], 200, "{logon}");
    assert_eq!(logon["rateLimits"][0]["limit"], 6000, "{logon}");
}

#[tokio::test]
async fn config_file_sets_rsa_keys_permissions_and_accounts() {
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::signature::{SignatureEncoding as _, Signer as _};

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("rsa.pem"),
        include_str!("keys/rsa-test-public.pem"),
    )
    .expect("writes");
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        r#"
[rsa-keys]
RsaKey = "rsa.pem"

[key-options.RsaKey]
permissions = ["USER_DATA", "TRADE"]
account = "main"

[accounts.main]
uid = 4242
balances = [{ asset = "ETH", free = "3.00000000" }]
"#,
    )
    .expect("writes");
    let server = Running::start(&["--config", &config.display().to_string()]);
    let mut ws = connect(&server.url).await;

    let private = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("keys/rsa-test-private.pem"))
        .expect("the test key parses");
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private);
    let ts = now_ms();
    let signature = BASE64.encode(
        signer
            .sign(format!("apiKey=RsaKey&timestamp={ts}").as_bytes())
            .to_bytes(),
    );
    let status = call(
        &mut ws,
        json!({"id": 1, "method": "account.status",
               "params": {"apiKey": "RsaKey", "timestamp": ts, "signature": signature}}),
    )
    .await;
    assert_eq!(status["status"], 200, "{status}");
    assert_eq!(status["result"]["uid"], 4242);
    assert_eq!(status["result"]["canTrade"], true);
    assert_eq!(
        status["result"]["balances"],
        json!([{"asset": "ETH", "free": "3.00000000", "locked": "0.00000000"}])
    );
}

#[rstest]
#[case::unknown_permission("[key-options.demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q]\npermissions = [\"READ\"]\n")]
#[case::options_for_no_key("[key-options.Nobody]\naccount = \"main\"\n")]
fn bad_key_options_exit_with_code_2(#[case] toml: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, toml).expect("writes");
    let (code, stderr) = run_to_exit(&["--config", &config.display().to_string()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
}

#[tokio::test]
async fn permission_and_account_flags_apply_to_keys() {
    let server = Running::start(&[
        "--hmac-key",
        "TraderKey=secret",
        "--permissions",
        "TraderKey=USER_DATA,TRADE",
        "--account",
        "TraderKey=shared",
    ]);
    let mut ws = connect(&server.url).await;
    let ts = now_ms();
    let payload = format!("apiKey=TraderKey&timestamp={ts}");
    let signature = {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"secret").expect("any length");
        mac.update(payload.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let status = call(
        &mut ws,
        json!({"id": 1, "method": "account.status",
               "params": {"apiKey": "TraderKey", "timestamp": ts, "signature": signature}}),
    )
    .await;
    assert_eq!(status["result"]["canTrade"], true, "{status}");
    assert_eq!(
        status["result"]["uid"],
        mock_server::Account::fixture("shared").uid
    );
}

#[test]
fn permissions_for_an_unknown_key_or_name_exit_with_code_2() {
    for args in [
        ["--permissions", "NoSuchKey=USER_DATA"],
        [
            "--permissions",
            "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q=READ",
        ],
    ] {
        let (code, stderr) = run_to_exit(&args);
        assert_eq!(code, Some(2), "stderr: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    }
}

/// Every flag of the binary, each with a valid value; `{ed25519}`, `{rsa}` and `{config}`
/// stand for files the test writes. A flag missing here fails
/// [`every_flag_in_the_help_has_a_case`].
const EVERY_FLAG: &[&[&str]] = &[
    &["--listen", "127.0.0.1:0"],
    &["--key", "MyKey={ed25519}"],
    &["--rsa-key", "MyRsaKey={rsa}"],
    &["--hmac-key", "MyHmacKey=secret"],
    &[
        "--hmac-key",
        "MyHmacKey=secret",
        "--permissions",
        "MyHmacKey=USER_DATA,TRADE",
    ],
    &[
        "--hmac-key",
        "MyHmacKey=secret",
        "--account",
        "MyHmacKey=main",
    ],
    &["--config", "{config}"],
    &["--no-demo-key"],
    &["--weight-limit", "100"],
    &["--ping-interval", "5s"],
    &["--pong-timeout", "90s"],
    &["--max-lifetime", "1h"],
    &["--strict-signing"],
    &["--lenient-signing"],
    &["--events-before-reply"],
    &["--connection-rate-limit", "50"],
    &["--max-connections", "20"],
    &["--ban-after", "0"],
    &["--ban-durations", "2m,10m,30m,1h,6h,1d,3d"],
    &["--ban-durations", "90s"],
    &["--shutdown-grace", "1s"],
    &["--max-message-size", "4096"],
    &["--write-timeout", "5s"],
    &["--event-queue", "16"],
    &["--journal-size", "0"],
    &["--journal-size", "5"],
    &["--orders-per-10s", "500"],
    &["--orders-per-day", "1000000"],
    &["--no-admin"],
    &["--admin-token", "secret"],
    &["--log-level", "debug"],
    &["--log-level", "mock_server=trace,warn"],
];

/// Writes the files [`EVERY_FLAG`]'s placeholders stand for into `dir`.
fn flag_files(dir: &Path) -> [(&'static str, String); 3] {
    write_public_key(dir, "ed25519.pem", &SigningKey::from_bytes(&[3; 32]));
    std::fs::write(
        dir.join("rsa.pem"),
        include_str!("keys/rsa-test-public.pem"),
    )
    .expect("writes");
    std::fs::write(
        dir.join("mock.toml"),
        "weight-limit = 100\nlenient-signing = false\nwrite-timeout = \"10s\"\nevent-queue = 64\n",
    )
    .expect("writes");
    let path = |name: &str| dir.join(name).display().to_string();
    [
        ("{ed25519}", path("ed25519.pem")),
        ("{rsa}", path("rsa.pem")),
        ("{config}", path("mock.toml")),
    ]
}

#[tokio::test]
async fn every_flag_with_a_valid_value_starts_a_server_that_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = flag_files(dir.path());
    for case in EVERY_FLAG {
        let args: Vec<String> = case
            .iter()
            .map(|arg| {
                files.iter().fold((*arg).to_owned(), |arg, (name, path)| {
                    arg.replace(name, path)
                })
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Running::start(&args);
        let mut ws = connect(&server.url).await;
        let ping = call(&mut ws, json!({"id": 1, "method": "ping"})).await;
        assert_eq!(ping["status"], 200, "{case:?}: {ping}");
    }
}

#[test]
fn every_flag_in_the_help_has_a_case() {
    let output = output_within_limit(Command::new(BIN).arg("--help"));
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    let flags: Vec<&str> = help
        .split_whitespace()
        .map(|word| word.trim_end_matches(','))
        .filter(|word| word.starts_with("--") && !["--help", "--version"].contains(word))
        .collect();
    assert!(flags.len() >= 20, "{help}");
    for flag in flags {
        assert!(
            EVERY_FLAG.iter().any(|case| case.contains(&flag)),
            "{flag} has no case in EVERY_FLAG"
        );
    }
}

#[test]
fn help_and_version_print_to_stdout_and_exit_0() {
    for flag in ["--help", "--version"] {
        let output = output_within_limit(Command::new(BIN).arg(flag));
        assert_eq!(output.status.code(), Some(0), "{flag}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("mock-server"), "{flag}: {stdout}");
        assert!(output.stderr.is_empty(), "{flag}");
    }
}

/// The ban of the `--ban-durations` flag shows in the 418 reply: "IP banned until T".
#[tokio::test]
async fn ban_durations_set_how_long_the_first_ban_lasts() {
    let server = Running::start(&[
        "--weight-limit",
        "1",
        "--ban-after",
        "1",
        "--ban-durations",
        "7m,1d",
    ]);
    let mut ws = connect(&server.url).await;
    // Allowed, then 429, then banned; a calendar minute that turns in between starts the
    // count again, so a few more requests allow for it.
    let mut banned = None;
    for id in 0..10 {
        let reply = call(&mut ws, json!({"id": id, "method": "ping"})).await;
        if reply["status"] == 418 {
            banned = Some(reply);
            break;
        }
    }
    let banned = banned.expect("a ban within 10 requests");
    let message = banned["error"]["msg"].as_str().expect("a message");
    let until: u128 = message
        .split("banned until ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no ban time in {message:?}"));
    let seven_minutes = 7 * 60 * 1000;
    let lasts = until.saturating_sub(now_ms());
    assert!(
        (seven_minutes - 60_000..=seven_minutes).contains(&lasts),
        "the ban lasts {lasts} ms: {banned}"
    );
}

#[tokio::test]
async fn max_connections_refuses_the_handshake_past_it_with_503() {
    let server = Running::start(&["--max-connections", "1"]);
    let _held = connect(&server.url).await;
    let refused = tokio::time::timeout(LIMIT, tokio_tungstenite::connect_async(&server.url))
        .await
        .expect("an answer in time");
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_rate_limit_refuses_the_handshake_past_it_with_429() {
    let server = Running::start(&["--connection-rate-limit", "1"]);
    let _first = connect(&server.url).await;
    let refused = tokio::time::timeout(LIMIT, tokio_tungstenite::connect_async(&server.url))
        .await
        .expect("an answer in time");
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("expected HTTP 429, got {other:?}"),
    }
}

#[tokio::test]
async fn ping_interval_sets_how_often_the_server_pings() {
    let server = Running::start(&["--ping-interval", "100ms"]);
    let mut ws = connect(&server.url).await;
    let frame = tokio::time::timeout(LIMIT, ws.next())
        .await
        .expect("a ping in time")
        .expect("the connection stays open")
        .expect("a valid frame");
    assert!(matches!(frame, Message::Ping(_)), "{frame:?}");
}

#[tokio::test]
async fn max_lifetime_closes_the_connection_with_1000() {
    let server = Running::start(&["--max-lifetime", "200ms"]);
    let mut ws = connect(&server.url).await;
    loop {
        let frame = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("the connection ends in time");
        match frame {
            Some(Ok(Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1000, "{close:?}");
                break;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn max_message_size_ends_the_connection_on_a_larger_message() {
    let server = Running::start(&["--max-message-size", "256"]);
    let mut ws = connect(&server.url).await;
    let small = call(&mut ws, json!({"id": 1, "method": "ping"})).await;
    assert_eq!(small["status"], 200, "{small}");
    let large = json!({"id": "x".repeat(300), "method": "ping"}).to_string();
    ws.send(Message::text(large)).await.expect("sends");
    let frame = tokio::time::timeout(LIMIT, ws.next())
        .await
        .expect("the connection ends in time");
    match frame {
        Some(Ok(Message::Close(close))) => {
            if let Some(close) = close {
                assert_eq!(u16::from(close.code), 1009, "{close:?}");
            }
        }
        None | Some(Err(_)) => {}
        Some(Ok(other)) => panic!("a 300-byte message was answered: {other:?}"),
    }
}

#[tokio::test]
async fn no_demo_key_leaves_the_demo_key_unknown() {
    let server = Running::start(&["--no-demo-key"]);
    let mut ws = connect(&server.url).await;
    let reply = call(&mut ws, logon(demo::API_KEY, &demo_signing_key(), now_ms())).await;
    assert_eq!(reply["error"]["code"], -2015, "{reply}");
}

/// What a logon signed over `recvWindow=<signed>` but sending `recvWindow=1 000` gets: -1100
/// for the malformed `recvWindow` when the signature passed, -1022 when it did not. No logon
/// param can hold a space and succeed, so the malformed value carries it.
async fn logon_code_with_recv_window_signed_as(server: &Running, signed: &str) -> i64 {
    let key = demo_signing_key();
    let ts = now_ms();
    let payload = format!(
        "apiKey={}&recvWindow={signed}&timestamp={ts}",
        demo::API_KEY
    );
    let signature = BASE64.encode(key.sign(payload.as_bytes()).to_bytes());
    let mut ws = connect(&server.url).await;
    let reply = call(
        &mut ws,
        json!({"id": 1, "method": "session.logon", "params": {
            "apiKey": demo::API_KEY, "recvWindow": "1 000", "timestamp": ts, "signature": signature}}),
    )
    .await;
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("an error: {reply}"))
}

/// Binance verifies signatures over the raw payload only (spec §3.2); a percent-encoded one
/// is accepted only with `--lenient-signing`.
#[rstest]
#[case::by_default(&[], -1022)]
#[case::strict(&["--strict-signing"], -1022)]
#[case::lenient(&["--lenient-signing"], -1100)]
#[case::lenient_from_the_config_file(&["--config", "{lenient}"], -1100)]
#[case::strict_flag_over_a_lenient_config_file(&["--config", "{lenient}", "--strict-signing"], -1022)]
#[tokio::test]
async fn a_percent_encoded_signature_is_refused_unless_signing_is_lenient(
    #[case] args: &[&str],
    #[case] encoded_code: i64,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let lenient = dir.path().join("lenient.toml");
    std::fs::write(&lenient, "lenient-signing = true\n").expect("writes");
    let lenient = lenient.display().to_string();
    let args: Vec<&str> = args
        .iter()
        .map(|arg| {
            if *arg == "{lenient}" {
                lenient.as_str()
            } else {
                arg
            }
        })
        .collect();
    let server = Running::start(&args);
    assert_eq!(
        logon_code_with_recv_window_signed_as(&server, "1%20000").await,
        encoded_code,
        "encodeURIComponent"
    );
    assert_eq!(
        logon_code_with_recv_window_signed_as(&server, "1+000").await,
        encoded_code,
        "form_urlencoded"
    );
    assert_eq!(
        logon_code_with_recv_window_signed_as(&server, "1 000").await,
        -1100,
        "the raw payload always verifies"
    );
}

#[rstest]
#[case::unknown_level(&["--log-level", "bogus"], "bogus")]
#[case::unknown_level_among_directives(&["--log-level", "info,verbose"], "verbose")]
#[case::bad_level_of_a_target(&["--log-level", "mock_server=loud"], "loud")]
#[case::empty(&["--log-level", ""], "empty")]
#[case::bad_ban_duration(&["--ban-durations", "2m,soon"], "soon")]
#[case::both_signing_modes(&["--strict-signing", "--lenient-signing"], "--lenient-signing")]
fn a_bad_value_exits_with_code_2_and_one_line_naming_it(
    #[case] args: &[&str],
    #[case] named: &str,
) {
    let (code, stderr) = run_to_exit(args);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("mock-server: "), "stderr: {stderr}");
    assert!(stderr.contains(named), "names {named:?}: {stderr}");
}

#[rstest]
#[case::unknown_log_level("log-level = \"verbose\"\n", "verbose")]
#[case::contradictory_signing("lenient-signing = true\nstrict-signing = true\n", "contradicts")]
#[case::duration_without_a_unit("write-timeout = 30\n", "expected a duration")]
#[case::empty_event_queue("event-queue = 0\n", "event queue")]
#[case::no_ban_durations("ban-durations = []\n", "ban durations")]
fn a_bad_config_value_exits_with_code_2_and_one_line_naming_it(
    #[case] toml: &str,
    #[case] named: &str,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, toml).expect("writes");
    let (code, stderr) = run_to_exit(&["--config", &config.display().to_string()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains(named), "names {named:?}: {stderr}");
}

#[rstest]
#[case::rsa_key_given_as_ed25519(
    "--key",
    "rsa",
    "expected an Ed25519 public key",
    "found an RSA public key"
)]
#[case::ed25519_key_given_as_rsa(
    "--rsa-key",
    "ed25519",
    "expected an RSA public key",
    "found an Ed25519 public key"
)]
#[case::private_key_given_as_public(
    "--key",
    "private",
    "expected an Ed25519 public key",
    "found a private key"
)]
fn a_key_file_of_the_wrong_type_names_what_was_expected_and_found(
    #[case] flag: &str,
    #[case] file: &str,
    #[case] expected: &str,
    #[case] found: &str,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("key.pem");
    let pem = match file {
        "rsa" => include_str!("keys/rsa-test-public.pem"),
        "ed25519" => demo::PUBLIC_KEY_PEM,
        _ => demo::PRIVATE_KEY_PEM,
    };
    std::fs::write(&path, pem).expect("writes");
    let (code, stderr) = run_to_exit(&[flag, &format!("MyKey={}", path.display())]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains(expected), "stderr: {stderr}");
    assert!(stderr.contains(found), "stderr: {stderr}");
    assert!(!stderr.contains("unknown"), "stderr: {stderr}");
}

#[test]
fn an_address_in_use_is_reported_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = taken.local_addr().expect("an address");
    let reason = std::net::TcpListener::bind(address)
        .expect_err("the address is taken")
        .to_string();
    let (code, stderr) = run_to_exit(&["--listen", &address.to_string()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains(&address.to_string()), "stderr: {stderr}");
    assert_eq!(
        stderr.matches(&reason).count(),
        1,
        "{reason:?} once: {stderr}"
    );
}

/// A key given under the demo key's name is that name's key: the demo key does not come
/// back over it, and `--permissions` may name it like any other key.
#[tokio::test]
async fn a_key_under_the_demo_name_replaces_the_demo_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mine = SigningKey::from_bytes(&[21; 32]);
    write_public_key(dir.path(), "mine.pem", &mine);
    let key_arg = format!(
        "{}={}",
        demo::API_KEY,
        dir.path().join("mine.pem").display()
    );
    let permissions = format!("{}=USER_DATA,TRADE", demo::API_KEY);
    let server = Running::start(&["--key", &key_arg, "--permissions", &permissions]);
    let mut ws = connect(&server.url).await;

    let demo_logon = call(&mut ws, logon(demo::API_KEY, &demo_signing_key(), now_ms())).await;
    assert_eq!(demo_logon["error"]["code"], -1022, "{demo_logon}");
    let my_logon = call(&mut ws, logon(demo::API_KEY, &mine, now_ms())).await;
    assert_eq!(my_logon["status"], 200, "{my_logon}");
    let status = call(
        &mut ws,
        json!({"id": 3, "method": "account.status", "params": {"timestamp": now_ms()}}),
    )
    .await;
    assert_eq!(status["result"]["canTrade"], true, "{status}");
}

/// Everything the process wrote on stderr, once it has exited.
fn read_to_end(mut stderr: ChildStderr) -> String {
    let mut text = String::new();
    stderr.read_to_string(&mut text).expect("stderr reads");
    text
}

#[rstest]
#[case::any_address_with_the_demo_key(&["--listen", "0.0.0.0:0"], 1)]
#[case::any_address_without_the_demo_key(&["--listen", "0.0.0.0:0", "--no-demo-key"], 0)]
#[case::loopback_with_the_demo_key(&["--listen", "127.0.0.1:0"], 0)]
fn a_non_loopback_address_with_the_demo_key_warns_once(
    #[case] args: &[&str],
    #[case] warnings: usize,
) {
    let (server, stderr) = Running::start_capturing_stderr(args);
    server.signal_terminate();
    let exit = server.wait();
    assert!(exit.success(), "exit status {exit}");
    let stderr = read_to_end(stderr);
    let warned = stderr
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("demo key"))
        .count();
    assert_eq!(warned, warnings, "stderr: {stderr}");
}

#[tokio::test]
async fn a_server_on_any_address_is_reachable_on_loopback() {
    let server = Running::start(&["--listen", "0.0.0.0:0"]);
    let url = format!("ws://127.0.0.1:{}/ws-api/v3", server.port());
    let mut ws = connect(&url).await;
    let ping = call(&mut ws, json!({"id": 1, "method": "ping"})).await;
    assert_eq!(ping["status"], 200, "{ping}");
}

/// The first Ctrl-C starts the shutdown grace (an hour here, held by an open connection);
/// the second ends the process at once, with the exit code of an interrupted program.
#[tokio::test]
async fn a_second_interrupt_during_the_shutdown_grace_exits_at_once() {
    let server = Running::start(&["--shutdown-grace", "1h"]);
    let mut ws = connect(&server.url).await;
    server.signal_interrupt();
    let event = next_text(&mut ws).await;
    assert_eq!(event["event"]["e"], "serverShutdown", "{event}");
    let status = call(&mut ws, json!({"id": 2, "method": "session.status"})).await;
    assert_eq!(
        status["status"], 200,
        "still serving in the grace: {status}"
    );

    server.signal_interrupt();
    let exit = server.wait();
    assert_eq!(exit.code(), Some(130), "exit status {exit}");
}
