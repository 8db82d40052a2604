//! A tour of the client: log on, call from several tasks at once, read events, handle an
//! API error, log out.
//!
//! ```text
//! cargo run -p ws-client --example session                 # against an in-process mock
//! cargo run -p ws-client --example session -- ws://127.0.0.1:9443/ws-api/v3
//! ```
//!
//! With a URL it uses the mock's demo key, so that endpoint must know it (the mock binary
//! does).

use std::time::Duration;

use anyhow::Context as _;
use mock_server::{demo, MockServer};
use ws_client::{Client, Error, Signer};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Keep the in-process server alive for as long as the example runs.
    let (url, _server) = match std::env::args().nth(1) {
        Some(url) => (url, None),
        None => {
            let server = MockServer::start().await;
            (server.url(), Some(server))
        }
    };

    let signer = Signer::ed25519_from_pem(demo::PRIVATE_KEY_PEM)?;
    let client = Client::builder(&url)
        .credentials(demo::API_KEY, signer)
        .request_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))?;

    // Frames without an id (serverShutdown, user data events) arrive here.
    let mut events = client.events();
    let event_printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            println!("event: {:?} {:?}", event.kind(), event.frame());
        }
    });

    let session = client.session_logon().await?;
    println!(
        "logged on as {:?} at {:?}",
        session.result.api_key, session.result.authorized_since
    );

    // One connection, many tasks: each waits only for its own reply.
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.time().await })
        })
        .collect();
    for call in calls {
        let time = call.await??;
        let used = time
            .rate_limits
            .as_deref()
            .and_then(|limits| limits.first())
            .map(|limit| limit.count);
        println!(
            "server time {} (weight used: {used:?})",
            time.result.server_time
        );
    }

    // The server's refusals are typed errors with the API's code and message.
    match client
        .request("no.such.method", serde_json::Value::Null)
        .await
    {
        Err(Error::Api(error)) => println!("refused as expected: {error}"),
        other => println!("unexpected: {other:?}"),
    }

    let status = client.session_logout().await?.result;
    println!("after logout the session key is {:?}", status.api_key);

    client.close().await;
    event_printer.await?;
    Ok(())
}
