//! `wss://` URLs (the real endpoints, spec §1.1): refused up front without the `tls` feature,
//! a TLS handshake with it.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite;
use ws_client::{Client, Error};

mod common;
use common::within;

/// A peer that speaks plain HTTP, not TLS: it reads what the client sends first, answers
/// with an HTTP error and hangs up. Returns the URL and the first bytes the peer read.
async fn plain_http_peer() -> (String, oneshot::Receiver<Vec<u8>>) {
    let listener = within(TcpListener::bind("127.0.0.1:0"))
        .await
        .expect("bind");
    let url = format!(
        "wss://{}/ws-api/v3",
        listener.local_addr().expect("local address")
    );
    let (first_bytes, seen) = oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buffer = vec![0; 512];
        let read = stream.read(&mut buffer).await.unwrap_or(0);
        buffer.truncate(read);
        let _ = first_bytes.send(buffer);
        let _ = stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    });
    (url, seen)
}

/// The `tungstenite` error inside a transport error.
fn tungstenite_error(error: &Error) -> &tungstenite::Error {
    match error {
        Error::Transport(source) => source
            .downcast_ref::<tungstenite::Error>()
            .unwrap_or_else(|| panic!("not a WebSocket error: {source:?}")),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn a_wss_url_opens_a_tls_handshake_and_a_peer_that_is_not_tls_fails_it() {
    let (url, seen) = plain_http_peer().await;
    let error = within(Client::connect(&url))
        .await
        .expect_err("no TLS server there");

    // The client spoke TLS: its first bytes are a handshake record (0x16) of TLS 1.x.
    let first = within(seen)
        .await
        .expect("the peer read the client's bytes");
    assert!(
        first.len() > 5 && first[0] == 0x16 && first[1] == 0x03,
        "not a TLS ClientHello: {:?}",
        String::from_utf8_lossy(&first)
    );
    // And failed in the TLS layer, on the HTTP bytes that are no TLS record.
    let tungstenite::Error::Io(io) = tungstenite_error(&error) else {
        panic!("expected an I/O error from the TLS layer, got {error:?}");
    };
    let tls = io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a TLS error: {io:?}"));
    assert!(matches!(tls, rustls::Error::InvalidMessage(_)), "{tls:?}");
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn a_wss_url_is_refused_up_front_without_the_tls_feature() {
    let (url, _seen) = plain_http_peer().await;
    let error = within(Client::connect(&url))
        .await
        .expect_err("TLS is not compiled in");
    assert!(
        matches!(
            tungstenite_error(&error),
            tungstenite::Error::Url(tungstenite::error::UrlError::TlsFeatureNotEnabled)
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("TLS support not compiled in"),
        "{error}"
    );
}
