//! The one WebSocket client every measurement uses, so that floor and mock are driven alike.
//!
//! Raw tokio-tungstenite with the servers' 2 KiB read buffer and `TCP_NODELAY`. It connects
//! only to loopback addresses: load from this crate never leaves the machine.

use anyhow::{bail, Context as _};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::{Host, Url};

use crate::floor::READ_BUFFER_SIZE;

/// A client connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The client's WebSocket settings: small read buffer, replies written at once.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_BUFFER_SIZE)
}

/// Refuses any URL that is not `ws://` to a loopback host (`127.0.0.0/8`, `[::1]`,
/// `localhost`); returns the URL parsed (and normalised: `ws://h:1?x` has the path `/`).
///
/// # Errors
/// When the URL does not parse, is not `ws://`, or names another host.
pub fn ensure_loopback(url: &str) -> anyhow::Result<Url> {
    let parsed = Url::parse(url).with_context(|| format!("not a URL: {url}"))?;
    if parsed.scheme() != "ws" {
        bail!("only ws:// URLs are supported: {url}");
    }
    let loopback = match parsed.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !loopback {
        bail!("refusing {url}: load is only sent to loopback addresses (127.0.0.0/8, [::1], localhost)");
    }
    Ok(parsed)
}

/// Connects to a loopback WebSocket URL.
///
/// # Errors
/// When the URL is not loopback ([`ensure_loopback`]) or the handshake fails.
pub async fn connect(url: &str) -> anyhow::Result<Ws> {
    let parsed = ensure_loopback(url)?;
    let (ws, _) = tokio_tungstenite::connect_async_with_config(
        parsed.as_str(),
        Some(websocket_config()),
        true,
    )
    .await
    .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ws)
}

/// Connects to a loopback WebSocket URL from the local address `source` (a loopback
/// address too, such as 127.0.0.2): each source address has a port range of its own, so
/// more connections than one address's ephemeral ports can reach one server. `None` is
/// [`connect`].
///
/// # Errors
/// When the URL or the source is not loopback, or the connection or handshake fails.
pub async fn connect_from(url: &str, source: Option<IpAddr>) -> anyhow::Result<Ws> {
    let Some(source) = source else {
        return connect(url).await;
    };
    if !source.is_loopback() {
        bail!("refusing source address {source}: load stays on loopback");
    }
    let parsed = ensure_loopback(url)?;
    let host = parsed.host_str().context("no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = parsed.port_or_known_default().context("no port")?;
    let server = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .find(|addr| addr.is_ipv4() == source.is_ipv4())
        .with_context(|| format!("{host} has no address of the family of {source}"))?;
    let socket = match server {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("cannot connect to {server} from {source}"))?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        parsed.as_str(),
        MaybeTlsStream::Plain(stream),
        Some(websocket_config()),
    )
    .await
    .with_context(|| format!("cannot upgrade {url}"))?;
    Ok(ws)
}

/// Sends one text frame and waits for the next text frame.
///
/// # Errors
/// When the connection fails or closes first.
pub async fn round_trip(ws: &mut Ws, request: &str) -> anyhow::Result<Utf8Bytes> {
    ws.send(Message::text(request)).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(reply))) => return Ok(reply),
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => bail!("connection closed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_accepted() {
        for ok in [
            "ws://127.0.0.1:1/ws-api/v3",
            "ws://127.8.0.1:1/",
            "ws://localhost:9/x",
            "ws://[::1]:80/ws-api/v3",
            "ws://LocalHost:9?x",
        ] {
            assert!(ensure_loopback(ok).is_ok(), "{ok}");
        }
        let parsed = ensure_loopback("ws://127.0.0.1:1?x").map(String::from);
        assert_eq!(parsed.ok().as_deref(), Some("ws://127.0.0.1:1/?x"));
        for refused in [
            "ws://10.0.0.1:1/",
            "ws://example.com/",
            "wss://127.0.0.1:1/",
            "ws://192.168.1.1/",
            "ws://[::2]:80/",
            "ws://127.0.0.1.example.com/",
            "nonsense",
        ] {
            assert!(ensure_loopback(refused).is_err(), "{refused}");
        }
    }
}
