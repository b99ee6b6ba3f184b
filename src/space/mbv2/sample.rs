//! Sampling and mutation (reference `NAS.sample_arch` / `Evolved_NAS.mutate`).

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::Rng;

use super::{
    smart_round, ConvBlock, Mbv2Arch, ResIdwBlock, BOTTLENECK_RANGES, EXPANSIONS, IMAGENET_CLASSES, KERNELS,
    LAYER_RANGES, MAX_ATTEMPTS, NUM_STAGES, NUM_STRIDE2_STAGES, RESOLUTION_RANGE, WIDTH_RANGES,
};

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

pub(super) fn assemble(
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
/// [`MAX_ATTEMPTS`] rejected draws. Use [`DEFAULT_FLOPS_LIMIT`](super::DEFAULT_FLOPS_LIMIT) for the paper's 600M budget.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::mbv2::tests::MBV2;
    use crate::space::mbv2::{DEFAULT_FLOPS_LIMIT, RESOLUTIONS};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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
}
