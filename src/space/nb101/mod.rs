//! The NAS-Bench-101 cell search space (Ying et al., 2019), in pure Rust.
//!
//! This module mirrors the public `google-research/nasbench` code:
//!
//! * [`Nb101Spec::new`] validates and prunes exactly like `ModelSpec.__init__` /
//!   `ModelSpec._prune`, and then applies the benchmark's `is_valid` domain check
//!   (at most [`MAX_VERTICES`] vertices and [`MAX_EDGES`] edges after pruning,
//!   input connected to output).
//! * [`Nb101Spec::hash`] is `ModelSpec.hash_spec` / `graph_util.hash_module`, the
//!   key of the benchmark's data set.
//! * [`Nb101Spec::vertex_channels`] is `model_builder.compute_vertex_channels`, and
//!   [`Nb101Spec::trainable_parameters`] counts the parameters of the network
//!   built by `model_builder.build_model_fn` with the benchmark's configuration
//!   (stem 128 channels, 3 stacks of 3 cells, 10 classes).
//! * [`Nb101Spec::random_spec`] and [`Nb101Spec::mutate_nasbench`] follow the
//!   `random_spec` / `mutate_spec` helpers of the nasbench example notebook;
//!   [`Nb101Spec::mutate`] is the "one op + one edge" mutation used by WRCor's
//!   evolutionary search.
//!
//! # Original versus pruned representation
//!
//! Like `ModelSpec`, a spec keeps two graphs:
//!
//! * the **original** (un-pruned) ops and adjacency exactly as given
//!   ([`Nb101Spec::original_ops`], [`Nb101Spec::original_adjacency`]); sampling
//!   and mutation work on this representation (normally 7 vertices), so dead
//!   vertices keep their ops and can be revived by a later mutation;
//! * the **pruned** graph ([`Nb101Spec::ops`], [`Nb101Spec::adjacency`]) where
//!   every vertex not on an input→output path is removed; hashing, parameter
//!   counting and network building use this one.
//!
//! The text and JSON forms write the original graph, so parsing them back gives
//! an identical spec. For a spec read from the benchmark (already pruned) both
//! graphs are the same.
//!
//! # Text form
//!
//! [`Nb101Spec::to_text`] / [`Nb101Spec::parse_text`] use a compact, shell-friendly
//! form: the ops comma-separated, then one adjacency row per vertex as 0/1
//! digits, everything separated by `|`:
//!
//! ```text
//! input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000
//! ```
//!
//! Row `i`, column `j` is 1 when there is an edge from vertex `i` to vertex `j`.
//! When parsing, whitespace around items is ignored and the short op aliases
//! `in`, `out`, `conv3x3`, `conv1x1`, `maxpool` (and `maxpool3x3`) are accepted.
//!
//! # JSON form
//!
//! A spec (de)serialises with serde as `{"ops": [...], "adjacency": [[...]]}`,
//! the form of the objects in `nb101_sample200.json`; extra fields (such as
//! `hash` or `trainable_parameters`) are ignored when reading. Deserialisation
//! runs the full validation of [`Nb101Spec::new`]. [`load_records`] reads a whole
//! sample file including the benchmark's metrics.

use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

mod json;
mod params;
mod sample;
mod spec;
mod text;

pub use json::{load_records, parse_records, Nb101Record, Nb101SpecJson};
pub use sample::{policy_choices, PolicyChoices};

/// Maximum number of vertices (including input and output) of a valid pruned cell.
pub const MAX_VERTICES: usize = 7;
/// Maximum number of edges of a valid pruned cell.
pub const MAX_EDGES: usize = 9;
/// Number of interior (operation) vertices of a full 7-vertex cell.
pub const NUM_OP_SLOTS: usize = MAX_VERTICES - 2;
/// Number of upper-triangular adjacency entries of a 7-vertex cell.
pub const NUM_EDGE_SLOTS: usize = MAX_VERTICES * (MAX_VERTICES - 1) / 2;
/// Channels of the stem convolution of the benchmark network.
pub const STEM_CHANNELS: usize = 128;
/// Number of stacks of the benchmark network (channels double between stacks).
pub const NUM_STACKS: usize = 3;
/// Number of cells (modules) per stack of the benchmark network.
pub const CELLS_PER_STACK: usize = 3;

/// Maximum number of attempts of [`Nb101Spec::mutate`] / [`Nb101Spec::mutate_nasbench`]
/// before giving up with an error.
pub const MAX_MUTATION_ATTEMPTS: usize = 10_000;

/// An operation (vertex label) of a NAS-Bench-101 cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nb101Op {
    /// The cell input (always vertex 0).
    Input,
    /// 3x3 convolution + batch norm + ReLU (`conv3x3-bn-relu`).
    Conv3x3BnRelu,
    /// 1x1 convolution + batch norm + ReLU (`conv1x1-bn-relu`).
    Conv1x1BnRelu,
    /// 3x3 max pooling, stride 1, same padding (`maxpool3x3`).
    MaxPool3x3,
    /// The cell output (always the last vertex).
    Output,
}

impl Nb101Op {
    /// The interior ops in the benchmark's canonical order
    /// (`config['available_ops']`); an op's index here is its hash label.
    pub const INTERIOR: [Nb101Op; 3] = [Nb101Op::Conv3x3BnRelu, Nb101Op::Conv1x1BnRelu, Nb101Op::MaxPool3x3];

    /// The benchmark's name of the op (`input`, `conv3x3-bn-relu`,
    /// `conv1x1-bn-relu`, `maxpool3x3`, `output`).
    pub fn name(self) -> &'static str {
        match self {
            Nb101Op::Input => "input",
            Nb101Op::Conv3x3BnRelu => "conv3x3-bn-relu",
            Nb101Op::Conv1x1BnRelu => "conv1x1-bn-relu",
            Nb101Op::MaxPool3x3 => "maxpool3x3",
            Nb101Op::Output => "output",
        }
    }

    /// Parses a canonical benchmark op name (exact match, see [`Nb101Op::name`]).
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "input" => Ok(Nb101Op::Input),
            "conv3x3-bn-relu" => Ok(Nb101Op::Conv3x3BnRelu),
            "conv1x1-bn-relu" => Ok(Nb101Op::Conv1x1BnRelu),
            "maxpool3x3" => Ok(Nb101Op::MaxPool3x3),
            "output" => Ok(Nb101Op::Output),
            other => bail!(
                "unknown NAS-Bench-101 op '{other}'; expected one of input, \
                 conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3, output"
            ),
        }
    }

    /// Parses a canonical op name or one of the short aliases `in`, `out`,
    /// `conv3x3`, `conv1x1`, `maxpool` (case-insensitive, surrounding whitespace ignored).
    pub fn from_name_or_alias(name: &str) -> Result<Self> {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "in" => Ok(Nb101Op::Input),
            "out" => Ok(Nb101Op::Output),
            "conv3x3" => Ok(Nb101Op::Conv3x3BnRelu),
            "conv1x1" => Ok(Nb101Op::Conv1x1BnRelu),
            "maxpool" => Ok(Nb101Op::MaxPool3x3),
            other => Self::from_name(other).map_err(|_| {
                anyhow!(
                    "unknown NAS-Bench-101 op '{}'; expected one of input, conv3x3-bn-relu, \
                     conv1x1-bn-relu, maxpool3x3, output (aliases: in, conv3x3, conv1x1, \
                     maxpool, out)",
                    name.trim()
                )
            }),
        }
    }

    /// Whether the op may label an interior vertex.
    pub fn is_interior(self) -> bool {
        !matches!(self, Nb101Op::Input | Nb101Op::Output)
    }

    /// The integer label used by `hash_spec`: input −1, output −2, interior ops
    /// their index in [`Nb101Op::INTERIOR`] (conv3x3 0, conv1x1 1, maxpool 2).
    pub fn hash_label(self) -> i32 {
        match self {
            Nb101Op::Input => -1,
            Nb101Op::Output => -2,
            Nb101Op::Conv3x3BnRelu => 0,
            Nb101Op::Conv1x1BnRelu => 1,
            Nb101Op::MaxPool3x3 => 2,
        }
    }

    /// Index of an interior op in [`Nb101Op::INTERIOR`]; `None` for input/output.
    pub fn interior_index(self) -> Option<usize> {
        Self::INTERIOR.iter().position(|&o| o == self)
    }
}

impl fmt::Display for Nb101Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Nb101Op {
    type Err = anyhow::Error;
    /// Same as [`Nb101Op::from_name_or_alias`].
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name_or_alias(s)
    }
}

impl Serialize for Nb101Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Nb101Op {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Nb101Op::from_name(&s).map_err(serde::de::Error::custom)
    }
}

/// A validated, pruned NAS-Bench-101 cell (the equivalent of a valid `ModelSpec`).
///
/// Fields are private so the invariants established by [`Nb101Spec::new`] always
/// hold; read them through [`Nb101Spec::ops`], [`Nb101Spec::adjacency`],
/// [`Nb101Spec::original_ops`] and [`Nb101Spec::original_adjacency`].
/// Equality compares the original (un-pruned) representation; use
/// [`Nb101Spec::hash`] to compare architectures up to isomorphism.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Nb101SpecJson", into = "Nb101SpecJson")]
pub struct Nb101Spec {
    ops: Vec<Nb101Op>,
    adjacency: Vec<Vec<u8>>,
    original_ops: Vec<Nb101Op>,
    original_adjacency: Vec<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    // Shared by the tests of the sub-modules.
    fn data_dir() -> PathBuf {
        match std::env::var_os("ZSNAS_DATA") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        }
    }

    pub(super) fn sample() -> Vec<Nb101Record> {
        let p = data_dir().join("nb101/nb101_sample200.json");
        load_records(&p)
            .unwrap_or_else(|e| panic!("cannot load {} (set ZSNAS_DATA to the shared data folder): {e:#}", p.display()))
    }

    #[test]
    fn op_names() {
        for op in [Nb101Op::Input, Nb101Op::Conv3x3BnRelu, Nb101Op::Conv1x1BnRelu, Nb101Op::MaxPool3x3, Nb101Op::Output]
        {
            assert_eq!(Nb101Op::from_name(op.name()).unwrap(), op);
            assert_eq!(op.to_string().parse::<Nb101Op>().unwrap(), op);
        }
        assert_eq!("CONV1X1".parse::<Nb101Op>().unwrap(), Nb101Op::Conv1x1BnRelu);
        assert!(Nb101Op::from_name("conv3x3").is_err());
        assert_eq!(Nb101Op::MaxPool3x3.hash_label(), 2);
        assert_eq!(Nb101Op::Conv1x1BnRelu.interior_index(), Some(1));
        assert_eq!(Nb101Op::Input.interior_index(), None);
    }
}
