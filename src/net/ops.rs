//! Shared building blocks on tch: BatchNorm, Conv2d (with PyTorch's default init), Linear,
//! ReLU-Conv-BN and an exact fast 3×3 average pool.

use crate::net::channels_last::{is_channels_last, is_cpu_f32_channels_last, to_channels_last};
use crate::net::recorder::Recorder;
use crate::net::{avg_pool_channels_last, bn_channels_last};
use tch::{nn, nn::Init, Tensor};

/// PyTorch's default bound for Conv2d/Linear weights: `kaiming_uniform_(a=√5)`, i.e.
/// `√3 · √(2/(1+√5²)) / √fan_in` (≈ 1/√fan_in), evaluated in f64 as PyTorch does.
pub fn default_weight_bound(fan_in: i64) -> f64 {
    let a = 5f64.sqrt();
    3f64.sqrt() * (2.0 / (1.0 + a * a)).sqrt() / (fan_in as f64).sqrt()
}

/// Creates a conv weight [out, in/groups, k, k] at `p/name` with PyTorch's default init
/// (uniform(−b, b), b = [`default_weight_bound`]); with the same seed this draws the same
/// numbers as PyTorch's `nn.Conv2d` constructor.
pub fn conv_weight(p: &nn::Path, out_c: i64, in_per_group: i64, k: i64) -> Tensor {
    let b = default_weight_bound(in_per_group * k * k);
    p.var("weight", &[out_c, in_per_group, k, k], Init::Uniform { lo: -b, up: b })
}

/// BatchNorm2d parameters and running statistics (PyTorch names `weight`, `bias`,
/// `running_mean`, `running_var`). eps configurable (1e-5 by default), momentum 0.1.
#[derive(Debug)]
pub struct BatchNorm {
    /// γ \[C\].
    pub weight: Tensor,
    /// β \[C\].
    pub bias: Tensor,
    /// Running mean \[C\] (updated in training mode).
    pub running_mean: Tensor,
    /// Running variance \[C\] (unbiased batch variance, momentum 0.1).
    pub running_var: Tensor,
    /// ε added to the variance.
    pub eps: f64,
}

impl BatchNorm {
    /// New BN over `c` channels at path `p` (γ=1, β=0, mean 0, var 1).
    pub fn new(p: &nn::Path, c: i64, eps: f64) -> Self {
        BatchNorm {
            weight: p.ones("weight", &[c]),
            bias: p.zeros("bias", &[c]),
            running_mean: p.zeros_no_train("running_mean", &[c]),
            running_var: p.ones_no_train("running_var", &[c]),
            eps,
        }
    }

    /// Applies BN to `x` [N, C, H, W] (or [N, C]); identity when `rec.mode.bn` is false.
    /// In training mode a channels-last float32 CPU `x` goes to
    /// [`bn_channels_last::batch_norm`] (thread-count-invariant float64 reductions; the
    /// output stays channels-last), anything else to libtorch's `batch_norm`.
    pub fn forward(&self, x: &Tensor, rec: &Recorder) -> Tensor {
        if !rec.mode.bn {
            return x.shallow_clone();
        }
        if rec.mode.train && is_cpu_f32_channels_last(x) {
            return bn_channels_last::batch_norm(
                x,
                &self.weight,
                &self.bias,
                &self.running_mean,
                &self.running_var,
                0.1,
                self.eps,
            );
        }
        x.batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            rec.mode.train,
            0.1,
            self.eps,
            false,
        )
    }
}

/// A Conv2d without bias.
#[derive(Debug)]
pub struct Conv {
    /// Weight [out, in/groups, k, k].
    pub weight: Tensor,
    /// Stride.
    pub stride: i64,
    /// Zero padding on each side.
    pub padding: i64,
    /// Groups (1, or `in` for depthwise).
    pub groups: i64,
}

impl Conv {
    /// New conv at `p` (the weight is `p/weight`).
    pub fn new(p: &nn::Path, in_c: i64, out_c: i64, k: i64, stride: i64, padding: i64, groups: i64) -> Self {
        Conv { weight: conv_weight(p, out_c, in_c / groups, k), stride, padding, groups }
    }

    /// Output of the conv on `x`, passed through `rec.layer_out`.
    pub fn forward(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let y = x.conv2d(&self.weight, None::<Tensor>, [self.stride; 2], [self.padding; 2], [1, 1], self.groups);
        let s = self.weight.size();
        rec.layer_out(y, s[1] * s[2] * s[3])
    }
}

/// A Linear layer with bias (PyTorch default init: weight as [`conv_weight`], bias
/// uniform(±1/√in)).
#[derive(Debug)]
pub struct Linear {
    /// Weight [out, in].
    pub weight: Tensor,
    /// Bias \[out\].
    pub bias: Tensor,
}

impl Linear {
    /// New linear layer at `p`.
    pub fn new(p: &nn::Path, in_f: i64, out_f: i64) -> Self {
        let b = default_weight_bound(in_f);
        let weight = p.var("weight", &[out_f, in_f], Init::Uniform { lo: -b, up: b });
        let bb = 1.0 / (in_f as f64).sqrt();
        let bias = p.var("bias", &[out_f], Init::Uniform { lo: -bb, up: bb });
        Linear { weight, bias }
    }

    /// `x W^T + b` for `x` [N, in], passed through `rec.layer_out`.
    pub fn forward(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let y = x.linear(&self.weight, Some(&self.bias));
        rec.layer_out_with_bias(y, self.weight.size()[1], true)
    }
}

/// ReLU → Conv → BN (NAS-Bench-201's `ReLUConvBN`, PyTorch names `op.1.weight`, `op.2.*`).
#[derive(Debug)]
pub struct ReluConvBn {
    /// The conv (`op.1`).
    pub conv: Conv,
    /// The BN (`op.2`).
    pub bn: BatchNorm,
}

impl ReluConvBn {
    /// New op at `p` (creates `p/op/1` and `p/op/2`).
    pub fn new(p: &nn::Path, in_c: i64, out_c: i64, k: i64, stride: i64, padding: i64) -> Self {
        let op = p / "op";
        ReluConvBn {
            conv: Conv::new(&(&op / 1), in_c, out_c, k, stride, padding, 1),
            bn: BatchNorm::new(&(&op / 2), out_c, 1e-5),
        }
    }

    /// Applies the op; the ReLU is recorded as a wrapped site of layer `layer`. Module
    /// outputs (under the recorder's scope): `relu`, `conv`, `bn`, then the `Sequential`
    /// (`seq`) and the wrapper (`wrap`), both the BN output.
    pub fn forward(&self, x: &Tensor, layer: usize, rec: &mut Recorder) -> Tensor {
        let a = rec.wrapped_relu(x, layer);
        rec.module("relu", true, Some(&a));
        let y = self.conv.forward(&a, rec);
        rec.module("conv", true, Some(&y));
        let z = self.bn.forward(&y, rec);
        if rec.wants_modules() {
            for l in ["bn", "seq", "wrap"] {
                rec.module(l, true, Some(&z));
            }
        }
        z
    }
}

/// 3×3 average pool, stride 1, padding 1, padding not counted
/// (`nn.AvgPool2d(3, 1, 1, count_include_pad=False)`), `x`: [N, C, H, W] → [N, C, H, W].
///
/// Values and gradients are bit-identical to `x.avg_pool2d(...)` (tests below and in
/// [`avg_pool_channels_last`]) on every path, while libtorch's channels-first
/// `count_include_pad=False` kernels are scalar loops about as slow as a 3×3 convolution on
/// CPU:
///
/// * a channels-last float32 CPU `x` (the layout of a whole channels-last pass, see
///   `proxy::pass`) goes to [`avg_pool_channels_last::avg_pool_3x3`], zsnas's own kernel
///   (forward + backward 1.8–2.3× faster than libtorch's channels-last one on
///   NAS-Bench-201's three feature-map sizes, `cargo run --release --example poolbench`);
///   the output stays channels-last;
/// * another channels-last `x` (float64, CUDA) goes to libtorch's channels-last kernels as
///   it is;
/// * a channels-first `x` is pooled by libtorch's channels-last kernels, which sum each
///   window (forward) and scatter each output's gradient (backward) in the same order as
///   the channels-first ones, and the output is returned channels-first (so the
///   convolutions and BatchNorms downstream see the layout, hence the arithmetic, they
///   always saw; a TorchScript trace of the network records `aten::avg_pool2d`). Both
///   ends route the gradient through `gradient_in_order`: the output's gradient reaches
///   the pool channels-last (without it libtorch runs the scalar channels-first backward
///   kernel, 13 % of `wrcor`'s time on random NAS-Bench-201 cells), and the input's
///   gradient leaves it channels-first (a channels-last one sends BatchNorm's backward
///   upstream to its generic TensorIterator loops, 7.5 %; `perf` on the 2-core Intel VM).
pub fn avg_pool_3x3(x: &Tensor) -> Tensor {
    if is_cpu_f32_channels_last(x) {
        return avg_pool_channels_last::avg_pool_3x3(x);
    }
    if is_channels_last(x) {
        return x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
    }
    let cl = to_channels_last(&gradient_in_order(x));
    let y = cl.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
    // y is channels-last, i.e. contiguous as [N, H, W, C].
    gradient_in_order(&y.permute([0, 2, 3, 1])).permute([0, 3, 1, 2]).contiguous()
}

/// `t` [N, ...] (contiguous in its own dimension order) unchanged, through two free views
/// whose backward copies the incoming gradient into `t`'s order: the backward of the
/// `reshape_as` is a reshape to [N, rest], which copies a gradient laid out otherwise. No
/// size is written out, so a TorchScript trace of the network takes any batch size.
fn gradient_in_order(t: &Tensor) -> Tensor {
    t.flatten(1, -1).reshape_as(t)
}

#[cfg(test)]
mod tests {
    use super::avg_pool_3x3;
    use crate::net::avg_pool_channels_last::value_and_grad;
    use crate::net::channels_last::{is_channels_last, to_channels_last};
    use tch::{Device, Kind, Tensor};

    #[test]
    fn the_fast_pool_is_bit_identical_to_libtorch_s_default_kernels() {
        tch::manual_seed(7);
        for shape in [[4i64, 16, 32, 32], [3, 32, 16, 16], [2, 64, 8, 8], [1, 5, 7, 3]] {
            let x = Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 3.0 + 0.5;
            let g = Tensor::randn(shape, (Kind::Float, Device::Cpu));
            let native = |t: &Tensor| t.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
            let (y0, g0) = value_and_grad(native, &x, &g);
            let (y1, g1) = value_and_grad(avg_pool_3x3, &x, &g);
            assert!(y1.is_contiguous(), "{shape:?}: the output is channels-first");
            assert!(g1.is_contiguous(), "{shape:?}: the input gradient is channels-first");
            assert!(y0.equal(&y1), "{shape:?}: forward differs");
            assert!(g0.equal(&g1), "{shape:?}: backward differs");
            // Not trivially equal: padding is not counted.
            let with_pad = x.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, None::<i64>);
            assert!(!y0.equal(&with_pad));
            // A channels-last batch (zsnas's own kernel for float32 on the CPU) stays
            // channels-last, with the same values and gradients.
            let xc = to_channels_last(&x);
            let (y2, g2) = value_and_grad(avg_pool_3x3, &xc, &to_channels_last(&g));
            assert!(is_channels_last(&y2), "{shape:?}: the output stays channels-last");
            assert!(y0.equal(&y2), "{shape:?}: channels-last forward differs");
            assert!(g0.equal(&g2), "{shape:?}: channels-last backward differs");
        }
    }
}
