//! NASWOT (Mellor et al., ICML 2021, "Neural Architecture Search without Training", v2):
//! binary codes c = 1\[ReLU input > 0\] per site, K = Σ_sites c·cᵀ + (1−c)(1−c)ᵀ,
//! score = log|det K|.
//!
//! `naswot` uses the reference WRCor code's name-matched site set (each ReLU-Conv-BN
//! input counted twice, golden README quirk 9), which is how the published NAS-Bench-201
//! NASWOT numbers were made; `naswot_paper` counts each genuine ReLU once. Counts are exact
//! integers (computed in f32 below 2^24, accumulated in f64); nothing is skipped.

use super::corr::logabsdet;
use super::pass::Responses;
use std::collections::HashMap;
use tch::{Kind, Tensor};

/// K for one site's input `x` [N, ...]: `c cᵀ + (1−c)(1−c)ᵀ` in f64.
pub fn hamming_kernel(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let c = x.detach().reshape([n, -1]).gt(0.0).to_kind(Kind::Float);
    let d = c.size()[1] as f64;
    let k1 = c.mm(&c.tr()).to_kind(Kind::Double);
    let r = c.sum_dim_intlist(1, false, Kind::Double);
    // (1−c)(1−c)ᵀ = D − r_i − r_j + c cᵀ
    &k1 * 2.0 - r.unsqueeze(1) - r.unsqueeze(0) + d
}

/// The NASWOT score; `duplicates` selects the reference (name-matched) site set.
pub fn score(r: &Responses, duplicates: bool) -> f64 {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for (i, s) in r.rec.relus.iter().enumerate() {
        let c = if duplicates && s.wrapped { 2 } else { 1 };
        match seen.get(&s.key) {
            Some(&j) => counts[j].1 += c,
            None => {
                seen.insert(s.key, counts.len());
                counts.push((i, c));
            }
        }
    }
    let mut k: Option<Tensor> = None;
    for (i, c) in counts {
        let t = hamming_kernel(&r.rec.relus[i].input) * c as f64;
        k = Some(match k {
            None => t,
            Some(k) => k + t,
        });
    }
    match k {
        None => f64::NEG_INFINITY,
        Some(k) => logabsdet(&k),
    }
}
