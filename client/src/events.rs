//! Frames the server sends on its own, without an `id`: `serverShutdown` (spec §1.4), User
//! Data Stream events (spec §4.6), a session revocation (spec §4.7).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

/// A frame the server sent without an `id` (or with `"id": null`), kept whole.
///
/// Most are `{"event": {...}}` or `{"subscriptionId": 0, "event": {...}}`; a session
/// revocation is an error reply with `"id": null` (spec §4.7).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    frame: Map<String, Value>,
}

impl Event {
    pub(crate) fn new(frame: Map<String, Value>) -> Self {
        Event { frame }
    }

    /// The event type, `event.e`: `"serverShutdown"`, `"eventStreamTerminated"`,
    /// `"executionReport"`, ...
    pub fn kind(&self) -> Option<&str> {
        self.payload()?.get("e")?.as_str()
    }

    /// The event time, `event.E`, in the connection's time unit.
    pub fn time(&self) -> Option<i64> {
        self.payload()?.get("E")?.as_i64()
    }

    /// The User Data Stream subscription the event belongs to, when it names one.
    pub fn subscription_id(&self) -> Option<u64> {
        self.frame.get("subscriptionId")?.as_u64()
    }

    /// The `event` object.
    pub fn payload(&self) -> Option<&Map<String, Value>> {
        self.frame.get("event")?.as_object()
    }

    /// The whole frame, as received.
    pub fn frame(&self) -> &Map<String, Value> {
        &self.frame
    }

    /// The whole frame, as received.
    pub fn into_frame(self) -> Map<String, Value> {
        self.frame
    }
}

/// The events of one connection, in the order they arrived; ends when the connection closes.
///
/// Read it with [`Events::recv`] or as a [`Stream`]. Events are buffered per reader, up to
/// [`Events::CAPACITY`]; a reader that falls further behind loses the oldest ones (and a
/// warning is logged) rather than slowing the connection down.
pub struct Events {
    inner: Pin<Box<dyn Stream<Item = Event> + Send>>,
}

impl Events {
    /// How many unread events each reader keeps.
    pub const CAPACITY: usize = 4096;

    pub(crate) fn new(receiver: broadcast::Receiver<Event>) -> Self {
        let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    Err(broadcast::error::RecvError::Lagged(lost)) => {
                        tracing::warn!(lost, "events were read too slowly; the oldest were lost");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Events {
            inner: Box::pin(events),
        }
    }

    /// The next event; `None` once the connection has closed and every event was read.
    pub async fn recv(&mut self) -> Option<Event> {
        self.next().await
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Event {
        Event::new(serde_json::from_str(text).expect("test frame is a JSON object"))
    }

    #[test]
    fn a_server_shutdown_names_its_kind_and_time() {
        let shutdown = event(r#"{"event":{"e":"serverShutdown","E":1770123456789}}"#);
        assert_eq!(shutdown.kind(), Some("serverShutdown"));
        assert_eq!(shutdown.time(), Some(1_770_123_456_789));
        assert_eq!(shutdown.subscription_id(), None);
    }

    #[test]
    fn a_user_data_event_names_its_subscription() {
        let ended = event(
            r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}"#,
        );
        assert_eq!(ended.kind(), Some("eventStreamTerminated"));
        assert_eq!(ended.subscription_id(), Some(0));
    }

    #[test]
    fn a_revocation_is_kept_whole() {
        let revoked = event(
            r#"{"id":null,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#,
        );
        assert_eq!(revoked.kind(), None);
        assert_eq!(revoked.frame().get("status"), Some(&Value::from(401)));
    }
}
