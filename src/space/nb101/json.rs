//! The JSON form of a spec and the reader of benchmark sample files (see the module docs,
//! "JSON form").

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{Nb101Op, Nb101Spec};

/// JSON shape of a spec: `{"ops": [names], "adjacency": [[0/1]]}`; extra fields
/// are ignored. Used for serde of [`Nb101Spec`]; public so callers can embed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nb101SpecJson {
    /// Op names, `input` first and `output` last.
    pub ops: Vec<String>,
    /// Square upper-triangular 0/1 matrix; row = from, column = to.
    pub adjacency: Vec<Vec<i64>>,
}

impl TryFrom<Nb101SpecJson> for Nb101Spec {
    type Error = anyhow::Error;
    fn try_from(j: Nb101SpecJson) -> Result<Self> {
        let ops = j
            .ops
            .iter()
            .enumerate()
            .map(|(i, s)| Nb101Op::from_name(s).map_err(|e| anyhow!("op {i}: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let mut adjacency = Vec::with_capacity(j.adjacency.len());
        for (i, row) in j.adjacency.iter().enumerate() {
            let mut r = Vec::with_capacity(row.len());
            for (k, &x) in row.iter().enumerate() {
                if x != 0 && x != 1 {
                    bail!("adjacency entry ({i},{k}) is {x}; entries must be 0 or 1");
                }
                r.push(x as u8);
            }
            adjacency.push(r);
        }
        Nb101Spec::new(ops, adjacency)
    }
}

impl From<Nb101Spec> for Nb101SpecJson {
    fn from(s: Nb101Spec) -> Self {
        Nb101SpecJson {
            ops: s.original_ops.iter().map(|o| o.name().to_string()).collect(),
            adjacency: s.original_adjacency.iter().map(|r| r.iter().map(|&x| x as i64).collect()).collect(),
        }
    }
}

/// One architecture of a NAS-Bench-101 sample file (`nb101_sample200.json`) with
/// the benchmark's recorded values.
#[derive(Debug, Clone, PartialEq)]
pub struct Nb101Record {
    /// The validated cell.
    pub spec: Nb101Spec,
    /// The benchmark's module hash as stored in the file.
    pub hash: String,
    /// The benchmark's parameter count of the CIFAR-10 network, if present.
    pub trainable_parameters: Option<u64>,
    /// Validation accuracy (fraction) after 108 epochs, if present.
    pub valid_acc_108ep: Option<f64>,
    /// Validation accuracy (fraction) after 12 epochs, if present.
    pub valid_acc_12ep: Option<f64>,
    /// Training time in seconds (108 epochs), if present.
    pub train_time_s: Option<f64>,
}

#[derive(Deserialize)]
struct RawRecord {
    hash: String,
    #[serde(flatten)]
    spec: Nb101SpecJson,
    trainable_parameters: Option<u64>,
    valid_acc_108ep: Option<f64>,
    valid_acc_12ep: Option<f64>,
    train_time_s: Option<f64>,
}

/// Parses a JSON list of records in the `nb101_sample200.json` format
/// (`hash`, `ops`, `adjacency` required; metrics optional; other fields ignored).
/// Every spec is validated; the stored hash is kept as is (not recomputed).
pub fn parse_records(json: &str) -> Result<Vec<Nb101Record>> {
    let raw: Vec<RawRecord> = serde_json::from_str(json).context("parsing NAS-Bench-101 records JSON")?;
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let spec = Nb101Spec::try_from(r.spec).map_err(|e| anyhow!("record {i} (hash {}): {e}", r.hash))?;
            Ok(Nb101Record {
                spec,
                hash: r.hash,
                trainable_parameters: r.trainable_parameters,
                valid_acc_108ep: r.valid_acc_108ep,
                valid_acc_12ep: r.valid_acc_12ep,
                train_time_s: r.train_time_s,
            })
        })
        .collect()
}

/// Reads a sample file such as `<data>/nb101/nb101_sample200.json` with
/// [`parse_records`].
pub fn load_records(path: impl AsRef<Path>) -> Result<Vec<Nb101Record>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading NAS-Bench-101 records from {}", path.display()))?;
    parse_records(&text).with_context(|| format!("in {}", path.display()))
}
