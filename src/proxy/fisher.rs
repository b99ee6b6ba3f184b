//! Fisher (Turner et al. 2020; reference: foresight/pruners/measures/fisher.py): for each
//! Conv2d/Linear layer with output a (before BN) and g = ∂L/∂a, per output channel k:
//! F_k = ½ · mean_n (Σ_spatial a·g)²; each channel value counts once per weight feeding
//! the channel (× fan_in), and everything is summed.

use super::pass::Responses;
use tch::Kind;

/// Fisher score from a pass that recorded layer outputs and their gradients.
pub fn score(r: &Responses) -> f64 {
    let mut total = 0.0;
    for (l, g) in r.rec.layers.iter().zip(r.layer_grads.iter()) {
        let Some(g) = g else { continue };
        let a = l.output.detach();
        let prod = &a * g;
        let g_nk = if a.dim() > 2 { prod.sum_dim_intlist(&[2i64, 3][..], false, Kind::Float) } else { prod };
        let del_k = g_nk.pow_tensor_scalar(2).mean_dim(0, false, Kind::Float) * 0.5;
        total += del_k.abs().sum(Kind::Double).double_value(&[]) * l.fan_in as f64;
    }
    total
}
