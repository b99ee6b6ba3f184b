//! Training-mode BatchNorm2d on channels-last float32 CPU tensors whose values do not depend
//! on the thread count (a libtorch autograd function in `bn_channels_last.cpp`).
//!
//! libtorch's own channels-last BatchNorm reduces per thread in float32: its statistics
//! and its backward's sums change with `--threads` and move golden WRCor values by up to
//! 1.1e-3 (`docs/performance.md`). This one computes each channel's Σx, Σx² (about the
//! first row's value) and, backward, Σdy, Σdy·(x − mean) in float64 over fixed blocks of
//! 1,024 rows added in order, so every value is the same whatever the thread count; the
//! element-wise parts are those of libtorch's channels-first kernel (y = x·α + β with
//! α = invstd·γ, β = bias − mean·α; dx = (dy − Σdy/M − (x − mean)·Σdy(x − mean)·invstd²/M)
//! ·invstd·γ, M = N·H·W), float32, with multiplications and additions rounded separately.
//! Running statistics are updated as PyTorch does (momentum, unbiased variance).

use crate::net::channels_last::is_cpu_f32_channels_last;
use std::ffi::CStr;
use std::os::raw::c_char;
use tch::{Device, Kind, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn zsnas_bn_channels_last(
        x: *const C_tensor,
        weight: *const C_tensor,
        bias: *const C_tensor,
        running_mean: *const C_tensor,
        running_var: *const C_tensor,
        momentum: f64,
        eps: f64,
    ) -> *mut C_tensor;
    fn zsnas_bn_channels_last_error() -> *const c_char;
}

/// Training-mode BatchNorm of `x` [N, C, H, W] (channels-last float32 on the CPU,
/// [`is_cpu_f32_channels_last`]) with affine `weight`,
/// `bias` \[C\] and the running statistics \[C\] updated in place; returns y [N, C, H, W],
/// channels-last, differentiable with respect to `x`, `weight` and `bias`.
///
/// # Panics
/// If `x` is not what [`is_cpu_f32_channels_last`] accepts or the parameters are not float32 \[C\] CPU
/// tensors (a caller bug; libtorch's message is included).
pub fn batch_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f64,
    eps: f64,
) -> Tensor {
    assert!(is_cpu_f32_channels_last(x), "bn_channels_last: not a channels-last float32 CPU batch {:?}", x.size());
    let c = x.size()[1];
    for t in [weight, bias, running_mean, running_var] {
        assert!(
            t.size() == [c] && t.kind() == Kind::Float && t.device() == Device::Cpu && t.is_contiguous(),
            "bn_channels_last: a parameter is not a float32 [{c}] CPU tensor"
        );
    }
    // SAFETY: the pointers are libtch tensors (`torch::Tensor*`) borrowed for the call;
    // the function returns a new one that we own, or null with its message kept.
    unsafe {
        let y = zsnas_bn_channels_last(
            x.as_ptr(),
            weight.as_ptr(),
            bias.as_ptr(),
            running_mean.as_ptr(),
            running_var.as_ptr(),
            momentum,
            eps,
        );
        if y.is_null() {
            let msg = CStr::from_ptr(zsnas_bn_channels_last_error()).to_string_lossy();
            panic!("bn_channels_last: {msg}");
        }
        Tensor::from_ptr(y)
    }
}

#[cfg(test)]
mod tests {
    use super::batch_norm;
    use crate::net::channels_last::{is_cpu_f32_channels_last, to_channels_last as channels_last};
    use tch::{Device, Kind, Tensor};

    /// (y, dx, dweight, dbias, running_mean, running_var) of ours on float32 `x`.
    fn ours(x: &Tensor, w: &Tensor, b: &Tensor, g: &Tensor) -> [Tensor; 6] {
        let x = channels_last(x).set_requires_grad(true);
        let (w, b) = (w.copy().set_requires_grad(true), b.copy().set_requires_grad(true));
        let (rm, rv) = (
            Tensor::zeros([x.size()[1]], (Kind::Float, Device::Cpu)),
            Tensor::ones([x.size()[1]], (Kind::Float, Device::Cpu)),
        );
        let y = batch_norm(&x, &w, &b, &rm, &rv, 0.1, 1e-5);
        assert!(is_cpu_f32_channels_last(&y), "the output stays channels-last");
        let gr = Tensor::run_backward(&[(&y * g).sum(Kind::Float)], &[&x, &w, &b], false, false);
        [y.detach(), gr[0].shallow_clone(), gr[1].shallow_clone(), gr[2].shallow_clone(), rm, rv]
    }

    /// The same from libtorch's batch_norm in float64 (channels-first).
    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, g: &Tensor) -> [Tensor; 6] {
        let d = |t: &Tensor| t.to_kind(Kind::Double);
        let x = d(x).set_requires_grad(true);
        let (w, b) = (d(w).set_requires_grad(true), d(b).set_requires_grad(true));
        let c = x.size()[1];
        let (rm, rv) =
            (Tensor::zeros([c], (Kind::Double, Device::Cpu)), Tensor::ones([c], (Kind::Double, Device::Cpu)));
        let y = x.batch_norm(Some(&w), Some(&b), Some(&rm), Some(&rv), true, 0.1, 1e-5, false);
        let gr = Tensor::run_backward(&[(&y * d(g)).sum(Kind::Double)], &[&x, &w, &b], false, false);
        [y.detach(), gr[0].shallow_clone(), gr[1].shallow_clone(), gr[2].shallow_clone(), rm, rv]
    }

    fn max_rel(a: &Tensor, b: &Tensor) -> f64 {
        let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
        let scale = b.abs().max().double_value(&[]).max(1e-30);
        (a - b).abs().max().double_value(&[]) / scale
    }

    fn inputs(shape: [i64; 4], seed: i64) -> (Tensor, Tensor, Tensor, Tensor) {
        tch::manual_seed(seed);
        let c = shape[1];
        let opts = (Kind::Float, Device::Cpu);
        // A mean far from 0 relative to the spread: float32 sums would lose digits here.
        let x = Tensor::randn(shape, opts) * 0.5 + Tensor::randn([1, c, 1, 1], opts) * 20.0;
        let w = Tensor::rand([c], opts) + 0.5;
        let b = Tensor::randn([c], opts);
        let g = Tensor::randn(shape, opts);
        (x, w, b, g)
    }

    #[test]
    fn values_gradients_and_running_statistics_match_float64_batch_norm() {
        for (shape, seed) in [([8i64, 16, 6, 5], 1), ([64, 16, 32, 32], 2), ([3, 5, 2, 7], 3)] {
            let (x, w, b, g) = inputs(shape, seed);
            let o = ours(&x, &w, &b, &g);
            let r = reference(&x, &w, &b, &g);
            let names = ["y", "dx", "dweight", "dbias", "running_mean", "running_var"];
            // Float32 rounding of the element-wise parts bounds y (x·α + β cancels: the mean
            // is 40 spreads away) and dx; the sums are float64 (observed: y 1.8e-6, dx 2.0e-7,
            // dweight 7.7e-7, the others ≤ 6.3e-8).
            let tol = [5e-6, 1e-6, 3e-6, 3e-7, 3e-7, 3e-7];
            for ((name, (a, bb)), t) in names.iter().zip(o.iter().zip(r.iter())).zip(tol) {
                let e = max_rel(a, bb);
                assert!(e <= t, "{shape:?} {name}: max relative error {e:e} > {t:e}");
            }
        }
    }

    #[test]
    fn the_same_bits_whatever_the_thread_count() {
        let (x, w, b, g) = inputs([16, 16, 16, 16], 4);
        let before = tch::get_num_threads();
        tch::set_num_threads(1);
        let one = ours(&x, &w, &b, &g);
        tch::set_num_threads(2);
        let two = ours(&x, &w, &b, &g);
        tch::set_num_threads(before);
        for (a, bb) in one.iter().zip(two.iter()) {
            assert!(a.equal(bb));
        }
    }
}
