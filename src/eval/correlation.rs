//! Rank-correlation evaluation of proxies against ground truth: the join of scores with
//! a truth table, Spearman ρ, Kendall τ-b, Pearson r and precision@k with
//! percentile-bootstrap intervals, as `zsnas correlate` reports them.

use super::stats::{bootstrap_ci, finite_pairs, kendall_tau_b, pearson, precision_at_k, rank_average, spearman};
use super::truth::Truth;
use crate::io::flat::csv_float;
use crate::io::scores::ScoreSet;
use crate::proxy::spec::Target;
use crate::proxy::ScoreMap;
use crate::report::progress::Progress;
use crate::report::table::{fmt_f64, Table};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The top fractions of precision@k: label and fraction.
pub const TOP_FRACTIONS: [(&str, f64); 3] = [("1%", 0.01), ("5%", 0.05), ("10%", 0.10)];

/// The scored architectures that have a (finite) truth value.
#[derive(Clone, Debug)]
pub struct Joined {
    /// Architecture texts.
    pub archs: Vec<String>,
    /// Their scores.
    pub scores: Vec<ScoreMap>,
    /// Their truth values (all finite).
    pub truth: Vec<f64>,
    /// Architectures without a truth entry.
    pub missing: Vec<String>,
    /// Architectures whose truth value is not finite.
    pub nonfinite_truth: Vec<String>,
}

/// Joins scores with the truth (missing and non-finite truth values are listed, not
/// joined).
pub fn join(set: &ScoreSet, truth: &Truth) -> Joined {
    let mut j = Joined { archs: vec![], scores: vec![], truth: vec![], missing: vec![], nonfinite_truth: vec![] };
    for a in &set.archs {
        match a.join_key(set.space, &truth.key).and_then(|k| truth.map.get(&k).copied()) {
            Some(v) if v.is_finite() => {
                j.archs.push(a.arch.clone());
                j.scores.push(a.scores.clone());
                j.truth.push(v);
            }
            Some(_) => j.nonfinite_truth.push(a.arch.clone()),
            None => j.missing.push(a.arch.clone()),
        }
    }
    j
}

/// The 95 % bootstrap intervals of a [`ProxyStats`].
#[derive(Clone, Debug, PartialEq)]
pub struct Ci95 {
    /// Spearman ρ.
    pub spearman: (f64, f64),
    /// Kendall τ-b.
    pub kendall: (f64, f64),
    /// Pearson r.
    pub pearson: (f64, f64),
    /// precision@k, in the order of [`TOP_FRACTIONS`].
    pub precision_at: [(f64, f64); 3],
}

/// The evaluation of one proxy or vote (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyStats {
    /// Proxy or vote name.
    pub proxy: String,
    /// Architectures used for ρ and τ: all of them ([`NonFinite::Last`]) or those with a
    /// finite score ([`NonFinite::Drop`]).
    pub n: usize,
    /// Architectures with a NaN, ±inf or missing score.
    pub n_nonfinite: usize,
    /// Spearman ρ over the `n` pairs (NaN if undefined: fewer than 2 pairs or a constant).
    pub spearman: f64,
    /// Kendall τ-b over the `n` pairs (NaN if undefined).
    pub kendall: f64,
    /// Pearson r of the raw values over the pairs with a finite score, whatever
    /// [`NonFinite`] says (a linear correlation has no place to put −inf); NaN if
    /// undefined. Scores spanning many orders of magnitude (synflow) make it meaningless.
    pub pearson: f64,
    /// precision@k over the whole population, in the order of [`TOP_FRACTIONS`].
    pub precision_at: [f64; 3],
    /// Bootstrap intervals, `None` with zero resamples.
    pub ci95: Option<Ci95>,
}

/// What ρ and τ do with non-finite scores (NaN, ±inf, missing).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Rank them last, tied among themselves, below every finite score (as a search
    /// treats them: a failed network never wins); ρ and τ cover every architecture.
    #[default]
    Last,
    /// Leave them out of ρ and τ (precision@k still ranks them last).
    Drop,
}

impl NonFinite {
    /// The policy's name as the flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            NonFinite::Last => "last",
            NonFinite::Drop => "drop",
        }
    }
}

/// `scores` with every non-finite value replaced by one value below every finite one
/// (the finite minimum − 1; −1 when none is finite), so that they rank last, tied.
pub fn non_finite_last(scores: &[f64]) -> Vec<f64> {
    let lo = scores.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let floor = if lo.is_finite() { lo - 1.0 - lo.abs() * 1e-9 } else { -1.0 };
    scores.iter().map(|&v| if v.is_finite() { v } else { floor }).collect()
}

fn gather(v: &[f64], ix: &[usize]) -> Vec<f64> {
    ix.iter().map(|&i| v[i]).collect()
}

/// Evaluates `scores` (one per architecture, any value) against finite `truth` of the
/// same length: ρ and τ-b over every pair with non-finite scores ranked last
/// ([`NonFinite::Last`]) or over the pairs with a finite score ([`NonFinite::Drop`]);
/// precision@k over all, non-finite scores (NaN, ±inf) ranking last; `resamples`
/// bootstrap rounds seeded by `seed` for the 95 % intervals (each statistic resampled
/// over its own population).
pub fn evaluate(
    proxy: &str,
    scores: &[f64],
    truth: &[f64],
    nonfinite: NonFinite,
    resamples: usize,
    seed: u64,
) -> ProxyStats {
    let n_finite = scores.iter().filter(|v| v.is_finite()).count();
    let (fs, ft) = match nonfinite {
        NonFinite::Drop => finite_pairs(scores, truth),
        NonFinite::Last => (non_finite_last(scores), truth.to_vec()),
    };
    let n = fs.len();
    let (px, py) = finite_pairs(scores, truth);
    // Every non-finite score, +inf included, is the worst (as ρ, τ and a search rank it).
    let ps = non_finite_last(scores);
    let prec = |f: f64| precision_at_k(&ps, truth, f);
    let precision_at = [prec(TOP_FRACTIONS[0].1), prec(TOP_FRACTIONS[1].1), prec(TOP_FRACTIONS[2].1)];
    let ci95 = (resamples > 0).then(|| {
        let pair_ci = |stat: fn(&[f64], &[f64]) -> f64| {
            bootstrap_ci(n, resamples, seed, |ix| stat(&gather(&fs, ix), &gather(&ft, ix)))
        };
        let prec_ci = |f: f64| {
            bootstrap_ci(ps.len(), resamples, seed, |ix| precision_at_k(&gather(&ps, ix), &gather(truth, ix), f))
        };
        Ci95 {
            spearman: pair_ci(spearman),
            kendall: pair_ci(kendall_tau_b),
            pearson: bootstrap_ci(px.len(), resamples, seed, |ix| pearson(&gather(&px, ix), &gather(&py, ix))),
            precision_at: [prec_ci(TOP_FRACTIONS[0].1), prec_ci(TOP_FRACTIONS[1].1), prec_ci(TOP_FRACTIONS[2].1)],
        }
    });
    ProxyStats {
        proxy: proxy.to_string(),
        n,
        n_nonfinite: scores.len() - n_finite,
        spearman: spearman(&fs, &ft),
        kendall: kendall_tau_b(&fs, &ft),
        pearson: pearson(&px, &py),
        precision_at,
        ci95,
    }
}

impl ProxyStats {
    /// The flat JSON object of `--format json`: the keys of [`csv_header`](Self::csv_header)
    /// in that order (`proxy`, `n`, `n_nonfinite`, then per statistic its value and
    /// `_lo`/`_hi` bounds); undefined values and absent intervals are `null`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in Self::csv_header().into_iter().zip(self.csv_row()) {
            let val = match k.as_str() {
                "proxy" => Value::from(v),
                _ => v
                    .parse::<f64>()
                    .ok()
                    .map(|x| if k.starts_with('n') { json!(x as u64) } else { json!(x) })
                    .unwrap_or(Value::Null),
            };
            m.insert(k, val);
        }
        Value::Object(m)
    }

    /// [`to_json`](Self::to_json) as one compact line with the keys in the order of
    /// [`csv_header`](Self::csv_header) rather than alphabetical.
    pub fn to_json_line(&self) -> String {
        let v = self.to_json();
        let parts: Vec<String> =
            Self::csv_header().iter().map(|k| format!("{}:{}", Value::from(k.as_str()), v[k.as_str()])).collect();
        format!("{{{}}}", parts.join(","))
    }

    /// Header of `--format csv`.
    pub fn csv_header() -> Vec<String> {
        let mut h: Vec<String> = ["proxy", "n", "n_nonfinite"].iter().map(|s| s.to_string()).collect();
        let mut stat = |name: String| {
            h.push(name.clone());
            h.push(format!("{name}_lo"));
            h.push(format!("{name}_hi"));
        };
        stat("spearman".into());
        stat("kendall".into());
        stat("pearson".into());
        for (label, _) in TOP_FRACTIONS {
            stat(format!("precision_at_{label}"));
        }
        h
    }

    /// One row of `--format csv` (undefined values as empty cells).
    pub fn csv_row(&self) -> Vec<String> {
        let f = |v: f64| if v.is_finite() { format!("{v}") } else { String::new() };
        let mut r = vec![self.proxy.clone(), self.n.to_string(), self.n_nonfinite.to_string()];
        let mut stat = |v: f64, ci: Option<(f64, f64)>| {
            r.push(f(v));
            r.push(ci.map(|c| f(c.0)).unwrap_or_default());
            r.push(ci.map(|c| f(c.1)).unwrap_or_default());
        };
        let c = self.ci95.as_ref();
        stat(self.spearman, c.map(|c| c.spearman));
        stat(self.kendall, c.map(|c| c.kendall));
        stat(self.pearson, c.map(|c| c.pearson));
        for i in 0..TOP_FRACTIONS.len() {
            stat(self.precision_at[i], c.map(|c| c.precision_at[i]));
        }
        r
    }
}

/// Evaluates every target over the joined population, in parallel over targets
/// (`tch::get_num_threads()` workers, i.e. `--threads`); results keep the targets'
/// order and do not depend on the number of workers. With `keep_scores`, also returns
/// each target's per-architecture scores in `j`'s order (for the plots).
///
/// The statistics see the architectures sorted by their text, so that precision@k's
/// tie-breaking (by position) and the bootstrap's resamples (of positions) do not depend
/// on the order of the input lines or files.
pub fn evaluate_targets(
    targets: &[Target],
    j: &Joined,
    nonfinite: NonFinite,
    resamples: usize,
    seed: u64,
    keep_scores: bool,
) -> (Vec<ProxyStats>, Vec<(String, Vec<f64>)>) {
    let workers = (tch::get_num_threads().max(1) as usize).min(targets.len()).max(1);
    let progress = (j.archs.len() >= 2000).then(|| Progress::new(targets.len() as u64, "correlate").with_unit("proxy"));
    type Slot = Mutex<Option<(ProxyStats, Vec<f64>)>>;
    let slots: Vec<Slot> = targets.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let mut canonical: Vec<usize> = (0..j.archs.len()).collect();
    canonical.sort_by(|&a, &b| j.archs[a].cmp(&j.archs[b]));
    let canonical = &canonical;
    std::thread::scope(|sc| {
        for _ in 0..workers {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(t) = targets.get(i) else { break };
                // Architectures without a score of every member (files with different
                // proxy sets) are left out of this target, not ranked as non-finite.
                let members: Vec<&str> = match t {
                    Target::Proxy(p) => vec![p.name()],
                    Target::Vote(v) => v.members.iter().map(|(p, _)| p.name()).collect(),
                    Target::Aggregate(a) => a.all_members().iter().map(|(p, _)| p.name()).collect(),
                };
                let has = |s: &ScoreMap| members.iter().all(|m| s.contains_key(*m));
                let present: Vec<usize> = canonical.iter().copied().filter(|&k| has(&j.scores[k])).collect();
                if present.len() < j.scores.len() {
                    crate::note!(
                        "note: {}: {} of {} architectures have no score of it in the files; they are left out",
                        t.name(),
                        j.scores.len() - present.len(),
                        j.scores.len()
                    );
                }
                let sub: Vec<ScoreMap> = present.iter().map(|&k| j.scores[k].clone()).collect();
                let truth: Vec<f64> = present.iter().map(|&k| j.truth[k]).collect();
                let vals = t.values(&sub);
                let st = evaluate(&t.name(), &vals, &truth, nonfinite, resamples, seed);
                let mut scores = vec![f64::NAN; j.scores.len()];
                for (&k, v) in present.iter().zip(vals) {
                    scores[k] = v;
                }
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((st, if keep_scores { scores } else { Vec::new() }));
                if let Some(p) = &progress {
                    p.inc(1);
                }
            });
        }
    });
    if let Some(p) = &progress {
        p.finish();
    }
    let mut stats = Vec::new();
    let mut plots = Vec::new();
    for (t, slot) in targets.iter().zip(slots) {
        let (st, scores) = slot.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every target evaluated");
        stats.push(st);
        if keep_scores {
            plots.push((t.name(), scores));
        }
    }
    (stats, plots)
}

/// The per-architecture table of `zsnas correlate --per-arch FILE` (CSV): header and rows.
/// Columns: `arch`, the truth column (`truth_name`, e.g. `test_acc_200ep`, %),
/// `truth_rank`, then per target its value and `<target>_rank`. Ranks count from 1 =
/// best (highest), ties share their average rank, non-finite scores rank last (tied);
/// values are spelled as [`csv_float`] writes them (pandas floats).
pub fn per_arch_table(j: &Joined, truth_name: &str, targets: &[(String, Vec<f64>)]) -> (Vec<String>, Vec<Vec<String>>) {
    let best_first = |v: &[f64]| -> Vec<f64> {
        let asc = rank_average(&non_finite_last(v));
        asc.iter().map(|r| (v.len() + 1) as f64 - r).collect()
    };
    let mut head = vec!["arch".to_string(), truth_name.to_string(), "truth_rank".to_string()];
    let truth_rank = best_first(&j.truth);
    let ranks: Vec<Vec<f64>> = targets.iter().map(|(_, v)| best_first(v)).collect();
    for (name, _) in targets {
        head.push(name.clone());
        head.push(format!("{name}_rank"));
    }
    let rows = (0..j.archs.len())
        .map(|i| {
            let mut r = vec![j.archs[i].clone(), csv_float(j.truth[i]), csv_float(truth_rank[i])];
            for (k, (_, v)) in targets.iter().enumerate() {
                r.push(csv_float(v[i]));
                r.push(csv_float(ranks[k][i]));
            }
            r
        })
        .collect();
    (head, rows)
}

/// One line per proxy whose ρ is NaN, saying why (issue 13): too few pairs (ρ needs at
/// least 2, a meaningful one many more), or constant scores or truth among them.
pub fn nan_notes(stats: &[ProxyStats]) -> Vec<String> {
    stats
        .iter()
        .filter(|s| s.spearman.is_nan())
        .map(|s| {
            let why = if s.n < 2 {
                format!("only {} architecture(s) with a usable score (ρ and τ need at least 2 pairs)", s.n)
            } else {
                format!("its {} scores (or their truth values) are all equal, so there is no order to correlate", s.n)
            };
            format!("note: {}: ρ and τ are NaN: {why}", s.proxy)
        })
        .collect()
}

/// Renders the results as the plain-text table of `--format table`.
pub fn render_table(stats: &[ProxyStats]) -> String {
    let with_ci = stats.iter().any(|s| s.ci95.is_some());
    let cell = |v: f64, ci: Option<(f64, f64)>| match ci {
        Some((lo, hi)) if with_ci => format!("{} [{}, {}]", fmt_f64(v, 3), fmt_f64(lo, 3), fmt_f64(hi, 3)),
        _ => fmt_f64(v, 3),
    };
    let mut head = vec![
        "proxy".to_string(),
        "n".into(),
        "non-finite".into(),
        "Spearman ρ".into(),
        "Kendall τ".into(),
        "Pearson r".into(),
    ];
    for (label, _) in TOP_FRACTIONS {
        head.push(format!("P@{label}"));
    }
    let mut t = Table::new(head);
    for s in stats {
        let c = s.ci95.as_ref();
        let mut row = vec![
            s.proxy.clone(),
            s.n.to_string(),
            s.n_nonfinite.to_string(),
            cell(s.spearman, c.map(|c| c.spearman)),
            cell(s.kendall, c.map(|c| c.kendall)),
            cell(s.pearson, c.map(|c| c.pearson)),
        ];
        for i in 0..TOP_FRACTIONS.len() {
            row.push(cell(s.precision_at[i], c.map(|c| c.precision_at[i])));
        }
        t.add_row(row);
    }
    t.render()
}
