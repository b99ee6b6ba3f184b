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
use std::path::Path;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use md5::{Digest, Md5};
use rand::Rng;
use serde::{Deserialize, Serialize};

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

/// Description of the REINFORCE policy's action space over 7-vertex cells,
/// as returned by [`policy_choices`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChoices {
    /// Number of categorical op decisions (interior vertices 1..=5): 5.
    pub num_op_slots: usize,
    /// The categories of each op decision, index = category (canonical order).
    pub op_choices: [Nb101Op; 3],
    /// Number of Bernoulli edge decisions: 21.
    pub num_edge_slots: usize,
    /// `(from, to)` vertex pair of each edge decision, in row-major upper-triangle
    /// order: (0,1), (0,2), …, (0,6), (1,2), …, (5,6).
    pub edge_pairs: Vec<(usize, usize)>,
}

/// The REINFORCE action space: 5 interior vertices × 3 op choices (categorical)
/// and 21 upper-triangle edges (Bernoulli) of a 7-vertex cell. Decisions map to a
/// spec with [`Nb101Spec::from_choices`].
pub fn policy_choices() -> PolicyChoices {
    PolicyChoices {
        num_op_slots: NUM_OP_SLOTS,
        op_choices: Nb101Op::INTERIOR,
        num_edge_slots: NUM_EDGE_SLOTS,
        edge_pairs: upper_pairs(MAX_VERTICES),
    }
}

/// Upper-triangle `(from, to)` pairs of an `n`-vertex matrix in row-major order.
fn upper_pairs(n: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            v.push((i, j));
        }
    }
    v
}

fn md5_hex(bytes: &[u8]) -> String {
    let d = Md5::digest(bytes);
    let mut s = String::with_capacity(32);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `graph_util.hash_module`: iterated md5 neighbour hashing of a labelled DAG.
/// `matrix` must be square with side `labels.len()` (guaranteed by callers).
fn hash_module(matrix: &[Vec<u8>], labels: &[i32]) -> String {
    let n = labels.len();
    let in_edges: Vec<u64> = (0..n).map(|v| (0..n).map(|w| matrix[w][v] as u64).sum()).collect();
    let out_edges: Vec<u64> = (0..n).map(|v| matrix[v].iter().map(|&x| x as u64).sum()).collect();
    // Python: str((out, in, label)) -> "(2, 0, -1)"
    let mut hashes: Vec<String> =
        (0..n).map(|v| md5_hex(format!("({}, {}, {})", out_edges[v], in_edges[v], labels[v]).as_bytes())).collect();
    for _ in 0..n {
        let mut new_hashes = Vec::with_capacity(n);
        for v in 0..n {
            let mut in_n: Vec<&str> = (0..n).filter(|&w| matrix[w][v] != 0).map(|w| hashes[w].as_str()).collect();
            let mut out_n: Vec<&str> = (0..n).filter(|&w| matrix[v][w] != 0).map(|w| hashes[w].as_str()).collect();
            in_n.sort_unstable();
            out_n.sort_unstable();
            let s = format!("{}|{}|{}", in_n.concat(), out_n.concat(), hashes[v]);
            new_hashes.push(md5_hex(s.as_bytes()));
        }
        hashes = new_hashes;
    }
    hashes.sort_unstable();
    // Python: str(sorted(hashes)) -> "['a', 'b']"
    let list = hashes.iter().map(|h| format!("'{h}'")).collect::<Vec<_>>().join(", ");
    md5_hex(format!("[{list}]").as_bytes())
}

/// Parameters of a conv(k×k, no bias) + BN(γ, β) layer.
fn conv_bn_params(k: u64, cin: u64, cout: u64) -> u64 {
    k * k * cin * cout + 2 * cout
}

impl Nb101Spec {
    /// Validates, prunes and checks a cell exactly like `ModelSpec(matrix, ops)`
    /// followed by the benchmark API's `is_valid`.
    ///
    /// Checks, in order: at least 2 vertices; `adjacency` square; `ops.len()`
    /// equal to its side; entries 0/1; zero on and below the diagonal; first op
    /// `input`, last op `output`, interior ops among the 3 interior ops. Then
    /// removes every vertex not on an input→output path (`ModelSpec._prune`) and
    /// rejects the cell if input does not reach output, or if the pruned cell has
    /// more than [`MAX_VERTICES`] vertices or more than [`MAX_EDGES`] edges.
    /// The un-pruned input is kept as the original representation.
    pub fn new(ops: Vec<Nb101Op>, adjacency: Vec<Vec<u8>>) -> Result<Self> {
        let n = adjacency.len();
        if n < 2 {
            bail!("adjacency has {n} rows; a cell needs at least 2 vertices (input and output)");
        }
        for (i, row) in adjacency.iter().enumerate() {
            if row.len() != n {
                bail!("adjacency is not square: row {i} has {} entries but there are {n} rows", row.len());
            }
        }
        if ops.len() != n {
            bail!("ops has {} entries but adjacency is {n}x{n}; they must match", ops.len());
        }
        for (i, row) in adjacency.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                if x > 1 {
                    bail!("adjacency entry ({i},{j}) is {x}; entries must be 0 or 1");
                }
            }
        }
        for (i, row) in adjacency.iter().enumerate() {
            for (j, &x) in row.iter().enumerate().take(i + 1) {
                if x != 0 {
                    bail!("adjacency is not upper-triangular: entry ({i},{j}) is {x}");
                }
            }
        }
        if ops[0] != Nb101Op::Input {
            bail!("first op must be input, found {}", ops[0]);
        }
        if ops[n - 1] != Nb101Op::Output {
            bail!("last op must be output, found {}", ops[n - 1]);
        }
        for (i, op) in ops.iter().enumerate().take(n - 1).skip(1) {
            if !op.is_interior() {
                bail!("op {i} is {op}; interior ops must be conv3x3-bn-relu, conv1x1-bn-relu or maxpool3x3");
            }
        }

        // ModelSpec._prune: keep vertices reachable from input and reaching output.
        let mut from_in = vec![false; n];
        from_in[0] = true;
        let mut frontier = vec![0usize];
        while let Some(top) = frontier.pop() {
            for v in (top + 1)..n {
                if adjacency[top][v] != 0 && !from_in[v] {
                    from_in[v] = true;
                    frontier.push(v);
                }
            }
        }
        let mut to_out = vec![false; n];
        to_out[n - 1] = true;
        let mut frontier = vec![n - 1];
        while let Some(top) = frontier.pop() {
            for v in 0..top {
                if adjacency[v][top] != 0 && !to_out[v] {
                    to_out[v] = true;
                    frontier.push(v);
                }
            }
        }
        let keep: Vec<usize> = (0..n).filter(|&v| from_in[v] && to_out[v]).collect();
        if keep.len() < 2 {
            bail!("invalid cell: there is no path from the input to the output");
        }
        let pruned_ops: Vec<Nb101Op> = keep.iter().map(|&v| ops[v]).collect();
        let pruned_adj: Vec<Vec<u8>> = keep.iter().map(|&i| keep.iter().map(|&j| adjacency[i][j]).collect()).collect();
        let nv = pruned_ops.len();
        if nv > MAX_VERTICES {
            bail!("invalid cell: {nv} vertices after pruning; at most {MAX_VERTICES} allowed");
        }
        let ne: usize = pruned_adj.iter().flatten().map(|&x| x as usize).sum();
        if ne > MAX_EDGES {
            bail!("invalid cell: {ne} edges after pruning; at most {MAX_EDGES} allowed");
        }
        Ok(Nb101Spec { ops: pruned_ops, adjacency: pruned_adj, original_ops: ops, original_adjacency: adjacency })
    }

    /// Like [`Nb101Spec::new`] with canonical op names (see [`Nb101Op::from_name`]).
    pub fn from_names<S: AsRef<str>>(ops: &[S], adjacency: Vec<Vec<u8>>) -> Result<Self> {
        let ops = ops
            .iter()
            .enumerate()
            .map(|(i, s)| Nb101Op::from_name(s.as_ref()).map_err(|e| anyhow!("op {i}: {e}")))
            .collect::<Result<Vec<_>>>()?;
        Self::new(ops, adjacency)
    }

    /// Ops of the pruned cell (`input` first, `output` last).
    pub fn ops(&self) -> &[Nb101Op] {
        &self.ops
    }

    /// Adjacency of the pruned cell; `adjacency()[i][j] == 1` iff edge i→j.
    pub fn adjacency(&self) -> &[Vec<u8>] {
        &self.adjacency
    }

    /// Ops as given to [`Nb101Spec::new`] (before pruning).
    pub fn original_ops(&self) -> &[Nb101Op] {
        &self.original_ops
    }

    /// Adjacency as given to [`Nb101Spec::new`] (before pruning).
    pub fn original_adjacency(&self) -> &[Vec<u8>] {
        &self.original_adjacency
    }

    /// Number of vertices of the pruned cell (2..=7).
    pub fn num_vertices(&self) -> usize {
        self.ops.len()
    }

    /// Number of edges of the pruned cell (≤ 9).
    pub fn num_edges(&self) -> usize {
        self.adjacency.iter().flatten().map(|&x| x as usize).sum()
    }

    /// The same architecture with the pruned graph as its original representation.
    pub fn pruned(&self) -> Nb101Spec {
        Nb101Spec {
            ops: self.ops.clone(),
            adjacency: self.adjacency.clone(),
            original_ops: self.ops.clone(),
            original_adjacency: self.adjacency.clone(),
        }
    }

    /// The benchmark's isomorphism-invariant module hash (32 lowercase hex digits),
    /// `ModelSpec.hash_spec(['conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3'])`.
    /// Two specs have the same hash iff they are the same benchmark entry.
    pub fn hash(&self) -> String {
        let labels: Vec<i32> = self.ops.iter().map(|o| o.hash_label()).collect();
        hash_module(&self.adjacency, &labels)
    }

    /// `model_builder.compute_vertex_channels` on the pruned cell: the output
    /// channel count of every vertex of a cell with `in_channels` inputs and
    /// `out_channels` outputs. Entry 0 is `in_channels`, the last entry
    /// `out_channels`; vertices feeding the output share `out_channels`
    /// (the first `out_channels % fan_in` of them get one extra channel), the others
    /// take the maximum of their successors. Every interior op (and every 1x1
    /// projection of the cell input into a vertex) outputs this many channels.
    /// Entries can be 0 only when `out_channels` is smaller than the output's fan-in.
    pub fn vertex_channels(&self, in_channels: usize, out_channels: usize) -> Vec<usize> {
        let n = self.ops.len();
        let m = &self.adjacency;
        let mut vc = vec![0usize; n];
        vc[0] = in_channels;
        vc[n - 1] = out_channels;
        if n == 2 {
            return vc;
        }
        // in-degree of the output, ignoring the input vertex
        let fan_in: usize = (1..n).map(|v| m[v][n - 1] as usize).sum::<usize>().max(1);
        let interior = out_channels / fan_in;
        let mut correction = out_channels % fan_in;
        for v in 1..n - 1 {
            if m[v][n - 1] != 0 {
                vc[v] = interior;
                if correction > 0 {
                    vc[v] += 1;
                    correction -= 1;
                }
            }
        }
        for v in (1..n.saturating_sub(2)).rev() {
            if m[v][n - 1] == 0 {
                for dst in (v + 1)..(n - 1) {
                    if m[v][dst] != 0 {
                        vc[v] = vc[v].max(vc[dst]);
                    }
                }
            }
        }
        vc
    }

    /// Trainable parameters of one cell with `in_channels` inputs and
    /// `out_channels` outputs, as built by `model_builder.build_module`:
    /// per interior vertex a 1x1 conv-BN-ReLU projection of the cell input if the
    /// input feeds it, plus its op (conv k×k without bias + BN γ/β; max pool has
    /// none); plus a 1x1 conv-BN-ReLU projection of the cell input to
    /// `out_channels` if the input feeds the output directly.
    pub fn cell_parameters(&self, in_channels: usize, out_channels: usize) -> u64 {
        let n = self.ops.len();
        let m = &self.adjacency;
        let vc = self.vertex_channels(in_channels, out_channels);
        let cin = in_channels as u64;
        let mut p = 0u64;
        for t in 1..n - 1 {
            let c = vc[t] as u64;
            if m[0][t] != 0 {
                p += conv_bn_params(1, cin, c);
            }
            p += match self.ops[t] {
                Nb101Op::Conv3x3BnRelu => conv_bn_params(3, c, c),
                Nb101Op::Conv1x1BnRelu => conv_bn_params(1, c, c),
                _ => 0,
            };
        }
        if m[0][n - 1] != 0 {
            p += conv_bn_params(1, cin, out_channels as u64);
        }
        p
    }

    /// Trainable parameters of the full benchmark network for `num_classes`
    /// classes (the benchmark uses 10): stem conv3x3 3→128 + BN, 3 stacks × 3
    /// cells with channels 128/256/512 (2x2 max pool between stacks, no
    /// parameters), global average pool, dense layer with bias. Equals the
    /// data set's `trainable_parameters` for `num_classes == 10`.
    pub fn trainable_parameters(&self, num_classes: usize) -> u64 {
        let mut p = conv_bn_params(3, 3, STEM_CHANNELS as u64);
        let mut in_ch = STEM_CHANNELS;
        let mut ch = STEM_CHANNELS;
        for stack in 0..NUM_STACKS {
            if stack > 0 {
                ch *= 2;
            }
            for _ in 0..CELLS_PER_STACK {
                p += self.cell_parameters(in_ch, ch);
                in_ch = ch;
            }
        }
        p + (ch as u64) * (num_classes as u64) + num_classes as u64
    }

    /// The compact text form of the original representation (see the module
    /// docs), e.g. `input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000`.
    pub fn to_text(&self) -> String {
        let ops = self.original_ops.iter().map(|o| o.name()).collect::<Vec<_>>().join(",");
        let rows = self
            .original_adjacency
            .iter()
            .map(|r| r.iter().map(|&x| if x != 0 { '1' } else { '0' }).collect::<String>())
            .collect::<Vec<_>>()
            .join("|");
        format!("{ops}|{rows}")
    }

    /// Parses the compact text form (see the module docs) and validates it with
    /// [`Nb101Spec::new`]. `parse_text(&s.to_text())` returns a spec equal to `s`.
    pub fn parse_text(text: &str) -> Result<Self> {
        let mut parts = text.trim().split('|');
        let ops_part = parts.next().unwrap_or("");
        if ops_part.trim().is_empty() {
            bail!("cell text '{text}' has no ops; expected e.g. input,conv3x3-bn-relu,output|010|001|000");
        }
        let ops = ops_part
            .split(',')
            .enumerate()
            .map(|(i, s)| Nb101Op::from_name_or_alias(s).map_err(|e| anyhow!("op {i}: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let mut adjacency = Vec::new();
        for (i, row) in parts.enumerate() {
            let row = row.trim();
            let mut r = Vec::with_capacity(row.len());
            for (j, ch) in row.chars().enumerate() {
                match ch {
                    '0' => r.push(0u8),
                    '1' => r.push(1u8),
                    other => bail!(
                        "adjacency row {i} ('{row}') has character '{other}' at column {j}; \
                         rows must be 0/1 digits"
                    ),
                }
            }
            adjacency.push(r);
        }
        if adjacency.is_empty() {
            bail!("cell text '{text}' has no adjacency rows; expected ops|row|row|...");
        }
        Self::new(ops, adjacency)
    }

    /// A uniformly random valid cell, as the nasbench example's `random_spec`:
    /// a 7x7 upper-triangular matrix with each entry 1 with probability 1/2, each
    /// interior op uniform over the 3 ops, resampled until valid (after pruning:
    /// input reaches output, ≤ 9 edges). The result keeps the 7-vertex original.
    pub fn random_spec<R: Rng + ?Sized>(rng: &mut R) -> Nb101Spec {
        loop {
            let mut adj = vec![vec![0u8; MAX_VERTICES]; MAX_VERTICES];
            for (i, row) in adj.iter_mut().enumerate() {
                for x in row.iter_mut().skip(i + 1) {
                    *x = rng.gen_bool(0.5) as u8;
                }
            }
            let mut ops = Vec::with_capacity(MAX_VERTICES);
            ops.push(Nb101Op::Input);
            for _ in 0..NUM_OP_SLOTS {
                ops.push(Nb101Op::INTERIOR[rng.gen_range(0..3)]);
            }
            ops.push(Nb101Op::Output);
            if let Ok(s) = Nb101Spec::new(ops, adj) {
                return s;
            }
        }
    }

    /// WRCor's evolutionary mutation on the original (un-pruned) representation:
    /// pick one interior vertex uniformly and change its op to one of the two other
    /// ops, and flip one uniformly chosen upper-triangle adjacency entry; retry
    /// until the result is valid and has a different [`Nb101Spec::hash`] from
    /// `self`. Errors if the cell has no interior vertex or no valid distinct
    /// mutant is found in [`MAX_MUTATION_ATTEMPTS`] attempts.
    pub fn mutate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Nb101Spec> {
        let n = self.original_ops.len();
        if n < 3 {
            bail!("cannot mutate a cell without interior vertices");
        }
        let pairs = upper_pairs(n);
        let own_hash = self.hash();
        for _ in 0..MAX_MUTATION_ATTEMPTS {
            let mut ops = self.original_ops.clone();
            let mut adj = self.original_adjacency.clone();
            let v = rng.gen_range(1..n - 1);
            let others: Vec<Nb101Op> = Nb101Op::INTERIOR.iter().copied().filter(|&o| o != ops[v]).collect();
            ops[v] = others[rng.gen_range(0..others.len())];
            let (i, j) = pairs[rng.gen_range(0..pairs.len())];
            adj[i][j] ^= 1;
            if let Ok(s) = Nb101Spec::new(ops, adj) {
                if s.hash() != own_hash {
                    return Ok(s);
                }
            }
        }
        bail!("no valid distinct mutation found in {MAX_MUTATION_ATTEMPTS} attempts")
    }

    /// The nasbench example notebook's `mutate_spec(old_spec, mutation_rate)` on the
    /// original representation: flip each upper-triangle entry with probability
    /// `mutation_rate / num_vertices`, replace each interior op with probability
    /// `mutation_rate / num_interior` by a different op, retry until valid.
    /// Like the reference, the result may be identical to `self`.
    /// Errors if `mutation_rate` is not finite and ≥ 0 or after
    /// [`MAX_MUTATION_ATTEMPTS`] invalid attempts.
    pub fn mutate_nasbench<R: Rng + ?Sized>(&self, rng: &mut R, mutation_rate: f64) -> Result<Nb101Spec> {
        if !mutation_rate.is_finite() || mutation_rate < 0.0 {
            bail!("mutation_rate must be finite and >= 0, got {mutation_rate}");
        }
        let n = self.original_ops.len();
        let edge_p = mutation_rate / n as f64;
        let op_p = if n > 2 { mutation_rate / (n - 2) as f64 } else { 0.0 };
        for _ in 0..MAX_MUTATION_ATTEMPTS {
            let mut ops = self.original_ops.clone();
            let mut adj = self.original_adjacency.clone();
            for (i, row) in adj.iter_mut().enumerate() {
                for x in row.iter_mut().skip(i + 1) {
                    if rng.gen::<f64>() < edge_p {
                        *x ^= 1;
                    }
                }
            }
            for op in ops.iter_mut().take(n - 1).skip(1) {
                if rng.gen::<f64>() < op_p {
                    let others: Vec<Nb101Op> = Nb101Op::INTERIOR.iter().copied().filter(|o| o != op).collect();
                    *op = others[rng.gen_range(0..others.len())];
                }
            }
            if let Ok(s) = Nb101Spec::new(ops, adj) {
                return Ok(s);
            }
        }
        bail!("no valid mutation found in {MAX_MUTATION_ATTEMPTS} attempts")
    }

    /// Builds a 7-vertex cell from REINFORCE decisions (see [`policy_choices`]):
    /// `ops_idx[k]` is the op of vertex `k+1` as an index into [`Nb101Op::INTERIOR`],
    /// `edges[e]` whether edge `policy_choices().edge_pairs[e]` is present.
    /// Errors on an op index ≥ 3 or an invalid cell (the caller resamples).
    pub fn from_choices(ops_idx: &[usize; NUM_OP_SLOTS], edges: &[bool; NUM_EDGE_SLOTS]) -> Result<Nb101Spec> {
        let mut ops = Vec::with_capacity(MAX_VERTICES);
        ops.push(Nb101Op::Input);
        for (k, &i) in ops_idx.iter().enumerate() {
            let op = Nb101Op::INTERIOR
                .get(i)
                .copied()
                .ok_or_else(|| anyhow!("op choice {k} is {i}; must be 0 (conv3x3), 1 (conv1x1) or 2 (maxpool)"))?;
            ops.push(op);
        }
        ops.push(Nb101Op::Output);
        let mut adj = vec![vec![0u8; MAX_VERTICES]; MAX_VERTICES];
        for (&(i, j), &e) in upper_pairs(MAX_VERTICES).iter().zip(edges.iter()) {
            adj[i][j] = e as u8;
        }
        Nb101Spec::new(ops, adj)
    }

    /// Inverse of [`Nb101Spec::from_choices`] for cells whose original
    /// representation has exactly 7 vertices; `None` otherwise.
    pub fn to_choices(&self) -> Option<([usize; NUM_OP_SLOTS], [bool; NUM_EDGE_SLOTS])> {
        if self.original_ops.len() != MAX_VERTICES {
            return None;
        }
        let mut ops_idx = [0usize; NUM_OP_SLOTS];
        for (k, slot) in ops_idx.iter_mut().enumerate() {
            *slot = self.original_ops[k + 1].interior_index()?;
        }
        let mut edges = [false; NUM_EDGE_SLOTS];
        for (e, (i, j)) in upper_pairs(MAX_VERTICES).into_iter().enumerate() {
            edges[e] = self.original_adjacency[i][j] != 0;
        }
        Some((ops_idx, edges))
    }
}

impl fmt::Display for Nb101Spec {
    /// Writes [`Nb101Spec::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for Nb101Spec {
    type Err = anyhow::Error;
    /// Same as [`Nb101Spec::parse_text`].
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_text(s)
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn data_dir() -> PathBuf {
        match std::env::var_os("ZSNAS_DATA") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        }
    }

    fn sample() -> Vec<Nb101Record> {
        let p = data_dir().join("nb101/nb101_sample200.json");
        load_records(&p)
            .unwrap_or_else(|e| panic!("cannot load {} (set ZSNAS_DATA to the shared data folder): {e:#}", p.display()))
    }

    fn err_of(ops: &[&str], adj: Vec<Vec<u8>>) -> String {
        match Nb101Spec::from_names(ops, adj) {
            Ok(s) => panic!("expected an error, got {s}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn hash_matches_all_samples() {
        let recs = sample();
        assert_eq!(recs.len(), 200);
        for r in &recs {
            assert_eq!(r.spec.hash(), r.hash, "spec {}", r.spec);
            // samples are already pruned
            assert_eq!(r.spec.ops(), r.spec.original_ops());
            assert_eq!(r.spec.adjacency(), r.spec.original_adjacency());
        }
    }

    #[test]
    fn parameters_match_all_samples() {
        for r in &sample() {
            assert_eq!(Some(r.spec.trainable_parameters(10)), r.trainable_parameters, "spec {}", r.spec);
        }
    }

    #[test]
    fn vertex_channels_invariants() {
        for r in &sample() {
            let s = &r.spec;
            let n = s.num_vertices();
            for (cin, cout) in [(128, 128), (128, 256), (256, 256), (512, 512)] {
                let vc = s.vertex_channels(cin, cout);
                assert_eq!(vc[0], cin);
                assert_eq!(vc[n - 1], cout);
                let m = s.adjacency();
                let mut fan = 0;
                for v in 1..n - 1 {
                    assert!(vc[v] > 0);
                    if m[v][n - 1] == 1 {
                        fan += vc[v];
                    }
                    for d in v + 1..n - 1 {
                        if m[v][d] == 1 {
                            assert!(vc[v] >= vc[d] && vc[v] - vc[d] <= 1);
                        }
                    }
                }
                if n > 2 {
                    assert_eq!(fan, cout);
                }
            }
        }
    }

    #[test]
    fn vertex_channels_uneven_split() {
        // 3 vertices into the output: 128 = 43 + 43 + 42
        let s = Nb101Spec::parse_text("in,conv3x3,conv3x3,conv1x1,out|01110|00001|00001|00001|00000").unwrap();
        assert_eq!(s.vertex_channels(128, 128), vec![128, 43, 43, 42, 128]);
        // vertex 1 feeds vertices 3 (43) and 4 (42): max = 43
        let s =
            Nb101Spec::parse_text("in,conv3x3,conv3x3,conv1x1,maxpool,out|011000|000110|000001|000001|000001|000000")
                .unwrap();
        assert_eq!(s.vertex_channels(128, 128), vec![128, 43, 43, 43, 42, 128]);
        // smaller output than fan-in: no panic, zero channels reported
        assert_eq!(s.vertex_channels(4, 2), vec![4, 1, 1, 1, 0, 2]);
    }

    #[test]
    fn hand_computed_parameters() {
        // input -> output directly: each cell is one 1x1 projection.
        let s = Nb101Spec::parse_text("input,output|01|00").unwrap();
        let stem = 27 * 128 + 256;
        let cells = 3 * (128 * 128 + 256)
            + (128 * 256 + 512)
            + 2 * (256 * 256 + 512)
            + (256 * 512 + 1024)
            + 2 * (512 * 512 + 1024);
        assert_eq!(s.trainable_parameters(10), (stem + cells + 5120 + 10) as u64);
        assert_eq!(s.num_vertices(), 2);
        assert_eq!(s.num_edges(), 1);
    }

    #[test]
    fn pruning() {
        // vertex 2 is a dead end (not connected to output), vertex 3 unreachable
        let s = Nb101Spec::parse_text("input,conv3x3,maxpool,conv1x1,output|01100|00001|00000|00001|00000").unwrap();
        assert_eq!(s.ops(), &[Nb101Op::Input, Nb101Op::Conv3x3BnRelu, Nb101Op::Output]);
        assert_eq!(s.adjacency(), &[vec![0, 1, 0], vec![0, 0, 1], vec![0, 0, 0]]);
        assert_eq!(s.original_ops().len(), 5);
        assert_eq!(s.pruned().to_text(), "input,conv3x3-bn-relu,output|010|001|000");
        assert_eq!(s.pruned().hash(), s.hash());
        // pruned graph with 10 original edges but few after pruning is valid
        let adj: Vec<Vec<u8>> = (0..7).map(|i| (0..7).map(|j| u8::from(j > i)).collect()).collect();
        // full DAG has 21 edges: invalid
        let e = err_of(
            &[
                "input",
                "conv3x3-bn-relu",
                "conv3x3-bn-relu",
                "conv3x3-bn-relu",
                "maxpool3x3",
                "conv1x1-bn-relu",
                "output",
            ],
            adj,
        );
        assert!(e.contains("21 edges after pruning"), "{e}");
    }

    #[test]
    fn invalid_specs_rejected() {
        let e = err_of(&["input", "output"], vec![vec![0, 1], vec![0]]);
        assert!(e.contains("not square") && e.contains("row 1 has 1 entries"), "{e}");
        let e = err_of(&["input", "output"], vec![vec![0, 1, 0], vec![0, 0, 0]]);
        assert!(e.contains("not square"), "{e}");
        let e = err_of(&["input", "conv3x3-bn-relu", "output"], vec![vec![0, 1], vec![0, 0]]);
        assert!(e.contains("ops has 3 entries but adjacency is 2x2"), "{e}");
        let e = err_of(
            &["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"],
            vec![vec![0, 1, 0, 0], vec![0, 0, 0, 1], vec![0, 0, 0, 1], vec![0, 1, 0, 0]],
        );
        assert_eq!(e, "adjacency is not upper-triangular: entry (3,1) is 1");
        let e = err_of(&["input", "output"], vec![vec![1, 1], vec![0, 0]]);
        assert_eq!(e, "adjacency is not upper-triangular: entry (0,0) is 1");
        let e = err_of(&["input", "output"], vec![vec![0, 2], vec![0, 0]]);
        assert!(e.contains("entry (0,1) is 2"), "{e}");
        // no path
        let e = err_of(&["input", "conv3x3-bn-relu", "output"], vec![vec![0, 1, 0], vec![0, 0, 0], vec![0, 0, 0]]);
        assert!(e.contains("no path from the input to the output"), "{e}");
        // 10 edges on 7 vertices, all live
        let e = Nb101Spec::parse_text(
            "input,conv3x3,conv3x3,conv3x3,conv3x3,conv3x3,output|\
             0110001|0001100|0001000|0000110|0000010|0000001|0000000",
        )
        .unwrap_err();
        assert_eq!(format!("{e:#}"), "invalid cell: 10 edges after pruning; at most 9 allowed");
        // 8 vertices after pruning
        let mut adj = vec![vec![0u8; 8]; 8];
        for i in 0..7 {
            adj[i][i + 1] = 1;
        }
        let mut ops = vec!["conv1x1-bn-relu"; 8];
        ops[0] = "input";
        ops[7] = "output";
        let e = err_of(&ops, adj);
        assert!(e.contains("8 vertices after pruning"), "{e}");
        // bad op name
        let e = err_of(&["input", "conv5x5", "output"], vec![vec![0, 1, 0], vec![0, 0, 1], vec![0, 0, 0]]);
        assert!(e.contains("op 1") && e.contains("unknown NAS-Bench-101 op 'conv5x5'"), "{e}");
        let e = Nb101Spec::parse_text("input,conv5x5,output|010|001|000").unwrap_err();
        assert!(format!("{e:#}").contains("'conv5x5'"), "{e:#}");
        // first / last / interior ops
        let e = err_of(&["conv3x3-bn-relu", "input", "output"], vec![vec![0, 1, 0], vec![0, 0, 1], vec![0, 0, 0]]);
        assert_eq!(e, "first op must be input, found conv3x3-bn-relu");
        let e = err_of(&["input", "conv3x3-bn-relu", "maxpool3x3"], vec![vec![0, 1, 0], vec![0, 0, 1], vec![0, 0, 0]]);
        assert_eq!(e, "last op must be output, found maxpool3x3");
        let e = err_of(&["input", "output", "output"], vec![vec![0, 1, 0], vec![0, 0, 1], vec![0, 0, 0]]);
        assert!(e.starts_with("op 1 is output; interior ops must be"), "{e}");
        // empty
        let e = Nb101Spec::new(vec![], vec![]).unwrap_err();
        assert!(e.to_string().contains("at least 2 vertices"));
        // text-level errors
        assert!(Nb101Spec::parse_text("").is_err());
        assert!(Nb101Spec::parse_text("input,output").unwrap_err().to_string().contains("no adjacency rows"));
        assert!(Nb101Spec::parse_text("input,output|0x|00").unwrap_err().to_string().contains("'x'"));
        // JSON-level errors
        let e =
            serde_json::from_str::<Nb101Spec>(r#"{"ops":["input","output"],"adjacency":[[0,3],[0,0]]}"#).unwrap_err();
        assert!(e.to_string().contains("entry (0,1) is 3"), "{e}");
        let e = serde_json::from_str::<Nb101Spec>(r#"{"ops":["input","conv"],"adjacency":[[0,1],[0,0]]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown NAS-Bench-101 op 'conv'"), "{e}");
    }

    #[test]
    fn text_and_json_round_trip() {
        for r in &sample() {
            let t = r.spec.to_text();
            let back = Nb101Spec::parse_text(&t).unwrap();
            assert_eq!(back, r.spec);
            assert_eq!(t.parse::<Nb101Spec>().unwrap().to_string(), t);
            let j = serde_json::to_string(&r.spec).unwrap();
            let back: Nb101Spec = serde_json::from_str(&j).unwrap();
            assert_eq!(back, r.spec);
        }
        let s = Nb101Spec::parse_text(" in , conv3x3 , maxpool , out | 0110 | 0001 | 0001 | 0000 ").unwrap();
        assert_eq!(s.to_text(), "input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000");
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"ops":["input","conv3x3-bn-relu","maxpool3x3","output"],
                "adjacency":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]]})
        );
        // extra fields are ignored
        let s2: Nb101Spec = serde_json::from_str(
            r#"{"hash":"x","ops":["input","conv3x3-bn-relu","maxpool3x3","output"],
                "adjacency":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]],"trainable_parameters":1}"#,
        )
        .unwrap();
        assert_eq!(s2, s);
        // random (un-pruned) specs round-trip losslessly
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            let s = Nb101Spec::random_spec(&mut rng);
            assert_eq!(Nb101Spec::parse_text(&s.to_text()).unwrap(), s);
            let j = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Nb101Spec>(&j).unwrap(), s);
        }
    }

    #[test]
    fn random_specs_valid_and_deterministic() {
        let mut a = ChaCha8Rng::seed_from_u64(42);
        let mut b = ChaCha8Rng::seed_from_u64(42);
        let mut hashes = BTreeSet::new();
        for _ in 0..300 {
            let s = Nb101Spec::random_spec(&mut a);
            assert_eq!(s, Nb101Spec::random_spec(&mut b));
            assert_eq!(s.original_ops().len(), 7);
            assert!(s.num_vertices() <= MAX_VERTICES && s.num_edges() <= MAX_EDGES);
            assert!(s.trainable_parameters(10) > 0);
            hashes.insert(s.hash());
        }
        assert!(hashes.len() > 150, "only {} distinct", hashes.len());
    }

    #[test]
    fn mutation_one_op_one_edge() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut s = Nb101Spec::random_spec(&mut rng);
        for _ in 0..500 {
            let m = s.mutate(&mut rng).unwrap();
            let op_diffs = s.original_ops().iter().zip(m.original_ops()).filter(|(a, b)| a != b).count();
            let edge_diffs: usize = s
                .original_adjacency()
                .iter()
                .flatten()
                .zip(m.original_adjacency().iter().flatten())
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(op_diffs, 1);
            assert_eq!(edge_diffs, 1);
            assert_ne!(m.hash(), s.hash());
            assert!(m.num_edges() <= MAX_EDGES);
            s = m;
        }
        // determinism
        let start = Nb101Spec::random_spec(&mut ChaCha8Rng::seed_from_u64(1));
        let run = |seed| {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let mut x = start.clone();
            let mut out = vec![];
            for _ in 0..20 {
                x = x.mutate(&mut r).unwrap();
                out.push(x.to_text());
            }
            out
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        // cannot mutate a 2-vertex cell
        let io = Nb101Spec::parse_text("input,output|01|00").unwrap();
        assert!(io.mutate(&mut rng).is_err());
    }

    #[test]
    fn nasbench_mutation_valid_and_deterministic() {
        let mut a = ChaCha8Rng::seed_from_u64(11);
        let mut b = ChaCha8Rng::seed_from_u64(11);
        let mut s = Nb101Spec::random_spec(&mut a);
        let _ = Nb101Spec::random_spec(&mut b);
        for _ in 0..200 {
            let m = s.mutate_nasbench(&mut a, 1.0).unwrap();
            assert_eq!(m, s.mutate_nasbench(&mut b, 1.0).unwrap());
            assert_eq!(m.original_ops().len(), 7);
            s = m;
        }
        assert!(s.mutate_nasbench(&mut a, f64::NAN).is_err());
        assert!(s.mutate_nasbench(&mut a, -1.0).is_err());
    }

    #[test]
    fn policy_encoding() {
        let pc = policy_choices();
        assert_eq!(pc.num_op_slots, 5);
        assert_eq!(pc.num_edge_slots, 21);
        assert_eq!(pc.edge_pairs.len(), 21);
        assert_eq!(pc.edge_pairs[0], (0, 1));
        assert_eq!(pc.edge_pairs[6], (1, 2));
        assert_eq!(pc.edge_pairs[20], (5, 6));
        assert_eq!(pc.op_choices, Nb101Op::INTERIOR);
        // chain 0->1->...->6
        let mut edges = [false; 21];
        for (e, &(i, j)) in pc.edge_pairs.iter().enumerate() {
            if j == i + 1 {
                edges[e] = true;
            }
        }
        let s = Nb101Spec::from_choices(&[0, 1, 2, 0, 1], &edges).unwrap();
        assert_eq!(s.num_vertices(), 7);
        assert_eq!(s.num_edges(), 6);
        assert_eq!(s.to_choices(), Some(([0, 1, 2, 0, 1], edges)));
        assert!(Nb101Spec::from_choices(&[0, 3, 0, 0, 0], &edges)
            .unwrap_err()
            .to_string()
            .contains("op choice 1 is 3"));
        assert!(Nb101Spec::from_choices(&[0; 5], &[false; 21]).is_err());
        assert!(Nb101Spec::from_choices(&[0; 5], &[true; 21]).is_err());
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..100 {
            let s = Nb101Spec::random_spec(&mut rng);
            let (o, e) = s.to_choices().unwrap();
            assert_eq!(Nb101Spec::from_choices(&o, &e).unwrap(), s);
        }
        assert_eq!(Nb101Spec::parse_text("input,output|01|00").unwrap().to_choices(), None);
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
