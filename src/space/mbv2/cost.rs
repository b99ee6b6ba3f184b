//! Layer plan and counters: params, analytic FLOPs (MACs) and the reference `get_FLOPs` /
//! `get_model_size` (see the module docs, "Counters"), FLOPs and search-space checks.

use anyhow::{bail, Result};

use super::{
    conv_out_size, se_channels, Activation, ConvBlock, ConvRole, ConvSpec, LinearSpec, Mbv2Arch, BOTTLENECK_RANGES,
    IMAGENET_CLASSES, LAYER_RANGES, MAX_LAYERS, NUM_STRIDE2_STAGES, RESOLUTIONS, WIDTH_RANGES,
};

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

    /// Output values of all convolutions for one image at [`Mbv2Arch::resolution`]
    /// (`out_channels × out_hw²` summed over [`Mbv2Arch::layer_plan`]): a lower bound on
    /// the activation values a forward pass holds per image. Saturates at `u64::MAX`.
    pub fn conv_output_values(&self) -> u64 {
        let v = self.layer_plan().iter().fold(0u128, |a, c| {
            a.saturating_add((c.out_channels as u128).saturating_mul(c.out_hw as u128 * c.out_hw as u128))
        });
        u64::try_from(v).unwrap_or(u64::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::mbv2::tests::{A600, MBV2};
    use crate::space::mbv2::DEFAULT_FLOPS_LIMIT;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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
