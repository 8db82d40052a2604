//! The `mock-server` binary as users start it: flags, config file, exit codes, shutdown.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
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
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--log-level", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait(mut self) -> ExitStatus {
        self.child.wait().expect("the binary exits")
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
    let exit = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("waits");
    assert!(exit.success(), "exit status {exit}");
}

fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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

#[test]
fn a_config_file_with_an_unknown_setting_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, "weight_limit = 5\n").expect("writes");
    let (code, stderr) = run_to_exit(&["--config", &config.display().to_string()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("weight_limit"),
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
