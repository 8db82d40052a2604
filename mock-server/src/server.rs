//! The accept loop and shutdown. The only module that knows about TCP.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::{self, Shared};

/// A server's two ways of stopping.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    /// Stop accepting, announce `serverShutdown`, serve each connection for the grace period
    /// (measured on the server's clock), then close it.
    pub graceful: CancellationToken,
    /// Announce and close every connection at once. Cancelling it cancels `graceful` too.
    pub immediate: CancellationToken,
}

impl Shutdown {
    /// Neither has begun.
    pub fn new() -> Self {
        let immediate = CancellationToken::new();
        Shutdown {
            graceful: immediate.child_token(),
            immediate,
        }
    }
}

/// Accepts connections on `listener` until shutdown begins, then waits for every connection
/// task to finish.
pub(crate) async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: Shutdown) {
    let connections = TaskTracker::new();
    loop {
        tokio::select! {
            () = shutdown.graceful.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Replies are small and latency matters more than packet count.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection::serve(stream, peer, shared.clone(), shutdown.clone()));
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}
