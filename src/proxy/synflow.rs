//! SynFlow (Tanaka et al., NeurIPS 2020): on a copy of the network with every parameter
//! and buffer replaced by its absolute value, BN disabled (identity), in f64, with one
//! all-ones input image [1, 3, H, W] and R = Σ logits: score = Σ over Conv2d/Linear
//! weights of |θ ⊙ ∂R/∂θ|. Values reach 1e40 and more; `log_synflow` = ln(synflow).

use crate::net::model::Model;
use crate::net::recorder::{Mode, Recorder};
use anyhow::Result;
use tch::{Kind, Tensor};

/// SynFlow of `model` for inputs of spatial size `hw` = (H, W).
pub fn score(model: &Model, hw: (i64, i64)) -> Result<f64> {
    let m = model.transformed_copy(Kind::Double, |t| t.abs())?;
    let x = Tensor::ones([1, 3, hw.0, hw.1], (Kind::Double, m.vs.device()));
    let mut rec = Recorder::plain(Mode { bn: false, train: true });
    let y = m.net.forward(&x, &mut rec);
    let r = y.sum(Kind::Double);
    let ws = m.weights();
    let inputs: Vec<&Tensor> = ws.iter().map(|(_, w)| w).collect();
    let grads = Tensor::run_backward(&[&r], &inputs, false, false);
    let mut total = 0.0;
    for ((_, w), g) in ws.iter().zip(grads) {
        if g.defined() {
            total += (w.detach() * g).abs().sum(Kind::Double).double_value(&[]);
        }
    }
    Ok(total)
}
