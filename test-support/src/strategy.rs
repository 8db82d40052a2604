//! Proptest strategies the mock's property tests and the conformance harness share: any JSON
//! value, request-shaped objects, and `id`s valid and invalid by the documented rule
//! (spec §2.1: a 64-bit signed integer, a string of 1 to 36 of `[a-zA-Z0-9-_]`, or `null`).

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

/// Any JSON value, strings drawn from `text` and object member names from `name`: a few
/// levels deep, a few members wide.
pub fn json_value_from(
    text: impl Strategy<Value = String> + Clone + 'static,
    name: impl Strategy<Value = String> + Clone + 'static,
) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((name.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// Any JSON value, with arbitrary strings and member names.
pub fn json_value() -> BoxedStrategy<Value> {
    json_value_from(".{0,40}", ".{0,12}")
}

/// Names that steer generated params onto the interesting paths, mixed with arbitrary ones.
pub fn param_name() -> BoxedStrategy<String> {
    prop_oneof![
        Just("apiKey".to_owned()),
        Just("signature".to_owned()),
        Just("timestamp".to_owned()),
        Just("recvWindow".to_owned()),
        Just("returnRateLimits".to_owned()),
        ".{0,8}",
    ]
    .boxed()
}

/// A request-shaped object: `id` and `method` of any JSON value (often a real method), and
/// `params` an object of steered names and any values.
pub fn request_shaped(methods: &'static [&'static str]) -> BoxedStrategy<Value> {
    let method = prop_oneof![select(methods).prop_map(Value::from), json_value()];
    let params = prop::collection::vec((param_name(), json_value()), 0..5);
    (json_value(), method, params)
        .prop_map(|(id, method, params)| {
            serde_json::json!({"id": id, "method": method, "params": Value::Object(params.into_iter().collect())})
        })
        .boxed()
}

/// The JSON text of a valid, non-null `id`.
pub fn valid_id() -> BoxedStrategy<String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-zA-Z0-9_-]{1,36}".prop_map(|s| format!("\"{s}\"")),
    ]
    .boxed()
}

/// The JSON text of an invalid `id`: too long, empty, a character outside the set, a
/// fraction, an integer outside 64 bits, a boolean, an array, an object.
pub fn invalid_id() -> SBoxedStrategy<String> {
    let quoted = |s: String| Value::from(s).to_string();
    prop_oneof![
        "[a-zA-Z0-9_-]{37,60}".prop_map(quoted),
        Just("\"\"".to_owned()),
        "[a-zA-Z0-9]{0,10}[ .!@#%&*()+=/:;,?é€\\\\]{1,3}[a-zA-Z0-9]{0,10}".prop_map(quoted),
        (any::<i32>(), 1u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        (1i32..100, 1u32..20).prop_map(|(a, b)| format!("{a}e{b}")),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(|n| n.to_string()),
        Just("-9223372036854775809".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        select(vec!["[]", "[1]", "{}", r#"{"a":1}"#]).prop_map(str::to_owned),
    ]
    .sboxed()
}
