//! GraSP (Wang et al., ICLR 2020; reference: foresight/pruners/measures/grasp.py):
//! g = ∂L/∂W over Conv2d/Linear weights; a second forward gives ∂L/∂W with a graph, and
//! Hg = ∂(Σ g_detached · ∂L/∂W)/∂W; score = Σ −W ⊙ Hg. BN in training mode.

use crate::data::batch::Batch;
use crate::net::model::Model;
use crate::net::recorder::Recorder;
use tch::{Kind, Tensor};

/// GraSP score of `model` on `batch`.
pub fn score(model: &Model, batch: &Batch) -> f64 {
    let ws = model.weights();
    let inputs: Vec<&Tensor> = ws.iter().map(|(_, w)| w).collect();
    let loss = |m: &Model| {
        let mut rec = Recorder::default();
        m.net.forward(&batch.images, &mut rec).cross_entropy_for_logits(&batch.labels)
    };
    let g: Vec<Tensor> = Tensor::run_backward(&[&loss(model)], &inputs, false, false)
        .into_iter()
        .map(|t| if t.defined() { t.detach() } else { t })
        .collect();
    let gf = Tensor::run_backward(&[&loss(model)], &inputs, true, true);
    let mut z: Option<Tensor> = None;
    for (a, b) in g.iter().zip(gf.iter()) {
        if a.defined() && b.defined() {
            let t = (a * b).sum(Kind::Float);
            z = Some(match z {
                None => t,
                Some(z) => z + t,
            });
        }
    }
    let Some(z) = z else { return 0.0 };
    let hg = Tensor::run_backward(&[&z], &inputs, false, false);
    ws.iter()
        .zip(hg)
        .map(|((_, w), h)| if h.defined() { (-w.detach() * h).sum(Kind::Float).double_value(&[]) } else { 0.0 })
        .sum()
}
