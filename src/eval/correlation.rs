//! Rank-correlation evaluation of proxies against ground truth: the join of scores with
//! a truth table, Spearman ρ, Kendall τ-b and precision@k with percentile-bootstrap
//! intervals, as `zsnas correlate` reports them.

use super::stats::{bootstrap_ci, finite_pairs, kendall_tau_b, precision_at_k, spearman};
use super::truth::Truth;
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
/// precision@k over all, NaN scores ranking last (±inf keep their order); `resamples`
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
    let ps: Vec<f64> = scores.iter().map(|&v| if v.is_nan() { f64::NEG_INFINITY } else { v }).collect();
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
            precision_at: [prec_ci(TOP_FRACTIONS[0].1), prec_ci(TOP_FRACTIONS[1].1), prec_ci(TOP_FRACTIONS[2].1)],
        }
    });
    ProxyStats {
        proxy: proxy.to_string(),
        n,
        n_nonfinite: scores.len() - n_finite,
        spearman: spearman(&fs, &ft),
        kendall: kendall_tau_b(&fs, &ft),
        precision_at,
        ci95,
    }
}

fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn pair(p: (f64, f64)) -> Value {
    json!([num(p.0), num(p.1)])
}

impl ProxyStats {
    /// The JSON object of `--format json`: `proxy`, `n`, `n_nonfinite`, `spearman`,
    /// `kendall`, `precision_at` (`"1%"`, `"5%"`, `"10%"`) and `ci95` (`spearman`,
    /// `kendall`, `precision_at_1%`, ... as `[lo, hi]`; `null` without bootstrap).
    /// Undefined statistics are `null`.
    pub fn to_json(&self) -> Value {
        let mut prec = Map::new();
        for (i, (label, _)) in TOP_FRACTIONS.iter().enumerate() {
            prec.insert((*label).into(), num(self.precision_at[i]));
        }
        let ci = match &self.ci95 {
            None => Value::Null,
            Some(c) => {
                let mut m = Map::new();
                m.insert("spearman".into(), pair(c.spearman));
                m.insert("kendall".into(), pair(c.kendall));
                for (i, (label, _)) in TOP_FRACTIONS.iter().enumerate() {
                    m.insert(format!("precision_at_{label}"), pair(c.precision_at[i]));
                }
                Value::Object(m)
            }
        };
        json!({
            "proxy": self.proxy,
            "n": self.n,
            "n_nonfinite": self.n_nonfinite,
            "spearman": num(self.spearman),
            "kendall": num(self.kendall),
            "precision_at": Value::Object(prec),
            "ci95": ci,
        })
    }

    /// [`to_json`](Self::to_json) as one compact line with the keys in the documented
    /// order (`proxy` first) rather than alphabetical.
    pub fn to_json_line(&self) -> String {
        let v = self.to_json();
        let keys = ["proxy", "n", "n_nonfinite", "spearman", "kendall", "precision_at", "ci95"];
        let ordered = |v: &Value, keys: &[String]| -> String {
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", Value::from(k.as_str()), v[k.as_str()])).collect();
            format!("{{{}}}", parts.join(","))
        };
        let labels: Vec<String> = TOP_FRACTIONS.iter().map(|(l, _)| l.to_string()).collect();
        let mut ci_keys = vec!["spearman".to_string(), "kendall".to_string()];
        ci_keys.extend(labels.iter().map(|l| format!("precision_at_{l}")));
        let parts: Vec<String> = keys
            .iter()
            .map(|&k| {
                let body = match k {
                    "precision_at" => ordered(&v[k], &labels),
                    "ci95" if v[k].is_object() => ordered(&v[k], &ci_keys),
                    _ => v[k].to_string(),
                };
                format!("{}:{body}", Value::from(k))
            })
            .collect();
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
        for i in 0..TOP_FRACTIONS.len() {
            stat(self.precision_at[i], c.map(|c| c.precision_at[i]));
        }
        r
    }
}

/// Evaluates every target over the joined population, in parallel over targets
/// (`tch::get_num_threads()` workers, i.e. `--threads`); results keep the targets'
/// order and do not depend on the number of workers. With `keep_scores`, also returns
/// each target's per-architecture scores (for the plots).
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
                    Target::Aggregate(a) => a.members.iter().map(|(p, _)| p.name()).collect(),
                };
                let has = |s: &ScoreMap| members.iter().all(|m| s.contains_key(*m));
                let present: Vec<usize> = (0..j.scores.len()).filter(|&k| has(&j.scores[k])).collect();
                let scores = if present.len() == j.scores.len() {
                    let scores = t.values(&j.scores);
                    let st = evaluate(&t.name(), &scores, &j.truth, nonfinite, resamples, seed);
                    (st, scores)
                } else {
                    eprintln!(
                        "note: {}: {} of {} architectures have no score of it in the files; they are left out",
                        t.name(),
                        j.scores.len() - present.len(),
                        j.scores.len()
                    );
                    let sub: Vec<ScoreMap> = present.iter().map(|&k| j.scores[k].clone()).collect();
                    let truth: Vec<f64> = present.iter().map(|&k| j.truth[k]).collect();
                    let vals = t.values(&sub);
                    let st = evaluate(&t.name(), &vals, &truth, nonfinite, resamples, seed);
                    let mut full = vec![f64::NAN; j.scores.len()];
                    for (&k, v) in present.iter().zip(vals) {
                        full[k] = v;
                    }
                    (st, full)
                };
                let (st, scores) = scores;
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
    let mut head = vec!["proxy".to_string(), "n".into(), "non-finite".into(), "Spearman ρ".into(), "Kendall τ".into()];
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
        ];
        for i in 0..TOP_FRACTIONS.len() {
            row.push(cell(s.precision_at[i], c.map(|c| c.precision_at[i])));
        }
        t.add_row(row);
    }
    t.render()
}
