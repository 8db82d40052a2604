//! The fast path of [`parse_request`](super::parse_request): one pass over the bytes of a
//! frame of the shape nearly every client sends, a flat object of `id`, `method` and a
//! `params` object whose values are strings without escapes, numbers, booleans or null.
//!
//! It answers only frames it reads whole and accepts; anything else (an escape, a nested
//! value, a duplicate envelope member, a refusal of any kind) gets `None` and goes through
//! serde, so that every error keeps the one text serde's path gives it. Where it answers, it
//! answers what serde's path does: the tests hold the two to each other over generated
//! frames, valid and broken.

use std::borrow::Cow;

use super::{bare_method, ParamValue, Params, Request, RequestId};

/// The request in `text`, if it has the shape this path reads and is valid.
pub(super) fn parse(text: &str) -> Option<Request<'_>> {
    let mut scan = Scan { text, pos: 0 };
    scan.whitespace();
    scan.expect(b'{')?;
    let (mut id, mut method, mut params) = (None, None, None);
    let mut more = scan.first_member();
    while more {
        match scan.member_name()? {
            "id" if id.is_none() => id = Some(scan.scalar()?),
            "method" if method.is_none() => method = Some(scan.scalar()?),
            "params" if params.is_none() => params = Some(scan.params()?),
            "id" | "method" | "params" => return None,
            // Another member: serde ignores it.
            _ => {
                scan.scalar()?;
            }
        }
        more = scan.next_member()?;
    }
    scan.whitespace();
    if scan.pos != text.len() {
        return None;
    }
    let id = match id {
        None | Some(Scalar::Null) => RequestId::Null,
        Some(Scalar::Str(raw) | Scalar::Other(raw)) => RequestId::parse_text(Some(raw)).ok()?,
    };
    let method = match method? {
        Scalar::Str(raw) => bare_method(unquoted(raw)),
        Scalar::Null | Scalar::Other(_) => return None,
    };
    if method.is_empty() {
        return None;
    }
    Some(Request {
        id,
        method: Cow::Borrowed(method),
        params: params.flatten().unwrap_or_default(),
    })
}

/// The text of a string without escapes, `raw` with its quotes.
fn unquoted(raw: &str) -> &str {
    raw.strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(raw)
}

/// A scalar member's JSON text.
enum Scalar<'a> {
    /// A string without escapes, quotes included.
    Str(&'a str),
    /// A number, `true` or `false`.
    Other(&'a str),
    Null,
}

struct Scan<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let here = self.peek() == Some(byte);
        self.pos += usize::from(here);
        here
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// A string without escapes or control characters: its text between the quotes.
    ///
    /// Never inlined: inlined into [`parse`] with everything else, its search loop came out
    /// some 70 instructions a string slower, or not, as the code around it happened to change.
    #[inline(never)]
    fn plain_string(&mut self) -> Option<&'a str> {
        self.quoted().map(unquoted)
    }

    /// As [`plain_string`](Self::plain_string), quotes included.
    fn quoted(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.expect(b'"')?;
        let rest = self.text.as_bytes().get(self.pos..)?;
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.pos += len + 1;
        // Both ends are ASCII quotes: char boundaries.
        self.text.get(start..self.pos)
    }

    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => self.quoted().map(Scalar::Str),
            b'-' | b'0'..=b'9' => self.number().map(Scalar::Other),
            b't' => self.literal("true").map(Scalar::Other),
            b'f' => self.literal("false").map(Scalar::Other),
            b'n' => self.literal("null").map(|_| Scalar::Null),
            _ => None,
        }
    }

    fn literal(&mut self, word: &'static str) -> Option<&'a str> {
        let start = self.pos;
        let text = self.text.get(start..start + word.len())?;
        (text == word).then(|| {
            self.pos += word.len();
            text
        })
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number as JSON writes them: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        self.text.get(start..self.pos)
    }

    /// The `params` member: `None` (not this path's) unless an object of scalars or null;
    /// `Some(None)` for null.
    fn params(&mut self) -> Option<Option<Params<'a>>> {
        if self.peek()? == b'n' {
            return self.literal("null").map(|_| None);
        }
        self.expect(b'{')?;
        let mut entries = Vec::with_capacity(8);
        let mut more = self.first_member();
        while more {
            let name = self.member_name()?;
            let value = match self.scalar()? {
                Scalar::Str(raw) => Some(ParamValue::Str(Cow::Borrowed(unquoted(raw)))),
                Scalar::Other(raw) => Some(ParamValue::Raw(raw)),
                Scalar::Null => None,
            };
            if let Some(value) = value {
                entries.push((Cow::Borrowed(name), value));
            }
            more = self.next_member()?;
        }
        Some(Some(Params { entries }))
    }

    /// Just past an object's `{`: whether a member follows (else its `}` is read).
    fn first_member(&mut self) -> bool {
        self.whitespace();
        !self.eat(b'}')
    }

    /// A member's name and the `:` after it, with the whitespace around them. Inlined into
    /// both objects' loops: called apart, it cost ~30 instructions a member.
    #[inline(always)]
    fn member_name(&mut self) -> Option<&'a str> {
        self.whitespace();
        let name = self.plain_string()?;
        self.whitespace();
        self.expect(b':')?;
        self.whitespace();
        Some(name)
    }

    /// After a member's value: whether another follows (`,`) or the object ends (`}`).
    fn next_member(&mut self) -> Option<bool> {
        self.whitespace();
        if self.eat(b'}') {
            return Some(false);
        }
        self.expect(b',').map(|()| true)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{parse_request, parse_request_serde};
    use super::*;

    /// What clients send, and what this path must take.
    #[test]
    fn the_frames_clients_send_take_this_path_and_read_as_serde_reads_them() {
        for text in [
            r#"{"id":1,"method":"ping"}"#,
            r#"{"id":"a-b_C9","method":"v3/session.status","params":{}}"#,
            r#"{"id":7,"method":"order.place","params":{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","price":"30000.00","quantity":"0.00100","newOrderRespType":"ACK","timestamp":1700000000000}}"#,
            " {\n \"method\" : \"ping\" ,\t\"id\":null, \"params\":null}\r\n",
            r#"{"id":-3,"method":"depth","params":{"symbol":"BTCUSDT","limit":100,"x":null,"b":true,"f":false,"e":-1.5e+3}}"#,
            r#"{"extra":"member","other":12,"method":"ping"}"#,
        ] {
            let fast = parse(text);
            assert!(fast.is_some(), "{text} should take the fast path");
            assert_eq!(fast.map(Ok), Some(parse_request_serde(text)), "{text}");
        }
    }

    /// What this path leaves to serde: escapes, nested values, anything invalid or refused.
    #[test]
    fn escapes_nesting_duplicates_and_errors_are_left_to_serde() {
        for text in [
            r#"{"id":1,"method":"p\u0069ng"}"#,
            r#"{"id":1,"method":"ping","params":{"symbols":["BTCUSDT"]}}"#,
            r#"{"id":1,"method":"ping","params":{"a":"x\"y"}}"#,
            r#"{"id":1,"id":2,"method":"ping"}"#,
            r#"{"id":1,"method":"ping","method":"ping"}"#,
            r#"{"id":1.5,"method":"ping"}"#,
            r#"{"id":1,"method":""}"#,
            r#"{"id":1,"method":"v3/"}"#,
            r#"{"id":1,"method":null}"#,
            r#"{"id":1}"#,
            r#"{"id":1,"method":"ping","params":[]}"#,
            r#"{"id":1,"method":"ping"} x"#,
            r#"{"id":01,"method":"ping"}"#,
            r#"{"id":1,"method":"ping","params":{"a":1.}}"#,
            r#"{"id":1,"method":"ping""#,
            "[1,\"ping\"]",
            "",
        ] {
            assert!(parse(text).is_none(), "{text} should go through serde");
            // And the whole parse is serde's.
            assert_eq!(parse_request(text), parse_request_serde(text), "{text}");
        }
    }

    /// One fixed piece of text.
    fn text(piece: &str) -> Just<String> {
        Just(piece.to_owned())
    }

    fn whitespace() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(""), Just(" "), Just("\n\t "), Just("\r")]
    }

    /// Values of every kind, valid and not: numbers near the grammar's edges, strings with
    /// and without escapes (some invalid), literals, nested values, control characters.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => any::<i64>().prop_map(|n| n.to_string()),
            4 => "-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][-+]?[0-9]{0,2})?",
            16 => "\"[a-zA-Z0-9 /+=_-]{0,8}\"",
            2 => "\"([a-z]|\\\\[nu\"\\\\/x]|\\\\u00e9|\\\\ud800){0,3}\"",
            1 => text("\"é€😀\""),
            1 => text("\"a\u{1}b\""),
            1 => text("\"a\u{1f}\""),
            1 => text("\"a\u{7f}b\""),
            2 => text("true"),
            2 => text("false"),
            2 => text("null"),
            1 => text("nul"),
            1 => text("truex"),
            1 => text("[]"),
            1 => text("[1,\"a\"]"),
            1 => text("{}"),
            1 => text("{\"a\":{\"b\":null}}"),
            1 => text("\"unterminated"),
        ]
    }

    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => any::<i64>().prop_map(|n| n.to_string()),
            3 => "\"[a-zA-Z0-9_-]{1,36}\"",
            1 => text("null"),
            2 => value(),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            1 => text("\"id\""),
            1 => text("\"method\""),
            1 => text("\"params\""),
            1 => text("\"i\\u0064\""),
            1 => text("\"\""),
            1 => text("1"),
            1 => text("\"a\u{1}\""),
            12 => "\"[a-zA-Z]{1,6}\"",
        ]
    }

    fn method() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => text("\"ping\""),
            6 => text("\"v3/order.place\""),
            1 => text("\"v3/\""),
            1 => text("\"\""),
            1 => text("\"p\\u0069ng\""),
            1 => value(),
        ]
    }

    /// An object of `members`, with whitespace around them.
    fn object(members: Vec<(String, String)>) -> impl Strategy<Value = String> {
        let n = members.len();
        (
            Just(members),
            prop::collection::vec((whitespace(), whitespace(), whitespace()), n),
        )
            .prop_map(|(members, spaces)| {
                let body: Vec<String> = members
                    .into_iter()
                    .zip(spaces)
                    .map(|((name, value), (a, b, c))| format!("{a}{name}{b}:{c}{value}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            })
    }

    fn members(member: impl Strategy<Value = (String, String)>) -> impl Strategy<Value = String> {
        prop::collection::vec(member, 0..5).prop_flat_map(object)
    }

    fn params() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => members((name(), value())),
            1 => value(),
        ]
    }

    fn envelope_member() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            3 => value().prop_map(|v| ("\"id\"".to_owned(), v)),
            3 => method().prop_map(|m| ("\"method\"".to_owned(), m)),
            3 => params().prop_map(|p| ("\"params\"".to_owned(), p)),
            1 => (name(), value()),
        ]
    }

    /// Envelopes: mostly an `id`, a `method` and `params` in some order, perhaps with
    /// another member; else any members at all.
    fn envelope() -> impl Strategy<Value = String> {
        let key = |name: &str| format!("\"{name}\"");
        let usual = (
            prop::option::weighted(0.8, id()),
            method(),
            prop::option::weighted(0.8, params()),
            prop::option::weighted(0.2, (name(), value())),
        )
            .prop_map(move |(id, method, params, other)| {
                let mut members = vec![(key("method"), method)];
                members.extend(id.map(|id| (key("id"), id)));
                members.extend(params.map(|params| (key("params"), params)));
                members.extend(other);
                members
            })
            .prop_shuffle()
            .prop_flat_map(object);
        prop_oneof![4 => usual, 1 => members(envelope_member())]
    }

    /// Frames: envelopes, some cut short or with something after.
    fn frame() -> impl Strategy<Value = String> {
        (
            whitespace(),
            envelope(),
            prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just("x"), 1 => Just(","), 1 => Just("}")],
            prop::option::weighted(0.2, any::<prop::sample::Index>()),
        )
            .prop_map(|(lead, body, tail, cut)| {
                let mut text = format!("{lead}{body}{tail}");
                if let Some(cut) = cut {
                    let mut at = cut.index(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    text.truncate(at);
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Where this path answers, serde's answers the same; and the whole parse always
        /// answers as serde's path does.
        #[test]
        fn this_path_and_serde_agree_on_every_frame(text in frame()) {
            let serde = parse_request_serde(&text);
            if let Some(fast) = parse(&text) {
                prop_assert_eq!(Some(&fast), serde.as_ref().ok(), "{}", text);
            }
            prop_assert_eq!(parse_request(&text), serde, "{}", text);
        }
    }
}
