//! SWAP, sample-wise activation patterns (Peng et al., ICLR 2024), written from the
//! definition in the golden `sota` README (`../shared/golden/nb201/sota/README.md`, section
//! SWAP), not from any official code.
//!
//! One count: a forward pass of n samples under no-grad with BatchNorm in training mode;
//! every ReLU on a 4-D tensor contributes its C·H·W neurons; each neuron's pattern is its n
//! post-ReLU signs (1 where the output is > 0); count = the number of distinct patterns over
//! all neurons. The patterns are packed into u64 words (bit b = sample b) and counted by
//! sorting, not by a row sort of an [M, n] float matrix as the official `torch.unique` does
//! (same count, a fraction of the time).
//!
//! The official protocol (setting B): `repeats` = 32 times an N(0, 1) re-initialisation
//! ([`Init::Gaussian`], the official draw order) then one count, on the first 16 training
//! images; the score is the mean count. With [`Init::Keep`] the count is deterministic and
//! computed once.

use crate::data::batch::Batch;
use crate::net::model::Model;
use crate::net::recorder::{RecordSpec, Recorder};
use crate::proxy::init::{self, Init};
use anyhow::{bail, Result};
use std::collections::HashSet;
use tch::{Kind, Tensor};

/// SWAP's protocol options.
#[derive(Clone, Debug, PartialEq)]
pub struct SwapOptions {
    /// Seed of libtorch's generator before the first re-initialisation.
    pub seed: i64,
    /// Re-initialisation before every repeat (official: [`Init::Gaussian`]).
    pub init: Init,
    /// Number of (re-initialisation, count) repeats; the score is the mean count.
    pub repeats: usize,
    /// Samples used: the first `batch_size` of the batch (official: 16); `None`: all.
    pub batch_size: Option<i64>,
}

impl Default for SwapOptions {
    fn default() -> Self {
        SwapOptions { seed: 0, init: Init::Gaussian, repeats: 32, batch_size: Some(16) }
    }
}

/// Number of distinct n-bit patterns over all neurons of the given sign tensors (each
/// [n, …], same n), 1 where > 0.
pub fn count_patterns(sites: &[Tensor]) -> usize {
    if sites.is_empty() {
        return 0;
    }
    let n = sites[0].size()[0] as usize;
    let words = n.div_ceil(64).max(1);
    let mut keys: Vec<u64> = Vec::new();
    for t in sites {
        let bits = t.gt(0.0).to_kind(Kind::Uint8).contiguous().view([n as i64, -1]);
        let m = bits.size()[1] as usize;
        let data = Vec::<u8>::try_from(bits.view([-1])).expect("u8 tensor");
        let base = keys.len();
        keys.resize(base + m * words, 0);
        let out = &mut keys[base..];
        for b in 0..n {
            let (w, sh) = (b / 64, b % 64);
            let row = &data[b * m..(b + 1) * m];
            if words == 1 {
                for (k, &v) in out.iter_mut().zip(row) {
                    *k |= (v as u64) << sh;
                }
            } else {
                for (j, &v) in row.iter().enumerate() {
                    out[j * words + w] |= (v as u64) << sh;
                }
            }
        }
    }
    if words == 1 {
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    } else {
        keys.chunks(words).collect::<HashSet<&[u64]>>().len()
    }
}

/// One count on `x` with `model` as it is.
pub fn count(model: &Model, x: &Tensor) -> usize {
    tch::no_grad(|| {
        let mut rec = Recorder::new(RecordSpec { relu_inputs: true, ..Default::default() });
        let _ = model.net.forward(x, &mut rec);
        // Sites reading the same tensor give identical neurons: one copy is enough.
        let mut seen = HashSet::new();
        let sites: Vec<Tensor> = rec
            .relus
            .iter()
            .filter(|s| s.input.dim() == 4 && seen.insert((s.key, s.input.size())))
            .map(|s| s.input.shallow_clone())
            .collect();
        count_patterns(&sites)
    })
}

/// The counts of every repeat (see the module docs).
pub fn counts(model: &Model, batch: &Batch, opts: &SwapOptions) -> Result<Vec<usize>> {
    let n = batch.images.size()[0];
    let bs = opts.batch_size.unwrap_or(n);
    if bs < 1 || bs > n {
        bail!("swap needs {bs} samples, the batch has {n}");
    }
    if opts.repeats == 0 {
        bail!("swap needs at least one repeat");
    }
    let x = batch.images.narrow(0, 0, bs);
    let copy = init::prepare(model, opts.init)?;
    match &copy {
        None => Ok(vec![count(model, &x)]),
        Some(m) => {
            tch::manual_seed(opts.seed);
            Ok((0..opts.repeats)
                .map(|_| {
                    init::apply(m, opts.init);
                    count(m, &x)
                })
                .collect())
        }
    }
}

/// SWAP: the mean count over the repeats.
pub fn score(model: &Model, batch: &Batch, opts: &SwapOptions) -> Result<f64> {
    let c = counts(model, batch, opts)?;
    Ok(c.iter().map(|&v| v as f64).sum::<f64>() / c.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_columns() {
        // 3 samples × 4 neurons: columns (1,0,1), (1,0,1), (0,0,0), (0,1,0) → 3 patterns.
        let t = Tensor::from_slice(&[1f32, 2.0, -1.0, 0.0, -3.0, 0.0, 0.0, 5.0, 4.0, 1.0, -2.0, 0.0]).view([3, 4]);
        assert_eq!(count_patterns(&[t.shallow_clone()]), 3);
        // More than 64 samples: two words per pattern.
        let big = Tensor::cat(&[t.repeat([30, 1]), t.narrow(0, 0, 1)], 0);
        assert_eq!(count_patterns(&[big]), 3);
    }
}
