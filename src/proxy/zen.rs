//! Zen-score (Lin et al., ICCV 2021, Zen-NAS; reference: the WRCor repository's
//! foresight zen measure): after seeding libtorch's generator with `seed`, draw
//! ε ~ N(0,1) and ε' ~ N(0,1) of the batch's shape; on a fresh copy of the network (BN in
//! training mode) take the pre-pooling features f(ε) and f(ε + 0.01·ε');
//! score = ln(Σ_batch |f(ε) − f(ε + 0.01 ε')| + 1e−6) + Σ_BN ln(√mean(running_var) + 1e−6),
//! with running_var read after both passes (momentum 0.1, unbiased batch variance).
//!
//! [`score_zen_nas`] (`zen_nas`) is the Zen-score under Zen-NAS's own protocol (Lin et al.
//! 2021, Alg. 1 and the official `compute_zen_score`): the network is first re-initialised
//! with N(0, 1) Conv/Linear weights (`network_weight_gaussian_init`, [`Init::GaussianOnce`]),
//! and the L1 distance is averaged over the batch instead of summed. Under that
//! initialisation every BatchNorm sees a pre-activation variance of about its fan-in, so
//! Σ_BN ln √mean(running_var) grows with the number and width of the convolutions on the
//! network's paths: the score measures expressivity at depth, where the model's own
//! (Kaiming-uniform) initialisation keeps every variance near 1.

use super::init::{self, Init};
use crate::net::model::Model;
use crate::net::recorder::Recorder;
use anyhow::Result;
use tch::{Kind, Tensor};

/// Zen-score of `model` for a batch shaped like `images` ([N, 3, H, W]), the WRCor
/// repository's measure (the model's own weights, L1 summed over the batch, 1e−6 guards).
pub fn score(model: &Model, images: &Tensor, seed: i64) -> Result<f64> {
    let m = model.copy()?;
    tch::manual_seed(seed);
    zen(&m, images, Reduction::Sum, 1e-6)
}

/// Zen-score of `model` under Zen-NAS's protocol (see the module docs) for a batch shaped
/// like `images` ([N, 3, H, W]): after seeding libtorch's generator with `seed` (zsnas
/// passes the reference's 0, whatever the run seed), N(0, 1) re-initialisation of a copy
/// with a fresh network's BN statistics (so loaded weights do not matter), then
/// ε, ε' ~ N(0, 1);
/// score = ln(mean_n Σ_chw |f(ε) − f(ε + 0.01 ε')|) + Σ_BN ln √mean(running_var).
/// −inf when the features do not depend on the input (a cell with no input→output path).
pub fn score_zen_nas(model: &Model, images: &Tensor, seed: i64) -> Result<f64> {
    let m = init::prepare(model, Init::GaussianOnce)?.expect("a re-initialisation copies the model");
    tch::manual_seed(seed);
    init::apply(&m, Init::GaussianOnce);
    // A fresh network's BN statistics (mean 0, variance 1), whatever weights were loaded.
    tch::no_grad(|| {
        for (name, v) in m.vs.variables() {
            if name.ends_with("running_mean") {
                let _ = v.shallow_clone().zero_();
            } else if name.ends_with("running_var") {
                let _ = v.shallow_clone().fill_(1.0);
            }
        }
    });
    zen(&m, images, Reduction::MeanOverBatch, 0.0)
}

/// How the L1 distance between the two feature maps is reduced over the batch.
#[derive(Clone, Copy)]
enum Reduction {
    Sum,
    MeanOverBatch,
}

/// The Zen-score of `m` (BN in training mode) on noise drawn from libtorch's generator as
/// it stands; `guard` is added inside every logarithm.
fn zen(m: &Model, images: &Tensor, reduction: Reduction, guard: f64) -> Result<f64> {
    let eps = images.zeros_like().normal_(0.0, 1.0);
    let eps2 = images.zeros_like().normal_(0.0, 1.0);
    let mixed = &eps + &eps2 * 0.01;
    tch::no_grad(|| -> Result<f64> {
        let f = m.net.features(&eps, &mut Recorder::default());
        let fm = m.net.features(&mixed, &mut Recorder::default());
        let mut diff = (f - fm).abs().sum(Kind::Float).double_value(&[]);
        if let Reduction::MeanOverBatch = reduction {
            diff /= images.size()[0] as f64;
        }
        // Summed in name order: `variables()` is a hash map whose order changes from process
        // to process, which moved the score's last bits from run to run.
        let mut vars: Vec<(String, Tensor)> =
            m.vs.variables().into_iter().filter(|(name, _)| name.ends_with("running_var")).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut s = (diff + guard).ln();
        for (_, v) in vars {
            s += (v.mean(Kind::Float).double_value(&[]).sqrt() + guard).ln();
        }
        Ok(s)
    })
}
