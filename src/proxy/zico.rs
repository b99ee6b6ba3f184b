//! ZiCo (Li et al., ICLR 2023), written from the definition in the golden `sota` README
//! (`../shared/golden/nb201/sota/README.md`, section ZiCo), not from any official code.
//!
//! The batch is split into `batches` consecutive chunks. For each chunk: forward (BN in
//! training mode, this chunk's statistics), mean cross-entropy, backward; the gradient of
//! every Conv2d/Linear weight is kept (module order). Per layer ℓ with per-weight gradients
//! g_1..g_k (k chunks), in float32 as numpy computes it: σ = std over the chunks (ddof 0),
//! μ = mean |g|, S_ℓ = Σ_{σ≠0} μ/σ (numpy's pairwise float32 sum); score = Σ_ℓ ln S_ℓ over
//! layers with S_ℓ ≠ 0, accumulated in float32; 0 when no layer contributes. A weight that
//! gets no gradient (a dead edge) has zero gradients, hence contributes nothing.
//!
//! The official NB201 protocol (AZ-NAS's port, `batch_iter=2`): two batches of 64 real
//! training images, so pass a batch of 128 with the default options.

use crate::data::batch::Batch;
use crate::net::model::Model;
use crate::net::recorder::{Mode, Recorder};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// ZiCo's protocol options.
#[derive(Clone, Debug, PartialEq)]
pub struct ZicoOptions {
    /// Number of chunks (official: 2).
    pub batches: usize,
    /// Samples per chunk; `None`: the batch split evenly (N / batches).
    pub batch_size: Option<i64>,
}

impl Default for ZicoOptions {
    fn default() -> Self {
        ZicoOptions { batches: 2, batch_size: None }
    }
}

/// numpy's pairwise summation of a contiguous float32 array (`np.sum`): the first element,
/// plus the pairwise sum of the rest (blocks of 128 with 8 accumulators).
pub fn numpy_sum_f32(a: &[f32]) -> f32 {
    fn pairwise(a: &[f32]) -> f32 {
        let n = a.len();
        if n < 8 {
            let mut res = 0f32;
            for &x in a {
                res += x;
            }
            res
        } else if n <= 128 {
            let mut r = [0f32; 8];
            r.copy_from_slice(&a[..8]);
            let mut i = 8;
            while i < n - n % 8 {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res += a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pairwise(&a[..n2]) + pairwise(&a[n2..])
        }
    }
    match a.len() {
        0 => 0.0,
        _ => a[0] + pairwise(&a[1..]),
    }
}

/// S_ℓ for one layer from its per-chunk gradients (each flattened, same length).
pub fn layer_sum(grads: &[Vec<f32>]) -> f32 {
    let k = grads.len() as f32;
    let n = grads[0].len();
    let mut ratios: Vec<f32> = Vec::with_capacity(n);
    for j in 0..n {
        let mut s = 0f32;
        let mut sa = 0f32;
        for g in grads {
            s += g[j];
            sa += g[j].abs();
        }
        let m = s / k;
        let mut v = 0f32;
        for g in grads {
            let d = g[j] - m;
            v += d * d;
        }
        let sd = (v / k).sqrt();
        if sd != 0.0 {
            ratios.push((sa / k) / sd);
        }
    }
    numpy_sum_f32(&ratios)
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.detach().to_kind(Kind::Float).contiguous().view([-1])).unwrap_or_default()
}

/// Per Conv2d/Linear layer, in module order: its name and ln S_ℓ (`None` when S_ℓ = 0).
pub fn per_layer(model: &Model, batch: &Batch, opts: &ZicoOptions) -> Result<Vec<(String, Option<f32>)>> {
    let n = batch.images.size()[0];
    let k = opts.batches as i64;
    if k < 2 {
        bail!("zico needs at least 2 batches (got {k})");
    }
    let bs = match opts.batch_size {
        None if n < k => bail!(
            "zico splits the batch into {k} parts of at least 1 sample each and needs a batch of at least {k}, the batch has {n}"
        ),
        None => n / k,
        Some(bs) if bs < 1 => bail!("zico needs parts of at least 1 sample, got {bs}"),
        Some(bs) if bs.saturating_mul(k) > n => {
            bail!("zico needs {k} parts of {bs} sample(s) ({} in all), the batch has {n}", bs.saturating_mul(k))
        }
        Some(bs) => bs,
    };
    let ws = model.weights_in_module_order();
    let inputs: Vec<&Tensor> = ws.iter().map(|(_, w)| w).collect();
    let mut grads_per_layer: Vec<Vec<Vec<f32>>> = (0..ws.len()).map(|_| Vec::new()).collect();
    for b in 0..k {
        let x = batch.images.narrow(0, b * bs, bs);
        let y = batch.labels.narrow(0, b * bs, bs);
        let mut rec = Recorder::plain(Mode::default());
        let logits = model.net.forward(&x, &mut rec);
        let loss = logits.cross_entropy_for_logits(&y);
        let grads = if loss.requires_grad() {
            Tensor::run_backward(&[&loss], &inputs, false, false)
        } else {
            (0..inputs.len()).map(|_| Tensor::new()).collect()
        };
        for ((i, g), (_, w)) in grads.into_iter().enumerate().zip(ws.iter()) {
            grads_per_layer[i].push(if g.defined() { to_vec(&g) } else { vec![0f32; w.numel()] });
        }
    }
    Ok(ws
        .iter()
        .zip(&grads_per_layer)
        .map(|((name, _), g)| {
            let s = layer_sum(g);
            (name.trim_end_matches(".weight").to_string(), if s != 0.0 { Some(s.ln()) } else { None })
        })
        .collect())
}

/// ZiCo of `model` on `batch` (see the module docs).
pub fn score(model: &Model, batch: &Batch, opts: &ZicoOptions) -> Result<f64> {
    let layers = per_layer(model, batch, opts)?;
    let mut total = 0f32;
    let mut any = false;
    for v in layers.iter().filter_map(|(_, v)| *v) {
        total += v;
        any = true;
    }
    Ok(if any { total as f64 } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sum_matches_plain_sum_on_small_integers() {
        let a: Vec<f32> = (0..1000).map(|i| (i % 7) as f32).collect();
        assert_eq!(numpy_sum_f32(&a), a.iter().sum::<f32>());
        assert_eq!(numpy_sum_f32(&[]), 0.0);
        assert_eq!(numpy_sum_f32(&[2.5]), 2.5);
    }

    #[test]
    fn layer_sum_is_mean_abs_over_std() {
        // g1 = (1, 3, 2), g2 = (3, 1, 2): μ/σ = 2/1, 2/1, and σ = 0 for the last weight.
        let s = layer_sum(&[vec![1.0, 3.0, 2.0], vec![3.0, 1.0, 2.0]]);
        assert_eq!(s, 4.0);
    }
}
