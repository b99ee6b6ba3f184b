//! MobileNetV2-like search space of Zen-NAS / ZSNAS-WRCor (pure Rust, no tch).
//!
//! An architecture is a *PlainNet* string
//!
//! ```text
//! SuperConvK3BNRELU(3,c0,2,1)
//! SuperResIDWE{e}K{k}(c0,c1,s1,b1,l1) ... SuperResIDWE{e}K{k}(c6,c7,s7,b7,l7)   (7 stages)
//! SuperConvK1BNRELU(c7,c8,1,1)
//! ```
//!
//! plus an input resolution. The textual form accepted by [`Mbv2Arch::parse`]
//! may carry the resolution as an `@R` suffix (e.g. `...SuperConvK1BNRELU(320,1280,1,1)@224`);
//! ASCII whitespace between tokens is ignored. [`Mbv2Arch::arch_string`] prints the
//! reference-compatible string without the suffix, `Display` prints it with the suffix.
//!
//! # Network semantics (as built by the reference `PlainNet` with `use_se=True`)
//!
//! * stem: conv3×3 stride 2 (no bias) + BN + ReLU;
//! * each `SuperResIDWE{e}K{k}(c_in,c_out,s,b,L)` stage is `L` inverted-residual sub-layers.
//!   With `d = smart_round(b·e, 8)` ([`expanded_channels`]) a sub-layer is
//!   conv1×1 `in→d` + BN + ReLU; depthwise k×k (stride `s` on the first sub-layer only,
//!   padding k/2) + BN + ReLU; squeeze-excitation on `d` channels; conv1×1 `d→c_out` + BN;
//!   plus a shortcut, then ReLU. The first sub-layer always has a projection shortcut
//!   (conv1×1 stride `s` **with bias** + BN, even when `s = 1` and `c_in = c_out`), later
//!   sub-layers (in = out = `c_out`, stride 1) use the identity.
//! * squeeze-excitation (reference `SE` block): global avgpool, conv1×1 `d→r` (no bias) + BN + ReLU,
//!   conv1×1 `r→d` (no bias) + BN + sigmoid, multiply; `r = max(1, round(d·0.25))`
//!   ([`se_channels`]). Note the reference uses BatchNorm, **not** conv biases, inside SE.
//! * head: conv1×1 (no bias) + BN + ReLU, global average pool, linear `c8→num_classes` with bias.
//! * all convolutions use padding `k/2`, so their output size is `(H-1)/s + 1` (= ⌈H/s⌉).
//!
//! # Counters
//!
//! All FLOPs in this module are **multiply-accumulates** (MACs).
//!
//! * [`Mbv2Arch::flops`]: analytic MACs from first principles: every convolution
//!   (`H_out·W_out·C_out·(C_in/groups)·k²`, including the two 1×1 SE convs at 1×1 spatial
//!   size and the shortcut projections at their true output size) plus the classifier
//!   (`c8·num_classes`). Excluded: BatchNorm, ReLU/sigmoid, bias additions, the SE channel
//!   scaling, residual additions and average pooling (standard MAC counting).
//! * [`Mbv2Arch::flops_reference`]: bit-exact reproduction of the reference
//!   `PlainNet.get_FLOPs` (ZSNAS-WRCor `foresight/models/MobileNetV2.py`, blocks from
//!   `MobileNetV2_ops/basic_blocks.py`), which is what the paper's FLOPs budgets refer to.
//!   Findings from reading the code (and confirmed by the MobileNetV2 = 277,036,312 and
//!   paper-600M = 591,710,478 values):
//!   - `ConvKX`: `in·out·k²·H²//s²//groups` with `H` the *input* size (integer floor
//!     division); `ConvDW`: `d·k²·H²//s²`; sizes propagate as `H//s` (floor, not ceil);
//!   - every `BN` **is counted**: `H²·C` (per BN, at its own resolution);
//!   - `SE` is counted as `d·r + r·d + d + d·H²` (the two convs, a `d` term, and the channel
//!     scaling `d·H²`);
//!   - the projection of `ResBlockProj` is counted as `in·out·(H_out/s)² + (H_out/s)²·out`,
//!     where `H_out` is the block's output size, *already* divided by the stride: the stride is
//!     divided out **twice** (a stride-2 projection is under-counted 4×). The division is a
//!     Python float division, so the total is a float (a multiple of 1/4, exact in `f64`);
//!   - the classifier is counted as `c8·num_classes` (no bias term); ReLU, pooling: 0.
//! * [`Mbv2Arch::params`]: trainable parameters of the real network: conv weights, the
//!   projection conv bias, BN γ+β for every BN (including the two inside each SE and the one
//!   of each projection), classifier weight + bias.
//! * [`Mbv2Arch::model_size_reference`]: the reference `get_model_size`, which differs from the
//!   real count: a `BN(C)` block counts `C` instead of `2C` (SE's internal BNs do count `2C`),
//!   the projection's BN is omitted (it counts `in·out + out` for the projection) and the
//!   classifier bias counts as `1` instead of `num_classes`.
//!
//! # Search space (reference `search.py`, `NAS.sample_arch` / `Evolved_NAS.mutate` / `RL_NAS`)
//!
//! Widths `c0..c8` are drawn uniformly from the integer ranges [`WIDTH_RANGES`], bottlenecks
//! from [`BOTTLENECK_RANGES`], then rounded with `smart_round(x, 8)` (round-half-to-even to
//! a multiple of 8, exactly like Python's `round`); because the range ends are multiples of 8
//! the result always lies inside the range. Layer counts are uniform in [`LAYER_RANGES`],
//! `e` uniform in [`EXPANSIONS`], `k` uniform in [`KERNELS`], the four stride-2 stages are a
//! uniform 4-subset of the 7 stages, and the resolution is `smart_round(U{192..=320}, 32)`
//! (one of [`RESOLUTIONS`], with the same non-uniform weights as the reference).
//! The FLOPs constraint uses the *correct* [`Mbv2Arch::flops`] at the architecture's own
//! resolution with [`IMAGENET_CLASSES`] classes and accepts `flops <= limit` (the reference uses
//! its own counter with the dataset's class count).

use std::fmt;

use serde::{Deserialize, Serialize};

mod cost;
mod parse;
mod policy;
mod sample;

pub use policy::{choice_space, stride_patterns};
pub use sample::{random_arch, random_arch_unconstrained};

// ---------------------------------------------------------------------------------------------
// constants
// ---------------------------------------------------------------------------------------------

/// Number of `SuperResIDWE` stages in the search space.
pub const NUM_STAGES: usize = 7;
/// Number of stages with stride 2 in every sampled architecture.
pub const NUM_STRIDE2_STAGES: usize = 4;
/// Number of classes used for FLOPs constraints (ImageNet-1k).
pub const IMAGENET_CLASSES: usize = 1000;
/// Default FLOPs budget (multiply-accumulates), the paper's 600M setting.
pub const DEFAULT_FLOPS_LIMIT: u64 = 600_000_000;
/// Resolution used by [`Mbv2Arch::parse`] when the text carries no `@R` suffix.
pub const DEFAULT_RESOLUTION: usize = 224;
/// Inclusive integer ranges from which widths `c0..c8` are drawn (`c0` = stem output,
/// `c1..c7` = stage outputs, `c8` = head output).
pub const WIDTH_RANGES: [(usize, usize); 9] =
    [(16, 48), (16, 48), (16, 48), (32, 64), (48, 96), (80, 256), (80, 256), (128, 512), (128, 1536)];
/// Inclusive integer ranges from which the 7 stage bottleneck widths are drawn.
pub const BOTTLENECK_RANGES: [(usize, usize); 7] =
    [(16, 48), (16, 48), (16, 48), (32, 64), (48, 96), (80, 256), (80, 256)];
/// Inclusive ranges of the number of sub-layers of the 7 stages.
pub const LAYER_RANGES: [(usize, usize); 7] = [(1, 2), (2, 3), (2, 3), (2, 4), (2, 6), (2, 6), (1, 2)];
/// Allowed expansion ratios `e`.
pub const EXPANSIONS: [usize; 4] = [1, 2, 4, 6];
/// Allowed depthwise kernel sizes `k`.
pub const KERNELS: [usize; 3] = [3, 5, 7];
/// Inclusive integer range from which the resolution is drawn before rounding to a multiple of 32.
pub const RESOLUTION_RANGE: (usize, usize) = (192, 320);
/// The possible input resolutions of the search space.
pub const RESOLUTIONS: [usize; 5] = [192, 224, 256, 288, 320];
/// Maximum number of draws made by [`random_arch`] / [`Mbv2Arch::mutate`] before giving up.
pub const MAX_ATTEMPTS: usize = 10_000;

/// Largest channel count accepted by the parser/validator.
pub const MAX_CHANNELS: usize = 1 << 16;
/// Largest sub-layer count accepted by the parser/validator.
pub const MAX_LAYERS: usize = 256;
/// Largest input resolution accepted by the parser/validator.
pub const MAX_RESOLUTION: usize = 1 << 14;

// ---------------------------------------------------------------------------------------------
// rounding helpers
// ---------------------------------------------------------------------------------------------

/// Reference `global_utils.smart_round(x, base)`: `max(base, round(x / base) * base)` where
/// `round` is Python's round-half-to-even. Returns `base` for non-finite or negative `x`;
/// `base = 0` is treated as 1.
pub fn smart_round(x: f64, base: usize) -> usize {
    let base = base.max(1);
    if !x.is_finite() || x <= 0.0 {
        return base;
    }
    let q = (x / base as f64).round_ties_even();
    let v = if q >= (usize::MAX / base) as f64 { usize::MAX / base * base } else { q as usize * base };
    v.max(base)
}

/// Expanded (depthwise) channel count of a sub-layer: `smart_round(bottleneck · e, 8)`.
pub fn expanded_channels(bottleneck: usize, expansion: usize) -> usize {
    smart_round(bottleneck as f64 * expansion as f64, 8)
}

/// Squeeze-excitation hidden width of the reference `SE` block on `d` channels:
/// `max(1, int(round(d · 0.25)))` (round-half-to-even).
pub fn se_channels(d: usize) -> usize {
    ((d as f64 * 0.25).round_ties_even() as usize).max(1)
}

/// Spatial output size of a convolution with odd kernel `k`, padding `k/2` and stride `s`
/// on an `h`×`h` input: `(h + 2·(k/2) − k)/s + 1` (= ⌈h/s⌉ for odd `k`). A stride of 0 is
/// treated as 1.
pub fn conv_out_size(h: usize, k: usize, s: usize) -> usize {
    h.saturating_add(2 * (k / 2)).saturating_sub(k) / s.max(1) + 1
}

// ---------------------------------------------------------------------------------------------
// data types
// ---------------------------------------------------------------------------------------------

/// A `SuperConvK{k}BNRELU(in,out,stride,layers)` block (stem or head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConvBlock {
    /// Kernel size (3 for the stem, 1 for the head).
    pub kernel: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Stride (2 for the stem, 1 for the head).
    pub stride: usize,
    /// Number of conv-BN-ReLU sub-layers (always 1 in this space).
    pub layers: usize,
}

impl fmt::Display for ConvBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SuperConvK{}BNRELU({},{},{},{})",
            self.kernel, self.in_channels, self.out_channels, self.stride, self.layers
        )
    }
}

/// A `SuperResIDWE{e}K{k}(in,out,stride,bottleneck,layers)` stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResIdwBlock {
    /// Expansion ratio `e` ∈ {1,2,4,6}.
    pub expansion: usize,
    /// Depthwise kernel size `k` ∈ {3,5,7}.
    pub kernel: usize,
    /// Input channels (must equal the previous block's output channels).
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Stride of the first sub-layer (1 or 2).
    pub stride: usize,
    /// Bottleneck width `b`; the expanded width is [`expanded_channels`]`(b, e)`.
    pub bottleneck: usize,
    /// Number of inverted-residual sub-layers.
    pub layers: usize,
}

impl ResIdwBlock {
    /// Expanded (depthwise) width `d = smart_round(bottleneck · e, 8)`.
    pub fn expanded(&self) -> usize {
        expanded_channels(self.bottleneck, self.expansion)
    }
}

impl fmt::Display for ResIdwBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SuperResIDWE{}K{}({},{},{},{},{})",
            self.expansion, self.kernel, self.in_channels, self.out_channels, self.stride, self.bottleneck, self.layers
        )
    }
}

/// A MobileNetV2-like architecture: stem, 7 `SuperResIDWE` stages, head, and input resolution.
///
/// Construct with [`Mbv2Arch::parse`] / `str::parse`, [`random_arch`], [`Mbv2Arch::mutate`] or
/// [`Mbv2Arch::from_choices`]; hand-built values should be checked with [`Mbv2Arch::validate`].
/// Counters never panic, but their values are unspecified for architectures that fail
/// validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mbv2Arch {
    /// `SuperConvK3BNRELU(3,c0,2,1)`.
    pub stem: ConvBlock,
    /// The 7 stages.
    pub stages: Vec<ResIdwBlock>,
    /// `SuperConvK1BNRELU(c7,c8,1,1)`.
    pub head: ConvBlock,
    /// Input resolution (square images, `resolution`×`resolution`).
    pub resolution: usize,
}

/// What a convolution in [`Mbv2Arch::layer_plan`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConvRole {
    /// Stem conv3×3 stride 2.
    Stem,
    /// 1×1 expansion conv of a sub-layer (`in → d`).
    Expand,
    /// Depthwise k×k conv (`groups = d`).
    Depthwise,
    /// SE reduction conv 1×1 (`d → se`) applied to the globally pooled tensor.
    SeReduce,
    /// SE expansion conv 1×1 (`se → d`), followed by BN and sigmoid; output scales the
    /// depthwise activations channel-wise.
    SeExpand,
    /// 1×1 projection conv of a sub-layer (`d → c_out`), followed by BN, no activation.
    Project,
    /// 1×1 shortcut projection (first sub-layer of each stage only), with bias, followed by BN.
    Shortcut,
    /// Head conv1×1.
    Head,
}

/// Activation applied right after a conv (+BN) in [`Mbv2Arch::layer_plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// No activation (the `Project`/`Shortcut` outputs are summed, then ReLU is applied).
    None,
    /// ReLU.
    Relu,
    /// Sigmoid (SE gate).
    Sigmoid,
}

/// One convolution of the network, in execution order (see [`Mbv2Arch::layer_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConvSpec {
    /// Role of the conv.
    pub role: ConvRole,
    /// Stage index 0..7 for stage convs, `None` for stem/head.
    pub stage: Option<usize>,
    /// Sub-layer index within the stage, `None` for stem/head.
    pub sublayer: Option<usize>,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side (`kernel / 2`).
    pub padding: usize,
    /// Convolution groups (`in_channels` for depthwise, else 1).
    pub groups: usize,
    /// Input spatial size (H = W).
    pub in_hw: usize,
    /// Output spatial size (H = W), `conv_out_size(in_hw, kernel, stride)`.
    pub out_hw: usize,
    /// Whether the conv has a bias (only `Shortcut`).
    pub bias: bool,
    /// Whether a BatchNorm follows (always true in this space).
    pub bn: bool,
    /// Activation after the BN.
    pub act: Activation,
}

impl ConvSpec {
    /// Trainable parameters: weights, bias, and BN γ+β when `bn`.
    pub fn params(&self) -> u128 {
        let g = self.groups.max(1) as u128;
        let w = (self.out_channels as u128)
            .saturating_mul(self.in_channels as u128 / g)
            .saturating_mul((self.kernel as u128).saturating_mul(self.kernel as u128));
        let b = if self.bias { self.out_channels as u128 } else { 0 };
        let bn = if self.bn { 2 * self.out_channels as u128 } else { 0 };
        w.saturating_add(b).saturating_add(bn)
    }

    /// Multiply-accumulates: `out_hw² · out · (in/groups) · k²` (bias/BN excluded).
    pub fn macs(&self) -> u128 {
        let g = self.groups.max(1) as u128;
        ((self.out_hw as u128).saturating_mul(self.out_hw as u128))
            .saturating_mul(self.out_channels as u128)
            .saturating_mul(self.in_channels as u128 / g)
            .saturating_mul((self.kernel as u128).saturating_mul(self.kernel as u128))
    }
}

/// The final fully-connected classifier (after global average pooling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinearSpec {
    /// Input features (`c8`).
    pub in_features: usize,
    /// Output features (number of classes).
    pub out_features: usize,
    /// Whether it has a bias (always true).
    pub bias: bool,
}

/// One categorical decision of the REINFORCE encoding (see [`choice_space`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Choice {
    /// Name, e.g. `"c3"`, `"b0"`, `"l6"`, `"e2"`, `"k4"`, `"resolution"`, `"strides"`.
    pub name: String,
    /// Number of options (the categorical's size).
    pub num_options: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MobileNetV2 (`MBV2`) and the paper's 600M architecture (`A600`), shared by the
    /// tests of the sub-modules.
    pub(super) const MBV2: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
    pub(super) const A600: &str = "SuperConvK3BNRELU(3,48,2,1)SuperResIDWE2K7(48,32,2,40,2)SuperResIDWE2K7(32,32,2,48,3)SuperResIDWE6K7(32,64,1,40,3)SuperResIDWE6K7(64,88,2,40,4)SuperResIDWE6K7(88,104,1,56,6)SuperResIDWE6K5(104,152,2,192,6)SuperResIDWE6K5(152,240,1,136,2)SuperConvK1BNRELU(240,1264,1,1)";

    #[test]
    fn rounding() {
        assert_eq!(smart_round(20.0, 8), 16); // 2.5 -> 2 (half to even)
        assert_eq!(smart_round(28.0, 8), 32); // 3.5 -> 4
        assert_eq!(smart_round(36.0, 8), 32); // 4.5 -> 4
        assert_eq!(smart_round(3.0, 8), 8);
        assert_eq!(smart_round(208.0, 32), 192);
        assert_eq!(smart_round(240.0, 32), 256);
        assert_eq!(expanded_channels(36, 1), 32);
        assert_eq!(se_channels(96), 24);
        assert_eq!(se_channels(2), 1); // 0.5 -> 0 -> max(1, .)
        assert_eq!(se_channels(6), 2); // 1.5 -> 2
        assert_eq!(conv_out_size(7, 3, 2), 4);
        assert_eq!(conv_out_size(7, 1, 2), 4);
        assert_eq!(conv_out_size(224, 3, 2), 112);
    }
}
