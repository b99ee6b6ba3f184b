//! Rank aggregation of proxies over a population (AZ-NAS, Lee & Ham, CVPR 2024, Eq. 8):
//! each member proxy ranks the m architectures (rank 1 = worst, ties averaged, as
//! `scipy.stats.rankdata`), and an architecture's aggregate is
//!
//! * `logrank`: Σ_k ln(rank_k / m) (AZ-NAS's form; ≤ 0, higher is better), or
//! * `meanrank`: (1/K) Σ_k rank_k / m (in (0, 1], higher is better; a two-stage
//!   aggregate's top k lie above its first stage's maximum, below).
//!
//! A member written `-name` is lower-is-better (its ranks are reversed); a member written
//! `name*w` (w a positive number, default 1) is weighted: `logrank` sums w_k ln(rank_k/m),
//! `meanrank` takes the w-weighted mean. Non-finite member
//! scores (NaN, ±inf, missing) rank last, tied among themselves. An aggregate's value for
//! one architecture depends on the population it is ranked in: `correlate` ranks the whole
//! scored set, a search ranks against every architecture it has evaluated so far.
//!
//! **Two stages.** A member list may hold one marker `topP%` (0 < P ≤ 100): the members
//! before it rank the population as above; the best ⌈P·m/100⌉ architectures by that
//! aggregate (at least one; ties at the cut kept in population order) are then ordered
//! among themselves by the aggregate of the members after it, ranked within those k only,
//! and placed above all others: their value is the first stage's maximum plus r/k, r their
//! rank (1..k, ties averaged) in the second stage. Below the cut the first stage's values stand, so the order
//! of the other m − k architectures, and Spearman ρ over them, is unchanged. Example:
//! `logrank:jacob_cov,params_live,meco,top5%,zen_nas`, the nb201 `rank` (a
//! filter-then-select ranker: a good global ranker keeps the top 5 %, a proxy that is poor
//! globally but good at the top picks among them). In a search the cut is taken over every architecture evaluated
//! so far.
//!
//! Named aggregates: `rank`, zsnas's default ranker, per space (see [`Aggregate::named`]).

use super::{Proxy, ScoreMap};
use crate::space::SpaceKind;
use anyhow::{bail, Result};

/// How member ranks are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateKind {
    /// Σ ln(rank/m).
    LogRank,
    /// mean of rank/m.
    MeanRank,
}

/// An aggregate of proxies.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// Display name (`rank`, or `logrank:a,b`).
    pub name: String,
    /// The combination.
    pub kind: AggregateKind,
    /// Members and whether higher is better.
    pub members: Vec<(Proxy, bool)>,
    /// Each member's weight (positive, finite; 1 unless written `name*w`).
    pub weights: Vec<f64>,
    /// The second stage (`topP%` in the member list), if any: see the module docs.
    pub then: Option<Box<Refine>>,
}

/// The second stage of a two-stage aggregate (module docs): the best `percent` % by the
/// first stage are re-ordered by the aggregate (same kind) of `members`.
#[derive(Clone, Debug, PartialEq)]
pub struct Refine {
    /// The share of the population kept by the first stage, in % (0 < P ≤ 100).
    pub percent: f64,
    /// Second-stage members and whether higher is better.
    pub members: Vec<(Proxy, bool)>,
    /// Their weights.
    pub weights: Vec<f64>,
}

/// Member weights are limited to [1e-6, 1e6], so that no weighted sum of log-ranks (each
/// ≥ −ln m) or of rank fractions can overflow.
pub const MIN_WEIGHT: f64 = 1e-6;
/// See [`MIN_WEIGHT`].
pub const MAX_WEIGHT: f64 = 1e6;

/// The named aggregates: name and one-line definition (per space where they differ).
pub const NAMED: [(&str, &str); 2] = [
    ("rank", "the default ranker: nb201 logrank:jacob_cov,params_live,meco,top5%,zen_nas; nb101 and mbv2 logrank:wrcor,synflow"),
    ("az_nas", "AZ-NAS: logrank:az_expressivity,az_progressivity,az_trainability,az_complexity (Lee & Ham 2024)"),
];

/// Ranks `values` from 1 (worst) to m (best) in the direction `higher`, ties averaged;
/// non-finite values rank below every finite one, tied among themselves.
pub fn ranks(values: &[f64], higher: bool) -> Vec<f64> {
    let key = |v: f64| {
        if !v.is_finite() {
            f64::NEG_INFINITY
        } else if higher {
            v
        } else {
            -v
        }
    };
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| key(values[a]).total_cmp(&key(values[b])));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && key(values[idx[j + 1]]) == key(values[idx[i]]) {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            out[k] = r;
        }
        i = j + 1;
    }
    out
}

impl Aggregate {
    /// Parses `logrank:a,b,...` or `meanrank:a,-b,c*0.5,...` (members as proxy names, `-`
    /// for lower-is-better, `*w` for a weight) or a named aggregate (`rank`, resolved for
    /// `space`). `Ok(None)` when `s` is not an aggregate. Errors: no member, an unknown
    /// proxy, a member named twice, a weight that is not a positive finite number.
    pub fn parse(s: &str, space: SpaceKind) -> Result<Option<Aggregate>> {
        if let Some(a) = Aggregate::named(s, space) {
            return Ok(Some(a));
        }
        let (kind, list) = if let Some(l) = s.strip_prefix("logrank:") {
            (AggregateKind::LogRank, l)
        } else if let Some(l) = s.strip_prefix("meanrank:") {
            (AggregateKind::MeanRank, l)
        } else {
            return Ok(None);
        };
        // Stages: the members before a `topP%` marker, and those after it (`second`).
        let mut first = Refine { percent: 100.0, members: Vec::new(), weights: Vec::new() };
        let mut second: Option<Refine> = None;
        if list.trim().is_empty() {
            bail!("aggregate '{s}' has no proxies (write e.g. logrank:jacob_cov,params_live)");
        }
        for m in super::member_list(s, list)? {
            if let Some(percent) = top_marker(s, m)? {
                if second.is_some() {
                    bail!("aggregate '{s}': '{m}' is a second 'top' marker (an aggregate has at most two stages)");
                }
                if first.members.is_empty() {
                    bail!("aggregate '{s}': '{m}' comes before any member (write e.g. logrank:jacob_cov,params_live,top2%,zen_nas)");
                }
                second = Some(Refine { percent, members: Vec::new(), weights: Vec::new() });
                continue;
            }
            let (m, w) = match m.split_once('*') {
                Some((n, _)) if n.trim().is_empty() => bail!("aggregate '{s}': member '{m}' has no proxy name"),
                Some((n, w)) => match w.trim().parse::<f64>() {
                    Ok(x) if (MIN_WEIGHT..=MAX_WEIGHT).contains(&x) => (n.trim(), x),
                    _ => bail!(
                        "aggregate '{s}': weight '{w}' of member '{n}' is not a positive finite number from {MIN_WEIGHT:e} to {MAX_WEIGHT:e}"
                    ),
                },
                None => (m, 1.0),
            };
            let (name, higher) = match m.strip_prefix('-') {
                Some(n) => (n, false),
                None => (m.strip_prefix('+').unwrap_or(m), true),
            };
            let p = Proxy::from_name(name)?;
            let stage = second.as_mut().unwrap_or(&mut first);
            if stage.members.iter().any(|(q, _)| *q == p) {
                bail!(
                    "aggregate '{s}': member '{}' appears twice (give it a weight instead, e.g. {}*2)",
                    p.name(),
                    p.name()
                );
            }
            stage.weights.push(w);
            stage.members.push((p, higher));
        }
        if first.members.is_empty() {
            bail!("aggregate '{s}' has no proxies (write e.g. logrank:jacob_cov,params_live)");
        }
        if second.as_ref().is_some_and(|r| r.members.is_empty()) {
            bail!("aggregate '{s}': no member after its 'top' marker (write e.g. logrank:jacob_cov,params_live,top2%,zen_nas)");
        }
        let (members, weights, then) = (first.members, first.weights, second.map(Box::new));
        Ok(Some(Aggregate { name: s.to_string(), kind, members, weights, then }))
    }

    /// The named aggregate `name` for `space`, if there is one. `rank`, the default ranker,
    /// was chosen on NAS-Bench-201 CIFAR-10 cells only (README, "The default ranker"): on
    /// nb201, logrank of `jacob_cov`, `params_live` and `meco` (ρ 0.941 on the 1,000-cell
    /// sample, the highest of the aggregates `scripts/dev_frontier.py` tries), its best
    /// 5 % re-ordered by `zen_nas` (the candidate of `scripts/dev_two_stage.py` with the
    /// best searches on development seeds: evolution 94.12 %, random search 93.72 %, where
    /// the single stage gave 93.38 % and 93.39 %; ρ unchanged); on nb101, where jacob_cov
    /// correlates negatively with accuracy, and on mbv2, logrank of `wrcor` and `synflow`,
    /// the two best single proxies on the NAS-Bench-101 sample.
    pub fn named(name: &str, space: SpaceKind) -> Option<Aggregate> {
        let members = match (name, space) {
            ("rank", SpaceKind::Nb201) => vec![(Proxy::JacobCov, true), (Proxy::ParamsLive, true), (Proxy::Meco, true)],
            ("rank", SpaceKind::Nb101 | SpaceKind::Mbv2) => vec![(Proxy::Wrcor, true), (Proxy::Synflow, true)],
            ("az_nas", _) => vec![
                (Proxy::AzExpressivity, true),
                (Proxy::AzProgressivity, true),
                (Proxy::AzTrainability, true),
                (Proxy::AzComplexity, true),
            ],
            _ => return None,
        };
        // The named aggregates are unweighted; `rank` on nb201 has a second stage.
        let weights = vec![1.0; members.len()];
        let then = match (name, space) {
            ("rank", SpaceKind::Nb201) => {
                Some(Box::new(Refine { percent: 5.0, members: vec![(Proxy::ZenNas, true)], weights: vec![1.0] }))
            }
            _ => None,
        };
        Some(Aggregate { name: name.to_string(), kind: AggregateKind::LogRank, members, weights, then })
    }

    /// Every member of both stages, each once (first mention), with whether higher is
    /// better: the proxies to compute.
    pub fn all_members(&self) -> Vec<(Proxy, bool)> {
        let mut out = self.members.clone();
        for m in self.then.iter().flat_map(|r| &r.members) {
            if !out.iter().any(|(p, _)| *p == m.0) {
                out.push(*m);
            }
        }
        out
    }

    /// The aggregate of each member of `population` ranked within the population (see the
    /// module docs; with a second stage, its top k valued above the rest). An empty
    /// population gives an empty vector.
    pub fn values(&self, population: &[ScoreMap]) -> Vec<f64> {
        let rows: Vec<&ScoreMap> = population.iter().collect();
        let mut out = stage_values(self.kind, &self.members, &self.weights, &rows);
        let Some(r) = &self.then else { return out };
        if out.is_empty() {
            return out;
        }
        let m = out.len();
        // ⌈P·m/100⌉, computed so that e.g. 5 % of 1,000 is 50, not 51.
        let k = ((r.percent * m as f64 / 100.0 - 1e-9).ceil() as usize).clamp(1, m);
        let mut order: Vec<usize> = (0..m).collect();
        // Stable: ties at the cut keep population order. First-stage values are finite.
        order.sort_by(|&a, &b| out[b].total_cmp(&out[a]));
        let top = &order[..k];
        let sub: Vec<&ScoreMap> = top.iter().map(|&i| rows[i]).collect();
        let second = ranks(&stage_values(self.kind, &r.members, &r.weights, &sub), true);
        let max = out[order[0]];
        for (&i, r2) in top.iter().zip(second) {
            out[i] = max + r2 / k as f64;
        }
        out
    }
}

/// Parses a `topP%` stage marker: `Ok(None)` when `item` is not one (it does not start
/// with `top` followed by a digit or `.`, and does not end with `%`). Errors: no `%`, or P
/// not a number in (0, 100].
fn top_marker(agg: &str, item: &str) -> Result<Option<f64>> {
    // A sign belongs to members, not to the marker: `-top5%` is a misplaced marker.
    let signed = item.starts_with(['-', '+']);
    let Some(rest) = item.trim_start_matches(['-', '+']).strip_prefix("top") else { return Ok(None) };
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') && !rest.ends_with('%') {
        return Ok(None);
    }
    match rest.strip_suffix('%').map(|p| p.trim().parse::<f64>()) {
        Some(Ok(p)) if !signed && p > 0.0 && p <= 100.0 => Ok(Some(p)),
        _ => bail!("aggregate '{agg}': stage marker '{item}' is not topP% with P a number above 0 and at most 100 (e.g. top2%)"),
    }
}

/// One stage's aggregate of `members` over `population` (module docs): finite values.
/// Borrows the rows, so a second stage ranks its top k without copying their scores.
fn stage_values(kind: AggregateKind, members: &[(Proxy, bool)], weights: &[f64], population: &[&ScoreMap]) -> Vec<f64> {
    let m = population.len() as f64;
    let total: f64 = weights.iter().sum();
    let mut out = vec![0.0; population.len()];
    for ((p, higher), w) in members.iter().zip(weights) {
        let v: Vec<f64> = population.iter().map(|s| s.get(p.name()).copied().unwrap_or(f64::NAN)).collect();
        for (o, r) in out.iter_mut().zip(ranks(&v, *higher)) {
            *o += match kind {
                AggregateKind::LogRank => w * (r / m).ln(),
                AggregateKind::MeanRank => w * r / m / total,
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop(rows: &[(f64, f64)]) -> Vec<ScoreMap> {
        rows.iter()
            .map(|&(a, b)| [("synflow".to_string(), a), ("wrcor".to_string(), b)].into_iter().collect())
            .collect()
    }

    #[test]
    fn ranks_average_ties_and_put_non_finite_last() {
        assert_eq!(ranks(&[3.0, 1.0, 2.0], true), [3.0, 1.0, 2.0]);
        assert_eq!(ranks(&[3.0, 1.0, 2.0], false), [1.0, 3.0, 2.0]);
        assert_eq!(ranks(&[1.0, 1.0, 5.0, 0.0], true), [2.5, 2.5, 4.0, 1.0]);
        // NaN and -inf tie below everything, also below -1e300 and whatever the direction.
        assert_eq!(ranks(&[f64::NAN, -1e300, f64::NEG_INFINITY, 7.0], true), [1.5, 3.0, 1.5, 4.0]);
        assert_eq!(ranks(&[f64::NAN, -1e300, f64::INFINITY, 7.0], false), [1.5, 4.0, 1.5, 3.0]);
    }

    #[test]
    fn logrank_and_meanrank_by_hand() {
        let s = SpaceKind::Nb201;
        let a = Aggregate::parse("logrank:synflow,wrcor", s).unwrap().unwrap();
        // synflow ranks 1,2,3 ; wrcor ranks 3,1,2 (m = 3).
        let v = a.values(&pop(&[(1.0, 9.0), (2.0, 1.0), (3.0, 5.0)]));
        let want = [(1f64 / 3.0).ln() + 0.0, (2f64 / 3.0).ln() + (1f64 / 3.0).ln(), 0.0 + (2f64 / 3.0).ln()];
        for (x, y) in v.iter().zip(want) {
            assert!((x - y).abs() < 1e-12, "{v:?}");
        }
        let m = Aggregate::parse("meanrank:synflow,-wrcor", s).unwrap().unwrap();
        // synflow ranks 1,2,3 ; -wrcor ranks 1,3,2.
        let v = m.values(&pop(&[(1.0, 9.0), (2.0, 1.0), (3.0, 5.0)]));
        for (x, y) in v.iter().zip([(1.0 + 1.0) / 6.0, (2.0 + 3.0) / 6.0, (3.0 + 2.0) / 6.0]) {
            assert!((x - y).abs() < 1e-12, "{v:?}");
        }
        // A non-finite member ranks last; ties share the average rank.
        let v = a.values(&pop(&[(f64::NAN, 1.0), (2.0, 1.0)]));
        assert_eq!(v, [(0.5f64).ln() + (0.75f64).ln(), 0.0 + (0.75f64).ln()]);
    }

    #[test]
    fn weighted_members_by_hand() {
        let s = SpaceKind::Nb201;
        // synflow ranks 1,2,3 ; wrcor ranks 3,1,2 (m = 3).
        let rows = pop(&[(1.0, 9.0), (2.0, 1.0), (3.0, 5.0)]);
        let a = Aggregate::parse("logrank:synflow, wrcor * 0.25", s).unwrap().unwrap();
        assert_eq!(a.weights, [1.0, 0.25]);
        let l = |r: f64| (r / 3.0).ln();
        let want = [l(1.0) + 0.25 * l(3.0), l(2.0) + 0.25 * l(1.0), l(3.0) + 0.25 * l(2.0)];
        for (x, y) in a.values(&rows).iter().zip(want) {
            assert!((x - y).abs() < 1e-12);
        }
        // meanrank: the weighted mean; -wrcor ranks 1,3,2.
        let m = Aggregate::parse("meanrank:synflow*3,-wrcor", s).unwrap().unwrap();
        let want = [(3.0 * 1.0 + 1.0) / 12.0, (3.0 * 2.0 + 3.0) / 12.0, (3.0 * 3.0 + 2.0) / 12.0];
        for (x, y) in m.values(&rows).iter().zip(want) {
            assert!((x - y).abs() < 1e-12);
        }
        // A weight of 1 is the unweighted aggregate.
        let u = Aggregate::parse("logrank:synflow*1,wrcor", s).unwrap().unwrap();
        let plain = Aggregate::parse("logrank:synflow,wrcor", s).unwrap().unwrap();
        assert_eq!(u.values(&rows), plain.values(&rows));
        for bad in [
            "logrank:synflow*0",
            "logrank:synflow*-1",
            "logrank:synflow*x",
            "logrank:synflow*inf",
            "logrank:synflow*",
            "logrank:synflow*1e308",
            "meanrank:synflow*1e-7",
        ] {
            let e = Aggregate::parse(bad, s).unwrap_err().to_string();
            assert!(
                e.contains("is not a positive finite number from 1e-6 to 1e6") && e.contains("'synflow'"),
                "{bad}: {e}"
            );
        }
        for bad in ["logrank:synflow,wrcor,synflow", "meanrank:synflow,-synflow*2"] {
            let e = Aggregate::parse(bad, s).unwrap_err().to_string();
            assert!(e.contains("member 'synflow' appears twice"), "{bad}: {e}");
        }
        let e = Aggregate::parse("logrank:*0.5,params", s).unwrap_err().to_string();
        assert!(e.contains("member '*0.5' has no proxy name"), "{e}");
        let e = Proxy::from_name("zen_nas*0.5").unwrap_err().to_string();
        assert!(e.contains("applies only to a member of an aggregate"), "{e}");
    }

    #[test]
    fn parsing_and_named() {
        let s = SpaceKind::Nb201;
        assert!(Aggregate::parse("wrcor", s).unwrap().is_none());
        assert!(Aggregate::parse("logrank:", s).unwrap_err().to_string().contains("has no proxies"));
        assert!(Aggregate::parse("meanrank:nope", s).unwrap_err().to_string().contains("unknown proxy 'nope'"));
        let r = Aggregate::parse("rank", s).unwrap().unwrap();
        assert_eq!(r.members, [(Proxy::JacobCov, true), (Proxy::ParamsLive, true), (Proxy::Meco, true)]);
        assert_eq!(r.weights, [1.0, 1.0, 1.0]);
        let then = r.then.as_deref().unwrap();
        assert_eq!(
            (then.percent, &then.members[..], &then.weights[..]),
            (5.0, &[(Proxy::ZenNas, true)][..], &[1.0][..])
        );
        assert_eq!(r.all_members().last(), Some(&(Proxy::ZenNas, true)));
        // `rank` is the same aggregate as its written-out form.
        let w = Aggregate::parse("logrank:jacob_cov,params_live,meco,top5%,zen_nas", s).unwrap().unwrap();
        assert_eq!((w.members, w.weights, w.then), (r.members.clone(), r.weights.clone(), r.then.clone()));
        let az = Aggregate::parse("az_nas", s).unwrap().unwrap();
        assert_eq!(az.members.len(), 4);
        let r = Aggregate::parse("rank", SpaceKind::Nb101).unwrap().unwrap();
        assert_eq!(r.members, [(Proxy::Wrcor, true), (Proxy::Synflow, true)]);
        assert!(r.then.is_none());
    }

    fn argmax(v: &[f64]) -> Option<usize> {
        (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b]))
    }

    #[test]
    fn two_stages_by_hand() {
        let s = SpaceKind::Nb201;
        // synflow ranks 1..5; the best 40 % (k = 2: rows 3 and 4) are re-ordered by wrcor.
        let rows = pop(&[(1.0, 9.0), (2.0, 8.0), (3.0, 7.0), (4.0, 1.0), (5.0, 0.5)]);
        let a = Aggregate::parse("logrank:synflow,top40%,wrcor", s).unwrap().unwrap();
        assert_eq!(a.all_members(), [(Proxy::Synflow, true), (Proxy::Wrcor, true)]);
        let v = a.values(&rows);
        let l = |r: f64| (r / 5.0).ln();
        // Below the cut: the first stage. In the top two: max (0) + wrcor rank / 2.
        assert_eq!(&v[..3], &[l(1.0), l(2.0), l(3.0)]);
        assert_eq!(&v[3..], &[1.0, 0.5]);
        // The written order of the second stage is the ranking's: row 3 now beats row 4.
        assert_eq!(argmax(&v), Some(3));
        // A non-finite second-stage score ranks last among the top; the cut keeps at least
        // one; ties at the cut keep population order (rows 2 and 3 tie on synflow).
        let rows = pop(&[(1.0, 0.0), (2.0, 5.0), (3.0, 6.0), (3.0, 7.0), (4.0, f64::NAN)]);
        let v = Aggregate::parse("logrank:synflow,top40%,wrcor", s).unwrap().unwrap().values(&rows);
        let max = (5f64 / 5.0).ln();
        assert_eq!(&v[3..], &[l(3.5), max + 0.5], "row 3 is cut, row 2 kept: {v:?}");
        assert_eq!(v[2], max + 1.0);
        let v = Aggregate::parse("logrank:synflow,top0.1%,-wrcor", s).unwrap().unwrap().values(&rows);
        assert_eq!(v.iter().filter(|&&x| x > max).count(), 1);
        // 5 % of 1,000 is 50 (no rounding up of 50.000000000000007), of 1,001 it is 51.
        for (m, k) in [(1000, 50), (1001, 51), (19, 1), (20, 1), (21, 2)] {
            let rows: Vec<ScoreMap> = (0..m)
                .map(|i| [("synflow".to_string(), i as f64), ("wrcor".to_string(), -(i as f64))].into_iter().collect())
                .collect();
            let v = Aggregate::parse("logrank:synflow,top5%,wrcor", s).unwrap().unwrap().values(&rows);
            assert_eq!(v.iter().filter(|&&x| x > 0.0).count(), k, "m = {m}");
            // Within the top k the second stage (wrcor, reversed synflow) decides.
            assert_eq!(argmax(&v), Some(m - k));
        }
        // meanrank stages: the same cut and ordering.
        let v = Aggregate::parse("meanrank:synflow,top40%,wrcor", s).unwrap().unwrap().values(&pop(&[
            (1.0, 9.0),
            (2.0, 8.0),
            (3.0, 7.0),
            (4.0, 1.0),
            (5.0, 0.5),
        ]));
        assert_eq!(v, [0.2, 0.4, 0.6, 2.0, 1.5]);
        assert!(a.values(&[]).is_empty());
    }

    #[test]
    fn two_stage_errors_name_the_input() {
        let s = SpaceKind::Nb201;
        for (bad, want) in [
            ("logrank:top5%,zen_nas", "'top5%' comes before any member"),
            ("logrank:meco,top5%", "no member after its 'top' marker"),
            ("logrank:meco,top5%,zen_nas,top1%,synflow", "'top1%' is a second 'top' marker"),
            ("logrank:meco,top5,zen_nas", "stage marker 'top5' is not topP%"),
            ("logrank:meco,top0%,zen_nas", "stage marker 'top0%' is not topP%"),
            ("logrank:meco,top101%,zen_nas", "stage marker 'top101%' is not topP%"),
            ("logrank:meco,topx%,zen_nas", "stage marker 'topx%' is not topP%"),
            ("logrank:meco,top-5%,zen_nas", "stage marker 'top-5%' is not topP%"),
            ("logrank:meco,topnan%,zen_nas", "stage marker 'topnan%' is not topP%"),
            ("logrank:meco,top1e999%,zen_nas", "stage marker 'top1e999%' is not topP%"),
            ("logrank:meco,topology,zen_nas", "unknown proxy 'topology'"),
            ("logrank:meco,-top5%,zen_nas", "stage marker '-top5%' is not topP%"),
            ("logrank:meco,top5%,zen_nas,zen_nas", "member 'zen_nas' appears twice"),
        ] {
            let e = Aggregate::parse(bad, s).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        // A proxy may sit in both stages.
        assert!(Aggregate::parse("logrank:meco,zen_nas,top5%,zen_nas", s).unwrap().is_some());
    }
}
