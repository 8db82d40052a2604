//! The request journal (`GET /__admin/requests`, [`MockServer::journal`]): what the server
//! received and answered, newest last, in a bounded ring.
//!
//! [`MockServer::journal`]: crate::MockServer::journal

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::envelope::{bare_method, RequestId};

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
    fn matches(&self, entry: &Record) -> bool {
        let method_matches = match (&self.method, &entry.method) {
            (None, _) => true,
            (Some(wanted), Some(method)) => bare_method(wanted) == bare_method(method),
            (Some(_), None) => false,
        };
        method_matches && self.connection.is_none_or(|c| c == entry.connection)
    }
}

/// One entry as the ring holds it, made into a [`JournalEntry`] only when asked for: the
/// request and the reply in one allocation, the key shared with the entries before it, the
/// rare parts boxed. Each request makes one, under the server lock, and the ring holds
/// thousands: small and cheap to make is the point.
#[derive(Debug)]
pub(crate) struct Record {
    pub seq: u64,
    pub at: i64,
    pub connection: u64,
    pub peer: SocketAddr,
    pub method: Option<Cow<'static, str>>,
    pub id: RequestId,
    /// The request's text (bounded), then the reply's (bounded), if one was sent: written
    /// by [`Journal::push`], into the buffer of the entry it pushes out when it can.
    pub text: String,
    /// Where the reply starts in `text`.
    pub request_len: u32,
    /// Whether a reply was sent; with `status` its status.
    pub replied: bool,
    pub status: u16,
    pub weight: u32,
    pub truncated: bool,
    pub error: Option<Box<JournalError>>,
    pub signature: Option<Box<SignatureRecord>>,
    pub api_key: Option<Arc<str>>,
    /// A result the reply repeats from a cache (a `depth` book), kept by reference: a ring
    /// of such replies would otherwise copy the same kilobytes into every entry. Boxed, as
    /// the other rare parts: most replies share nothing.
    pub shared: Option<Box<SharedResult>>,
}

/// A shared result and where it stands in its reply (`text` holds the rest of the reply).
#[derive(Debug)]
pub(crate) struct SharedResult {
    at: u32,
    text: Arc<str>,
}

impl Record {
    /// Writes the request and, when one was sent, the reply into `text`, each cut to
    /// [`MAX_FRAME`] bytes at a character boundary; notes where the reply starts and whether
    /// either was cut.
    ///
    /// With `shared`, the reply holds that text at that offset: when it does, whole, the
    /// text is kept by reference and only the reply around it is copied.
    pub fn write_texts(
        &mut self,
        request: &str,
        reply: Option<&str>,
        shared: Option<(usize, &Arc<str>)>,
    ) {
        let (request, request_cut) = bounded(request);
        let (reply, reply_cut) = bounded(reply.unwrap_or(""));
        let (head, tail) = match shared {
            Some((at, text)) if !reply_cut && reply.get(at..at + text.len()) == Some(&**text) => {
                self.shared = Some(Box::new(SharedResult {
                    // At most 64 KiB: the offset fits.
                    at: u32::try_from(at).unwrap_or(u32::MAX),
                    text: Arc::clone(text),
                }));
                (&reply[..at], &reply[at + text.len()..])
            }
            _ => {
                self.shared = None;
                (reply, "")
            }
        };
        self.text.clear();
        // Some room to spare, so that the next entry given this buffer (its `id` a digit
        // longer, say) still fits.
        let needed = request.len() + head.len() + tail.len();
        if self.text.capacity() < needed {
            self.text.reserve(needed + needed / 4 + 16);
        }
        self.text.push_str(request);
        self.text.push_str(head);
        self.text.push_str(tail);
        // At most 64 KiB: the length fits.
        self.request_len = u32::try_from(request.len()).unwrap_or(u32::MAX);
        self.truncated = request_cut || reply_cut;
    }

    fn request(&self) -> &str {
        self.text.get(..self.request_len as usize).unwrap_or("")
    }

    fn reply(&self) -> Option<Cow<'_, str>> {
        if !self.replied {
            return None;
        }
        let rest = self.text.get(self.request_len as usize..).unwrap_or("");
        Some(match &self.shared {
            None => Cow::Borrowed(rest),
            Some(shared) => {
                let at = (shared.at as usize).min(rest.len());
                let (head, tail) = rest.split_at_checked(at).unwrap_or((rest, ""));
                Cow::Owned([head, &shared.text, tail].concat())
            }
        })
    }

    fn entry(&self) -> JournalEntry {
        JournalEntry {
            seq: self.seq,
            at: self.at,
            connection: self.connection,
            peer: self.peer,
            method: self.method.clone(),
            id: serde_json::to_value(&self.id).unwrap_or_default(),
            request: self.request().to_owned(),
            status: self.replied.then_some(self.status),
            error: self.error.as_deref().cloned(),
            weight: self.weight,
            reply: self.reply().map(Cow::into_owned),
            signature: self.signature.clone(),
            api_key: self.api_key.as_deref().map(str::to_owned),
            truncated: self.truncated,
        }
    }
}

/// The ring of entries.
#[derive(Debug)]
pub(crate) struct Journal {
    entries: VecDeque<Record>,
    capacity: usize,
    text: usize,
    next_seq: u64,
    /// The keys entries ran as lately, shared by the entries that name them.
    keys: Vec<Arc<str>>,
}

/// How many keys [`Journal::key`] remembers.
const RECENT_KEYS: usize = 8;

/// `text`, cut to at most [`MAX_FRAME`] bytes at a character boundary; whether it was cut.
fn bounded(text: &str) -> (&str, bool) {
    if text.len() <= MAX_FRAME {
        return (text, false);
    }
    let mut end = MAX_FRAME;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

impl Journal {
    /// A journal that keeps the newest `capacity` entries (none for 0).
    pub fn new(capacity: usize) -> Self {
        Journal {
            // Room for every entry at once, so that the ring never doubles past its bound
            // (10,000 entries in a ring of 16,384): the memory is touched only as entries
            // come. Beyond 65,536 it grows as usual.
            entries: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity,
            text: 0,
            next_seq: 0,
            keys: Vec::new(),
        }
    }

    /// `api_key` as the entries hold it: one allocation for each key lately seen, not one
    /// for each request (a session's requests all run as its key).
    pub fn key(&mut self, api_key: &str) -> Arc<str> {
        if let Some(index) = self.keys.iter().position(|k| &**k == api_key) {
            // The newest last, so that the oldest is the one forgotten.
            let key = self.keys.remove(index);
            self.keys.push(Arc::clone(&key));
            return key;
        }
        if self.keys.len() == RECENT_KEYS {
            self.keys.remove(0);
        }
        let key: Arc<str> = Arc::from(api_key);
        self.keys.push(Arc::clone(&key));
        key
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

    /// The text `entry` holds, a shared result counted whole: the bound on the journal's
    /// text stays what it was, however the text is held.
    fn size(entry: &Record) -> usize {
        entry.text.len() + entry.shared.as_ref().map_or(0, |shared| shared.text.len())
    }

    /// Adds `entry` with its request and reply texts. A full ring gives its oldest entry's
    /// text buffer to the new one, so that a request in the steady state allocates and
    /// frees nothing here; the oldest past the text bound go into `evicted`, for the caller
    /// to drop once it has released the server lock.
    #[cfg(test)]
    pub fn push(
        &mut self,
        entry: Record,
        request: &str,
        reply: Option<&str>,
        evicted: &mut Vec<Record>,
    ) {
        self.push_sharing(entry, request, reply, None, evicted);
    }

    /// As [`push`](Self::push), for a reply that holds `shared` at the given offset: the
    /// entry keeps that text by reference ([`Record::write_texts`]).
    pub fn push_sharing(
        &mut self,
        mut entry: Record,
        request: &str,
        reply: Option<&str>,
        shared: Option<(usize, &Arc<str>)>,
        evicted: &mut Vec<Record>,
    ) {
        if !self.is_on() {
            return;
        }
        if self.entries.len() >= self.capacity {
            if let Some(mut oldest) = self.entries.pop_front() {
                self.text -= Self::size(&oldest);
                // Its buffer, if not much larger than this entry needs: the ring's memory
                // stays within a small factor of the text it holds.
                let needed = request.len() + reply.map_or(0, str::len);
                if oldest.text.capacity() <= (2 * needed).max(512) {
                    entry.text = std::mem::take(&mut oldest.text);
                }
                // The rest of it (rarely more than a shared key) is dropped with the lock
                // released, as any evicted entry.
                if oldest.text.capacity() > 0
                    || oldest.signature.is_some()
                    || oldest.error.is_some()
                    || oldest.shared.is_some()
                {
                    evicted.push(oldest);
                }
            }
        }
        entry.write_texts(request, reply, shared);
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
        let matching: Vec<&Record> = self.entries.iter().filter(|e| query.matches(e)).collect();
        let skip = query
            .limit
            .map_or(0, |limit| matching.len().saturating_sub(limit));
        matching.into_iter().skip(skip).map(Record::entry).collect()
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

    fn entry(journal: &mut Journal, connection: u64, method: &str, _text: &str) -> Record {
        Record {
            seq: journal.next_seq(),
            at: 0,
            connection,
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            method: Some(Cow::Owned(method.to_owned())),
            id: RequestId::Null,
            text: String::new(),
            request_len: 0,
            replied: true,
            status: 200,
            weight: 1,
            truncated: false,
            error: None,
            signature: None,
            api_key: None,
            shared: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_queries_filter_then_limit() {
        let mut journal = Journal::new(3);
        let mut evicted = Vec::new();
        for (connection, method) in [(1, "ping"), (2, "time"), (1, "v3/ping"), (2, "ping")] {
            let e = entry(&mut journal, connection, method, "x");
            journal.push(e, "x", Some(""), &mut evicted);
        }
        // The first entry's buffer went to the fourth: nothing was left to drop.
        assert!(evicted.is_empty());
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
        assert_eq!((kept, cut), ("ab", false));
        let long = "é".repeat(MAX_FRAME);
        let (kept, cut) = bounded(&long);
        assert!(cut);
        assert!(kept.len() <= MAX_FRAME && kept.len() > MAX_FRAME - 2);
    }

    #[test]
    fn a_record_gives_back_its_request_and_reply_apart() {
        let mut journal = Journal::new(4);
        let mut record = entry(&mut journal, 1, "ping", "{}");
        record.write_texts("ré", Some(r#"{"ok":1}"#), None);
        let shown = record.entry();
        assert_eq!(shown.request, "ré");
        assert_eq!(shown.reply.as_deref(), Some(r#"{"ok":1}"#));
        assert!(!shown.truncated);
        // No reply sent: none shown, even an empty one.
        record.replied = false;
        record.write_texts("x", None, None);
        let shown = record.entry();
        assert_eq!(
            (shown.request.as_str(), shown.reply, shown.status),
            ("x", None, None)
        );
        record.write_texts("x", Some(&"y".repeat(MAX_FRAME + 1)), None);
        assert!(record.truncated);
    }

    #[test]
    fn a_full_ring_reuses_the_oldest_text_and_keeps_each_entry_its_own() {
        let mut journal = Journal::new(2);
        let mut evicted = Vec::new();
        for (text, reply) in [("aaaa", "1"), ("bb", "22"), ("c", "333333"), ("dddddd", "")] {
            let e = entry(&mut journal, 1, "ping", text);
            journal.push(e, text, Some(reply), &mut evicted);
        }
        let shown: Vec<(String, Option<String>)> = journal
            .query(&JournalQuery::default())
            .into_iter()
            .map(|e| (e.request, e.reply))
            .collect();
        assert_eq!(
            shown,
            [
                ("c".to_owned(), Some("333333".to_owned())),
                ("dddddd".to_owned(), Some(String::new())),
            ]
        );
        assert_eq!(journal.text, "c333333dddddd".len());
        // A buffer far larger than the entry that would take it is not kept.
        let big = "z".repeat(4096);
        let e = entry(&mut journal, 1, "ping", &big);
        journal.push(e, &big, None, &mut evicted);
        let e = entry(&mut journal, 1, "ping", "q");
        journal.push(e, "q", None, &mut evicted);
        let e = entry(&mut journal, 1, "ping", "r");
        journal.push(e, "r", None, &mut evicted);
        assert!(journal.entries.iter().all(|e| e.text.capacity() < 1024));
        assert!(evicted.iter().any(|e| e.text.capacity() >= 4096));
    }

    #[test]
    fn a_shared_result_is_kept_by_reference_and_given_back_in_place() {
        let mut journal = Journal::new(2);
        let mut evicted = Vec::new();
        let result: Arc<str> = Arc::from(r#"{"bids":[["1.00","2.0"]]}"#);
        let reply = format!(r#"{{"id":1,"status":200,"result":{result},"rateLimits":[]}}"#);
        let at = reply.find(&*result).expect("the result is in the reply");
        let e = entry(&mut journal, 1, "depth", "q");
        journal.push_sharing(e, "q", Some(&reply), Some((at, &result)), &mut evicted);
        let held = journal.entries.back().expect("an entry");
        assert!(held
            .shared
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(&s.text, &result)));
        // Only the reply around the result was copied; the bound counts the result whole.
        assert_eq!(held.text.len(), 1 + reply.len() - result.len());
        assert_eq!(journal.text, 1 + reply.len());
        // An offset where the text is not: copied, and still exact.
        let e = entry(&mut journal, 1, "depth", "r");
        journal.push_sharing(e, "r", Some(&reply), Some((at + 1, &result)), &mut evicted);
        assert!(journal.entries.back().is_some_and(|e| e.shared.is_none()));
        let replies: Vec<Option<String>> = journal
            .query(&JournalQuery::default())
            .into_iter()
            .map(|e| e.reply)
            .collect();
        assert_eq!(replies, [Some(reply.clone()), Some(reply)]);
        // The shared entry, pushed out, is dropped by the caller, off the lock.
        for text in ["s", "t"] {
            let e = entry(&mut journal, 1, "ping", text);
            journal.push(e, text, Some(""), &mut evicted);
        }
        assert!(evicted.iter().any(|e| e.shared.is_some()));
    }

    #[test]
    fn keys_are_shared_and_the_oldest_forgotten() {
        let mut journal = Journal::new(4);
        let first = journal.key("a");
        assert!(Arc::ptr_eq(&first, &journal.key("a")));
        for other in 0..RECENT_KEYS {
            journal.key(&other.to_string());
        }
        let again = journal.key("a");
        assert_eq!(&*again, "a");
        assert!(!Arc::ptr_eq(&first, &again));
    }
}
