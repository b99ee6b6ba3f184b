//! One scored architecture as a JSON line:
//! `{"space":"nb201","arch":...,"index":...,"scores":{...},"seconds":{...}}`.
//! Non-finite scores are written as the strings "-inf", "inf" and "nan" (JSON has no
//! such numbers) and read back as f64.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Encodes a score: a number, or "-inf"/"inf"/"nan".
pub fn encode(v: f64) -> Value {
    if v.is_nan() {
        json!("nan")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(v)
    }
}

/// Decodes a score written by [`encode`]; `None` for anything else.
pub fn decode(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "nan" => Some(f64::NAN),
            "-inf" => Some(f64::NEG_INFINITY),
            "inf" => Some(f64::INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Builds the JSON line of one architecture.
pub fn to_json(
    space: &str,
    arch: &str,
    index: Option<usize>,
    extra: &[(&str, Value)],
    scores: &BTreeMap<String, f64>,
    seconds: &BTreeMap<String, f64>,
) -> Value {
    let mut m = Map::new();
    m.insert("space".into(), json!(space));
    m.insert("arch".into(), json!(arch));
    m.insert("index".into(), index.map(|i| json!(i)).unwrap_or(Value::Null));
    for (k, v) in extra {
        m.insert((*k).into(), v.clone());
    }
    m.insert("scores".into(), Value::Object(scores.iter().map(|(k, v)| (k.clone(), encode(*v))).collect()));
    m.insert("seconds".into(), Value::Object(seconds.iter().map(|(k, v)| (k.clone(), json!(v))).collect()));
    Value::Object(m)
}
