//! The search-space interface that strategies run on: uniform sampling, the mutation of
//! regularised evolution, and the policy encoding of REINFORCE (a list of categorical or
//! Bernoulli [`Decision`]s) with its decoding, for every [`SpaceKind`].

use super::arch::AnyArch;
use super::mbv2::{choice_space, random_arch, Mbv2Arch, DEFAULT_FLOPS_LIMIT};
use super::nb101::{policy_choices, Nb101Spec, NUM_EDGE_SLOTS, NUM_OP_SLOTS};
use super::nb201::{Nb201Arch, NB201_EDGES, NB201_OPS};
use super::SpaceKind;
use anyhow::{bail, Result};
use rand_chacha::ChaCha8Rng;

/// One decision of a space's policy encoding (see [`Space::decisions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Pick one of `options` (encoded as `0..options`).
    Categorical {
        /// Name, e.g. `edge 1<-0`, `op 3`, `c4`.
        name: String,
        /// Number of options.
        options: usize,
    },
    /// Yes or no (encoded as 0 or 1), e.g. the presence of a NAS-Bench-101 edge.
    Bernoulli {
        /// Name, e.g. `edge 0->6`.
        name: String,
    },
}

impl Decision {
    /// The decision's name.
    pub fn name(&self) -> &str {
        match self {
            Decision::Categorical { name, .. } | Decision::Bernoulli { name } => name,
        }
    }

    /// Number of values the decision takes (2 for a Bernoulli).
    pub fn options(&self) -> usize {
        match self {
            Decision::Categorical { options, .. } => *options,
            Decision::Bernoulli { .. } => 2,
        }
    }
}

/// A search space: what strategies need to draw, mutate and encode architectures.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    kind: SpaceKind,
    flops_limit: u64,
}

impl Space {
    /// The space `kind`; `flops_limit` (MACs of one image at the architecture's own
    /// resolution, 1,000 classes) constrains mbv2 sampling, mutation and decoding and is
    /// ignored elsewhere.
    pub fn new(kind: SpaceKind, flops_limit: u64) -> Space {
        Space { kind, flops_limit }
    }

    /// NAS-Bench-201.
    pub fn nb201() -> Space {
        Space::new(SpaceKind::Nb201, DEFAULT_FLOPS_LIMIT)
    }

    /// Which space.
    pub fn kind(&self) -> SpaceKind {
        self.kind
    }

    /// The mbv2 FLOPs limit.
    pub fn flops_limit(&self) -> u64 {
        self.flops_limit
    }

    /// A uniformly random architecture: NAS-Bench-201 uniform over the 5 ops of each edge;
    /// NAS-Bench-101 [`Nb101Spec::random_spec`]; mbv2 [`random_arch`] within the FLOPs limit.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Result<AnyArch> {
        Ok(match self.kind {
            SpaceKind::Nb201 => AnyArch::Nb201(Nb201Arch::sample(rng)),
            SpaceKind::Nb101 => AnyArch::Nb101(Nb101Spec::random_spec(rng)),
            SpaceKind::Mbv2 => AnyArch::Mbv2(random_arch(rng, self.flops_limit)?),
        })
    }

    /// The mutation of regularised evolution: NAS-Bench-201 changes one uniformly chosen
    /// edge to a different op ([`Nb201Arch::mutate`]); NAS-Bench-101 and mbv2 use
    /// [`Nb101Spec::mutate`] and [`Mbv2Arch::mutate`] (within the FLOPs limit).
    pub fn mutate(&self, arch: &AnyArch, rng: &mut ChaCha8Rng) -> Result<AnyArch> {
        Ok(match arch {
            AnyArch::Nb201(a) => AnyArch::Nb201(a.mutate(rng)),
            AnyArch::Nb101(s) => AnyArch::Nb101(s.mutate(rng)?),
            AnyArch::Mbv2(m) => AnyArch::Mbv2(m.mutate(rng, self.flops_limit)?),
        })
    }

    /// The policy encoding: NAS-Bench-201 one 5-way categorical per edge (ops in
    /// [`NB201_OPS`] order, edges in [`NB201_EDGES`] order); NAS-Bench-101 5 three-way op
    /// categoricals then 21 Bernoulli edges ([`policy_choices`]); mbv2 the 39 categoricals
    /// of [`choice_space`].
    pub fn decisions(&self) -> Vec<Decision> {
        match self.kind {
            SpaceKind::Nb201 => NB201_EDGES
                .iter()
                .map(|(to, from)| Decision::Categorical {
                    name: format!("edge {to}<-{from}"),
                    options: NB201_OPS.len(),
                })
                .collect(),
            SpaceKind::Nb101 => {
                let pc = policy_choices();
                let mut v: Vec<Decision> = (0..pc.num_op_slots)
                    .map(|k| Decision::Categorical { name: format!("op {}", k + 1), options: pc.op_choices.len() })
                    .collect();
                v.extend(pc.edge_pairs.iter().map(|(i, j)| Decision::Bernoulli { name: format!("edge {i}->{j}") }));
                v
            }
            SpaceKind::Mbv2 => choice_space()
                .into_iter()
                .map(|c| Decision::Categorical { name: c.name, options: c.num_options })
                .collect(),
        }
    }

    /// The architecture of one value per [`Space::decisions`] entry. Errors on a wrong
    /// length or an out-of-range value, and when the result is not in the space (a
    /// NAS-Bench-101 cell that is invalid after pruning, an mbv2 network over the FLOPs
    /// limit): REINFORCE resamples then.
    pub fn decode(&self, values: &[usize]) -> Result<AnyArch> {
        let d = self.decisions();
        if values.len() != d.len() {
            bail!("expected {} decisions for {}, got {}", d.len(), self.kind.name(), values.len());
        }
        for (x, dec) in values.iter().zip(&d) {
            if *x >= dec.options() {
                bail!("decision '{}' = {x} is out of range 0..{}", dec.name(), dec.options());
            }
        }
        match self.kind {
            SpaceKind::Nb201 => {
                let mut a = Nb201Arch::from_code(0);
                for (o, &x) in a.ops.iter_mut().zip(values) {
                    *o = NB201_OPS[x];
                }
                Ok(AnyArch::Nb201(a))
            }
            SpaceKind::Nb101 => {
                let mut ops = [0usize; NUM_OP_SLOTS];
                ops.copy_from_slice(&values[..NUM_OP_SLOTS]);
                let mut edges = [false; NUM_EDGE_SLOTS];
                for (e, &x) in edges.iter_mut().zip(&values[NUM_OP_SLOTS..]) {
                    *e = x == 1;
                }
                Ok(AnyArch::Nb101(Nb101Spec::from_choices(&ops, &edges)?))
            }
            SpaceKind::Mbv2 => {
                let a = Mbv2Arch::from_choices(values)?;
                a.check_flops(self.flops_limit)?;
                Ok(AnyArch::Mbv2(a))
            }
        }
    }

    /// Inverse of [`Space::decode`]; `None` for an architecture of another space or one
    /// the encoding cannot express (e.g. a NAS-Bench-101 cell given with fewer than 7
    /// vertices).
    pub fn encode(&self, arch: &AnyArch) -> Option<Vec<usize>> {
        match (self.kind, arch) {
            (SpaceKind::Nb201, AnyArch::Nb201(a)) => {
                Some(a.ops.iter().map(|o| NB201_OPS.iter().position(|x| x == o).unwrap_or(0)).collect())
            }
            (SpaceKind::Nb101, AnyArch::Nb101(s)) => {
                let (ops, edges) = s.to_choices()?;
                let mut v = ops.to_vec();
                v.extend(edges.iter().map(|&e| e as usize));
                Some(v)
            }
            (SpaceKind::Mbv2, AnyArch::Mbv2(m)) => m.to_choices().ok(),
            _ => None,
        }
    }

    /// Checks that `arch` belongs to this space (used when resuming from a history).
    pub fn contains(&self, arch: &AnyArch) -> bool {
        arch.space() == self.kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn encode_decode_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for kind in [SpaceKind::Nb201, SpaceKind::Nb101, SpaceKind::Mbv2] {
            let sp = Space::new(kind, DEFAULT_FLOPS_LIMIT);
            let d = sp.decisions();
            for _ in 0..5 {
                let a = sp.sample(&mut rng).unwrap();
                let v = sp.encode(&a).unwrap();
                assert_eq!(v.len(), d.len());
                assert_eq!(sp.decode(&v).unwrap().key(), a.key(), "{kind:?}");
            }
        }
        let sp = Space::nb201();
        assert_eq!(sp.decisions().len(), 6);
        assert!(sp.decode(&[0, 0, 0]).is_err());
        assert!(sp.decode(&[5, 0, 0, 0, 0, 0]).is_err());
        let nb101 = Space::new(SpaceKind::Nb101, 0).decisions();
        assert_eq!(nb101.iter().filter(|d| matches!(d, Decision::Bernoulli { .. })).count(), 21);
    }
}
