//! The REINFORCE encoding: one categorical decision per [`Choice`] (reference `RL_NAS`).

use anyhow::{anyhow, bail, Result};

use super::sample::assemble;
use super::{
    Choice, Mbv2Arch, BOTTLENECK_RANGES, EXPANSIONS, KERNELS, LAYER_RANGES, NUM_STAGES, RESOLUTIONS, WIDTH_RANGES,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::mbv2::tests::MBV2;

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
}
