//! The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).
//!
//! A cell is a 4-node DAG; each of the 6 edges `j -> i` (j < i) carries one of 5 ops.
//! The canonical text form is the benchmark's `arch_str`:
//! `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (node 1, node 2, node 3; `op~j` = edge from node j).
//! The benchmark index (0..15624) follows the order of the benchmark's table, which
//! is shipped with zsnas (`assets/nb201.csv.gz`); see [`crate::space::nb201_table`].

use anyhow::{bail, Result};
use rand::Rng;
use std::fmt;

/// One NAS-Bench-201 operation, with the benchmark's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nb201Op {
    /// `none`: outputs zeros (the edge is absent).
    None,
    /// `skip_connect`: identity.
    SkipConnect,
    /// `nor_conv_1x1`: ReLU → Conv 1×1 → BN.
    NorConv1x1,
    /// `nor_conv_3x3`: ReLU → Conv 3×3 (padding 1) → BN.
    NorConv3x3,
    /// `avg_pool_3x3`: average pool 3×3, stride 1, padding 1, padding not counted.
    AvgPool3x3,
}

/// All ops, in the order used for enumeration and REINFORCE logits.
pub const NB201_OPS: [Nb201Op; 5] =
    [Nb201Op::None, Nb201Op::SkipConnect, Nb201Op::NorConv1x1, Nb201Op::NorConv3x3, Nb201Op::AvgPool3x3];

/// Number of cells in the space (5 operations on 6 edges: 5⁶).
pub const NB201_SIZE: usize = 15_625;

/// `(to, from)` node pairs of the 6 edges, in `arch_str` order.
pub const NB201_EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

impl Nb201Op {
    /// The benchmark's name of the op (`none`, `skip_connect`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Nb201Op::None => "none",
            Nb201Op::SkipConnect => "skip_connect",
            Nb201Op::NorConv1x1 => "nor_conv_1x1",
            Nb201Op::NorConv3x3 => "nor_conv_3x3",
            Nb201Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// Parses a benchmark op name. Errors name the bad op and list the valid ones.
    pub fn from_name(s: &str) -> Result<Self> {
        NB201_OPS.iter().copied().find(|o| o.name() == s).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown NAS-Bench-201 op '{s}' (expected one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)"
            )
        })
    }
}

/// A NAS-Bench-201 cell: the op on each of the 6 edges, in [`NB201_EDGES`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nb201Arch {
    /// Ops of the edges 1←0, 2←0, 2←1, 3←0, 3←1, 3←2.
    pub ops: [Nb201Op; 6],
}

impl Nb201Arch {
    /// The canonical cell: every edge on no input→output path becomes `none` (an edge
    /// j←i is live when node i is reachable from node 0 and node j reaches node 3 through
    /// non-`none` edges), the way NAS-Bench-101 prunes its specs and NAS-Bench-Suite-Zero
    /// groups the 15,625 cells into 9,445 classes. A dead edge's output is identically zero
    /// (it reads an all-zero node) or never reaches the logits, so a cell and its canonical
    /// cell compute the same function up to BatchNorm shifts of edges fed by all-zero nodes.
    pub fn canonical(&self) -> Nb201Arch {
        let live_op = |e: usize| self.ops[e] != Nb201Op::None;
        let mut from_input = [true, false, false, false];
        for (e, &(to, from)) in NB201_EDGES.iter().enumerate() {
            // Edges are listed in order of their target node, so sources are final.
            if live_op(e) && from_input[from] {
                from_input[to] = true;
            }
        }
        let mut to_output = [false, false, false, true];
        for (e, &(to, from)) in NB201_EDGES.iter().enumerate().rev() {
            if live_op(e) && to_output[to] {
                to_output[from] = true;
            }
        }
        let mut c = *self;
        for (e, &(to, from)) in NB201_EDGES.iter().enumerate() {
            if !(from_input[from] && to_output[to]) {
                c.ops[e] = Nb201Op::None;
            }
        }
        c
    }

    /// Parses an `arch_str` such as
    /// `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|`.
    ///
    /// Errors say what is wrong: the number of nodes, a malformed `op~j` token, an unknown
    /// op or a wrong input-node index.
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim();
        let nodes: Vec<&str> = t.split('+').collect();
        if nodes.len() != 3 {
            bail!("malformed NAS-Bench-201 arch_str '{s}': expected 3 nodes separated by '+', found {}", nodes.len());
        }
        let mut ops = [Nb201Op::None; 6];
        let mut k = 0;
        for (i, node) in nodes.iter().enumerate() {
            let node_no = i + 1;
            if !(node.starts_with('|') && node.ends_with('|') && node.len() >= 2) {
                bail!("malformed NAS-Bench-201 arch_str '{s}': node {node_no} '{node}' must be written as |op~j|...|");
            }
            let toks: Vec<&str> = node[1..node.len() - 1].split('|').collect();
            if toks.len() != node_no {
                bail!(
                    "malformed NAS-Bench-201 arch_str '{s}': node {node_no} must have {node_no} input edge(s), found {}",
                    toks.len()
                );
            }
            for (j, tok) in toks.iter().enumerate() {
                let (op, from) = tok.split_once('~').ok_or_else(|| {
                    anyhow::anyhow!(
                        "malformed NAS-Bench-201 arch_str '{s}': edge '{tok}' of node {node_no} is not 'op~j'"
                    )
                })?;
                let from: usize = from.parse().map_err(|_| {
                    anyhow::anyhow!("malformed NAS-Bench-201 arch_str '{s}': edge '{tok}' has an input node that is not a small non-negative integer")
                })?;
                if from != j {
                    bail!(
                        "malformed NAS-Bench-201 arch_str '{s}': edge '{tok}' of node {node_no} must come from node {j}, not {from}"
                    );
                }
                ops[k] = Nb201Op::from_name(op)
                    .map_err(|e| anyhow::anyhow!("malformed NAS-Bench-201 arch_str '{s}': {e}"))?;
                k += 1;
            }
        }
        Ok(Nb201Arch { ops })
    }

    /// The canonical `arch_str`.
    pub fn arch_str(&self) -> String {
        let o = &self.ops;
        format!(
            "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
            o[0].name(),
            o[1].name(),
            o[2].name(),
            o[3].name(),
            o[4].name(),
            o[5].name()
        )
    }

    /// The architecture with enumeration number `code` in 0..15625 (base-5 digits over
    /// [`NB201_OPS`], edge 1←0 most significant). This is not the benchmark index.
    pub fn from_code(code: usize) -> Self {
        let mut ops = [Nb201Op::None; 6];
        let mut c = code % 15625;
        for k in (0..6).rev() {
            ops[k] = NB201_OPS[c % 5];
            c /= 5;
        }
        Nb201Arch { ops }
    }

    /// Inverse of [`Nb201Arch::from_code`].
    pub fn code(&self) -> usize {
        self.ops.iter().fold(0, |acc, o| acc * 5 + NB201_OPS.iter().position(|x| x == o).unwrap())
    }

    /// All 15,625 cells in enumeration-code order.
    pub fn enumerate() -> impl Iterator<Item = Nb201Arch> {
        (0..15625).map(Nb201Arch::from_code)
    }

    /// A uniformly random cell.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut ops = [Nb201Op::None; 6];
        for o in ops.iter_mut() {
            *o = NB201_OPS[rng.gen_range(0..5)];
        }
        Nb201Arch { ops }
    }

    /// The mutation of regularised evolution: one uniformly chosen edge gets a different op
    /// (uniform over the 4 others).
    pub fn mutate<R: Rng + ?Sized>(&self, rng: &mut R) -> Self {
        let mut out = *self;
        let e = rng.gen_range(0..6);
        let others: Vec<Nb201Op> = NB201_OPS.iter().copied().filter(|&o| o != self.ops[e]).collect();
        out.ops[e] = others[rng.gen_range(0..others.len())];
        out
    }

    /// Number of parameters of the CIFAR network (C=16, N=5) with `num_classes` outputs,
    /// counting conv weights, BN affine weights and the classifier, as the benchmark's
    /// `params_m` does (×1e6).
    pub fn param_count(&self, num_classes: usize) -> usize {
        let mut total = 3 * 16 * 9 + 2 * 16; // stem conv + BN
        for (stage, c) in [16usize, 32, 64].iter().enumerate() {
            let per_cell: usize = self
                .ops
                .iter()
                .map(|o| match o {
                    Nb201Op::NorConv1x1 => c * c + 2 * c,
                    Nb201Op::NorConv3x3 => c * c * 9 + 2 * c,
                    _ => 0,
                })
                .sum();
            total += 5 * per_cell;
            if stage < 2 {
                let (ci, co) = (*c, 2 * c);
                total += ci * co * 9 + 2 * co + co * co * 9 + 2 * co + ci * co;
            }
        }
        total + 2 * 64 + 64 * num_classes + num_classes
    }
}

impl fmt::Display for Nb201Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arch_str())
    }
}

impl std::str::FromStr for Nb201Arch {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Nb201Arch::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const BEST: &str =
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

    #[test]
    fn parse_print_round_trip() {
        let a = Nb201Arch::parse(BEST).unwrap();
        assert_eq!(a.arch_str(), BEST);
        assert_eq!(a.ops[3], Nb201Op::SkipConnect);
        assert_eq!(a.ops[5], Nb201Op::NorConv1x1);
    }

    #[test]
    fn enumerate_is_complete_and_codes_invert() {
        let all: std::collections::HashSet<_> = Nb201Arch::enumerate().collect();
        assert_eq!(all.len(), 15625);
        for c in [0, 1, 777, 15624] {
            assert_eq!(Nb201Arch::from_code(c).code(), c);
        }
    }

    #[test]
    fn malformed_strings_are_rejected_with_reasons() {
        let cases = [
            ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "expected 3 nodes"),
            ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NAS-Bench-201 op 'conv'"),
            ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from node 0"),
            ("|none~0|+|none~0|+|none~0|none~1|none~2|", "must have 2 input edge"),
            ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "is not 'op~j'"),
            ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "must be written as"),
            ("|none~x|+|none~0|none~1|+|none~0|none~1|none~2|", "not a small non-negative integer"),
            ("|none~99999999999999999999|+|none~0|none~1|+|none~0|none~1|none~2|", "not a small non-negative integer"),
        ];
        for (s, msg) in cases {
            let e = Nb201Arch::parse(s).unwrap_err().to_string();
            assert!(e.contains(msg), "'{s}' gave '{e}', expected '{msg}'");
        }
    }

    #[test]
    fn mutation_changes_exactly_one_edge() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let a = Nb201Arch::sample(&mut rng);
            let b = a.mutate(&mut rng);
            let diff = a.ops.iter().zip(b.ops.iter()).filter(|(x, y)| x != y).count();
            assert_eq!(diff, 1);
        }
    }

    #[test]
    fn param_counts_of_golden_cells() {
        // Values from the benchmark (params_m) and the golden state dicts.
        assert_eq!(Nb201Arch::parse(BEST).unwrap().param_count(10), 1_073_466);
        let all_skip =
            "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
        assert_eq!(Nb201Arch::parse(all_skip).unwrap().param_count(10), 73_306);
    }

    #[test]
    fn canonical_cells_number_9445() {
        let mut classes = std::collections::HashSet::new();
        for code in 0..15625 {
            let a = Nb201Arch::from_code(code);
            let c = a.canonical();
            assert_eq!(c.canonical(), c, "canonical is idempotent");
            classes.insert(c);
        }
        assert_eq!(classes.len(), 9445);
        // Node 1 fed only by `none`: its outgoing conv edge 2<-1 is dead; edge 3<-2 lives.
        let a = Nb201Arch::parse("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|")
            .unwrap();
        assert_eq!(a.canonical().arch_str(), "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|");
    }
}
