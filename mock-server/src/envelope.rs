//! The request/response envelope (spec §2): parsing a text frame into a [`Request`] and
//! writing a reply with its keys in the documented order.
//!
//! Parameters keep the exact text they were sent with, because the signature payload
//! (spec §3.2) is built from that text: `1.10` stays `1.10`, not `1.1`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::clock::Timestamp;
use crate::error::ApiError;

mod scan;

/// A request `id`, echoed back with the same JSON type (spec §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestId {
    Null,
    Int(i64),
    Str(String),
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Null => s.serialize_unit(),
            RequestId::Int(n) => s.serialize_i64(*n),
            RequestId::Str(text) => s.serialize_str(text),
        }
    }
}

/// As the JSON text of the `id`, unquoted: for logs.
impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Null => f.write_str("null"),
            RequestId::Int(n) => write!(f, "{n}"),
            RequestId::Str(text) => f.write_str(text),
        }
    }
}

impl RequestId {
    /// Parses an `id` member: a signed 64-bit integer, a string matching
    /// `^[a-zA-Z0-9-_]{1,36}$`, or null (spec §2.1, §2.5).
    fn parse(raw: Option<&RawValue>) -> Result<RequestId, ApiError> {
        RequestId::parse_text(raw.map(RawValue::get))
    }

    /// As [`parse`](Self::parse), from the member's JSON text.
    fn parse_text(text: Option<&str>) -> Result<RequestId, ApiError> {
        let Some(text) = text else {
            return Ok(RequestId::Null);
        };
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(|_| ApiError::InvalidId)?;
            let valid = (1..=36).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            return if valid {
                Ok(RequestId::Str(s))
            } else {
                Err(ApiError::InvalidId)
            };
        }
        // JSON integers are an optional '-' and digits: exactly what i64 parsing takes.
        // Fractions, exponents, out-of-range values, booleans, arrays and objects all fail.
        text.parse::<i64>()
            .map(RequestId::Int)
            .map_err(|_| ApiError::InvalidId)
    }
}

/// A parameter value, keeping the text it was sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamValue<'a> {
    /// A JSON string, unescaped.
    Str(Cow<'a, str>),
    /// A JSON number, boolean, array or object, as its raw JSON text.
    Raw(&'a str),
}

impl ParamValue<'_> {
    /// The value's text as it enters a signature payload: strings unescaped, everything else
    /// as sent (spec §3.2).
    pub fn text(&self) -> &str {
        match self {
            ParamValue::Str(s) => s,
            ParamValue::Raw(raw) => raw,
        }
    }
}

/// The `params` object: every member in the order sent, duplicates kept.
/// Members whose value is `null` are treated as not sent (spec §2.5: "empty/null").
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Params<'a> {
    /// Names borrowed from the frame unless they had escapes.
    entries: Vec<(Cow<'a, str>, ParamValue<'a>)>,
}

impl<'a> Params<'a> {
    /// The value of `name`, if sent and not null.
    pub fn get(&self, name: &str) -> Option<&ParamValue<'a>> {
        self.entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Every member, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue<'a>)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_ref(), value))
    }

    /// Whether some name appears more than once.
    pub fn has_duplicates(&self) -> bool {
        let names = &self.entries;
        if names.len() <= 16 {
            // A request's handful of params: comparing pairs beats sorting a copy.
            return names
                .iter()
                .enumerate()
                .any(|(i, (name, _))| names[i + 1..].iter().any(|(other, _)| other == name));
        }
        let mut names: Vec<&str> = names.iter().map(|(k, _)| k.as_ref()).collect();
        names.sort_unstable();
        names.windows(2).any(|pair| pair[0] == pair[1])
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&'a str, &'a str)]) -> Self {
        Params {
            entries: pairs
                .iter()
                .map(|(k, v)| (Cow::Borrowed(*k), ParamValue::Str(Cow::Borrowed(*v))))
                .collect(),
        }
    }
}

/// A method's view of its params: it takes each param it reads by name, then calls
/// [`finish`](ParamCursor::finish), which refuses params nobody took (-1104), as mini-redis's
/// `parse.finish()` refuses trailing arguments. What a method reads is thus what its code
/// reads; no separate list can drift from it.
#[derive(Debug)]
pub(crate) struct ParamCursor<'p, 'a> {
    params: &'p Params<'a>,
    taken: Taken,
}

/// Which entries were taken: a bit per entry, spilling to a vector past 64 entries.
#[derive(Debug)]
enum Taken {
    Few(u64),
    Many(Vec<bool>),
}

/// The universal param every method accepts; it is counted neither as read nor as sent.
const RETURN_RATE_LIMITS: &str = "returnRateLimits";

impl<'p, 'a> ParamCursor<'p, 'a> {
    /// A cursor over `params` with nothing taken yet.
    pub fn new(params: &'p Params<'a>) -> Self {
        let taken = if params.entries.len() <= 64 {
            Taken::Few(0)
        } else {
            Taken::Many(vec![false; params.entries.len()])
        };
        ParamCursor { params, taken }
    }

    /// Takes `name`: it counts as read, and its value is returned if it was sent (not null).
    pub fn take(&mut self, name: &str) -> Option<&'p ParamValue<'a>> {
        let index = self
            .params
            .entries
            .iter()
            .position(|(key, _)| key == name)?;
        match &mut self.taken {
            Taken::Few(bits) => *bits |= 1 << index,
            Taken::Many(flags) => flags[index] = true,
        }
        Some(&self.params.entries[index].1)
    }

    /// Takes, in one pass over the params sent, each one `take` reads: it is handed every
    /// name not taken yet with its value, and answers whether it took it. Reading many
    /// names, most not sent, costs one scan rather than one per name.
    pub fn take_each(&mut self, mut take: impl FnMut(&str, &'p ParamValue<'a>) -> bool) {
        let params = self.params;
        for (index, (name, value)) in params.entries.iter().enumerate() {
            if !self.is_taken(index) && take(name, value) {
                match &mut self.taken {
                    Taken::Few(bits) => *bits |= 1 << index,
                    Taken::Many(flags) => flags[index] = true,
                }
            }
        }
    }

    /// Takes the credentials of a SIGNED request: `apiKey`, `signature`, `timestamp` and
    /// `recvWindow`; `auth` reads their values from [`all`](Self::all).
    pub fn take_credentials(&mut self) {
        for name in ["apiKey", "signature", "timestamp", "recvWindow"] {
            self.take(name);
        }
    }

    /// Every param as sent, for what covers them all (the signature payload).
    pub fn all(&self) -> &'p Params<'a> {
        self.params
    }

    fn is_taken(&self, index: usize) -> bool {
        match &self.taken {
            Taken::Few(bits) => bits & (1 << index) != 0,
            Taken::Many(flags) => flags[index],
        }
    }

    /// Checks that every param sent was taken.
    ///
    /// # Errors
    /// -1104 naming how many params were read and how many were sent, `returnRateLimits`
    /// counted in neither (docs/FIDELITY.md §10.15).
    pub fn finish(&self) -> Result<(), ApiError> {
        let (mut read, mut sent) = (0, 0);
        for (index, (name, _)) in self.params.entries.iter().enumerate() {
            if name != RETURN_RATE_LIMITS {
                sent += 1;
                read += usize::from(self.is_taken(index));
            }
        }
        if read == sent {
            Ok(())
        } else {
            Err(ApiError::UnreadParameters { read, sent })
        }
    }
}

/// The `params` member as read in the same pass as the envelope: its members as the
/// request keeps them (null ones left out), or the sign that it was something else than an
/// object.
enum ParamsField<'a> {
    Object {
        entries: Vec<(Cow<'a, str>, ParamValue<'a>)>,
        /// A string value serde could not read as text (a lone surrogate escape): the
        /// request is refused, with its `id`.
        unreadable: bool,
    },
    NotObject,
}

/// A param's name, borrowed from the frame unless it has escapes.
struct ParamName<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for ParamName<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for NameVisitor<'a> {
            type Value = ParamName<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(ParamName(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ParamName(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ParamName(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ParamsField<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ParamsVisitor<'a> {
            type Value = ParamsField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                let mut unreadable = false;
                while let Some((key, value)) = map.next_entry::<ParamName<'a>, &'a RawValue>()? {
                    match param_value(value) {
                        Ok(Some(value)) => entries.push((key.0, value)),
                        Ok(None) => {}
                        Err(_) => unreadable = true,
                    }
                }
                Ok(ParamsField::Object {
                    entries,
                    unreadable,
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(ParamsField::NotObject)
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ParamsField::NotObject)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ParamsField::NotObject)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ParamsField::NotObject)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ParamsField::NotObject)
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ParamsField::NotObject)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ParamsField::NotObject)
            }
        }
        deserializer.deserialize_any(ParamsVisitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    /// Read in the same pass: a request's params are scanned once.
    #[serde(borrow, default)]
    params: Option<ParamsField<'a>>,
}

/// A parsed request: a valid `id`, a method name (any `v3/` prefix removed) and its params.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    pub id: RequestId,
    pub method: Cow<'a, str>,
    pub params: Params<'a>,
}

/// A request refused before it reached a method, with the `id` to answer with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub id: RequestId,
    pub error: ApiError,
}

/// Parses one text frame (spec §2.1). Failures carry the `id` to reply with: `null` when the
/// frame is not a JSON object or its `id` is invalid, the request's own `id` otherwise.
pub(crate) fn parse_request(text: &str) -> Result<Request<'_>, Rejected> {
    match scan::parse(text) {
        Some(request) => Ok(request),
        None => parse_request_serde(text),
    }
}

/// [`parse_request`] through serde alone: what [`scan::parse`] must agree with, and the
/// path of every frame it leaves (escapes, nested values, anything refused).
fn parse_request_serde(text: &str) -> Result<Request<'_>, Rejected> {
    let invalid_json = || Rejected {
        id: RequestId::Null,
        error: ApiError::InvalidJson,
    };
    // serde would also read a struct from an array (`[id, method, params]`): only objects are requests.
    if !text.trim_start().starts_with('{') {
        return Err(invalid_json());
    }
    let envelope: Envelope<'_> = serde_json::from_str(text).map_err(|_| invalid_json())?;
    let id = RequestId::parse(envelope.id).map_err(|error| Rejected {
        id: RequestId::Null,
        error,
    })?;
    let reject = |error| Rejected {
        id: id.clone(),
        error,
    };
    let method = match envelope.method {
        Some(raw) if raw.get().starts_with('"') => {
            let name = json_string(raw.get()).map_err(|_| reject(ApiError::InvalidJson))?;
            match name {
                Cow::Borrowed(s) => Cow::Borrowed(bare_method(s)),
                Cow::Owned(s) => Cow::Owned(bare_method(&s).to_owned()),
            }
        }
        _ => return Err(reject(ApiError::MandatoryParam("method"))),
    };
    if method.is_empty() {
        return Err(reject(ApiError::MandatoryParam("method")));
    }
    let params = match envelope.params {
        None => Params::default(),
        Some(ParamsField::NotObject) => return Err(reject(ApiError::ParamsNotObject)),
        Some(ParamsField::Object {
            unreadable: true, ..
        }) => return Err(reject(ApiError::InvalidJson)),
        Some(ParamsField::Object { entries, .. }) => Params { entries },
    };
    Ok(Request { id, method, params })
}

fn param_value(raw: &RawValue) -> Result<Option<ParamValue<'_>>, serde_json::Error> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => Some(ParamValue::Str(json_string(text)?)),
        Some(b'n') => None,
        _ => Some(ParamValue::Raw(text)),
    })
}

/// The text of a JSON string that the parser has already read whole (a raw value that
/// starts with `"`), borrowed unless it has escapes.
///
/// Without a backslash its text is what lies between the quotes: a string the parser
/// accepted holds no control characters and ends at the first unescaped quote. Only a
/// string with escapes is parsed again, to unescape it.
fn json_string(raw: &str) -> Result<Cow<'_, str>, serde_json::Error> {
    match raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) if !inner.contains('\\') => Ok(Cow::Borrowed(inner)),
        _ => serde_json::from_str::<String>(raw).map(Cow::Owned),
    }
}

/// How time fields are written in replies (connect-time `timeUnit`, spec §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// Milliseconds since the epoch (the default).
    #[default]
    Millisecond,
    /// Microseconds since the epoch.
    Microsecond,
}

impl TimeUnit {
    /// `t` in this unit.
    pub fn render(self, t: Timestamp) -> i64 {
        match self {
            TimeUnit::Millisecond => t.as_millis(),
            TimeUnit::Microsecond => t.as_micros(),
        }
    }
}

impl TimeUnit {
    /// Rewrites the members named `keys` of `value` (and of every object or array within
    /// it), times in ms, into this unit. Negative values (`workingTime` -1: none) stay.
    ///
    /// Choice: a time kept in ms is written in microseconds as ms × 1000, as the orders
    /// core keeps times to the ms.
    pub(crate) fn convert_millis(self, value: &mut serde_json::Value, keys: &[&str]) {
        if self == TimeUnit::Millisecond {
            return;
        }
        match value {
            serde_json::Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    match member.as_i64() {
                        Some(ms) if ms >= 0 && keys.contains(&key.as_str()) => {
                            *member = self.render(Timestamp::from_millis(ms)).into();
                        }
                        _ => self.convert_millis(member, keys),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    self.convert_millis(item, keys);
                }
            }
            _ => {}
        }
    }
}

/// One entry of a reply's `rateLimits` array (spec §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RateLimitEntry {
    pub rate_limit_type: &'static str,
    pub interval: &'static str,
    pub interval_num: u32,
    pub limit: u32,
    pub count: u32,
}

#[derive(Serialize)]
struct ErrorBody {
    code: i32,
    msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<ErrorDataBody>,
}

impl ErrorBody {
    /// The `error` member of a reply refused with `error`, its times in `unit`.
    fn of(error: &ApiError, unit: TimeUnit) -> Self {
        ErrorBody {
            code: error.code(),
            msg: error.message(),
            data: error.data().map(|d| ErrorDataBody {
                server_time: unit.render(d.server_time),
                retry_after: unit.render(d.retry_after),
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDataBody {
    server_time: i64,
    retry_after: i64,
}

/// A method's result as JSON text, ready to go into a reply as it is.
///
/// Made only by [`to_json`], which serializes a typed value, or by a result written by
/// hand whose tests hold it to what serde writes: either way valid JSON, so a reply copies
/// it without checking it again.
///
/// A result that many replies repeat (a cached `depth`) is [`shared`](Self::shared): its
/// clones share one text, and the journal keeps it by reference instead of copying it into
/// every entry.
#[derive(Debug, Clone)]
pub(crate) struct Json(JsonText);

#[derive(Debug, Clone)]
enum JsonText {
    Owned(String),
    Shared(std::sync::Arc<str>),
    /// A constant (`{}`): nothing allocated.
    Static(&'static str),
}

/// Equal when the texts are: shared or not is how a result is held, not what it says.
impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Json {}

impl Json {
    /// The JSON text.
    pub fn get(&self) -> &str {
        match &self.0 {
            JsonText::Owned(text) => text,
            JsonText::Shared(text) => text,
            JsonText::Static(text) => text,
        }
    }

    /// The empty object `{}`, what several methods answer.
    pub fn empty_object() -> Self {
        Json(JsonText::Static("{}"))
    }

    /// Text written by hand that is valid JSON by construction: the caller's tests compare
    /// it with what serde writes of the same value.
    pub(crate) fn written(text: String) -> Self {
        Json(JsonText::Owned(text))
    }

    /// The same text, held so that clones share it (one copy, made here).
    pub(crate) fn into_shared(self) -> Self {
        match self.0 {
            JsonText::Owned(text) => Json(JsonText::Shared(text.into())),
            held @ (JsonText::Shared(_) | JsonText::Static(_)) => Json(held),
        }
    }

    /// The shared text, if this result is held so.
    pub(crate) fn shared(&self) -> Option<&std::sync::Arc<str>> {
        match &self.0 {
            JsonText::Owned(_) | JsonText::Static(_) => None,
            JsonText::Shared(text) => Some(text),
        }
    }
}

/// Appends `text` as a JSON string, as serde writes it: as it is between quotes when it
/// has nothing to escape (no quote, backslash or control character), else through serde.
pub(crate) fn push_json_str(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        match serde_json::to_string(text) {
            Ok(json) => out.push_str(&json),
            // Serializing a string cannot fail; an empty string keeps the JSON valid.
            Err(_) => out.push_str(r#""""#),
        }
    }
}

/// A method's result, serialized once, straight from the typed value that holds it.
///
/// # Errors
/// [`ApiError::Internal`] if `value` cannot be serialized, which plain data cannot fail.
pub(crate) fn to_json(value: &impl Serialize) -> Result<Json, ApiError> {
    serde_json::to_string(value)
        .map(Json::written)
        .map_err(|_| ApiError::Internal)
}

/// A method name without the optional `v3/` prefix: how requests, fault rules, journal
/// queries and expectations all compare method names.
pub(crate) fn bare_method(name: &str) -> &str {
    name.strip_prefix("v3/").unwrap_or(name)
}

/// Where the result starts in a successful reply [`write_reply`] wrote: right after
/// `{"id":…,"status":200,"result":`. A valid `id` (a number, null, or a string of
/// `[a-zA-Z0-9-_]`) cannot hold that text, so the first one found is it.
pub(crate) fn result_start(reply: &str) -> Option<usize> {
    const BEFORE_RESULT: &[u8] = br#","status":200,"result":"#;
    // `{"id":`, an id of at most 36 characters with its quotes, then this: look no
    // further than that.
    let head = reply.as_bytes().get(..reply.len().min(96))?;
    head.windows(BEFORE_RESULT.len())
        .position(|window| window == BEFORE_RESULT)
        .map(|at| at + BEFORE_RESULT.len())
}

/// The heads of `rateLimits` entries already written on this thread, by everything but the
/// count: a server's limits are few and fixed, so each is written once, not six pieces and
/// three numbers for every reply.
const RATE_LIMIT_HEADS: usize = 8;

thread_local! {
    static HEADS: std::cell::RefCell<Vec<(RateLimitEntry, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Appends `{"rateLimitType":…,"interval":…,"intervalNum":…,"limit":…,"count":` for `limit`.
fn push_rate_limit_head(out: &mut String, limit: &RateLimitEntry) {
    let key = RateLimitEntry { count: 0, ..*limit };
    HEADS.with(|heads| {
        let Ok(mut heads) = heads.try_borrow_mut() else {
            return write_rate_limit_head(out, limit);
        };
        if let Some((_, head)) = heads.iter().find(|(k, _)| same_head(k, &key)) {
            out.push_str(head);
            return;
        }
        let mut head = String::with_capacity(96);
        write_rate_limit_head(&mut head, limit);
        out.push_str(&head);
        // Beyond a few distinct limits (a test changing them again and again), the oldest
        // goes: the list stays small and its search short.
        if heads.len() == RATE_LIMIT_HEADS {
            heads.remove(0);
        }
        heads.push((key, head));
    });
}

/// Whether `a` and `b` have the same head: the numbers first, then the names, which are
/// constants (the same text is most often the same address).
fn same_head(a: &RateLimitEntry, b: &RateLimitEntry) -> bool {
    fn same(a: &str, b: &str) -> bool {
        std::ptr::eq(a, b) || a == b
    }
    a.interval_num == b.interval_num
        && a.limit == b.limit
        && same(a.rate_limit_type, b.rate_limit_type)
        && same(a.interval, b.interval)
}

fn write_rate_limit_head(out: &mut String, limit: &RateLimitEntry) {
    let mut numbers = itoa::Buffer::new();
    // The names are the API's constants (`REQUEST_WEIGHT`, `MINUTE`, ...): no escapes.
    out.push_str(r#"{"rateLimitType":""#);
    out.push_str(limit.rate_limit_type);
    out.push_str(r#"","interval":""#);
    out.push_str(limit.interval);
    out.push_str(r#"","intervalNum":"#);
    out.push_str(numbers.format(limit.interval_num));
    out.push_str(r#","limit":"#);
    out.push_str(numbers.format(limit.limit));
    out.push_str(r#","count":"#);
}

/// Writes a reply as `{id, status, result|error, rateLimits?}` (spec §2.2, §2.3).
pub(crate) fn write_reply(
    id: &RequestId,
    outcome: &Result<Json, ApiError>,
    rate_limits: Option<&[RateLimitEntry]>,
    unit: TimeUnit,
) -> String {
    // Written by hand, members in the documented order (spec §2.2, §2.3), since every
    // request's reply goes through here; only an error's body and an unusual id go through
    // serde. The tests hold it to what serde writes of the same members.
    let result_len = outcome.as_ref().map_or(0, |r| r.get().len());
    let limit_count = rate_limits.map_or(0, <[_]>::len);
    let mut out = String::with_capacity(result_len + 64 + 112 * limit_count);
    let mut numbers = itoa::Buffer::new();
    out.push_str(r#"{"id":"#);
    match id {
        RequestId::Null => out.push_str("null"),
        RequestId::Int(n) => out.push_str(numbers.format(*n)),
        // A parsed string id is `[a-zA-Z0-9-_]{1,36}` (spec §2.1): nothing to escape.
        RequestId::Str(text)
            if text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            out.push('"');
            out.push_str(text);
            out.push('"');
        }
        RequestId::Str(_) => match serde_json::to_string(id) {
            Ok(json) => out.push_str(&json),
            Err(_) => out.push_str("null"),
        },
    }
    match outcome {
        Ok(result) => {
            out.push_str(r#","status":200,"result":"#);
            out.push_str(result.get());
        }
        Err(error) => {
            out.push_str(r#","status":"#);
            out.push_str(numbers.format(error.status()));
            out.push_str(r#","error":"#);
            let body = ErrorBody::of(error, unit);
            // Serializing this plain struct cannot fail; the fallback keeps this path
            // panic-free.
            match serde_json::to_string(&body) {
                Ok(json) => out.push_str(&json),
                Err(_) => out.push_str(
                    r#"{"code":-1000,"msg":"An unknown error occurred while processing the request."}"#,
                ),
            }
        }
    }
    if let Some(limits) = rate_limits {
        out.push_str(r#","rateLimits":["#);
        for (i, limit) in limits.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_rate_limit_head(&mut out, limit);
            out.push_str(numbers.format(limit.count));
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn rejected(text: &str) -> Rejected {
        parse_request(text).expect_err("should be rejected")
    }

    #[test]
    fn id_keeps_its_json_type() {
        let r = parse_request(r#"{"id":-7,"method":"ping"}"#).expect("valid");
        assert_eq!(r.id, RequestId::Int(-7));
        let r = parse_request(r#"{"id":"a-b_C9","method":"ping"}"#).expect("valid");
        assert_eq!(r.id, RequestId::Str("a-b_C9".into()));
        let r = parse_request(r#"{"id":null,"method":"ping"}"#).expect("valid");
        assert_eq!(r.id, RequestId::Null);
        let r = parse_request(r#"{"method":"ping"}"#).expect("valid");
        assert_eq!(r.id, RequestId::Null);
    }

    #[test]
    fn invalid_ids_are_answered_with_a_null_id() {
        for id in [
            r#""""#,
            r#""has space""#,
            r#""0123456789012345678901234567890123456""#,
            "1.5",
            "1e3",
            "9223372036854775808",
            "true",
            "[]",
            "{}",
        ] {
            let text = format!(r#"{{"id":{id},"method":"ping"}}"#);
            assert_eq!(
                rejected(&text),
                Rejected {
                    id: RequestId::Null,
                    error: ApiError::InvalidId
                },
                "{id}"
            );
        }
    }

    #[test]
    fn v3_prefix_is_removed_and_params_keep_their_text() {
        let r = parse_request(
            r#"{"id":1,"method":"v3/session.logon","params":{"a":1.10,"b":"x\u0041","c":true,"d":null}}"#,
        )
        .expect("valid");
        assert_eq!(r.method, "session.logon");
        let texts: Vec<(&str, &str)> = r.params.iter().map(|(k, v)| (k, v.text())).collect();
        assert_eq!(texts, [("a", "1.10"), ("b", "xA"), ("c", "true")]);
    }

    #[test]
    fn bad_envelopes_get_their_errors() {
        assert_eq!(rejected("{").error, ApiError::InvalidJson);
        assert_eq!(rejected("[1]").error, ApiError::InvalidJson);
        assert_eq!(
            rejected(r#"{"id":3}"#),
            Rejected {
                id: RequestId::Int(3),
                error: ApiError::MandatoryParam("method")
            }
        );
        assert_eq!(
            rejected(r#"{"id":3,"method":7}"#).error,
            ApiError::MandatoryParam("method")
        );
        assert_eq!(
            rejected(r#"{"id":3,"method":"ping","params":[]}"#).error,
            ApiError::ParamsNotObject
        );
    }

    #[test]
    fn the_cursor_counts_what_was_taken_past_64_params_too() {
        for count in [3, 64, 65, 200] {
            let names: Vec<String> = (0..count).map(|i| format!("p{i}")).collect();
            let mut pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
            pairs.push(("returnRateLimits", "false"));
            let params = Params::from_pairs(&pairs);
            let mut cursor = ParamCursor::new(&params);
            assert!(cursor.take(&names[count - 1]).is_some());
            assert!(cursor.take("absent").is_none());
            assert_eq!(
                cursor.finish(),
                Err(ApiError::UnreadParameters {
                    read: 1,
                    sent: count
                }),
                "{count} params"
            );
            for name in &names {
                cursor.take(name);
            }
            assert_eq!(cursor.finish(), Ok(()), "{count} params");
        }
    }

    #[test]
    fn duplicates_are_detected() {
        let r = parse_request(r#"{"id":1,"method":"ping","params":{"a":1,"a":2}}"#).expect("valid");
        assert!(r.params.has_duplicates());
    }

    /// The reply as serde writes it, members in the documented order: what
    /// [`write_reply`] writes by hand.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ReplyBody<'a> {
        id: &'a RequestId,
        status: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<Box<RawValue>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorBody>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rate_limits: Option<&'a [RateLimitEntry]>,
    }

    fn serde_reply(
        id: &RequestId,
        outcome: &Result<Json, ApiError>,
        rate_limits: Option<&[RateLimitEntry]>,
        unit: TimeUnit,
    ) -> String {
        let body = match outcome {
            Ok(result) => ReplyBody {
                id,
                status: 200,
                result: Some(
                    RawValue::from_string(result.get().to_owned()).expect("results are JSON"),
                ),
                error: None,
                rate_limits,
            },
            Err(error) => ReplyBody {
                id,
                status: error.status(),
                result: None,
                error: Some(ErrorBody::of(error, unit)),
                rate_limits,
            },
        };
        serde_json::to_string(&body).expect("plain data")
    }

    #[test]
    fn the_result_is_found_where_write_reply_put_it() {
        let result = Json::written(r#"{"a":"\",\"status\":200,\"result\":"}"#.to_owned());
        for id in [
            RequestId::Null,
            RequestId::Int(-9_223_372_036_854_775_808),
            RequestId::Str("a".repeat(36)),
        ] {
            for limits in [None, Some(&[][..])] {
                let reply = write_reply(&id, &Ok(result.clone()), limits, TimeUnit::default());
                let at = result_start(&reply).expect("a success has a result");
                assert_eq!(reply.get(at..at + result.get().len()), Some(result.get()));
            }
        }
        let refused = write_reply(
            &RequestId::Int(1),
            &Err(ApiError::InvalidJson),
            None,
            TimeUnit::default(),
        );
        assert_eq!(result_start(&refused), None);
    }

    proptest::proptest! {
        #[test]
        fn the_hand_written_reply_is_the_serde_one(
            id in proptest::prop_oneof![
                proptest::strategy::Just(RequestId::Null),
                proptest::num::i64::ANY.prop_map(RequestId::Int),
                "[a-zA-Z0-9_-]{1,36}".prop_map(RequestId::Str),
                "\\PC{0,8}".prop_map(RequestId::Str),
            ],
            ok in proptest::bool::ANY,
            limits in proptest::option::of(proptest::collection::vec(
                (0u32..100, proptest::num::u32::ANY, proptest::num::u32::ANY), 0..4)),
            micros in proptest::bool::ANY,
        ) {
            let outcome = if ok {
                to_json(&serde_json::json!({"a": [1, "x\"y"], "b": null}))
            } else {
                Err(ApiError::TooMuchWeight {
                    limit: 6000,
                    server_time: crate::clock::Timestamp::from_millis(1_700_000_000_123),
                    retry_after: crate::clock::Timestamp::from_millis(1_700_000_060_000),
                })
            };
            let limits: Option<Vec<RateLimitEntry>> = limits.map(|l| {
                l.into_iter()
                    .map(|(num, limit, count)| RateLimitEntry {
                        rate_limit_type: "ORDERS",
                        interval: "SECOND",
                        interval_num: num,
                        limit,
                        count,
                    })
                    .collect()
            });
            let unit = if micros { TimeUnit::Microsecond } else { TimeUnit::Millisecond };
            proptest::prop_assert_eq!(
                write_reply(&id, &outcome, limits.as_deref(), unit),
                serde_reply(&id, &outcome, limits.as_deref(), unit)
            );
        }
    }

    proptest::proptest! {
        /// The shortcut for strings without escapes reads what serde reads, escapes or not,
        /// and a param's value comes out the same through the whole parse.
        #[test]
        fn a_string_param_is_what_serde_reads(value in "\\PC{0,12}|[\\\\\"\\u{0}-\\u{1f}a-z]{0,6}") {
            let raw = serde_json::to_string(&value).expect("a string serializes");
            let read = json_string(&raw).expect("valid");
            proptest::prop_assert_eq!(read.as_ref(), value.as_str());
            let frame = format!(r#"{{"id":1,"method":"m","params":{{"p":{raw}}}}}"#);
            let request = parse_request(&frame).expect("valid");
            proptest::prop_assert_eq!(request.params.get("p").map(ParamValue::text), Some(value.as_str()));
        }
    }

    #[test]
    fn reply_keys_come_in_documented_order() {
        let limits = [RateLimitEntry {
            rate_limit_type: "REQUEST_WEIGHT",
            interval: "MINUTE",
            interval_num: 1,
            limit: 6000,
            count: 3,
        }];
        let text = write_reply(
            &RequestId::Int(1),
            &to_json(&serde_json::json!({})),
            Some(&limits),
            TimeUnit::Millisecond,
        );
        assert_eq!(
            text,
            r#"{"id":1,"status":200,"result":{},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":3}]}"#
        );
    }
}
