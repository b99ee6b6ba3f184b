//! SynFlow (Tanaka et al., NeurIPS 2020): on a copy of the network with every parameter
//! and buffer replaced by its absolute value, BN disabled (identity), in f64, with one
//! all-ones input image [1, 3, H, W] and R = Σ logits: score = Σ over Conv2d/Linear
//! weights of |θ ⊙ ∂R/∂θ|. Values reach 1e40 and more (mbv2: beyond f64's 1.8e308); it is
//! summed in log space, `log_synflow` = ln(synflow) stays finite where synflow is +inf.

use crate::net::model::Model;
use crate::net::recorder::{Mode, Recorder};
use anyhow::Result;
use tch::{Kind, Tensor};

/// (SynFlow, ln SynFlow) of `model` for inputs of spatial size `hw` = (H, W). SynFlow is
/// the plain f64 sum (the reference's value), +inf (not NaN) beyond f64's range. Its log
/// is ln of that sum, and beyond f64's range the sum taken in log space: each weight
/// tensor's Σ|θ ⊙ ∂R/∂θ| as the ln of its sum (ln(max) + ln Σ(t/max) only when that sum
/// itself overflows), the tensors combined with log-sum-exp, so that the result stays finite when the sum exceeds f64's range (about
/// 1.8e308; deep mbv2 networks) as long as the network's own forward and backward are
/// finite. Both are +inf when R or a gradient is not finite (the network overflows f64);
/// the log is −inf when every term is 0.
pub fn scores(model: &Model, hw: (i64, i64)) -> Result<(f64, f64)> {
    let m = model.transformed_copy(Kind::Double, |t| t.abs())?;
    let x = Tensor::ones([1, 3, hw.0, hw.1], (Kind::Double, m.vs.device()));
    let mut rec = Recorder::plain(Mode { bn: false, train: true });
    let y = m.net.forward(&x, &mut rec);
    let r = y.sum(Kind::Double);
    if !r.double_value(&[]).is_finite() {
        return Ok((f64::INFINITY, f64::INFINITY));
    }
    let ws = m.weights();
    let inputs: Vec<&Tensor> = ws.iter().map(|(_, w)| w).collect();
    let grads = Tensor::run_backward(&[&r], &inputs, false, false);
    let mut logs: Vec<f64> = Vec::new();
    let mut total = 0.0;
    for ((_, w), g) in ws.iter().zip(grads) {
        if !g.defined() {
            continue;
        }
        let t = (w.detach() * g).abs();
        let sum = t.sum(Kind::Double).double_value(&[]);
        total += sum;
        if sum.is_finite() {
            if sum > 0.0 {
                logs.push(sum.ln());
            }
        } else {
            // This tensor's own sum overflows: ln(max) + ln Σ(t/max), only in this case.
            let max = t.max().double_value(&[]);
            if !max.is_finite() {
                return Ok((f64::INFINITY, f64::INFINITY));
            }
            logs.push(max.ln() + (t / max).sum(Kind::Double).double_value(&[]).ln());
        }
    }
    // Within f64's range the plain sum (the reference's value, bit for bit); beyond it,
    // the log-space one.
    Ok(if total.is_finite() { (total, total.ln()) } else { (f64::INFINITY, log_sum_exp(&logs)) })
}

/// ln Σ exp(xᵢ), −inf for an empty list.
fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::log_sum_exp;

    #[test]
    fn log_sum_exp_beyond_f64_range() {
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[0.0, 0.0]) - 2f64.ln()).abs() < 1e-15);
        // Two terms of 1e308 each: their sum overflows f64, its log does not.
        let l = 1e308f64.ln();
        assert!((log_sum_exp(&[l, l]) - (l + 2f64.ln())).abs() < 1e-12);
        assert!((log_sum_exp(&[800.0, 700.0]) - (800.0 + (-100f64).exp().ln_1p())).abs() < 1e-12);
    }
}
