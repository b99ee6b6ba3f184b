//! The MobileNetV2-like network of the Zen-NAS / ZSNAS-WRCor search space for one
//! [`Mbv2Arch`], built as the reference `PlainNet(plainnet_struct, use_se=True)` of
//! ZSNAS-WRCor (`foresight/models/MobileNetV2.py`, blocks in `MobileNetV2_ops/`), following
//! [`Mbv2Arch::layer_plan`] conv by conv (so parameter counts and MACs agree with
//! [`Mbv2Arch::params`] and [`Mbv2Arch::flops`]).
//!
//! # Structure
//!
//! * the input [N, 3, H, W] is resized bilinearly (`align_corners = false`) to
//!   `resolution`×`resolution` when its spatial size differs (the reference calls
//!   `F.interpolate(x, input_resolution, mode='bilinear')` on every forward);
//! * stem: conv3×3 stride 2 (no bias) + BN + ReLU;
//! * 7 stages of inverted-residual sub-layers: conv1×1 `in→d` + BN + ReLU; depthwise k×k
//!   (stride on the first sub-layer) + BN + ReLU; squeeze-excitation (global average pool,
//!   conv1×1 `d→r` + BN + ReLU, conv1×1 `r→d` + BN + sigmoid, multiply); conv1×1 `d→c_out`
//!   and BN; plus the shortcut, then ReLU. The first sub-layer of a stage has a projection
//!   shortcut (conv1×1 with stride and **bias** + BN), later ones the identity;
//! * head: conv1×1 (no bias) + BN + ReLU; global average pool; linear `c8→num_classes`.
//!
//! All convs are bias-free except the shortcut projections; BatchNorm ε = 1e-3 (the
//! reference sets it on every BN), momentum 0.1. Features: [N, c8, h, h] with
//! h = ⌈resolution/2^(1+#stride-2 stages)⌉ (7 at 224 with 4 stride-2 stages); logits
//! [N, num_classes]. Initialisation: PyTorch defaults (the reference does not re-initialise),
//! with parameters created in the reference's construction order, so after
//! `tch::manual_seed(s)` they should equal the reference's after `torch.manual_seed(s)`
//! (not separately checked against PyTorch).
//!
//! A BN in training mode needs more than one value per channel, so the SE BNs (on 1×1
//! maps) need a batch of at least 2 in training mode, as in PyTorch.
//!
//! # Parameter names (the reference's state-dict names)
//!
//! * stem: `module_list.0.module_list.{0,1}.netblock` (conv, BN);
//! * stage `s` (0..7), sub-layer `l`: prefix `module_list.{s+1}.module_list.{2l}.`, then
//!   `module_list.{0,1}.netblock` (expand conv, BN), `module_list.{3,4}.netblock`
//!   (depthwise conv, BN), `module_list.6.netblock.{1,2,4,5}` (SE conv, BN, conv, BN),
//!   `module_list.{7,8}.netblock` (project conv, BN), and for `l = 0` `proj.{0,1}`
//!   (shortcut conv with bias, BN);
//! * head: `module_list.8.module_list.{0,1}.netblock`; classifier: `fc_linear.netblock`.
//!
//! # WRCor layer indices
//!
//! The block index in the reference's `module_list`: stem 0, stage `s` → `s + 1` (1..=7),
//! head [`MBV2_HEAD_LAYER`] = 8. Every ReLU inside a block (expand, depthwise, the SE ReLU,
//! and the ReLU after each residual addition) uses the block's index; the head ReLU is
//! an ordinary site (not in-place in the reference, so no post-ReLU quirk).

use super::ops::{conv_weight, BatchNorm, Conv, Linear};
use crate::net::recorder::Recorder;
use crate::space::mbv2::{ConvRole, ConvSpec, Mbv2Arch, NUM_STAGES};
use anyhow::{bail, Result};
use tch::{nn, nn::Init, Tensor};

/// BatchNorm ε of this space (the reference sets `eps = 1e-3` on every BN).
pub const MBV2_BN_EPS: f64 = 1e-3;

/// Layer index of the stem in the WRCor layer list.
pub const MBV2_STEM_LAYER: usize = 0;

/// Layer index of the head conv-BN-ReLU (after the 7 stages) in the WRCor layer list.
pub const MBV2_HEAD_LAYER: usize = NUM_STAGES + 1;

/// A Conv2d with bias (PyTorch default init: weight as [`conv_weight`], bias
/// uniform(±1/√fan_in)), used for the shortcut projections.
#[derive(Debug)]
struct ConvBias {
    weight: Tensor,
    bias: Tensor,
    stride: i64,
}

impl ConvBias {
    /// 1×1 conv at `p` (`p/weight`, `p/bias`), padding 0.
    fn new(p: &nn::Path, in_c: i64, out_c: i64, stride: i64) -> Self {
        let weight = conv_weight(p, out_c, in_c, 1);
        let b = 1.0 / (in_c as f64).sqrt();
        let bias = p.var("bias", &[out_c], Init::Uniform { lo: -b, up: b });
        ConvBias { weight, bias, stride }
    }

    /// Output (bias included) passed through `rec.layer_out`.
    fn forward(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let y = x.conv2d(&self.weight, Some(&self.bias), [self.stride; 2], [0, 0], [1, 1], 1);
        rec.layer_out_with_bias(y, self.weight.size()[1], true)
    }
}

/// A conv followed by BN.
#[derive(Debug)]
struct ConvBn {
    conv: Conv,
    bn: BatchNorm,
}

impl ConvBn {
    /// Conv `in_c→out_c` (k×k, stride, padding k/2, groups) at `conv_p`, BN at `bn_p`.
    #[allow(clippy::too_many_arguments)]
    fn new(
        conv_p: &nn::Path,
        bn_p: &nn::Path,
        in_c: usize,
        out_c: usize,
        k: usize,
        stride: usize,
        groups: usize,
    ) -> Self {
        let (in_c, out_c, k, stride, groups) =
            (in_c as i64, out_c as i64, k as i64, stride as i64, groups.max(1) as i64);
        let conv = Conv::new(conv_p, in_c, out_c, k, stride, k / 2, groups);
        ConvBn { conv, bn: BatchNorm::new(bn_p, out_c, MBV2_BN_EPS) }
    }

    /// The conv of a [`ConvSpec`] from [`Mbv2Arch::layer_plan`].
    fn from_spec(conv_p: &nn::Path, bn_p: &nn::Path, c: &ConvSpec) -> Self {
        Self::new(conv_p, bn_p, c.in_channels, c.out_channels, c.kernel, c.stride, c.groups)
    }

    fn forward(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let y = self.conv.forward(x, rec);
        self.bn.forward(&y, rec)
    }
}

/// One inverted-residual sub-layer.
#[derive(Debug)]
struct SubLayer {
    expand: ConvBn,
    depthwise: ConvBn,
    se_reduce: ConvBn,
    se_expand: ConvBn,
    project: ConvBn,
    shortcut: Option<(ConvBias, BatchNorm)>,
}

impl SubLayer {
    fn forward(&self, x: &Tensor, layer: usize, rec: &mut Recorder) -> Tensor {
        let e = self.expand.forward(x, rec);
        let e = rec.relu(&e, layer);
        let d = self.depthwise.forward(&e, rec);
        let d = rec.relu(&d, layer);
        // SE: se_x * x
        let g = d.adaptive_avg_pool2d([1, 1]);
        let g = self.se_reduce.forward(&g, rec);
        let g = rec.relu(&g, layer);
        let g = self.se_expand.forward(&g, rec).sigmoid();
        let s = g * &d;
        let out = self.project.forward(&s, rec);
        let sum = match &self.shortcut {
            Some((conv, bn)) => {
                let r = conv.forward(x, rec);
                out + bn.forward(&r, rec)
            }
            None => out + x,
        };
        rec.relu(&sum, layer)
    }
}

/// The MobileNetV2-like network for one architecture. Input [N, 3, H, W] (resized to the
/// architecture's resolution), logits [N, num_classes]. See the module docs.
#[derive(Debug)]
pub struct Mbv2Net {
    resolution: i64,
    stem: ConvBn,
    stages: Vec<Vec<SubLayer>>,
    head: ConvBn,
    classifier: Linear,
}

impl Mbv2Net {
    /// Validates `arch` ([`Mbv2Arch::validate`]) and builds the network under `p`.
    pub fn try_new(p: &nn::Path, arch: &Mbv2Arch, num_classes: i64) -> Result<Self> {
        arch.validate()?;
        if num_classes < 1 {
            bail!("num_classes must be positive, got {num_classes}");
        }
        Ok(Self::new(p, arch, num_classes))
    }

    /// Builds the network under `p` from [`Mbv2Arch::layer_plan`], in the reference's
    /// construction order. `arch` should pass [`Mbv2Arch::validate`] (use
    /// [`Mbv2Net::try_new`] for unchecked input): for an invalid architecture, building
    /// succeeds but the forward pass may fail.
    pub fn new(p: &nn::Path, arch: &Mbv2Arch, num_classes: i64) -> Self {
        let ml = p / "module_list";
        let st = &arch.stem;
        let q = &ml / 0 / "module_list";
        let stem = ConvBn::new(
            &(&q / 0 / "netblock"),
            &(&q / 1 / "netblock"),
            st.in_channels,
            st.out_channels,
            st.kernel,
            st.stride,
            1,
        );
        // The stage convs of the plan come as complete sub-layers: Expand, Depthwise,
        // SeReduce, SeExpand, Project, then Shortcut on the first sub-layer.
        let plan = arch.layer_plan();
        let mut stages: Vec<Vec<SubLayer>> = (0..arch.stages.len()).map(|_| Vec::new()).collect();
        let mut i = 0;
        while i < plan.len() {
            let c = &plan[i];
            match (c.role, c.stage, c.sublayer) {
                (ConvRole::Expand, Some(s), Some(l)) if i + 4 < plan.len() && s < stages.len() => {
                    let blk = &ml / (s + 1) / "module_list" / (2 * l);
                    let inner = &blk / "module_list";
                    let m = |k: usize| &inner / k / "netblock";
                    let se = |part: usize| &inner / 6 / "netblock" / part;
                    let expand = ConvBn::from_spec(&m(0), &m(1), c);
                    let depthwise = ConvBn::from_spec(&m(3), &m(4), &plan[i + 1]);
                    let se_reduce = ConvBn::from_spec(&se(1), &se(2), &plan[i + 2]);
                    let se_expand = ConvBn::from_spec(&se(4), &se(5), &plan[i + 3]);
                    let project = ConvBn::from_spec(&m(7), &m(8), &plan[i + 4]);
                    i += 5;
                    let shortcut = match plan.get(i) {
                        Some(sc) if sc.role == ConvRole::Shortcut => {
                            i += 1;
                            let pr = &blk / "proj";
                            let (cin, cout) = (sc.in_channels as i64, sc.out_channels as i64);
                            let conv = ConvBias::new(&(&pr / 0), cin, cout, sc.stride as i64);
                            Some((conv, BatchNorm::new(&(&pr / 1), cout, MBV2_BN_EPS)))
                        }
                        _ => None,
                    };
                    stages[s].push(SubLayer { expand, depthwise, se_reduce, se_expand, project, shortcut });
                }
                // Stem and head are built from `arch` directly.
                _ => i += 1,
            }
        }
        let h = &arch.head;
        let q = &ml / (arch.stages.len() + 1) / "module_list";
        let head = ConvBn::new(
            &(&q / 0 / "netblock"),
            &(&q / 1 / "netblock"),
            h.in_channels,
            h.out_channels,
            h.kernel,
            h.stride,
            1,
        );
        let classifier = Linear::new(&(p / "fc_linear" / "netblock"), h.out_channels as i64, num_classes);
        Mbv2Net { resolution: arch.resolution as i64, stem, stages, head, classifier }
    }

    /// Input resolution the network resizes to.
    pub fn resolution(&self) -> i64 {
        self.resolution
    }

    /// Features after the head's BN+ReLU, before global pooling: [N, c8, h, h]. Block
    /// features (see [`Recorder::feature`]): the stem output, then each sub-layer's output.
    pub fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let s = x.size();
        let r = self.resolution;
        let x = if s.len() == 4 && (s[2] != r || s[3] != r) {
            x.upsample_bilinear2d([r, r], false, None::<f64>, None::<f64>)
        } else {
            x.shallow_clone()
        };
        let y = self.stem.forward(&x, rec);
        let mut h = rec.relu(&y, MBV2_STEM_LAYER);
        h = rec.feature(h);
        for (si, stage) in self.stages.iter().enumerate() {
            for sub in stage {
                let y = sub.forward(&h, si + 1, rec);
                h = rec.feature(y);
            }
        }
        let y = self.head.forward(&h, rec);
        rec.relu(&y, self.stages.len() + 1)
    }

    /// Logits [N, num_classes] from features: global average pool, flatten, classifier.
    pub fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor {
        let g = f.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        self.classifier.forward(&g, rec)
    }
}
