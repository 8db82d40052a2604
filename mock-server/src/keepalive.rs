//! Keepalive (spec §1.3): the server pings every `ping_interval`; a ping unanswered for
//! `pong_timeout` ends the connection. Pure: time is an argument, pings come out as payloads.

use std::collections::VecDeque;
use std::time::Duration;

use crate::clock::Timestamp;

/// One connection's pings and the pongs it still owes.
#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Duration,
    pong_timeout: Duration,
    next_ping: Timestamp,
    pings_sent: u64,
    /// Pings not answered yet, oldest first: their sequence number and when they went out.
    unanswered: VecDeque<(u64, Timestamp)>,
}

impl Keepalive {
    /// Keepalive for a connection opened at `connected`: the first ping is due one interval
    /// later.
    pub fn new(connected: Timestamp, interval: Duration, pong_timeout: Duration) -> Self {
        Keepalive {
            interval,
            pong_timeout,
            next_ping: connected.plus(interval),
            pings_sent: 0,
            unanswered: VecDeque::new(),
        }
    }

    /// When the next ping is due.
    pub fn next_ping(&self) -> Timestamp {
        self.next_ping
    }

    /// When the oldest unanswered ping times out, if any is unanswered.
    pub fn pong_deadline(&self) -> Option<Timestamp> {
        self.unanswered
            .front()
            .map(|&(_, sent)| sent.plus(self.pong_timeout))
    }

    /// The payload of a ping to send now, if one is due; the next one is then due one
    /// interval after `now` (however late this one is: a clock advanced by minutes sends one
    /// ping, not one per interval skipped).
    pub fn ping_due(&mut self, now: Timestamp) -> Option<Vec<u8>> {
        if now < self.next_ping {
            return None;
        }
        self.pings_sent += 1;
        self.unanswered.push_back((self.pings_sent, now));
        self.next_ping = now.plus(self.interval);
        Some(self.pings_sent.to_string().into_bytes())
    }

    /// Whether the oldest unanswered ping has timed out at `now`.
    pub fn timed_out(&self, now: Timestamp) -> bool {
        self.pong_deadline().is_some_and(|deadline| now >= deadline)
    }

    /// A pong arrived. Only one that echoes an unanswered ping's payload counts (spec §1.3);
    /// it answers that ping and every earlier one. Others are ignored.
    pub fn pong(&mut self, payload: &[u8]) {
        let answered = self
            .unanswered
            .iter()
            .position(|(seq, _)| payload == seq.to_string().as_bytes());
        if let Some(answered) = answered {
            self.unanswered.drain(..=answered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);
    const S: Duration = Duration::from_secs(1);

    fn at(seconds: u64) -> Timestamp {
        T0.plus(S * u32::try_from(seconds).unwrap_or(u32::MAX))
    }

    #[test]
    fn pings_are_numbered_and_spaced_by_the_interval_from_when_they_went_out() {
        let mut k = Keepalive::new(T0, 20 * S, 60 * S);
        assert_eq!(k.ping_due(at(19)), None);
        assert_eq!(k.ping_due(at(20)), Some(b"1".to_vec()));
        assert_eq!(k.ping_due(at(20)), None);
        // Late by 25 s: one ping, and the next is 20 s after it.
        assert_eq!(k.ping_due(at(65)), Some(b"2".to_vec()));
        assert_eq!(k.next_ping(), at(85));
    }

    #[test]
    fn a_pong_answers_its_ping_and_every_earlier_one() {
        let mut k = Keepalive::new(T0, 20 * S, 60 * S);
        k.ping_due(at(20));
        k.ping_due(at(40));
        k.ping_due(at(60));
        assert_eq!(k.pong_deadline(), Some(at(80)));
        k.pong(b"unsolicited");
        k.pong(b"4");
        assert_eq!(k.pong_deadline(), Some(at(80)));
        k.pong(b"2");
        assert_eq!(k.pong_deadline(), Some(at(120)));
        k.pong(b"3");
        assert_eq!(k.pong_deadline(), None);
        assert!(!k.timed_out(at(1_000)));
    }

    #[test]
    fn an_unanswered_ping_times_out_exactly_at_its_deadline() {
        let mut k = Keepalive::new(T0, 20 * S, 60 * S);
        k.ping_due(at(20));
        assert!(!k.timed_out(at(79)));
        assert!(k.timed_out(at(80)));
    }
}
