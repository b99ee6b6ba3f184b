//! The typed result records that zsnas writes as JSON lines, one type per kind of line:
//! [`ScoreLine`] (`zsnas score --output`, and what `correlate` reads) and [`HistoryLine`]
//! (`zsnas search --history`).
//!
//! Keys are written in alphabetical order (the struct fields are declared in that
//! order), so lines are stable across versions. Non-finite scores are written as the
//! strings `"-inf"`, `"inf"` and `"nan"` (JSON has no such numbers) and read back as f64.

use super::provenance::ScoringSetup;
use crate::proxy::ScoreMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};
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

/// Serde adapters for a map of scores with non-finite values spelled as strings.
pub mod scores_serde {
    use super::*;

    /// Writes every value with [`encode`].
    pub fn serialize<S: Serializer>(m: &ScoreMap, s: S) -> Result<S::Ok, S::Error> {
        let v: BTreeMap<&String, Value> = m.iter().map(|(k, x)| (k, encode(*x))).collect();
        v.serialize(s)
    }

    /// Reads numbers and the strings of [`encode`]; anything else is an error naming
    /// the score.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ScoreMap, D::Error> {
        let raw: BTreeMap<String, Value> = BTreeMap::deserialize(d)?;
        raw.into_iter()
            .map(|(k, v)| match decode(&v) {
                Some(x) => Ok((k, x)),
                None => Err(serde::de::Error::custom(format!(
                    "score '{k}' is {v}, not a number (or \"nan\", \"inf\", \"-inf\")"
                ))),
            })
            .collect()
    }
}

/// Serde adapter for an optional score (`null` when absent).
pub mod opt_score_serde {
    use super::*;

    /// Writes `null` or the score with [`encode`].
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(encode).unwrap_or(Value::Null).serialize(s)
    }

    /// Reads `null`, a number or a string of [`encode`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(decode(&v))
    }
}

/// One scored architecture: a line of `zsnas score --output`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    /// The architecture's canonical text (NAS-Bench-201: `arch_str`).
    pub arch: String,
    /// The canonical cell the scores were computed on, when it differs from `arch`
    /// (NAS-Bench-201 with dead edges; absent with `zsnas score --raw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// `--photos`: the image files of the drawn batch, in batch order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drawn: Vec<String>,
    /// NAS-Bench-101 module hash (md5 of the canonical graph, as the benchmark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Benchmark index (NAS-Bench-201: 0..15624), `null` elsewhere.
    #[serde(default)]
    pub index: Option<u64>,
    /// mbv2: input resolution in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<u64>,
    /// Proxy name → score.
    #[serde(with = "scores_serde")]
    pub scores: ScoreMap,
    /// Proxy name → seconds spent on it (shared passes are charged to each proxy).
    #[serde(default)]
    pub seconds: BTreeMap<String, f64>,
    /// The scoring setup the scores depend on ([`ScoringSetup`]); absent in lines written
    /// before zsnas 0.2, which cannot be resumed or reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<ScoringSetup>,
    /// The space (`nb201`, `nb101`, `mbv2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// The zsnas version that wrote the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The architecture and its benchmark accuracy, as a history line records the best so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestSoFar {
    /// Canonical text of the fitness-best architecture so far.
    pub arch: String,
    /// Its benchmark accuracy (%), `null` when unknown.
    #[serde(default, with = "opt_score_serde")]
    pub truth: Option<f64>,
    /// Where `truth` comes from, when the search had a truth: the truth's source (a file
    /// path or the embedded NAS-Bench-201 table) and its column, e.g. `test_acc_200ep`.
    /// Absent in searches without truth and in lines written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth_of: Option<TruthOf>,
}

/// The truth a history line's `best_so_far.truth` was looked up in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthOf {
    /// The truth's source: a file path as given or `embedded NAS-Bench-201 table`.
    pub source: String,
    /// The truth's column, e.g. `test_acc_200ep` or `valid_acc_108ep`.
    pub column: String,
}

/// One step of a search: a line of `zsnas search --history`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryLine {
    /// The architecture evaluated (canonical text).
    pub arch: String,
    /// The best architecture of the run so far.
    pub best_so_far: BestSoFar,
    /// The canonical cell the scores were computed on, when it differs from `arch`
    /// (NAS-Bench-201 with dead edges; absent with `search --raw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// The fitness's name (`wrcor`, `sjw`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitness: Option<String>,
    /// Benchmark index, `null` when the space has none.
    #[serde(default)]
    pub index: Option<u64>,
    /// Whether this run had evaluated the architecture before.
    #[serde(default)]
    pub repeat: bool,
    /// Run number, 0-based.
    pub run: usize,
    /// The architecture's scores.
    #[serde(with = "scores_serde")]
    pub scores: ScoreMap,
    /// The run's search seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The scoring setup the scores depend on ([`ScoringSetup`]); absent in lines written
    /// before zsnas 0.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<ScoringSetup>,
    /// The space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// Step number, 1-based.
    pub step: usize,
    /// The strategy's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The zsnas version that wrote the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Serialises a record as one compact JSON line (no newline).
pub fn to_line<T: Serialize>(r: &T) -> String {
    serde_json::to_string(r).expect("records hold only strings, numbers and maps")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_line_round_trip_with_non_finite_values() {
        let line = r#"{"arch":"a","index":5,"scores":{"jacob_cov":"nan","wrcor":"-inf","x":1.5},"seconds":{"wrcor":0.25},"space":"nb201"}"#;
        let r: ScoreLine = serde_json::from_str(line).unwrap();
        assert!(r.scores["jacob_cov"].is_nan());
        assert_eq!(r.scores["wrcor"], f64::NEG_INFINITY);
        assert_eq!(to_line(&r), line);
        let e = serde_json::from_str::<ScoreLine>(r#"{"arch":"a","scores":{"w":true}}"#).unwrap_err().to_string();
        assert!(e.contains("score 'w' is true, not a number"), "{e}");
    }

    #[test]
    fn history_line_keys_are_alphabetical() {
        let h = HistoryLine {
            arch: "a".into(),
            best_so_far: BestSoFar { arch: "b".into(), truth: Some(93.5), truth_of: None },
            canonical: None,
            fitness: Some("sjw".into()),
            index: None,
            repeat: false,
            run: 0,
            scores: [("wrcor".to_string(), 1.0)].into_iter().collect(),
            seed: Some(0),
            setup: None,
            space: Some("nb201".into()),
            step: 1,
            strategy: Some("random".into()),
            version: Some("0.2.0".into()),
        };
        assert_eq!(
            to_line(&h),
            r#"{"arch":"a","best_so_far":{"arch":"b","truth":93.5},"fitness":"sjw","index":null,"repeat":false,"run":0,"scores":{"wrcor":1.0},"seed":0,"space":"nb201","step":1,"strategy":"random","version":"0.2.0"}"#
        );
    }
}
