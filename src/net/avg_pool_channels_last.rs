//! NAS-Bench-201's 3×3 average pool (stride 1, padding 1, padding not counted) on
//! channels-last float32 CPU tensors: a libtorch autograd function in
//! `avg_pool_channels_last.cpp`, bit-identical to libtorch's `avg_pool2d` forward and
//! backward (tested) and faster.
//!
//! libtorch's channels-last kernel handles one output pixel at a time (window bounds,
//! divisor, then vector adds over the channels); at 16 channels that bookkeeping costs
//! about 10× a copy of the tensor. This one sums a whole output row per pass over each
//! input row of its window. Every output value is the sum of its window from 0 in (row,
//! column) order divided by the window's count, as in libtorch; each input gradient is
//! the sum, from 0 in (row, column) order of the outputs, of output gradient / count, the
//! order in which libtorch's backward accumulates them.

use crate::net::channels_last::is_cpu_f32_channels_last;
use std::ffi::CStr;
use std::os::raw::c_char;
use tch::Tensor;
use torch_sys::C_tensor;

extern "C" {
    fn zsnas_avg_pool_channels_last(x: *const C_tensor) -> *mut C_tensor;
    fn zsnas_avg_pool_channels_last_error() -> *const c_char;
}

/// `x.avg_pool2d([3, 3], [1, 1], [1, 1], ceil_mode = false, count_include_pad = false)`
/// for `x` [N, C, H, W] channels-last float32 on the CPU ([`is_cpu_f32_channels_last`]): output [N, C, H, W], channels-last,
/// differentiable with respect to `x`; values and gradients bit-identical to libtorch's.
///
/// Its backward is not itself differentiable (no double backward, `create_graph`): only
/// the channels-last response passes use it, which take first derivatives only.
///
/// # Panics
/// If `x` is not what [`is_cpu_f32_channels_last`] accepts (a caller bug), or if libtorch reports an
/// error inside the function (its message is included), e.g. when called during a
/// TorchScript trace, which could not record it.
pub fn avg_pool_3x3(x: &Tensor) -> Tensor {
    assert!(
        is_cpu_f32_channels_last(x),
        "avg_pool_channels_last: not a channels-last float32 CPU batch {:?}",
        x.size()
    );
    // SAFETY: the pointer is a libtch tensor (`torch::Tensor*`) borrowed for the call; the
    // function returns a new one that we own, or null with its message kept.
    unsafe {
        let y = zsnas_avg_pool_channels_last(x.as_ptr());
        if y.is_null() {
            let msg = CStr::from_ptr(zsnas_avg_pool_channels_last_error()).to_string_lossy();
            panic!("avg_pool_channels_last: {msg}");
        }
        Tensor::from_ptr(y)
    }
}

/// (value, input gradient) of the pool `f` at `x` for the upstream gradient `g` (float32):
/// what the pool tests here and in [`crate::net::ops`] compare bit for bit.
#[cfg(test)]
pub(crate) fn value_and_grad(f: impl Fn(&Tensor) -> Tensor, x: &Tensor, g: &Tensor) -> (Tensor, Tensor) {
    let x = x.detach().set_requires_grad(true);
    let y = f(&x);
    let gx = Tensor::run_backward(&[(&y * g).sum(tch::Kind::Float)], &[&x], false, false);
    (y.detach(), gx[0].shallow_clone())
}

#[cfg(test)]
mod tests {
    use super::{avg_pool_3x3, value_and_grad};
    use crate::net::channels_last::{is_cpu_f32_channels_last, to_channels_last};
    use tch::{Device, Kind, Tensor};

    #[test]
    fn bit_identical_to_libtorch_forward_and_backward_whatever_the_thread_count() {
        let before = tch::get_num_threads();
        tch::manual_seed(11);
        let shapes = [
            [64i64, 16, 32, 32],
            [5, 32, 16, 16],
            [3, 64, 8, 8],
            [2, 5, 7, 3],
            [2, 3, 1, 6],
            [2, 3, 6, 2],
            [2, 3, 5, 1],
            [2, 3, 2, 5],
        ];
        for shape in shapes {
            let x = to_channels_last(&(Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 3.0 + 0.5));
            let g = to_channels_last(&Tensor::randn(shape, (Kind::Float, Device::Cpu)));
            let native = |t: &Tensor| t.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
            let (y0, g0) = value_and_grad(native, &x, &g);
            // Not trivially equal: padding is not counted.
            assert!(!y0.equal(&x.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, None::<i64>)));
            for threads in [1, 2, 3] {
                tch::set_num_threads(threads);
                let (y1, g1) = value_and_grad(avg_pool_3x3, &x, &g);
                assert!(is_cpu_f32_channels_last(&y1), "{shape:?}: the output is channels-last");
                assert!(y0.equal(&y1), "{shape:?}, {threads} thread(s): forward differs");
                assert!(g0.equal(&g1), "{shape:?}, {threads} thread(s): backward differs");
            }
            // A channels-first upstream gradient is taken as well.
            let (_, g2) = value_and_grad(avg_pool_3x3, &x, &g.contiguous());
            assert!(g0.equal(&g2), "{shape:?}: backward of a channels-first gradient differs");
        }
        tch::set_num_threads(before);
    }
}
