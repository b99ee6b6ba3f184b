//! AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity, trainability and complexity,
//! written from the definitions in the golden `sota` README
//! (`../shared/golden/nb201/sota/README.md`, section AZ-NAS), not from any official code.
//!
//! One forward records the block features `F_0` (stem output) … `F_L` (each block's
//! output), each block reading the previous feature as a fresh leaf (see
//! [`crate::net::recorder::Recorder::feature`]), so the vector-Jacobian product through one
//! block is a small backward of its own. Then:
//!
//! - **expressivity** Σ_i E_i, where E_i is the entropy of the normalised eigenvalue
//!   spectrum of the channel covariance of `F_i` (float32, `ln(p + 1e-8)`);
//! - **progressivity** min_i (E_i − E_{i−1});
//! - **trainability** mean over i = L…1 of −σ − 1/(σ + 1e-6) + 2, σ the largest singular
//!   value of Giᵀ Go / N with Go a ±1 Bernoulli probe shaped like `F_i` and Gi its
//!   vector-Jacobian product through block i−1 (pixel-unshuffled to `F_i`'s spatial size
//!   when the block downsamples); −inf when the block is exactly the identity;
//! - **complexity** FLOPs (millions) of one image, Conv2d and Linear only, biases included,
//!   every conv counted (dead edges too): xautodl's `get_model_infos` counter.
//!
//! NaN becomes −inf at the very end (as the official code does: float32 eigenvalue noise
//! makes E and P −inf on the all-skip and all-pool cells).
//!
//! Random draws after `manual_seed(seed)`, in this order: the re-initialisation
//! (Kaiming-normal fan-in by default), the Gaussian input (when chosen), then one Bernoulli
//! probe per block, from the last block to the first.

use crate::data::batch::Batch;
use crate::net::model::Model;
use crate::net::recorder::{Mode, RecordSpec, Recorder};
use crate::proxy::init::{self, input_tensor, Init, Input};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// AZ-NAS's protocol options.
#[derive(Clone, Debug, PartialEq)]
pub struct AzOptions {
    /// Seed of libtorch's generator before the first draw.
    pub seed: i64,
    /// Re-initialisation (official: Kaiming-normal fan-in).
    pub init: Init,
    /// Input (official: Gaussian).
    pub input: Input,
    /// Samples: the first `batch_size` images, or Gaussian noise of this batch size;
    /// `None`: the batch's size (official: 64).
    pub batch_size: Option<i64>,
    /// Spatial size of Gaussian input; `None`: the batch's.
    pub resolution: Option<i64>,
}

impl Default for AzOptions {
    fn default() -> Self {
        AzOptions { seed: 0, init: Init::KaimingFanIn, input: Input::Gaussian, batch_size: None, resolution: None }
    }
}

/// The three data-dependent AZ-NAS scores, with their per-feature and per-block parts.
#[derive(Clone, Debug)]
pub struct AzScores {
    /// Σ E_i (−inf for NaN).
    pub expressivity: f64,
    /// min (E_i − E_{i−1}) (−inf for NaN).
    pub progressivity: f64,
    /// mean t_i (−inf for NaN or an identity block).
    pub trainability: f64,
    /// E_0 … E_L.
    pub entropies: Vec<f64>,
    /// σ_i for i = L … 1 (NaN where the identity check fired).
    pub sigmas: Vec<f64>,
    /// t_i for i = L … 1.
    pub pair_scores: Vec<f64>,
}

/// Entropy of the normalised eigenvalues of the channel covariance of `f` [B, C, H, W]
/// (float32, as the definition computes it; NaN when the covariance is zero or an
/// eigenvalue is below −1e-8 of the trace).
pub fn feature_entropy(f: &Tensor) -> f64 {
    let c = f.size()[1];
    let x = f.detach().permute([0, 2, 3, 1]).reshape([-1, c]);
    let rows = x.size()[0];
    let x = &x - x.mean_dim([0i64].as_slice(), true, None::<Kind>);
    let cov = x.tr().matmul(&x) / (rows as f64);
    let s = cov.linalg_eigvalsh("L");
    let p = &s / s.sum(Kind::Float);
    let e = (-&p * (&p + 1e-8).log()).sum(Kind::Float);
    e.double_value(&[])
}

/// σ = the largest singular value of Giᵀ Go / N (see the module docs); `None` when `g_in`
/// equals `g_out` (identity block).
pub fn pair_sigma(g_in: &Tensor, g_out: &Tensor) -> Result<Option<f64>> {
    if g_in.size() == g_out.size() && g_in.equal(g_out) {
        return Ok(None);
    }
    let (si, so) = (g_in.size(), g_out.size());
    let g_in = if si[2] != so[2] || si[3] != so[3] {
        let r = si[2] / so[2];
        if r < 1 || si[2] != r * so[2] || si[3] != r * so[3] {
            bail!("az_trainability: block maps {:?} to {:?}, not a whole-number downsampling", si, so);
        }
        g_in.pixel_unshuffle(r)
    } else {
        g_in.shallow_clone()
    };
    let go = g_out.permute([0, 2, 3, 1]).reshape([-1, so[1]]);
    let gi = g_in.permute([0, 2, 3, 1]).reshape([go.size()[0], -1]);
    let m = gi.tr().matmul(&go) / (go.size()[0] as f64);
    // `svd(some, compute_uv = false)` is `linalg_svdvals(m)` with no driver (tch's
    // `linalg_svdvals` always passes one, which CPU tensors reject).
    let (_, sv, _) = m.svd(true, false);
    Ok(Some(sv.max().double_value(&[])))
}

fn nan_to_neg_inf(v: f64) -> f64 {
    if v.is_nan() {
        f64::NEG_INFINITY
    } else {
        v
    }
}

/// Expressivity, progressivity and trainability of `model` (see the module docs).
pub fn scores(model: &Model, batch: &Batch, opts: &AzOptions) -> Result<AzScores> {
    let copy = init::prepare(model, opts.init)?;
    tch::manual_seed(opts.seed);
    let m = copy.as_ref().unwrap_or(model);
    init::apply(m, opts.init);
    let x = input_tensor(batch, opts.input, opts.batch_size, opts.resolution)?;
    let mut rec = Recorder::new(RecordSpec { features: true, feature_leaves: true, ..Default::default() });
    rec.mode = Mode::default();
    let _ = m.net.features(&x, &mut rec);
    let feats = std::mem::take(&mut rec.features);
    let leaves = std::mem::take(&mut rec.feature_leaves);
    if feats.len() < 2 {
        bail!("az_nas needs at least two block features, the network recorded {}", feats.len());
    }
    let entropies: Vec<f64> = tch::no_grad(|| feats.iter().map(feature_entropy).collect());
    let expressivity: f64 = entropies.iter().sum();
    let progressivity = if entropies.iter().any(|e| e.is_nan()) {
        f64::NAN
    } else {
        entropies.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min)
    };
    let mut sigmas = Vec::new();
    let mut pair_scores = Vec::new();
    for i in (1..feats.len()).rev() {
        let f = &feats[i];
        let probe = (f.ones_like() * 0.5).bernoulli();
        let g_out = (probe - 0.5) * 2.0;
        let g_in = if f.requires_grad() {
            let root = f * &g_out;
            let g = Tensor::run_backward(&[&root], &[&leaves[i - 1]], true, false).pop().unwrap();
            if g.defined() {
                g
            } else {
                leaves[i - 1].zeros_like()
            }
        } else {
            leaves[i - 1].zeros_like()
        };
        let t = tch::no_grad(|| pair_sigma(&g_in, &g_out))?;
        match t {
            None => {
                sigmas.push(f64::NAN);
                pair_scores.push(f64::NEG_INFINITY);
            }
            Some(s) => {
                sigmas.push(s);
                pair_scores.push(-s - 1.0 / (s + 1e-6) + 2.0);
            }
        }
    }
    let trainability = pair_scores.iter().sum::<f64>() / pair_scores.len() as f64;
    Ok(AzScores {
        expressivity: nan_to_neg_inf(expressivity),
        progressivity: nan_to_neg_inf(progressivity),
        trainability: nan_to_neg_inf(trainability),
        entropies,
        sigmas,
        pair_scores,
    })
}

/// AZ-NAS complexity: FLOPs in millions of one image of spatial size `hw`, as xautodl's
/// `get_model_infos` counts them (Conv2d: k·k·C_in/groups·C_out·H_out·W_out, plus
/// C_out·H_out·W_out with a bias; Linear: in·out, plus out with a bias; nothing else).
pub fn complexity(model: &Model, hw: (i64, i64)) -> f64 {
    tch::no_grad(|| {
        let x = Tensor::zeros([1, 3, hw.0, hw.1], (Kind::Float, model.vs.device()));
        let mut rec = Recorder::new(RecordSpec { layer_outputs: true, ..Default::default() });
        rec.mode = Mode { bn: true, train: false };
        let _ = model.net.forward(&x, &mut rec);
        let total: i64 = rec
            .layers
            .iter()
            .map(|l| {
                let n = l.output.numel() as i64;
                n * l.fan_in + if l.bias { n } else { 0 }
            })
            .sum();
        total as f64 / 1e6
    })
}
