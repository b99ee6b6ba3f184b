//! Gradient saliency proxies over Conv2d and Linear weights (Abdelfattah et al.,
//! "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; reference: foresight/pruners):
//!
//! * `grad_norm` = Σ_layers ‖∂L/∂W‖₂
//! * `snip`      = Σ |W ⊙ ∂L/∂W|  (Lee et al. 2019)
//! * `plain`     = Σ W ⊙ ∂L/∂W  (signed)
//! * `l2_norm`   = Σ_layers ‖W‖₂  (no data)
//!
//! L is the mean cross-entropy on the batch, BN in training mode. Each layer's term is
//! computed in f32 as the reference does, and the layer terms are summed in f64.

use tch::{Kind, Tensor};

fn sum_layers(ws: &[(String, Tensor)], gs: &[Option<Tensor>], f: impl Fn(&Tensor, &Tensor) -> Tensor) -> f64 {
    ws.iter()
        .zip(gs.iter())
        .map(|((_, w), g)| match g {
            Some(g) => f(&w.detach(), g).double_value(&[]),
            None => 0.0,
        })
        .sum()
}

/// Σ ‖g‖₂ per layer.
pub fn grad_norm(ws: &[(String, Tensor)], gs: &[Option<Tensor>]) -> f64 {
    sum_layers(ws, gs, |_, g| g.norm())
}

/// Σ |w ⊙ g|.
pub fn snip(ws: &[(String, Tensor)], gs: &[Option<Tensor>]) -> f64 {
    sum_layers(ws, gs, |w, g| (w * g).abs().sum(Kind::Float))
}

/// Σ w ⊙ g.
pub fn plain(ws: &[(String, Tensor)], gs: &[Option<Tensor>]) -> f64 {
    sum_layers(ws, gs, |w, g| (w * g).sum(Kind::Float))
}

/// Σ ‖w‖₂ per layer.
pub fn l2_norm(ws: &[(String, Tensor)]) -> f64 {
    ws.iter().map(|(_, w)| w.detach().norm().double_value(&[])).sum()
}
