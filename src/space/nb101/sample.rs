//! Random specs, mutation and the REINFORCE action space.

use anyhow::{anyhow, bail, Result};
use rand::Rng;

use super::{Nb101Op, Nb101Spec, MAX_MUTATION_ATTEMPTS, MAX_VERTICES, NUM_EDGE_SLOTS, NUM_OP_SLOTS};

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

impl Nb101Spec {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::nb101::MAX_EDGES;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeSet;

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
}
