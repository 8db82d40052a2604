//! The client handle, its builder, and the calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::connection::Connection;
use crate::error::Error;
use crate::events::Events;
use crate::response::{self, Response, ServerTime, SessionStatus};
use crate::signing::{self, Signer};

/// The unit of timestamps in JSON replies, chosen at connect (spec §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeUnit {
    /// Milliseconds: the server's default.
    Millisecond,
    /// Microseconds.
    Microsecond,
}

impl TimeUnit {
    fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Millisecond => "MILLISECOND",
            TimeUnit::Microsecond => "MICROSECOND",
        }
    }
}

/// An API key and the secret that signs for it.
struct Credentials {
    api_key: String,
    signer: Signer,
}

/// A connection to a Spot WebSocket API endpoint.
///
/// Cheap to clone: clones share the connection, and may be used from many tasks at once;
/// each call waits only for its own reply, matched by `id`. The connection closes when
/// the last clone is dropped, or on [`Client::close`].
#[derive(Clone)]
pub struct Client {
    connection: Arc<Connection>,
    credentials: Option<Arc<Credentials>>,
    clock: Arc<dyn Clock>,
    timeout: Option<Duration>,
}

/// Configures and opens a [`Client`].
#[must_use = "a builder does nothing until `.connect().await`"]
pub struct ClientBuilder {
    url: String,
    return_rate_limits: Option<bool>,
    time_unit: Option<TimeUnit>,
    credentials: Option<Arc<Credentials>>,
    clock: Arc<dyn Clock>,
    timeout: Option<Duration>,
}

impl ClientBuilder {
    /// Asks for `rateLimits` in replies by default (`true`, the server's default) or not:
    /// the `returnRateLimits` URL parameter (spec §1.2, §5.2). Unset, the URL does not name it.
    pub fn return_rate_limits(mut self, show: bool) -> Self {
        self.return_rate_limits = Some(show);
        self
    }

    /// The unit of timestamps in replies: the `timeUnit` URL parameter (spec §1.2).
    /// Unset, the URL does not name it and the server uses milliseconds.
    pub fn time_unit(mut self, unit: TimeUnit) -> Self {
        self.time_unit = Some(unit);
        self
    }

    /// The API key and secret that signed calls use.
    pub fn credentials(mut self, api_key: impl Into<String>, signer: Signer) -> Self {
        self.credentials = Some(Arc::new(Credentials {
            api_key: api_key.into(),
            signer,
        }));
        self
    }

    /// Where signed calls take their `timestamp` from; the system clock by default. Against
    /// the in-process mock, `.clock(server.clock().millis_fn())` follows the mock's clock,
    /// frozen or not (see [`Clock`]).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long each call waits for its reply before failing with [`Error::Timeout`];
    /// by default it waits until the reply comes or the connection closes.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The URL with the connection options in its query.
    fn connect_url(&self) -> String {
        let mut url = self.url.clone();
        let mut options = Vec::new();
        if let Some(show) = self.return_rate_limits {
            options.push(format!("returnRateLimits={show}"));
        }
        if let Some(unit) = self.time_unit {
            options.push(format!("timeUnit={}", unit.as_str()));
        }
        if !options.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&options.join("&"));
        }
        url
    }

    /// Opens the connection.
    ///
    /// # Errors
    /// [`Error::Api`] when the server refuses the handshake with an API error (e.g. -1194
    /// for a bad `timeUnit`), [`Error::Transport`] when the URL is invalid or the endpoint
    /// cannot be reached.
    pub async fn connect(self) -> Result<Client, Error> {
        let connection = Connection::open(&self.connect_url()).await?;
        Ok(Client {
            connection: Arc::new(connection),
            credentials: self.credentials,
            clock: self.clock,
            timeout: self.timeout,
        })
    }
}

impl Client {
    /// Connects to `url` (e.g. `ws://127.0.0.1:9443/ws-api/v3`) with the default options.
    ///
    /// # Errors
    /// As [`ClientBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Client, Error> {
        Client::builder(url).connect().await
    }

    /// A builder for a connection to `url` with options, credentials, a clock or a timeout.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.to_owned(),
            return_rate_limits: None,
            time_unit: None,
            credentials: None,
            clock: Arc::new(SystemClock),
            timeout: None,
        }
    }

    /// A handle on the same connection that signs with other credentials, e.g. a TRADE key
    /// next to a session logged on with a USER_DATA key (spec §4.2).
    pub fn with_credentials(&self, api_key: impl Into<String>, signer: Signer) -> Client {
        Client {
            credentials: Some(Arc::new(Credentials {
                api_key: api_key.into(),
                signer,
            })),
            ..self.clone()
        }
    }

    /// A handle on the same connection whose calls wait at most `timeout` (`None`: no limit).
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// `ping` (spec §6.1): checks that the server answers.
    ///
    /// # Errors
    /// [`Error::Api`] for an error reply; [`Error::Timeout`], [`Error::Closed`] or
    /// [`Error::Decode`] when no usable reply arrives.
    pub async fn ping(&self) -> Result<Response<()>, Error> {
        let frame = self.connection.call("ping", None, self.timeout).await?;
        response::decode_empty("ping", frame)
    }

    /// `time` (spec §6.2): the server's time.
    ///
    /// # Errors
    /// As [`Client::ping`].
    pub async fn time(&self) -> Result<Response<ServerTime>, Error> {
        self.call("time", None).await
    }

    /// `session.logon` (spec §4.2): authenticates the connection with the client's key, which
    /// must be Ed25519. Later requests may then leave out `apiKey` and `signature`.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] without credentials; otherwise as [`Client::ping`].
    pub async fn session_logon(&self) -> Result<Response<SessionStatus>, Error> {
        let params = self.sign(Value::Null)?;
        self.call("session.logon", Some(&params)).await
    }

    /// `session.status` (spec §4.3): whether, and with which key, the session is
    /// authenticated.
    ///
    /// # Errors
    /// As [`Client::ping`].
    pub async fn session_status(&self) -> Result<Response<SessionStatus>, Error> {
        self.call("session.status", None).await
    }

    /// `session.logout` (spec §4.4): forgets the session's key; the connection stays open.
    ///
    /// # Errors
    /// As [`Client::ping`].
    pub async fn session_logout(&self) -> Result<Response<SessionStatus>, Error> {
        self.call("session.logout", None).await
    }

    /// Any method, unsigned: `params` is sent as given (`Value::Null` sends none), and the
    /// raw `result` comes back.
    ///
    /// ```no_run
    /// # async fn run(client: ws_client::Client) -> Result<(), ws_client::Error> {
    /// let info = client
    ///     .request("exchangeInfo", serde_json::json!({ "symbol": "BTCUSDT" }))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Client::ping`].
    pub async fn request(&self, method: &str, params: Value) -> Result<Response<Value>, Error> {
        let params = (!params.is_null()).then_some(params);
        self.call(method, params.as_ref()).await
    }

    /// Any method, signed (spec §3.2): adds `apiKey` and `timestamp` unless `params` has them,
    /// then `signature` over the sorted params; returns the raw `result`.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] without credentials, [`Error::Params`] when `params` is
    /// neither an object nor null; otherwise as [`Client::ping`].
    pub async fn signed_request(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Response<Value>, Error> {
        let params = self.sign(params)?;
        self.call(method, Some(&params)).await
    }

    /// The events of this connection: frames the server sends without an `id`, such as
    /// `serverShutdown` or User Data Stream events.
    ///
    /// The first call sees every event since the connection opened; each later call sees
    /// the events from then on. The stream ends when the connection closes.
    pub fn events(&self) -> Events {
        self.connection.events()
    }

    /// Closes the connection for every clone of this handle and waits until it has ended.
    /// Calls in flight get their reply if the server sends it before closing; later calls
    /// fail with [`Error::Closed`].
    pub async fn close(&self) {
        self.connection.close().await;
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Response<T>, Error> {
        let frame = self.connection.call(method, params, self.timeout).await?;
        response::decode(method, frame)
    }

    /// `params` with `apiKey`, `timestamp` and `signature` added.
    fn sign(&self, params: Value) -> Result<Value, Error> {
        let credentials = self
            .credentials
            .as_deref()
            .ok_or(Error::MissingCredentials)?;
        let mut params = match params {
            Value::Object(params) => params,
            Value::Null => Map::new(),
            other => return Err(Error::Params(other.to_string())),
        };
        params.remove("signature");
        params
            .entry("apiKey")
            .or_insert_with(|| Value::from(credentials.api_key.as_str()));
        params
            .entry("timestamp")
            .or_insert_with(|| Value::from(self.clock.timestamp()));
        let signature = credentials.signer.sign(&signing::payload(&params));
        params.insert("signature".to_owned(), Value::from(signature));
        Ok(Value::Object(params))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("connection", &self.connection)
            .field(
                "api_key",
                &self.credentials.as_ref().map(|c| c.api_key.as_str()),
            )
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.connect_url())
            .field(
                "api_key",
                &self.credentials.as_ref().map(|c| c.api_key.as_str()),
            )
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_options_go_into_the_query() {
        let url = "ws://127.0.0.1:9443/ws-api/v3";
        assert_eq!(Client::builder(url).connect_url(), url);
        assert_eq!(
            Client::builder(url)
                .return_rate_limits(false)
                .time_unit(TimeUnit::Microsecond)
                .connect_url(),
            "ws://127.0.0.1:9443/ws-api/v3?returnRateLimits=false&timeUnit=MICROSECOND"
        );
        assert_eq!(
            Client::builder("ws://h/ws-api/v3?x=1")
                .return_rate_limits(true)
                .connect_url(),
            "ws://h/ws-api/v3?x=1&returnRateLimits=true"
        );
    }
}
