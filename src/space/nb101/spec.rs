//! Validation and pruning ([`Nb101Spec::new`], `ModelSpec._prune`), accessors and the
//! benchmark's module hash (`graph_util.hash_module`).

use anyhow::{anyhow, bail, Result};
use md5::{Digest, Md5};

use super::{Nb101Op, Nb101Spec, MAX_EDGES, MAX_VERTICES};

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::nb101::tests::sample;

    fn err_of(ops: &[&str], adj: Vec<Vec<u8>>) -> String {
        match Nb101Spec::from_names(ops, adj) {
            Ok(s) => panic!("expected an error, got {s}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn hash_matches_all_samples_shared_data() {
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
}
