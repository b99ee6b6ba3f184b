//! WRCor and its unweighted siblings (Jing et al. 2025, arXiv 2507.08841, Eq. for K and
//! the score), plus the reference code's variant.
//!
//! For each ReLU site s in layer l(s), with forward response A_s (the ReLU input,
//! [N, D] after flattening) and backward response G_s (∂L/∂ReLU-input of that site,
//! mean cross-entropy, true labels), C(·) the N×N Pearson correlation over samples
//! (f64, numpy's corrcoef):
//!
//! * `wrcor` = log|det Σ_s 2^{l(s)} (|C(A_s)| + |C(G_s)|)|
//! * `rcor`  = same with all weights 1; `acor` forward terms only; `gcor` backward only.
//! * `wrcor_official` = the public reference code's hook set (golden README quirks 1–6):
//!   each ReLU inside a ReLU-Conv-BN op is counted a second time, with the same forward
//!   response and, as backward response, ∂L/∂(conv output); the final ReLU's forward
//!   response is its output (in-place ReLU).
//!
//! Matrices with a NaN (constant rows: zero-op outputs, zero gradients) are skipped; an
//! empty or singular K scores −inf.

use super::corr::{corrcoef_many, has_nan_many, KernelSum};
use super::pass::Responses;
use std::collections::HashMap;
use tch::Tensor;

/// Which WRCor-family score to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The paper's WRCor (weights 2^l, forward and backward).
    Wrcor,
    /// Unweighted forward + backward.
    Rcor,
    /// Unweighted forward only.
    Acor,
    /// Unweighted backward only.
    Gcor,
    /// The reference code's `act_grad_cor_weighted`.
    WrcorOfficial,
}

/// Correlation matrices of one response pass, computed once and shared by variants.
#[derive(Default)]
pub struct CorrCache {
    fwd: HashMap<(usize, bool), (Tensor, bool)>,
    bwd: HashMap<usize, (Tensor, bool)>,
    wrap: HashMap<usize, (Tensor, bool)>,
}

/// Which cache entry a correlation matrix fills.
#[derive(Clone, Copy)]
enum Slot {
    /// Forward response of a tensor (`ReluSite::key`), post-ReLU or not.
    Fwd(usize, bool),
    /// Backward response of ReLU site i.
    Bwd(usize),
    /// Wrapper conv-output gradient of ReLU site i (reference WRCor).
    Wrap(usize),
}

impl CorrCache {
    fn has(&self, slot: Slot) -> bool {
        match slot {
            Slot::Fwd(key, post) => self.fwd.contains_key(&(key, post)),
            Slot::Bwd(i) => self.bwd.contains_key(&i),
            Slot::Wrap(i) => self.wrap.contains_key(&i),
        }
    }

    fn insert(&mut self, slot: Slot, entry: (Tensor, bool)) {
        match slot {
            Slot::Fwd(key, post) => self.fwd.insert((key, post), entry),
            Slot::Bwd(i) => self.bwd.insert(i, entry),
            Slot::Wrap(i) => self.wrap.insert(i, entry),
        };
    }

    /// Computes, all at once ([`corrcoef_many`]: the matrices are shared out among the
    /// threads), every correlation matrix that `v` needs and the cache lacks.
    fn fill(&mut self, r: &Responses, v: Variant) {
        let (use_fwd, use_bwd) = uses(v);
        let official = v == Variant::WrcorOfficial;
        let mut todo: Vec<(Slot, Tensor)> = Vec::new();
        let mut fwd_seen = std::collections::HashSet::new();
        for (i, s) in r.rec.relus.iter().enumerate() {
            if use_fwd {
                let post = official && s.is_final;
                if !self.has(Slot::Fwd(s.key, post)) && fwd_seen.insert((s.key, post)) {
                    let t = if post { s.input.detach().relu() } else { s.input.detach() };
                    todo.push((Slot::Fwd(s.key, post), t));
                }
            }
            if use_bwd {
                let mut want = |slot: Slot, g: Option<&Tensor>| match g {
                    _ if self.has(slot) => {}
                    Some(g) => todo.push((slot, g.shallow_clone())),
                    // A missing gradient (unreachable site) counts as all-zero, i.e. a NaN
                    // matrix that is skipped.
                    None => self.insert(slot, (Tensor::zeros([1], (tch::Kind::Double, tch::Device::Cpu)), true)),
                };
                want(Slot::Bwd(i), r.relu_grads.get(i).and_then(|g| g.as_ref()));
                if official && s.wrapped {
                    want(Slot::Wrap(i), r.wrapper_grads.get(i).and_then(|g| g.as_ref()));
                }
            }
        }
        let refs: Vec<&Tensor> = todo.iter().map(|t| &t.1).collect();
        let cs = corrcoef_many(&refs);
        let nans = has_nan_many(&cs);
        for (((slot, _), c), nan) in todo.iter().zip(cs).zip(nans) {
            self.insert(*slot, (c, nan));
        }
    }
}

/// (uses forward responses, uses backward responses)
fn uses(v: Variant) -> (bool, bool) {
    match v {
        Variant::Acor => (true, false),
        Variant::Gcor => (false, true),
        _ => (true, true),
    }
}

/// Computes a WRCor-family score from a response pass that recorded ReLU inputs (and
/// their gradients, and wrapper outputs for `WrcorOfficial`).
pub fn score(r: &Responses, v: Variant, cache: &mut CorrCache) -> f64 {
    let (use_fwd, use_bwd) = uses(v);
    cache.fill(r, v);
    let weighted = matches!(v, Variant::Wrcor | Variant::WrcorOfficial);
    let official = v == Variant::WrcorOfficial;
    let mut k = KernelSum::default();
    // Forward: group sites reading the same tensor so each matrix is computed once.
    if use_fwd {
        let mut order: Vec<(usize, bool, usize)> = Vec::new(); // (site, post_relu, count) in first-seen order
        let mut groups: HashMap<(usize, bool, usize), usize> = HashMap::new();
        for (i, s) in r.rec.relus.iter().enumerate() {
            let post = official && s.is_final;
            let count = if official && s.wrapped { 2 } else { 1 };
            let g = (s.key, post, s.layer);
            match groups.get(&g) {
                Some(&j) => order[j].2 += count,
                None => {
                    groups.insert(g, order.len());
                    order.push((i, post, count));
                }
            }
        }
        for (i, post, count) in order {
            let w = if weighted { (2f64).powi(r.rec.relus[i].layer as i32) } else { 1.0 };
            let (c, nan) = &cache.fwd[&(r.rec.relus[i].key, post)];
            k.add(c, *nan, w, count);
        }
    }
    if use_bwd {
        for (i, s) in r.rec.relus.iter().enumerate().rev() {
            let w = if weighted { (2f64).powi(s.layer as i32) } else { 1.0 };
            let (c, nan) = &cache.bwd[&i];
            k.add(c, *nan, w, 1);
            if official && s.wrapped {
                let (c, nan) = &cache.wrap[&i];
                k.add(c, *nan, w, 1);
            }
        }
    }
    k.score()
}
