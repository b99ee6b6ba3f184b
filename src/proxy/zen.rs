//! Zen-score (Lin et al., ICCV 2021, Zen-NAS; reference: the WRCor repository's
//! foresight zen measure): after seeding libtorch's generator with `seed`, draw
//! ε ~ N(0,1) and ε' ~ N(0,1) of the batch's shape; on a fresh copy of the network (BN in
//! training mode) take the pre-pooling features f(ε) and f(ε + 0.01·ε');
//! score = ln(Σ_batch |f(ε) − f(ε + 0.01 ε')| + 1e−6) + Σ_BN ln(√mean(running_var) + 1e−6),
//! with running_var read after both passes (momentum 0.1, unbiased batch variance).

use crate::net::model::Model;
use crate::net::recorder::Recorder;
use anyhow::Result;
use tch::{Kind, Tensor};

/// Zen-score of `model` for a batch shaped like `images` ([N, 3, H, W]).
pub fn score(model: &Model, images: &Tensor, seed: i64) -> Result<f64> {
    let m = model.copy()?;
    tch::manual_seed(seed);
    let eps = images.zeros_like().normal_(0.0, 1.0);
    let eps2 = images.zeros_like().normal_(0.0, 1.0);
    let mixed = &eps + &eps2 * 0.01;
    tch::no_grad(|| -> Result<f64> {
        let f = m.net.features(&eps, &mut Recorder::default());
        let fm = m.net.features(&mixed, &mut Recorder::default());
        // The reference takes the L1 norm over the whole batch (no per-sample mean).
        let diff = (f - fm).abs().sum(Kind::Float).double_value(&[]);
        let mut s = (diff + 1e-6).ln();
        for (name, v) in m.vs.variables() {
            if name.ends_with("running_var") {
                s += (v.mean(Kind::Float).double_value(&[]).sqrt() + 1e-6).ln();
            }
        }
        Ok(s)
    })
}
