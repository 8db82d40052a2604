//! What the connector hands to the driver's callbacks, kept until a step asks for it.
//!
//! The connector calls its callbacks on its own tasks; they only forward into a channel. A step
//! then waits for the first item that matches, with a deadline, so that a connector that never
//! delivers fails the step instead of hanging the run, and no step sleeps to let things happen.

use std::time::Duration;

use anyhow::{Result, bail};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::{Instant, timeout_at};

/// How long a step waits for something the connector should deliver.
pub const WAIT: Duration = Duration::from_secs(5);

/// Items forwarded by a callback, oldest first.
pub struct Inbox<T> {
    rx: UnboundedReceiver<T>,
    /// Received but not yet asked for.
    unclaimed: Vec<T>,
}

impl<T: std::fmt::Debug> Inbox<T> {
    /// A new inbox and the sender its callbacks forward into.
    pub fn new() -> (Self, UnboundedSender<T>) {
        let (tx, rx) = unbounded_channel();
        (
            Self {
                rx,
                unclaimed: Vec::new(),
            },
            tx,
        )
    }

    /// The first item, received already or within [`WAIT`], that `matches`; it is taken out,
    /// so the next wait for the same kind of item waits for a new one.
    pub async fn wait_for(&mut self, what: &str, matches: impl Fn(&T) -> bool) -> Result<T> {
        if let Some(at) = self.unclaimed.iter().position(&matches) {
            return Ok(self.unclaimed.remove(at));
        }
        let deadline = Instant::now() + WAIT;
        loop {
            match timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(item)) if matches(&item) => return Ok(item),
                Ok(Some(item)) => self.unclaimed.push(item),
                Ok(None) => bail!("no {what}: the connector dropped its callback"),
                Err(_) => {
                    let newest = &self.unclaimed[self.unclaimed.len().saturating_sub(5)..];
                    bail!(
                        "no {what} within {} s; newest received: {newest:?}",
                        WAIT.as_secs()
                    )
                }
            }
        }
    }

    /// Forgets what was received and not asked for (e.g. the replies of an earlier step).
    pub fn clear(&mut self) {
        while self.rx.try_recv().is_ok() {}
        self.unclaimed.clear();
    }
}
