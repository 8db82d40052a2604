//! The control plane over real HTTP/1.1: hyper's own client on a TCP connection, JSON in
//! and out, an optional bearer token, and a timeout on every wait. Each call opens its own
//! connection unless one is held open with [`Admin::open`].

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use mock_server::MockServer;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::{within, Client, RawClient};

/// An HTTP response: its status, its body as text, and that body as JSON (`Null` when it is
/// empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The `error` sentence of an error body; fails the test unless the body is exactly
    /// `{"error": "<non-empty text>"}` (other members allowed, the sentence required).
    pub fn error(&self) -> &str {
        match self.json.get("error").and_then(Value::as_str) {
            Some(sentence) if !sentence.is_empty() => sentence,
            _ => panic!("expected an {{\"error\"}} body, got {self:?}"),
        }
    }

    /// Fails the test unless the status is `status`, showing the body otherwise.
    pub fn expect(self, status: u16) -> Answer {
        assert_eq!(self.status, status, "{self:?}");
        self
    }

    /// Fails the test unless the status is 200; the JSON body.
    pub fn ok(self) -> Value {
        self.expect(200).json
    }
}

/// The admin API of one server.
#[derive(Debug, Clone)]
pub struct Admin {
    address: SocketAddr,
    token: Option<String>,
}

impl Admin {
    /// The admin API of `server`; a server listening on an unspecified address (`0.0.0.0`)
    /// is reached through the loopback address on its port.
    pub fn new(server: &MockServer) -> Admin {
        let mut address = server.address();
        if address.ip().is_unspecified() {
            address = SocketAddr::from((Ipv4Addr::LOCALHOST, address.port()));
        }
        Admin::at(address)
    }

    /// The admin API at `address`.
    pub fn at(address: SocketAddr) -> Admin {
        Admin {
            address,
            token: None,
        }
    }

    /// The same API, each call sending `Authorization: Bearer {token}`.
    pub fn with_token(&self, token: &str) -> Admin {
        Admin {
            address: self.address,
            token: Some(token.to_owned()),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(body.to_string()))
            .await
    }

    /// A POST whose body is `text` as given, JSON or not.
    pub async fn post_text(&self, path: &str, text: &str) -> Answer {
        self.request(Method::POST, path, Some(text.to_owned()))
            .await
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str) -> Answer {
        self.request(Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PUT, path, Some(body.to_string()))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.request(Method::DELETE, path, None).await
    }

    /// One request on a connection of its own.
    pub async fn request(&self, method: Method, path: &str, body: Option<String>) -> Answer {
        self.open().await.request(method, path, body).await
    }

    /// An HTTP connection held open for several requests.
    pub async fn open(&self) -> HttpConnection {
        let stream = within(TcpStream::connect(self.address))
            .await
            .expect("TCP connect to the admin API");
        let (sender, connection) =
            within(hyper::client::conn::http1::handshake(TokioIo::new(stream)))
                .await
                .expect("HTTP/1.1 client handshake");
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        HttpConnection {
            sender,
            driver,
            address: self.address,
            token: self.token.clone(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Shortcuts for what many tests need

    /// `GET /__admin/connections`: the `connections` array.
    pub async fn connections(&self) -> Vec<Value> {
        let body = self.get("/__admin/connections").await.ok();
        body["connections"]
            .as_array()
            .unwrap_or_else(|| panic!("a connections array in {body}"))
            .clone()
    }

    /// The listed connection whose `peer` is `peer`.
    pub async fn connection(&self, peer: SocketAddr) -> Value {
        let connections = self.connections().await;
        connections
            .iter()
            .find(|c| c["peer"] == peer.to_string())
            .unwrap_or_else(|| panic!("no connection from {peer} in {connections:?}"))
            .clone()
    }

    /// The `id` of the listed connection whose `peer` is `peer`.
    pub async fn connection_id(&self, peer: SocketAddr) -> u64 {
        let connection = self.connection(peer).await;
        connection["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("an integer id in {connection}"))
    }

    /// The id of `client`'s connection. The client has had a reply, so the server serves it.
    pub async fn id_of(&self, client: &Client) -> u64 {
        self.connection_id(client.local_addr()).await
    }

    /// The id of `raw`'s connection. The client has had a reply, so the server serves it.
    pub async fn id_of_raw(&self, raw: &RawClient) -> u64 {
        self.connection_id(raw.local_addr()).await
    }

    /// `GET /__admin/requests` with this query (without `?`, may be empty): the entries.
    pub async fn requests(&self, query: &str) -> Vec<Value> {
        let path = if query.is_empty() {
            "/__admin/requests".to_owned()
        } else {
            format!("/__admin/requests?{query}")
        };
        let body = self.get(&path).await.ok();
        body["requests"]
            .as_array()
            .unwrap_or_else(|| panic!("a requests array in {body}"))
            .clone()
    }

    /// `POST /__admin/faults` with `rule`, which must be accepted: the new rule's id.
    pub async fn add_fault(&self, rule: Value) -> u64 {
        let answer = self.post("/__admin/faults", rule).await.expect(201);
        answer.json["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("an integer id in {answer:?}"))
    }

    /// `GET /__admin/faults`: the rules.
    pub async fn faults(&self) -> Vec<Value> {
        let body = self.get("/__admin/faults").await.ok();
        body["faults"]
            .as_array()
            .unwrap_or_else(|| panic!("a faults array in {body}"))
            .clone()
    }

    /// `POST /__admin/clock` with `body`, which must be accepted: the clock as answered.
    pub async fn set_clock(&self, body: Value) -> Value {
        self.post("/__admin/clock", body).await.ok()
    }

    /// Advances the mock clock by `ms` through the API.
    pub async fn advance(&self, ms: i64) -> Value {
        self.set_clock(serde_json::json!({ "advance": ms })).await
    }
}

/// One HTTP/1.1 connection to the admin API, kept open between requests.
pub struct HttpConnection {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    address: SocketAddr,
    token: Option<String>,
}

impl HttpConnection {
    /// Sends one request and reads the whole response.
    pub async fn request(&mut self, method: Method, path: &str, body: Option<String>) -> Answer {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, self.address.to_string());
        if body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        if let Some(token) = &self.token {
            builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("a well-formed request");
        within(self.sender.ready())
            .await
            .expect("the connection takes another request");
        let response = within(self.sender.send_request(request))
            .await
            .unwrap_or_else(|e| panic!("an HTTP response to {method} {path}: {e}"));
        let status = response.status().as_u16();
        let bytes = within(response.into_body().collect())
            .await
            .unwrap_or_else(|e| panic!("the body of the response to {method} {path}: {e}"))
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, text, json }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.request(Method::GET, path, None).await
    }
}

impl Drop for HttpConnection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Fails the test unless `answer` is a 400 with an `{"error"}` body; the sentence.
pub fn bad_request(answer: &Answer) -> &str {
    assert_eq!(answer.status, 400, "{answer:?}");
    answer.error()
}
