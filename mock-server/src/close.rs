//! Why the server closes a connection, and the one mapping to WebSocket close codes
//! (spec §10.5: Binance documents none; docs/FIDELITY.md records each choice).

/// Why the server ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client's IP is banned (after a 418 reply, spec §5.3).
    IpBanned,
    /// A ping went unanswered for the pong timeout (spec §1.3).
    PongTimeout,
    /// The connection reached its maximum lifetime (spec §1.3: 24 h).
    LifetimeExceeded,
    /// The server is shutting down (after `serverShutdown` and the grace period, spec §1.4).
    ServerShutdown,
    /// A message or frame was larger than the configured maximum.
    MessageTooBig,
    /// A text frame was not valid UTF-8.
    InvalidUtf8,
    /// The client took its User Data Stream events too slowly: its queue filled up.
    EventQueueFull,
    /// The client broke the WebSocket protocol (RFC 6455 §7.4.1), such as an unmasked frame.
    ProtocolError,
    /// The control plane reset the server (`POST /__admin/reset`).
    Reset,
}

impl CloseReason {
    /// The WebSocket close code sent.
    pub fn code(self) -> u16 {
        match self {
            CloseReason::IpBanned | CloseReason::PongTimeout | CloseReason::EventQueueFull => 1008,
            CloseReason::LifetimeExceeded => 1000,
            CloseReason::ServerShutdown => 1001,
            CloseReason::MessageTooBig => 1009,
            CloseReason::InvalidUtf8 => 1007,
            CloseReason::ProtocolError => 1002,
            CloseReason::Reset => 1012,
        }
    }

    /// The close frame's reason text.
    pub fn reason(self) -> &'static str {
        match self {
            CloseReason::IpBanned => "IP banned",
            CloseReason::PongTimeout => "pong timeout",
            CloseReason::LifetimeExceeded => "connection lifetime exceeded",
            CloseReason::ServerShutdown => "server shutting down",
            CloseReason::MessageTooBig => "message too big",
            CloseReason::InvalidUtf8 => "invalid UTF-8 in a text frame",
            CloseReason::EventQueueFull => "too many events queued",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::Reset => "server reset",
        }
    }
}
