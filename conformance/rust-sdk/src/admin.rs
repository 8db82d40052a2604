//! The mock's control plane (`/__admin/...`), plain HTTP on the WebSocket URL's host and port.
//! The driver uses it to set the scene (reset, clock, events, shutdown, fills) and to read what
//! the connector actually sent (the journal), never to talk to the API itself.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// How long one control-plane call may take: the mock answers in microseconds, so a slow answer
/// means a hung mock, and the step should fail rather than hang CI.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A client of one mock's control plane.
pub struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    /// The control plane of the mock serving `ws_url`: `ws://HOST:PORT/ws-api/v3` is answered
    /// by `http://HOST:PORT/__admin/...` (and `wss://` by `https://`).
    pub fn for_ws_url(ws_url: &str) -> Result<Self> {
        let mut url = reqwest::Url::parse(ws_url).context("WS_URL is not a URL")?;
        let scheme = match url.scheme() {
            "ws" => "http",
            "wss" => "https",
            other => bail!("WS_URL has scheme {other:?}, not ws or wss"),
        };
        url.set_scheme(scheme)
            .expect("http(s) is a valid scheme for a ws(s) URL");
        url.set_path("/__admin");
        url.set_query(None);
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build()?;
        Ok(Self {
            http,
            base: url.to_string(),
        })
    }

    /// `GET /__admin{path}`: the JSON body of a 2xx answer.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await;
        Self::body(path, response).await
    }

    /// `POST /__admin{path}` with a JSON body: the JSON body of a 2xx answer.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await;
        Self::body(path, response).await
    }

    async fn body(path: &str, response: reqwest::Result<reqwest::Response>) -> Result<Value> {
        let response = response.with_context(|| format!("control plane {path}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("control plane {path}"))?;
        if !status.is_success() {
            bail!("control plane {path} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("control plane {path}: {text}"))
    }

    /// Back to the start-up state; `keep_connections` keeps the open sockets (and so the
    /// connector's session) instead of closing them with 1012.
    pub async fn reset(&self, keep_connections: bool) -> Result<()> {
        let body = if keep_connections {
            json!({"connections": "keep"})
        } else {
            json!({})
        };
        self.post("/reset", body).await.map(drop)
    }

    /// The open connections, as `GET /__admin/connections` lists them.
    pub async fn connections(&self) -> Result<Vec<Value>> {
        let list = self.get("/connections").await?;
        match list.get("connections") {
            Some(Value::Array(connections)) => Ok(connections.clone()),
            _ => bail!("GET /__admin/connections: no connections array in {list}"),
        }
    }

    /// The newest journal entry for `method`: what the connector sent and what it got back.
    pub async fn last_request(&self, method: &str) -> Result<Value> {
        let journal = self
            .get(&format!("/requests?method={method}&limit=1"))
            .await?;
        match journal.pointer("/requests/0") {
            Some(entry) => Ok(entry.clone()),
            None => bail!("the journal has no {method} request"),
        }
    }
}
