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
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

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

// ---------------------------------------------------------------------------------------------
// parsing
// ---------------------------------------------------------------------------------------------

struct RawBlock {
    name: String,
    pos: usize,
    args: Vec<usize>,
}

struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, b: text.as_bytes(), pos: 0 }
    }
    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("'{}'", c.escape_debug()),
            None => "end of input".to_string(),
        }
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            bail!("expected '{}' at byte {}, found {}", c as char, self.pos, self.found())
        }
    }
    fn ident(&mut self) -> Result<(String, usize)> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.b.len() && (self.b[self.pos].is_ascii_alphanumeric() || self.b[self.pos] == b'_') {
            self.pos += 1;
        }
        if start == self.pos {
            bail!("expected a block name at byte {}, found {}", start, self.found());
        }
        Ok((self.text[start..self.pos].to_string(), start))
    }
    fn uint(&mut self) -> Result<usize> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        if start == self.pos {
            bail!("expected an unsigned integer at byte {}, found {}", start, self.found());
        }
        self.text[start..self.pos]
            .parse::<usize>()
            .map_err(|_| anyhow!("integer '{}' at byte {} is too large", &self.text[start..self.pos], start))
    }
}

/// Parses `SuperResIDWE{e}K{k}` names into `(e, k)` (values unchecked).
fn parse_idw_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("SuperResIDWE")?;
    let kpos = rest.find('K')?;
    let (e, k) = (&rest[..kpos], &rest[kpos + 1..]);
    if e.is_empty() || k.is_empty() || !e.bytes().all(|c| c.is_ascii_digit()) || !k.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((e.parse().ok()?, k.parse().ok()?))
}

fn block_label(idx: usize) -> String {
    match idx {
        0 => "stem (block 0)".to_string(),
        8 => "head (block 8)".to_string(),
        i => format!("stage {} (block {})", i - 1, i),
    }
}

impl Mbv2Arch {
    /// Parses an architecture string, optionally followed by `@R` giving the input resolution
    /// (e.g. `"SuperConvK3BNRELU(3,32,2,1)...SuperConvK1BNRELU(320,1280,1,1)@224"`). Without a
    /// suffix the resolution is [`DEFAULT_RESOLUTION`] (224). ASCII whitespace between tokens is
    /// allowed. The result is validated with [`Mbv2Arch::validate`]; errors name the offending
    /// block and give 0-based byte positions.
    pub fn parse(text: &str) -> Result<Self> {
        let (arch, _) = Self::parse_inner(text, DEFAULT_RESOLUTION)?;
        Ok(arch)
    }

    /// Parses like [`Mbv2Arch::parse`] but with an explicit resolution; an `@R` suffix, if
    /// present, must equal `resolution`.
    pub fn parse_with_resolution(text: &str, resolution: usize) -> Result<Self> {
        let (arch, suffix) = Self::parse_inner(text, resolution)?;
        if let Some(r) = suffix {
            if r != resolution {
                bail!("resolution suffix @{} contradicts the given resolution {}", r, resolution);
            }
        }
        Ok(arch)
    }

    fn parse_inner(text: &str, default_res: usize) -> Result<(Self, Option<usize>)> {
        let mut cur = Cursor::new(text);
        let mut raw: Vec<RawBlock> = Vec::new();
        let mut suffix = None;
        loop {
            cur.skip_ws();
            match cur.peek() {
                None => break,
                Some(b'@') => {
                    let at = cur.pos;
                    cur.pos += 1;
                    let r = cur.uint().map_err(|e| anyhow!("resolution suffix at byte {}: {}", at, e))?;
                    cur.skip_ws();
                    if cur.peek().is_some() {
                        bail!(
                            "unexpected trailing text at byte {} after the resolution suffix: {}",
                            cur.pos,
                            cur.found()
                        );
                    }
                    suffix = Some(r);
                    break;
                }
                Some(_) => {}
            }
            let (name, pos) = cur.ident()?;
            cur.expect(b'(').map_err(|e| anyhow!("block `{}` at byte {}: {}", name, pos, e))?;
            let mut args = Vec::new();
            loop {
                let v = cur.uint().map_err(|e| anyhow!("block `{}` at byte {}: {}", name, pos, e))?;
                args.push(v);
                cur.skip_ws();
                match cur.peek() {
                    Some(b',') => cur.pos += 1,
                    Some(b')') => {
                        cur.pos += 1;
                        break;
                    }
                    _ => bail!(
                        "block `{}` at byte {}: expected ',' or ')' at byte {}, found {}",
                        name,
                        pos,
                        cur.pos,
                        cur.found()
                    ),
                }
            }
            raw.push(RawBlock { name, pos, args });
        }
        if raw.len() != NUM_STAGES + 2 {
            bail!(
                "expected {} blocks (SuperConvK3BNRELU stem, {} SuperResIDWE stages, SuperConvK1BNRELU head), found {}",
                NUM_STAGES + 2,
                NUM_STAGES,
                raw.len()
            );
        }
        let ctx = |i: usize, r: &RawBlock| format!("{} `{}` at byte {}", block_label(i), r.name, r.pos);
        let conv = |i: usize, r: &RawBlock, want: &str, k: usize| -> Result<ConvBlock> {
            if r.name != want {
                bail!("{}: expected block name `{}`", ctx(i, r), want);
            }
            if r.args.len() != 4 {
                bail!("{}: expected 4 arguments (in,out,stride,layers), found {}", ctx(i, r), r.args.len());
            }
            Ok(ConvBlock {
                kernel: k,
                in_channels: r.args[0],
                out_channels: r.args[1],
                stride: r.args[2],
                layers: r.args[3],
            })
        };
        let stem = conv(0, &raw[0], "SuperConvK3BNRELU", 3)?;
        let head = conv(8, &raw[8], "SuperConvK1BNRELU", 1)?;
        let mut stages = Vec::with_capacity(NUM_STAGES);
        for (i, r) in raw.iter().enumerate().take(NUM_STAGES + 1).skip(1) {
            let (e, k) = parse_idw_name(&r.name).ok_or_else(|| {
                anyhow!(
                    "{}: unknown block name, expected SuperResIDWE{{e}}K{{k}} with e in {{1,2,4,6}} and k in {{3,5,7}}",
                    ctx(i, r)
                )
            })?;
            if r.args.len() != 5 {
                bail!("{}: expected 5 arguments (in,out,stride,bottleneck,layers), found {}", ctx(i, r), r.args.len());
            }
            stages.push(ResIdwBlock {
                expansion: e,
                kernel: k,
                in_channels: r.args[0],
                out_channels: r.args[1],
                stride: r.args[2],
                bottleneck: r.args[3],
                layers: r.args[4],
            });
        }
        let arch = Mbv2Arch { stem, stages, head, resolution: suffix.unwrap_or(default_res) };
        if let Err((idx, msg)) = arch.validate_inner() {
            match idx {
                Some(i) => bail!("{}: {}", ctx(i, &raw[i]), msg),
                None => bail!("{}", msg),
            }
        }
        Ok((arch, suffix))
    }

    /// Structural validation: stem is `SuperConvK3BNRELU(3,c0,2,1)`, exactly 7 stages with
    /// e ∈ {1,2,4,6}, k ∈ {3,5,7}, stride ∈ {1,2}, positive channels/bottleneck/layers, head is
    /// `SuperConvK1BNRELU(c7,c8,1,1)`, channels chain (each block's input = previous output),
    /// all values within [`MAX_CHANNELS`]/[`MAX_LAYERS`], resolution in `1..=`[`MAX_RESOLUTION`].
    /// Does not check search-space ranges (see [`Mbv2Arch::check_search_space`]).
    pub fn validate(&self) -> Result<()> {
        self.validate_inner().map_err(|(idx, msg)| match idx {
            Some(i) => anyhow!("{}: {}", block_label(i), msg),
            None => anyhow!("{}", msg),
        })
    }

    fn validate_inner(&self) -> std::result::Result<(), (Option<usize>, String)> {
        let ch = |v: usize, what: &str| -> std::result::Result<(), String> {
            if v == 0 || v > MAX_CHANNELS {
                Err(format!("{} must be in 1..={}, got {}", what, MAX_CHANNELS, v))
            } else {
                Ok(())
            }
        };
        if self.stages.len() != NUM_STAGES {
            return Err((None, format!("expected {} stages, found {}", NUM_STAGES, self.stages.len())));
        }
        if self.resolution == 0 || self.resolution > MAX_RESOLUTION {
            return Err((None, format!("resolution must be in 1..={}, got {}", MAX_RESOLUTION, self.resolution)));
        }
        let s = &self.stem;
        let check_stem = || -> std::result::Result<(), String> {
            if s.kernel != 3 || s.in_channels != 3 || s.stride != 2 || s.layers != 1 {
                return Err(format!("stem must be SuperConvK3BNRELU(3,c0,2,1), got {}", s));
            }
            ch(s.out_channels, "out_channels")
        };
        check_stem().map_err(|m| (Some(0), m))?;
        let mut prev = s.out_channels;
        for (i, b) in self.stages.iter().enumerate() {
            let check = || -> std::result::Result<(), String> {
                if !EXPANSIONS.contains(&b.expansion) {
                    return Err(format!("expansion e={} not in {{1,2,4,6}}", b.expansion));
                }
                if !KERNELS.contains(&b.kernel) {
                    return Err(format!("kernel k={} not in {{3,5,7}}", b.kernel));
                }
                ch(b.in_channels, "in_channels")?;
                ch(b.out_channels, "out_channels")?;
                ch(b.bottleneck, "bottleneck")?;
                if b.stride != 1 && b.stride != 2 {
                    return Err(format!("stride must be 1 or 2, got {}", b.stride));
                }
                if b.layers == 0 || b.layers > MAX_LAYERS {
                    return Err(format!("layers must be in 1..={}, got {}", MAX_LAYERS, b.layers));
                }
                if b.in_channels != prev {
                    return Err(format!(
                        "in_channels {} does not match the previous block's out_channels {}",
                        b.in_channels, prev
                    ));
                }
                Ok(())
            };
            check().map_err(|m| (Some(i + 1), m))?;
            prev = b.out_channels;
        }
        let h = &self.head;
        let check_head = || -> std::result::Result<(), String> {
            if h.kernel != 1 || h.stride != 1 || h.layers != 1 {
                return Err(format!("head must be SuperConvK1BNRELU(c7,c8,1,1), got {}", h));
            }
            ch(h.in_channels, "in_channels")?;
            ch(h.out_channels, "out_channels")?;
            if h.in_channels != prev {
                return Err(format!(
                    "in_channels {} does not match the previous block's out_channels {}",
                    h.in_channels, prev
                ));
            }
            Ok(())
        };
        check_head().map_err(|m| (Some(8), m))?;
        Ok(())
    }

    /// Canonical architecture string without resolution, in the reference's format
    /// (`SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(...)...SuperConvK1BNRELU(...)`).
    pub fn arch_string(&self) -> String {
        let mut s = self.stem.to_string();
        for b in &self.stages {
            s.push_str(&b.to_string());
        }
        s.push_str(&self.head.to_string());
        s
    }

    /// Widths `[c0, c1, ..., c8]` (stem output, 7 stage outputs, head output).
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.stem.out_channels];
        w.extend(self.stages.iter().map(|b| b.out_channels));
        w.push(self.head.out_channels);
        w
    }

    /// Strides of the 7 stages.
    pub fn strides(&self) -> Vec<usize> {
        self.stages.iter().map(|b| b.stride).collect()
    }
}

impl fmt::Display for Mbv2Arch {
    /// Canonical form: [`Mbv2Arch::arch_string`] followed by `@resolution`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.arch_string(), self.resolution)
    }
}

impl FromStr for Mbv2Arch {
    type Err = anyhow::Error;
    /// Same as [`Mbv2Arch::parse`].
    fn from_str(s: &str) -> Result<Self> {
        Mbv2Arch::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// layer plan and counters
// ---------------------------------------------------------------------------------------------

impl Mbv2Arch {
    /// Every convolution of the network in execution order, at [`Mbv2Arch::resolution`].
    ///
    /// Order: `Stem`; for each stage and sub-layer: `Expand`, `Depthwise`, `SeReduce`,
    /// `SeExpand`, `Project`, then `Shortcut` on the first sub-layer of each stage; finally
    /// `Head`. A sub-layer computes
    /// `y = relu(BN(Project(x_se)) + shortcut(x))` where `x_se = dw · sigmoid(BN(SeExpand(relu(BN(SeReduce(avgpool(dw)))))))`,
    /// `dw = relu(BN(Depthwise(relu(BN(Expand(x))))))`, and `shortcut(x) = BN(Shortcut(x))` on
    /// the first sub-layer, `x` otherwise. SE convs have `in_hw = out_hw = 1`. Every conv is
    /// followed by BN; only `Shortcut` has a bias. The classifier is [`Mbv2Arch::classifier`].
    pub fn layer_plan(&self) -> Vec<ConvSpec> {
        let mut plan = Vec::new();
        let mk = |role, stage, sublayer, cin: usize, cout: usize, k: usize, s: usize, groups, hw: usize, bias, act| {
            ConvSpec {
                role,
                stage,
                sublayer,
                in_channels: cin,
                out_channels: cout,
                kernel: k,
                stride: s,
                padding: k / 2,
                groups,
                in_hw: hw,
                out_hw: conv_out_size(hw, k, s),
                bias,
                bn: true,
                act,
            }
        };
        let st = &self.stem;
        let mut hw = self.resolution;
        let stem = mk(
            ConvRole::Stem,
            None,
            None,
            st.in_channels,
            st.out_channels,
            st.kernel,
            st.stride,
            1,
            hw,
            false,
            Activation::Relu,
        );
        hw = stem.out_hw;
        plan.push(stem);
        for (si, b) in self.stages.iter().enumerate() {
            let d = b.expanded();
            let se = se_channels(d);
            let mut cin = b.in_channels;
            let mut stride = b.stride;
            for li in 0..b.layers.min(MAX_LAYERS) {
                let (s, l) = (Some(si), Some(li));
                plan.push(mk(ConvRole::Expand, s, l, cin, d, 1, 1, 1, hw, false, Activation::Relu));
                let dw = mk(ConvRole::Depthwise, s, l, d, d, b.kernel, stride, d, hw, false, Activation::Relu);
                let out_hw = dw.out_hw;
                plan.push(dw);
                plan.push(mk(ConvRole::SeReduce, s, l, d, se, 1, 1, 1, 1, false, Activation::Relu));
                plan.push(mk(ConvRole::SeExpand, s, l, se, d, 1, 1, 1, 1, false, Activation::Sigmoid));
                plan.push(mk(ConvRole::Project, s, l, d, b.out_channels, 1, 1, 1, out_hw, false, Activation::None));
                if li == 0 {
                    plan.push(mk(
                        ConvRole::Shortcut,
                        s,
                        l,
                        cin,
                        b.out_channels,
                        1,
                        stride,
                        1,
                        hw,
                        true,
                        Activation::None,
                    ));
                }
                hw = out_hw;
                cin = b.out_channels;
                stride = 1;
            }
        }
        let h = &self.head;
        plan.push(mk(
            ConvRole::Head,
            None,
            None,
            h.in_channels,
            h.out_channels,
            h.kernel,
            h.stride,
            1,
            hw,
            false,
            Activation::Relu,
        ));
        plan
    }

    /// The classifier after global average pooling: `Linear(c8, num_classes)` with bias.
    pub fn classifier(&self, num_classes: usize) -> LinearSpec {
        LinearSpec { in_features: self.head.out_channels, out_features: num_classes, bias: true }
    }

    /// Trainable parameters of the network: conv weights (+ shortcut biases), BN γ and β of
    /// every BN (including SE and shortcut BNs), classifier weight and bias. Saturates at
    /// `u64::MAX`. MobileNetV2 (1000 classes): 4,465,880.
    pub fn params(&self, num_classes: usize) -> u64 {
        let mut p: u128 = self.layer_plan().iter().fold(0u128, |a, c| a.saturating_add(c.params()));
        let nc = num_classes as u128;
        p = p.saturating_add((self.head.out_channels as u128).saturating_mul(nc)).saturating_add(nc);
        u64::try_from(p).unwrap_or(u64::MAX)
    }

    /// Correct analytic FLOPs in multiply-accumulates at [`Mbv2Arch::resolution`]: all convs
    /// (including SE convs and shortcut projections) plus the classifier `c8·num_classes`;
    /// BN, activations, biases, SE scaling, residual adds and pooling are excluded.
    /// Saturates at `u64::MAX`.
    pub fn flops(&self, num_classes: usize) -> u64 {
        let mut f: u128 = self.layer_plan().iter().fold(0u128, |a, c| a.saturating_add(c.macs()));
        f = f.saturating_add((self.head.out_channels as u128).saturating_mul(num_classes as u128));
        u64::try_from(f).unwrap_or(u64::MAX)
    }

    /// Bit-exact reproduction of the reference `PlainNet.get_FLOPs()` (multiply-accumulates,
    /// with the reference's quirks: BN counted, SE scaling counted, the stride-2 projection
    /// divided by the stride twice, floor-propagated resolutions). Returns the same float as
    /// Python (a multiple of 1/4, exact in `f64`). MobileNetV2 @224 with 1000 classes:
    /// 277,036,312; the paper's 600M architecture: 591,710,478. See the module docs.
    pub fn flops_reference(&self, num_classes: usize) -> f64 {
        // Python ints are unbounded; u128 with saturation is exact for validated archs.
        let m = |a: u128, b: u128| a.saturating_mul(b);
        let mut total = 0f64;
        let mut res = self.resolution as u128;
        // SuperConvKXBNRELU: ConvKX + BN (+ RELU = 0) per sub-layer
        let conv_block = |blk: &ConvBlock, res: &mut u128| -> f64 {
            let mut f = 0f64;
            let mut cin = blk.in_channels as u128;
            let mut s = blk.stride.max(1) as u128;
            for _ in 0..blk.layers.min(MAX_LAYERS) {
                let cout = blk.out_channels as u128;
                let k2 = m(blk.kernel as u128, blk.kernel as u128);
                f += (m(m(m(cin, cout), k2), m(*res, *res)) / (s * s)) as f64; // ConvKX, groups = 1
                *res /= s;
                f += m(m(*res, *res), cout) as f64; // BN
                cin = cout;
                s = 1;
            }
            f
        };
        total += conv_block(&self.stem, &mut res);
        for b in &self.stages {
            let d = b.expanded() as u128;
            let se = se_channels(b.expanded()) as u128;
            let k2 = m(b.kernel as u128, b.kernel as u128);
            let cout = b.out_channels as u128;
            let mut cin = b.in_channels as u128;
            let mut s = b.stride.max(1) as u128;
            let mut block_f = 0f64; // SuperBlock accumulates in a float
            for li in 0..b.layers.min(MAX_LAYERS) {
                let mut f: u128 = 0; // ResBlock accumulates inner blocks as ints
                let out = res / s;
                let terms = [
                    m(m(cin, d), m(res, res)),          // ConvKX(cin, d, 1, 1)
                    m(m(res, res), d),                  // BN(d)
                    m(m(d, k2), m(res, res)) / (s * s), // ConvDW(d, k, s)
                    m(m(out, out), d),                  // BN(d)
                    m(d, se),                           // SE(d): in*se
                    m(se, d),                           //        se*out
                    d,                                  //        out
                    m(d, m(out, out)),                  //        out*H^2
                    m(m(d, cout), m(out, out)),         // ConvKX(d, cout, 1, 1)
                    m(m(out, out), cout),               // BN(cout)
                ];
                for t in terms {
                    f = f.saturating_add(t);
                }
                let mut ff = f as f64;
                if li == 0 {
                    // ResBlockProj: the_res is the output size, then divided by the stride again.
                    let r = out as f64 / s as f64;
                    ff += m(cin, cout) as f64 * (r * r) + (r * r) * cout as f64;
                }
                block_f += ff;
                res = out;
                cin = cout;
                s = 1;
            }
            total += block_f;
        }
        total += conv_block(&self.head, &mut res);
        total += m(self.head.out_channels as u128, num_classes as u128) as f64; // Linear: in*out
        total
    }

    /// The reference `PlainNet.get_model_size()`: like [`Mbv2Arch::params`] except that a
    /// plain `BN(C)` block counts `C` (not `2C`; the two BNs inside SE do count `2C`), the
    /// projection's BN is not counted (`in·out + out` for the projection conv + bias) and the
    /// classifier bias counts as 1. MobileNetV2 (1000 classes): 4,450,113.
    pub fn model_size_reference(&self, num_classes: usize) -> u64 {
        let mut p: u128 = 0;
        for c in self.layer_plan() {
            let out = c.out_channels as u128;
            let weights_and_bias = ConvSpec { bn: false, ..c }.params();
            let bn = match c.role {
                ConvRole::SeReduce | ConvRole::SeExpand => 2 * out, // SE.get_model_size: γ and β
                ConvRole::Shortcut => 0,                            // proj BN not counted
                _ => out,                                           // BN.get_model_size = C
            };
            p = p.saturating_add(weights_and_bias).saturating_add(bn);
        }
        p = p.saturating_add((self.head.out_channels as u128).saturating_mul(num_classes as u128)).saturating_add(1);
        u64::try_from(p).unwrap_or(u64::MAX)
    }

    /// Errors if [`Mbv2Arch::flops`]`(`[`IMAGENET_CLASSES`]`)` exceeds `limit` (MACs);
    /// `flops == limit` is accepted.
    pub fn check_flops(&self, limit: u64) -> Result<()> {
        let f = self.flops(IMAGENET_CLASSES);
        if f > limit {
            bail!(
                "architecture has {} FLOPs (MACs, {} classes, resolution {}), above the limit {}",
                f,
                IMAGENET_CLASSES,
                self.resolution,
                limit
            );
        }
        Ok(())
    }

    /// Checks membership in the search space: [`Mbv2Arch::validate`] plus widths/bottlenecks
    /// multiples of 8 within [`WIDTH_RANGES`]/[`BOTTLENECK_RANGES`], layers within
    /// [`LAYER_RANGES`], exactly [`NUM_STRIDE2_STAGES`] stride-2 stages, resolution in
    /// [`RESOLUTIONS`]. Does not check FLOPs.
    pub fn check_search_space(&self) -> Result<()> {
        self.validate()?;
        for (i, (&w, &(lo, hi))) in self.widths().iter().zip(WIDTH_RANGES.iter()).enumerate() {
            if w % 8 != 0 || w < lo || w > hi {
                bail!("width c{} = {} is not a multiple of 8 in [{}, {}]", i, w, lo, hi);
            }
        }
        for (i, b) in self.stages.iter().enumerate() {
            let (lo, hi) = BOTTLENECK_RANGES[i];
            if b.bottleneck % 8 != 0 || b.bottleneck < lo || b.bottleneck > hi {
                bail!("stage {}: bottleneck {} is not a multiple of 8 in [{}, {}]", i, b.bottleneck, lo, hi);
            }
            let (lo, hi) = LAYER_RANGES[i];
            if b.layers < lo || b.layers > hi {
                bail!("stage {}: layers {} not in [{}, {}]", i, b.layers, lo, hi);
            }
        }
        let n2 = self.stages.iter().filter(|b| b.stride == 2).count();
        if n2 != NUM_STRIDE2_STAGES {
            bail!("expected exactly {} stride-2 stages, found {}", NUM_STRIDE2_STAGES, n2);
        }
        if !RESOLUTIONS.contains(&self.resolution) {
            bail!("resolution {} not in {:?}", self.resolution, RESOLUTIONS);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// sampling and mutation
// ---------------------------------------------------------------------------------------------

fn draw_width<R: Rng + ?Sized>(rng: &mut R, (lo, hi): (usize, usize)) -> usize {
    smart_round(rng.gen_range(lo..=hi) as f64, 8)
}

fn draw_resolution<R: Rng + ?Sized>(rng: &mut R) -> usize {
    smart_round(rng.gen_range(RESOLUTION_RANGE.0..=RESOLUTION_RANGE.1) as f64, 32)
}

fn draw_ek<R: Rng + ?Sized>(rng: &mut R) -> (usize, usize) {
    // choose() on a non-empty const slice never returns None.
    let e = *EXPANSIONS.choose(rng).unwrap_or(&EXPANSIONS[0]);
    let k = *KERNELS.choose(rng).unwrap_or(&KERNELS[0]);
    (e, k)
}

fn assemble(
    c: &[usize; 9],
    b: &[usize; 7],
    l: &[usize; 7],
    e: &[usize; 7],
    k: &[usize; 7],
    s: &[usize; 7],
    res: usize,
) -> Mbv2Arch {
    let stages = (0..NUM_STAGES)
        .map(|i| ResIdwBlock {
            expansion: e[i],
            kernel: k[i],
            in_channels: c[i],
            out_channels: c[i + 1],
            stride: s[i],
            bottleneck: b[i],
            layers: l[i],
        })
        .collect();
    Mbv2Arch {
        stem: ConvBlock { kernel: 3, in_channels: 3, out_channels: c[0], stride: 2, layers: 1 },
        stages,
        head: ConvBlock { kernel: 1, in_channels: c[7], out_channels: c[8], stride: 1, layers: 1 },
        resolution: res,
    }
}

/// Draws one architecture from the search space without a FLOPs constraint, following the
/// reference `sample_arch`: widths/bottlenecks `smart_round(U{lo..=hi}, 8)`, layers, `e`, `k`
/// uniform, a uniform 4-subset of stages gets stride 2, resolution `smart_round(U{192..=320}, 32)`.
pub fn random_arch_unconstrained<R: Rng + ?Sized>(rng: &mut R) -> Mbv2Arch {
    let mut c = [0usize; 9];
    for (i, r) in WIDTH_RANGES.iter().enumerate() {
        c[i] = draw_width(rng, *r);
    }
    let mut b = [0usize; 7];
    for (i, r) in BOTTLENECK_RANGES.iter().enumerate() {
        b[i] = draw_width(rng, *r);
    }
    let mut l = [0usize; 7];
    for (i, &(lo, hi)) in LAYER_RANGES.iter().enumerate() {
        l[i] = rng.gen_range(lo..=hi);
    }
    let (mut e, mut k) = ([0usize; 7], [0usize; 7]);
    for i in 0..NUM_STAGES {
        let (ei, ki) = draw_ek(rng);
        e[i] = ei;
        k[i] = ki;
    }
    let mut s = [1usize; 7];
    for i in rand::seq::index::sample(rng, NUM_STAGES, NUM_STRIDE2_STAGES).iter() {
        s[i] = 2;
    }
    let res = draw_resolution(rng);
    assemble(&c, &b, &l, &e, &k, &s, res)
}

/// Samples architectures with [`random_arch_unconstrained`] until one has
/// [`Mbv2Arch::flops`]`(1000) <= flops_limit` (MACs, at its own resolution); errors after
/// [`MAX_ATTEMPTS`] rejected draws. Use [`DEFAULT_FLOPS_LIMIT`] for the paper's 600M budget.
pub fn random_arch<R: Rng + ?Sized>(rng: &mut R, flops_limit: u64) -> Result<Mbv2Arch> {
    for _ in 0..MAX_ATTEMPTS {
        let a = random_arch_unconstrained(rng);
        if a.flops(IMAGENET_CLASSES) <= flops_limit {
            return Ok(a);
        }
    }
    bail!("no architecture within {} FLOPs found in {} random draws", flops_limit, MAX_ATTEMPTS)
}

impl Mbv2Arch {
    /// Mutation of the reference `Evolved_NAS.mutate` (with `p = 1`): pick a stage `i`
    /// uniformly; redraw its `(e, k)` to a *different* pair; redraw its **input** width `c_i`
    /// (the stem output for `i = 0`, else the output of stage `i-1`, kept chained) from
    /// `WIDTH_RANGES[i]`, its bottleneck from `BOTTLENECK_RANGES[i]` and its layer count from
    /// `LAYER_RANGES[i]`; redraw the resolution. Strides, the stage's output width and all other
    /// stages are kept. The whole draw is repeated until [`Mbv2Arch::flops`]`(1000) <= flops_limit`;
    /// errors after [`MAX_ATTEMPTS`] draws or if `self` has fewer than 7 stages.
    pub fn mutate<R: Rng + ?Sized>(&self, rng: &mut R, flops_limit: u64) -> Result<Mbv2Arch> {
        if self.stages.len() != NUM_STAGES {
            bail!("cannot mutate: expected {} stages, found {}", NUM_STAGES, self.stages.len());
        }
        for _ in 0..MAX_ATTEMPTS {
            let i = rng.gen_range(0..NUM_STAGES);
            let old = self.stages[i];
            let (e, k) = loop {
                let ek = draw_ek(rng);
                if ek != (old.expansion, old.kernel) {
                    break ek;
                }
            };
            let c = draw_width(rng, WIDTH_RANGES[i]);
            let b = draw_width(rng, BOTTLENECK_RANGES[i]);
            let (lo, hi) = LAYER_RANGES[i];
            let l = rng.gen_range(lo..=hi);
            let res = draw_resolution(rng);
            let mut child = self.clone();
            if i == 0 {
                child.stem.out_channels = c;
            } else {
                child.stages[i - 1].out_channels = c;
            }
            let st = &mut child.stages[i];
            st.in_channels = c;
            st.expansion = e;
            st.kernel = k;
            st.bottleneck = b;
            st.layers = l;
            child.resolution = res;
            if child.flops(IMAGENET_CLASSES) <= flops_limit {
                return Ok(child);
            }
        }
        bail!("no mutation within {} FLOPs found in {} attempts", flops_limit, MAX_ATTEMPTS)
    }
}

// ---------------------------------------------------------------------------------------------
// REINFORCE encoding
// ---------------------------------------------------------------------------------------------

/// All `C(7,4) = 35` stride patterns: the sorted indices of the four stride-2 stages, in
/// lexicographic order (`[0,1,2,3]`, `[0,1,2,4]`, ..., `[3,4,5,6]`).
pub fn stride_patterns() -> Vec<[usize; 4]> {
    let mut v = Vec::with_capacity(35);
    for a in 0..7 {
        for b in a + 1..7 {
            for c in b + 1..7 {
                for d in c + 1..7 {
                    v.push([a, b, c, d]);
                }
            }
        }
    }
    v
}

/// The categorical decisions of the REINFORCE policy (39 in total), in this order (as the
/// reference `RL_NAS`, except that strides are one categorical):
/// * `c0..c8` (9): width option `j` ↦ `lo + 8j` over [`WIDTH_RANGES`] (sizes 5,5,5,5,7,23,23,49,177);
/// * `b0..b6` (7): bottleneck option `j` ↦ `lo + 8j` over [`BOTTLENECK_RANGES`];
/// * `l0..l6` (7): layers option `j` ↦ `lo + j` over [`LAYER_RANGES`];
/// * `e0..e6` (7): index into [`EXPANSIONS`]; `k0..k6` (7): index into [`KERNELS`];
/// * `resolution` (1): index into [`RESOLUTIONS`] (`192 + 32j`);
/// * `strides` (1): index into [`stride_patterns`] (35 options; the reference instead used four
///   7-way categoricals with rejection of duplicates).
pub fn choice_space() -> Vec<Choice> {
    let mut v = Vec::new();
    for (i, &(lo, hi)) in WIDTH_RANGES.iter().enumerate() {
        v.push(Choice { name: format!("c{}", i), num_options: (hi - lo) / 8 + 1 });
    }
    for (i, &(lo, hi)) in BOTTLENECK_RANGES.iter().enumerate() {
        v.push(Choice { name: format!("b{}", i), num_options: (hi - lo) / 8 + 1 });
    }
    for (i, &(lo, hi)) in LAYER_RANGES.iter().enumerate() {
        v.push(Choice { name: format!("l{}", i), num_options: hi - lo + 1 });
    }
    for i in 0..NUM_STAGES {
        v.push(Choice { name: format!("e{}", i), num_options: EXPANSIONS.len() });
    }
    for i in 0..NUM_STAGES {
        v.push(Choice { name: format!("k{}", i), num_options: KERNELS.len() });
    }
    v.push(Choice { name: "resolution".to_string(), num_options: RESOLUTIONS.len() });
    v.push(Choice { name: "strides".to_string(), num_options: 35 });
    v
}

impl Mbv2Arch {
    /// Builds an architecture from one option index per [`choice_space`] entry (same order).
    /// Errors on a wrong number of choices or an out-of-range index. No FLOPs check (use
    /// [`Mbv2Arch::check_flops`]).
    pub fn from_choices(choices: &[usize]) -> Result<Mbv2Arch> {
        let space = choice_space();
        if choices.len() != space.len() {
            bail!("expected {} choices, got {}", space.len(), choices.len());
        }
        for (j, (&x, ch)) in choices.iter().zip(space.iter()).enumerate() {
            if x >= ch.num_options {
                bail!("choice {} (`{}`) = {} out of range 0..{}", j, ch.name, x, ch.num_options);
            }
        }
        let mut it = choices.iter().copied();
        let mut next = || it.next().unwrap_or(0);
        let mut c = [0usize; 9];
        for (i, r) in WIDTH_RANGES.iter().enumerate() {
            c[i] = r.0 + 8 * next();
        }
        let mut b = [0usize; 7];
        for (i, r) in BOTTLENECK_RANGES.iter().enumerate() {
            b[i] = r.0 + 8 * next();
        }
        let mut l = [0usize; 7];
        for (i, r) in LAYER_RANGES.iter().enumerate() {
            l[i] = r.0 + next();
        }
        let mut e = [0usize; 7];
        for x in e.iter_mut() {
            *x = EXPANSIONS[next()];
        }
        let mut k = [0usize; 7];
        for x in k.iter_mut() {
            *x = KERNELS[next()];
        }
        let res = RESOLUTIONS[next()];
        let pat = stride_patterns()[next()];
        let mut s = [1usize; 7];
        for p in pat {
            s[p] = 2;
        }
        Ok(assemble(&c, &b, &l, &e, &k, &s, res))
    }

    /// Inverse of [`Mbv2Arch::from_choices`]; errors if the architecture is not in the search
    /// space (see [`Mbv2Arch::check_search_space`]).
    pub fn to_choices(&self) -> Result<Vec<usize>> {
        self.check_search_space()?;
        let mut v = Vec::with_capacity(39);
        for (w, r) in self.widths().iter().zip(WIDTH_RANGES.iter()) {
            v.push((w - r.0) / 8);
        }
        for (st, r) in self.stages.iter().zip(BOTTLENECK_RANGES.iter()) {
            v.push((st.bottleneck - r.0) / 8);
        }
        for (st, r) in self.stages.iter().zip(LAYER_RANGES.iter()) {
            v.push(st.layers - r.0);
        }
        for st in &self.stages {
            v.push(EXPANSIONS.iter().position(|&e| e == st.expansion).unwrap_or(0));
        }
        for st in &self.stages {
            v.push(KERNELS.iter().position(|&k| k == st.kernel).unwrap_or(0));
        }
        v.push(RESOLUTIONS.iter().position(|&r| r == self.resolution).unwrap_or(0));
        let idx: Vec<usize> = (0..NUM_STAGES).filter(|&i| self.stages[i].stride == 2).collect();
        let pos = stride_patterns()
            .iter()
            .position(|p| p[..] == idx[..])
            .ok_or_else(|| anyhow!("stride pattern {:?} not representable", idx))?;
        v.push(pos);
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const MBV2: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
    const A600: &str = "SuperConvK3BNRELU(3,48,2,1)SuperResIDWE2K7(48,32,2,40,2)SuperResIDWE2K7(32,32,2,48,3)SuperResIDWE6K7(32,64,1,40,3)SuperResIDWE6K7(64,88,2,40,4)SuperResIDWE6K7(88,104,1,56,6)SuperResIDWE6K5(104,152,2,192,6)SuperResIDWE6K5(152,240,1,136,2)SuperConvK1BNRELU(240,1264,1,1)";

    fn err(s: &str) -> String {
        format!("{:#}", Mbv2Arch::parse(s).unwrap_err())
    }

    #[test]
    fn reference_numbers_mobilenetv2() {
        let a = Mbv2Arch::parse(MBV2).unwrap();
        assert_eq!(a.resolution, 224);
        assert_eq!(a.flops_reference(1000), 277_036_312.0);
        assert_eq!(a.params(1000), 4_465_880);
        assert_eq!(a.model_size_reference(1000), 4_450_113);
    }

    #[test]
    fn reference_numbers_600m() {
        let a = Mbv2Arch::parse_with_resolution(A600, 224).unwrap();
        assert_eq!(a.flops_reference(1000), 591_710_478.0);
        assert_eq!(a.params(1000), 10_807_432);
        assert_eq!(a.model_size_reference(1000), 10_775_601);
    }

    #[test]
    fn correct_flops_first_principles() {
        // Independent hand formula for MobileNetV2 at 224.
        let a = Mbv2Arch::parse(MBV2).unwrap();
        let mut f: u64 = 112 * 112 * 32 * 3 * 9; // stem
        let mut hw = 112u64;
        for st in &a.stages {
            let d = st.expanded() as u64;
            let se = se_channels(st.expanded()) as u64;
            let (cout, k) = (st.out_channels as u64, st.kernel as u64);
            let mut cin = st.in_channels as u64;
            for li in 0..st.layers {
                let s = if li == 0 { st.stride as u64 } else { 1 };
                let out = (hw - 1) / s + 1;
                f += hw * hw * cin * d + out * out * d * k * k + 2 * d * se + out * out * d * cout;
                if li == 0 {
                    f += out * out * cin * cout;
                }
                hw = out;
                cin = cout;
            }
        }
        f += 7 * 7 * 320 * 1280 + 1280 * 1000;
        assert_eq!(a.flops(1000), f);
        // the reference under-counts stride-2 projections but adds BN/SE terms
        assert!((a.flops(1000) as f64 - a.flops_reference(1000)).abs() > 1.0);
        // layer plan: last conv is head at 7x7
        let plan = a.layer_plan();
        let last = plan.last().unwrap();
        assert_eq!((last.role, last.in_hw, last.out_hw), (ConvRole::Head, 7, 7));
        assert_eq!(plan.iter().filter(|c| c.role == ConvRole::Shortcut).count(), 7);
        assert_eq!(plan.iter().filter(|c| c.role == ConvRole::Depthwise).count(), 17);
    }

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

    #[test]
    fn round_trip_and_suffix() {
        let a = Mbv2Arch::parse(&format!("{}@256", MBV2)).unwrap();
        assert_eq!(a.resolution, 256);
        assert_eq!(a.arch_string(), MBV2);
        assert_eq!(a.to_string(), format!("{}@256", MBV2));
        let b: Mbv2Arch = a.to_string().parse().unwrap();
        assert_eq!(a, b);
        let spaced = MBV2.replace(")", ") \n").replace(",", " , ") + " @ 256 ";
        assert_eq!(Mbv2Arch::parse(&spaced).unwrap(), a);
        assert!(Mbv2Arch::parse_with_resolution(&format!("{}@256", MBV2), 224).is_err());
        assert_eq!(Mbv2Arch::parse_with_resolution(MBV2, 320).unwrap().resolution, 320);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Mbv2Arch>(&json).unwrap(), a);
    }

    #[test]
    fn malformed_strings() {
        // bad block name
        let e = err(&MBV2.replace("SuperResIDWE6K3(16,24", "SuperResIDWX6K3(16,24"));
        assert!(e.contains("stage 1") && e.contains("SuperResIDWX6K3") && e.contains("unknown block name"), "{}", e);
        let e = err(&MBV2.replace("SuperResIDWE6K3(16,24", "SuperResIDWE3K3(16,24"));
        assert!(e.contains("expansion e=3"), "{}", e);
        let e = err(&MBV2.replace("SuperResIDWE6K3(16,24", "SuperResIDWE6K4(16,24"));
        assert!(e.contains("kernel k=4"), "{}", e);
        let e = err(&MBV2.replace("SuperConvK3BNRELU", "SuperConvK5BNRELU"));
        assert!(e.contains("stem") && e.contains("SuperConvK3BNRELU"), "{}", e);
        // channels not chaining
        let e = err(&MBV2.replace("SuperResIDWE6K3(24,32,2,24,3)", "SuperResIDWE6K3(30,32,2,24,3)"));
        assert!(e.contains("stage 2") && e.contains("in_channels 30") && e.contains("out_channels 24"), "{}", e);
        let e = err(&MBV2.replace("SuperConvK1BNRELU(320", "SuperConvK1BNRELU(300"));
        assert!(e.contains("head") && e.contains("in_channels 300"), "{}", e);
        // wrong number of stages
        let e = err(&MBV2.replace("SuperResIDWE6K3(160,320,1,160,1)", ""));
        assert!(e.contains("expected 9 blocks") && e.contains("found 8"), "{}", e);
        // non-numeric
        let e = err(&MBV2.replace("(64,96,1,64,3)", "(64,9x,1,64,3)"));
        assert!(e.contains("expected ',' or ')'") && e.contains("byte"), "{}", e);
        let e = err(&MBV2.replace("(64,96,1,64,3)", "(64,abc,1,64,3)"));
        assert!(e.contains("expected an unsigned integer") && e.contains("'a'"), "{}", e);
        let e = err(&MBV2.replace("(64,96,1,64,3)", "(64,-96,1,64,3)"));
        assert!(e.contains("expected an unsigned integer"), "{}", e);
        // misc
        assert!(err("").contains("found 0"));
        assert!(err(&format!("{}@", MBV2)).contains("resolution suffix"));
        assert!(err(&format!("{}@224x", MBV2)).contains("trailing"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,1,64)")).contains("expected 5 arguments"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,3,64,3)")).contains("stride must be 1 or 2"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,1,64,0)")).contains("layers"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,99999999999999999999999,1,64,3)")).contains("too large"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,1,64,3")).contains("expected"));
        assert!(err(&format!("{}@0", MBV2)).contains("resolution"));
        assert!(err("héllo(1)").contains("expected"));
    }

    #[test]
    fn check_flops_limit() {
        let a = Mbv2Arch::parse(A600).unwrap();
        let f = a.flops(1000);
        assert!(a.check_flops(f).is_ok());
        let e = a.check_flops(f - 1).unwrap_err().to_string();
        assert!(e.contains("above the limit"), "{}", e);
        let big = Mbv2Arch::parse(&format!("{}@320", A600)).unwrap();
        assert!(big.check_flops(DEFAULT_FLOPS_LIMIT).is_err());
    }

    #[test]
    fn random_archs_in_space() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let a = random_arch(&mut rng, DEFAULT_FLOPS_LIMIT).unwrap();
            assert!(a.flops(1000) <= DEFAULT_FLOPS_LIMIT);
            a.check_search_space().unwrap();
            assert_eq!(a.strides().iter().filter(|&&s| s == 2).count(), 4);
            for (w, (lo, hi)) in a.widths().iter().zip(WIDTH_RANGES) {
                assert!(w % 8 == 0 && *w >= lo && *w <= hi);
            }
            for (st, (lo, hi)) in a.stages.iter().zip(BOTTLENECK_RANGES) {
                assert!(st.bottleneck % 8 == 0 && st.bottleneck >= lo && st.bottleneck <= hi);
            }
            let back = Mbv2Arch::parse(&a.to_string()).unwrap();
            assert_eq!(back, a);
            assert_eq!(Mbv2Arch::from_choices(&a.to_choices().unwrap()).unwrap(), a);
        }
        assert!(random_arch(&mut rng, 1000).is_err());
    }

    #[test]
    fn mutation() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..100 {
            let p = random_arch(&mut rng, DEFAULT_FLOPS_LIMIT).unwrap();
            let c = p.mutate(&mut rng, DEFAULT_FLOPS_LIMIT).unwrap();
            c.validate().unwrap();
            c.check_search_space().unwrap();
            assert!(c.flops(1000) <= DEFAULT_FLOPS_LIMIT);
            assert_eq!(c.strides(), p.strides());
            let changed: Vec<usize> = (0..7)
                .filter(|&i| (c.stages[i].expansion, c.stages[i].kernel) != (p.stages[i].expansion, p.stages[i].kernel))
                .collect();
            assert_eq!(changed.len(), 1);
            let i = changed[0];
            for j in 0..7 {
                if j != i {
                    let (a, b) = (c.stages[j], p.stages[j]);
                    assert_eq!((a.bottleneck, a.layers), (b.bottleneck, b.layers));
                    assert_eq!((a.expansion, a.kernel), (b.expansion, b.kernel));
                }
            }
            // only width c_i (input of stage i) may change
            let (wc, wp) = (c.widths(), p.widths());
            for j in 0..9 {
                if j != i {
                    assert_eq!(wc[j], wp[j]);
                }
            }
            assert!(RESOLUTIONS.contains(&c.resolution));
        }
        let a = Mbv2Arch::parse(MBV2).unwrap();
        assert!(a.mutate(&mut rng, 10).is_err());
    }

    #[test]
    fn determinism() {
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut out = Vec::new();
            for _ in 0..10 {
                let a = random_arch(&mut rng, DEFAULT_FLOPS_LIMIT).unwrap();
                let m = a.mutate(&mut rng, DEFAULT_FLOPS_LIMIT).unwrap();
                out.push(a.to_string());
                out.push(m.to_string());
            }
            out
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn choices() {
        let space = choice_space();
        assert_eq!(space.len(), 39);
        let sizes: Vec<usize> = space.iter().map(|c| c.num_options).collect();
        assert_eq!(&sizes[..9], &[5, 5, 5, 5, 7, 23, 23, 49, 177]);
        assert_eq!(stride_patterns().len(), 35);
        let zeros = vec![0usize; 39];
        let a = Mbv2Arch::from_choices(&zeros).unwrap();
        a.check_search_space().unwrap();
        assert_eq!(a.strides(), vec![2, 2, 2, 2, 1, 1, 1]);
        assert_eq!(a.resolution, 192);
        let maxes: Vec<usize> = sizes.iter().map(|n| n - 1).collect();
        let b = Mbv2Arch::from_choices(&maxes).unwrap();
        assert_eq!(b.strides(), vec![1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(b.widths()[8], 1536);
        assert_eq!(b.to_choices().unwrap(), maxes);
        assert!(Mbv2Arch::from_choices(&zeros[..38]).is_err());
        let mut bad = zeros.clone();
        bad[38] = 35;
        assert!(Mbv2Arch::from_choices(&bad).unwrap_err().to_string().contains("strides"));
        // out-of-space architectures are rejected cleanly
        let mut m = Mbv2Arch::parse(MBV2).unwrap();
        m.resolution = 200;
        assert!(m.to_choices().is_err());
    }

    #[test]
    fn no_panic_on_hand_built_garbage() {
        let mut a = Mbv2Arch::parse(MBV2).unwrap();
        a.stages[2].stride = 0;
        a.stages[3].in_channels = usize::MAX;
        a.resolution = 0;
        assert!(a.validate().is_err());
        let _ = (a.flops(1000), a.params(1000), a.flops_reference(1000), a.model_size_reference(1000));
        a.stages.pop();
        assert!(a.validate().is_err());
        let _ = (a.flops(1000), a.params(1000), a.flops_reference(1000));
        assert!(a.mutate(&mut ChaCha8Rng::seed_from_u64(0), DEFAULT_FLOPS_LIMIT).is_err());
    }
}
