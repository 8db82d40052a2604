//! The control plane of the `mock-server` binary (issue 12): on by default on loopback,
//! `--no-admin`, `--admin-token`, off on a non-loopback address without a token,
//! `--journal-size`, and the same settings from a config file.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};

use common::admin::Admin;
use common::Client;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_mock-server");

/// A mock-server process, killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    /// Starts the binary with `args`, on a free loopback port unless they say otherwise.
    fn start(args: &[&str]) -> Running {
        let mut command = Command::new(BIN);
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(["--log-level", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        // The binary prints its URL once listening; one that exits first ends the read with
        // an empty line, one that hangs fails the test after `STEP`.
        let (sent, read) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = sent.send(first);
            // Whatever the binary prints later is read too, so it never writes to a closed pipe.
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        let first = read
            .recv_timeout(common::STEP)
            .unwrap_or_else(|_| panic!("the binary printed nothing within {:?}", common::STEP));
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .unwrap_or_else(|| panic!("no URL in the first line: {first:?}"))
            .to_owned();
        Running { child, url }
    }

    /// The address the server listens on, from its URL.
    fn address(&self) -> SocketAddr {
        let authority = self
            .url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("an authority");
        authority
            .parse()
            .unwrap_or_else(|e| panic!("{authority:?} is not an address: {e}"))
    }

    /// The port the server listens on.
    fn port(&self) -> u16 {
        self.address().port()
    }

    /// The admin API at the address the URL names; an unspecified address (`0.0.0.0`) is
    /// reached through the loopback address.
    fn admin(&self) -> Admin {
        let mut address = self.address();
        if address.ip().is_unspecified() {
            address = SocketAddr::from((Ipv4Addr::LOCALHOST, address.port()));
        }
        Admin::at(address)
    }

    /// The WebSocket URL through the loopback address.
    fn loopback_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws-api/v3", self.port())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn on_loopback_the_binary_answers_health_with_the_url_it_printed() {
    let server = Running::start(&[]);
    let health = server.admin().get("/__admin/health").await.ok();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["url"], server.url.as_str(), "{health}");
    assert_eq!(server.admin().get("/elsewhere").await.status, 404);
}

#[tokio::test]
async fn a_host_name_that_resolves_to_loopback_counts_as_loopback() {
    let server = Running::start(&["--listen", "localhost:0"]);
    let health = server.admin().get("/__admin/health").await.ok();
    assert_eq!(health["status"], "ok", "{health}");
}

#[tokio::test]
async fn no_admin_turns_the_admin_api_off() {
    let server = Running::start(&["--no-admin"]);
    let admin = server.admin();
    assert_eq!(admin.get("/__admin/health").await.status, 404);
    assert_eq!(admin.post("/__admin/reset", json!({})).await.status, 404);
    Client::connect_url(&server.url).await.assert_usable().await;
}

#[tokio::test]
async fn admin_token_requires_the_bearer_header() {
    let server = Running::start(&["--admin-token", "s3cret"]);
    let admin = server.admin();
    let refused = admin.get("/__admin/health").await;
    assert_eq!(refused.status, 401, "{refused:?}");
    refused.error();
    assert_eq!(
        admin.with_token("wrong").get("/__admin/clock").await.status,
        401
    );
    admin.with_token("s3cret").get("/__admin/clock").await.ok();
}

#[tokio::test]
async fn on_a_non_loopback_address_the_admin_api_is_off_without_a_token() {
    let server = Running::start(&["--listen", "0.0.0.0:0"]);
    assert_eq!(server.admin().get("/__admin/health").await.status, 404);
    Client::connect_url(&server.loopback_url())
        .await
        .assert_usable()
        .await;
}

#[tokio::test]
async fn on_a_non_loopback_address_a_token_turns_it_on() {
    let server = Running::start(&["--listen", "0.0.0.0:0", "--admin-token", "t"]);
    let admin = server.admin();
    assert_eq!(admin.get("/__admin/health").await.status, 401);
    admin.with_token("t").get("/__admin/health").await.ok();
}

#[tokio::test]
async fn journal_size_bounds_the_journal() {
    let server = Running::start(&["--journal-size", "2"]);
    let mut client = Client::connect_url(&server.url).await;
    for id in 1..=3 {
        client
            .request(&format!(
                r#"{{"id":{id},"method":"ping","params":{{"returnRateLimits":false}}}}"#
            ))
            .await;
    }
    let ids: Vec<_> = server
        .admin()
        .requests("")
        .await
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(2), json!(3)]);
}

#[tokio::test]
async fn the_config_file_takes_admin_token_and_journal_size() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, "admin-token = \"from-file\"\njournal-size = 1\n").expect("writes");
    let server = Running::start(&["--config", &config.display().to_string()]);
    let admin = server.admin();
    assert_eq!(admin.get("/__admin/health").await.status, 401);
    let admin = admin.with_token("from-file");
    let mut client = Client::connect_url(&server.url).await;
    client.assert_usable().await;
    client.assert_usable().await;
    assert_eq!(admin.requests("").await.len(), 1);
}

#[tokio::test]
async fn the_config_file_turns_the_admin_api_off() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, "admin = false\n").expect("writes");
    let server = Running::start(&["--config", &config.display().to_string()]);
    assert_eq!(server.admin().get("/__admin/health").await.status, 404);
}
