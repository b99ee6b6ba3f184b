//! Stochastic gradient descent with momentum, Nesterov momentum and weight decay exactly
//! as PyTorch's `torch.optim.SGD` defines it, plus PyTorch's `clip_grad_norm_`.
//!
//! # Why not tch's `nn::Sgd`
//!
//! tch's optimiser wraps libtorch's C++ `torch::optim::SGD`, whose update is the same as
//! PyTorch's, but its state (the momentum buffers) cannot be read or written through tch,
//! so a run could not be checkpointed and resumed with the same result. The update is
//! five tensor operations per parameter, so zsnas implements it ([`sgd_update`]) and keeps
//! the buffers itself ([`Sgd::buffers`]), which the checkpoint saves.
//!
//! # Rounding
//!
//! PyTorch computes `a + α·b` with a fused kernel (`add(…, alpha=α)`: a fused multiply-add
//! in its vectorised CPU loop); tch exposes no `alpha` argument, so zsnas computes `α·b`
//! and then the sum. The results agree to float32 rounding (a few ulps per step; the
//! fixture test `tests/train_golden.rs` checks them against PyTorch's SGD).

use anyhow::Result;
use tch::Tensor;

/// SGD settings (PyTorch's `SGD(params, lr, momentum, dampening=0, weight_decay, nesterov)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Momentum μ (0: plain SGD, no buffer).
    pub momentum: f64,
    /// Nesterov momentum (needs μ > 0).
    pub nesterov: bool,
    /// L2 weight decay λ, added to the gradient.
    pub weight_decay: f64,
}

/// One SGD step on parameter `p` with gradient `grad` and momentum buffer `buf`, exactly
/// PyTorch's `torch.optim.SGD` (single-tensor path, dampening 0):
///
/// ```text
/// g = grad + λ·p                 (weight decay, when λ ≠ 0)
/// b = g            on the first step (buf is None), else  b = μ·b + g   (when μ ≠ 0)
/// g = g + μ·b      with Nesterov, else  g = b                          (when μ ≠ 0)
/// p = p − lr·g
/// ```
///
/// `p` is updated in place (outside autograd); `buf` is created on the first call.
pub fn sgd_update(p: &Tensor, grad: &Tensor, buf: &mut Option<Tensor>, lr: f64, cfg: &SgdConfig) {
    tch::no_grad(|| {
        let mut g = if cfg.weight_decay != 0.0 { grad + p * cfg.weight_decay } else { grad.shallow_clone() };
        if cfg.momentum != 0.0 {
            let b = match buf.take() {
                None => g.detach().copy(),
                Some(mut b) => {
                    let _ = b.g_mul_scalar_(cfg.momentum);
                    let _ = b.g_add_(&g);
                    b
                }
            };
            g = if cfg.nesterov { &g + &b * cfg.momentum } else { b.shallow_clone() };
            *buf = Some(b);
        }
        let mut p = p.shallow_clone();
        let _ = p.g_sub_(&(g * lr));
    });
}

/// SGD over a fixed, named list of parameters, with their momentum buffers.
pub struct Sgd {
    /// Settings.
    pub cfg: SgdConfig,
    /// The parameters (name, tensor), sorted by name.
    pub params: Vec<(String, Tensor)>,
    /// Momentum buffers, parallel to `params` (`None` before a parameter's first step).
    pub buffers: Vec<Option<Tensor>>,
}

impl Sgd {
    /// SGD over `params` (sorted by name here), no buffers yet.
    pub fn new(mut params: Vec<(String, Tensor)>, cfg: SgdConfig) -> Sgd {
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let n = params.len();
        Sgd { cfg, params, buffers: (0..n).map(|_| None).collect() }
    }

    /// Sets every defined gradient to zero (PyTorch's `zero_grad(set_to_none=False)`;
    /// numerically the same as its default `set_to_none=True`).
    pub fn zero_grad(&self) {
        for (_, p) in &self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// One step at learning rate `lr` ([`sgd_update`] per parameter); parameters without
    /// a gradient are skipped, as PyTorch skips `grad is None`.
    pub fn step(&mut self, lr: f64) {
        for ((_, p), buf) in self.params.iter().zip(self.buffers.iter_mut()) {
            let g = p.grad();
            if g.defined() {
                sgd_update(p, &g, buf, lr, &self.cfg);
            }
        }
    }

    /// PyTorch's `torch.nn.utils.clip_grad_norm_(params, max_norm)` (L2, `foreach=False`):
    /// total = ‖(‖g₁‖₂, …, ‖gₙ‖₂)‖₂ over the defined gradients; every gradient is multiplied
    /// by `min(1, max_norm / (total + 1e-6))` (computed in float32 tensors, as PyTorch
    /// does). Returns the total norm before clipping (`None` when no gradient is defined).
    pub fn clip_grad_norm(&self, max_norm: f64) -> Result<Option<f64>> {
        let grads: Vec<Tensor> = self.params.iter().map(|(_, p)| p.grad()).filter(|g| g.defined()).collect();
        if grads.is_empty() {
            return Ok(None);
        }
        tch::no_grad(|| {
            let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
            let total = Tensor::stack(&norms, 0).norm();
            // Python's `max_norm / (total + 1e-6)` on a tensor is `reciprocal(·) * max_norm`.
            let coef = ((&total + 1e-6).reciprocal() * max_norm).clamp_max(1.0);
            for g in &grads {
                let mut g = g.shallow_clone();
                let _ = g.g_mul_(&coef.to_device(g.device()));
            }
            Ok(Some(total.double_value(&[])))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v)
    }

    /// Values derived by hand from PyTorch's update rule.
    #[test]
    fn update_by_hand() {
        let cfg = SgdConfig { momentum: 0.9, nesterov: true, weight_decay: 0.5 };
        let p = t(&[1.0, -2.0]);
        let mut buf = None;
        // g = [0.5, 0.5] + 0.5·p = [1.0, -0.5]; b = g; nesterov g + 0.9 b = [1.9, -0.95];
        // p = p − 0.1·that = [0.81, -1.905].
        sgd_update(&p, &t(&[0.5, 0.5]), &mut buf, 0.1, &cfg);
        let pv: Vec<f32> = Vec::try_from(&p).unwrap();
        assert!((pv[0] - 0.81).abs() < 1e-6 && (pv[1] + 1.905).abs() < 1e-6, "{pv:?}");
        let bv: Vec<f32> = Vec::try_from(buf.as_ref().unwrap()).unwrap();
        assert_eq!(bv, vec![1.0, -0.5]);
        // Second step, grad 0: g = 0.5·p = [0.405, -0.9525]; b = 0.9·[1, -0.5] + g =
        // [1.305, -1.4025]; update g + 0.9 b = [1.5795, -2.21475]; p −= 0.1 · update.
        sgd_update(&p, &t(&[0.0, 0.0]), &mut buf, 0.1, &cfg);
        let pv: Vec<f32> = Vec::try_from(&p).unwrap();
        assert!((pv[0] - (0.81 - 0.15795)).abs() < 1e-6, "{pv:?}");
        assert!((pv[1] - (-1.905 + 0.221475)).abs() < 1e-6, "{pv:?}");
        // Plain momentum (no Nesterov) steps by the buffer; μ = 0 keeps no buffer.
        let p = t(&[1.0]);
        let mut buf = None;
        let cfg = SgdConfig { momentum: 0.5, nesterov: false, weight_decay: 0.0 };
        sgd_update(&p, &t(&[2.0]), &mut buf, 1.0, &cfg);
        sgd_update(&p, &t(&[2.0]), &mut buf, 1.0, &cfg);
        assert_eq!(p.double_value(&[0]), 1.0 - 2.0 - 3.0);
        let mut none = None;
        sgd_update(&p, &t(&[1.0]), &mut none, 1.0, &SgdConfig { momentum: 0.0, nesterov: false, weight_decay: 0.0 });
        assert!(none.is_none());
        assert_eq!(p.double_value(&[0]), -5.0);
    }

    #[test]
    fn clipping_as_pytorch() {
        let a = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let b = Tensor::zeros([1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        // grads: a: [3, 0], b: [4] → total norm 5.
        let loss = (&a * t(&[3.0, 0.0])).sum(Kind::Float) + (&b * 4.0).sum(Kind::Float);
        loss.backward();
        let sgd = Sgd::new(
            vec![("a".into(), a.shallow_clone()), ("b".into(), b.shallow_clone())],
            SgdConfig { momentum: 0.0, nesterov: false, weight_decay: 0.0 },
        );
        assert_eq!(sgd.clip_grad_norm(10.0).unwrap(), Some(5.0));
        assert_eq!(b.grad().double_value(&[0]), 4.0); // below the limit: unchanged (× 1)
        assert!((sgd.clip_grad_norm(1.0).unwrap().unwrap() - 5.0).abs() < 1e-6);
        let c = 1.0 / (5.0 + 1e-6);
        assert!((a.grad().double_value(&[0]) - 3.0 * c).abs() < 1e-6);
        assert!((b.grad().double_value(&[0]) - 4.0 * c).abs() < 1e-6);
        sgd.zero_grad();
        assert_eq!(a.grad().abs().sum(Kind::Float).double_value(&[]), 0.0);
    }
}
