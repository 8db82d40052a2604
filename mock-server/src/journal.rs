//! The request journal (`GET /__admin/requests`, [`MockServer::journal`]): what the server
//! received and answered, newest last, in a bounded ring.
//!
//! [`MockServer::journal`]: crate::MockServer::journal

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;

use serde::Serialize;

use crate::envelope::bare_method;

/// The most text the journal keeps, requests and replies together.
pub const MAX_TEXT: usize = 64 << 20;

/// The longest request or reply kept whole; a longer one is kept truncated.
pub const MAX_FRAME: usize = 64 << 10;

/// One request as the server received and answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Its number: 1 for the first request a server received, never reused.
    pub seq: u64,
    /// When it was received, in milliseconds of the mock's clock.
    pub at: i64,
    /// The connection it came on.
    pub connection: u64,
    /// The client's address, written `ip:port`.
    pub peer: SocketAddr,
    /// The method it named (as sent, `v3/` prefix included); `null` for a frame that did
    /// not parse.
    pub method: Option<Cow<'static, str>>,
    /// Its `id` as echoed in the reply; `null` for a frame that did not parse.
    pub id: serde_json::Value,
    /// The text frame exactly as received.
    pub request: String,
    /// The reply's status; `null` when no reply was sent (a fault).
    pub status: Option<u16>,
    /// The reply's error; `null` for a success or when no reply was sent.
    pub error: Option<JournalError>,
    /// REQUEST_WEIGHT charged for it.
    pub weight: u32,
    /// The reply exactly as sent; `null` when none was sent (a fault).
    pub reply: Option<String>,
    /// The signature it carried, as verified; `null` when it carried none. Boxed: most
    /// requests carry none, and the journal holds thousands of entries.
    pub signature: Option<Box<SignatureRecord>>,
    /// The key it ran as: its own signature's or the session's; `null` for none.
    pub api_key: Option<String>,
    /// Whether `request` or `reply` was over 64 KiB and is kept cut short.
    pub truncated: bool,
}

/// A reply's error in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalError {
    /// The error code.
    pub code: i32,
    /// The error message.
    pub msg: String,
}

/// A request's own signature as the server checked it: the answer to "why -1022".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureRecord {
    /// The `apiKey` it was sent with.
    pub api_key: String,
    /// The key's type as `/__admin/keys` spells it (`ED25519`, `HMAC`, `RSA`); `null` for a
    /// key that is not registered.
    pub key_type: Option<&'static str>,
    /// The exact string the server verified the signature over: every param but
    /// `signature`, sorted by name, as `name=value` joined by `&`, values unencoded.
    pub payload: String,
    /// Whether the signature verified.
    pub valid: bool,
    /// With lenient signing: every payload tried, the raw one first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payloads_tried: Option<Vec<String>>,
}

/// Which entries [`MockServer::journal`](crate::MockServer::journal) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// Only requests for this method (with or without the `v3/` prefix).
    pub method: Option<String>,
    /// Only requests on this connection.
    pub connection: Option<u64>,
    /// Only the newest this many (still oldest first).
    pub limit: Option<usize>,
}

impl JournalQuery {
    fn matches(&self, entry: &JournalEntry) -> bool {
        let method_matches = match (&self.method, &entry.method) {
            (None, _) => true,
            (Some(wanted), Some(method)) => bare_method(wanted) == bare_method(method),
            (Some(_), None) => false,
        };
        method_matches && self.connection.is_none_or(|c| c == entry.connection)
    }
}

/// The ring of entries.
#[derive(Debug)]
pub(crate) struct Journal {
    entries: VecDeque<JournalEntry>,
    capacity: usize,
    text: usize,
    next_seq: u64,
}

/// `text`, cut to at most [`MAX_FRAME`] bytes at a character boundary; whether it was cut.
pub(crate) fn bounded(text: &str) -> (String, bool) {
    if text.len() <= MAX_FRAME {
        return (text.to_owned(), false);
    }
    let mut end = MAX_FRAME;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

impl Journal {
    /// A journal that keeps the newest `capacity` entries (none for 0).
    pub fn new(capacity: usize) -> Self {
        Journal {
            entries: VecDeque::new(),
            capacity,
            text: 0,
            next_seq: 0,
        }
    }

    /// Whether entries are kept at all.
    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }

    /// The next entry's `seq`.
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn size(entry: &JournalEntry) -> usize {
        entry.request.len() + entry.reply.as_ref().map_or(0, String::len)
    }

    /// Adds `entry`, moving the oldest past the bounds into `evicted`: the caller drops
    /// them once it has released the server lock, so freeing them costs no one a wait.
    pub fn push(&mut self, entry: JournalEntry, evicted: &mut Vec<JournalEntry>) {
        if !self.is_on() {
            return;
        }
        self.text += Self::size(&entry);
        self.entries.push_back(entry);
        while self.entries.len() > self.capacity || self.text > MAX_TEXT {
            match self.entries.pop_front() {
                Some(old) => {
                    self.text -= Self::size(&old);
                    evicted.push(old);
                }
                None => break,
            }
        }
    }

    /// The entries `query` selects, oldest first.
    pub fn query(&self, query: &JournalQuery) -> Vec<JournalEntry> {
        let matching: Vec<&JournalEntry> =
            self.entries.iter().filter(|e| query.matches(e)).collect();
        let skip = query
            .limit
            .map_or(0, |limit| matching.len().saturating_sub(limit));
        matching.into_iter().skip(skip).cloned().collect()
    }

    /// Forgets every entry; `seq` goes on counting.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.text = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(journal: &mut Journal, connection: u64, method: &str, text: &str) -> JournalEntry {
        JournalEntry {
            seq: journal.next_seq(),
            at: 0,
            connection,
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            method: Some(Cow::Owned(method.to_owned())),
            id: serde_json::Value::Null,
            request: text.to_owned(),
            status: Some(200),
            error: None,
            weight: 1,
            reply: Some(String::new()),
            signature: None,
            api_key: None,
            truncated: false,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_queries_filter_then_limit() {
        let mut journal = Journal::new(3);
        let mut evicted = Vec::new();
        for (connection, method) in [(1, "ping"), (2, "time"), (1, "v3/ping"), (2, "ping")] {
            let e = entry(&mut journal, connection, method, "x");
            journal.push(e, &mut evicted);
        }
        assert_eq!(evicted.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
        let all = journal.query(&JournalQuery::default());
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
        let pings = JournalQuery {
            method: Some("ping".to_owned()),
            limit: Some(1),
            ..JournalQuery::default()
        };
        assert_eq!(journal.query(&pings)[0].seq, 4);
        let on_one = JournalQuery {
            connection: Some(1),
            ..JournalQuery::default()
        };
        assert_eq!(journal.query(&on_one)[0].method.as_deref(), Some("v3/ping"));
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let (kept, cut) = bounded("ab");
        assert_eq!((kept.as_str(), cut), ("ab", false));
        let long = "é".repeat(MAX_FRAME);
        let (kept, cut) = bounded(&long);
        assert!(cut);
        assert!(kept.len() <= MAX_FRAME && kept.len() > MAX_FRAME - 2);
    }
}
