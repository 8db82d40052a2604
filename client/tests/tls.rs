//! `wss://` URLs (the real endpoints, spec §1.1): refused up front without the `tls` feature,
//! a TLS handshake with it.

use tokio::net::TcpListener;
use ws_client::{Client, Error};

#[tokio::test]
async fn a_wss_url_reaches_a_tls_handshake_only_with_the_tls_feature() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "wss://{}/ws-api/v3",
        listener.local_addr().expect("local address")
    );
    // A peer that hangs up at once: no TLS handshake can succeed.
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let error = Client::connect(&url)
        .await
        .expect_err("no TLS server there");
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    let not_compiled_in = error.to_string().contains("TLS support not compiled in");
    assert_eq!(not_compiled_in, cfg!(not(feature = "tls")), "{error}");
}
