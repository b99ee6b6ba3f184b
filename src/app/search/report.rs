//! What `zsnas search` prints and draws once its runs are done: per run the best
//! architecture, its scores and accuracy (table or one JSON object per run), the mean ±
//! std over runs, and the best-so-far curves.

use super::SearchArgs;
use crate::eval::truth::Truth;
use crate::io::record::encode;
use crate::proxy::ScoreMap;
use crate::report::plot::line_plot;
use crate::report::table::fmt_f64;
use crate::search::reinforce::LOG_SCALED;
use crate::search::{Fitness, Outcome, Strategy};
use crate::space::{AnyArch, SpaceKind};
use anyhow::Result;
use serde_json::{json, Value};

/// The finished search and what it is reported against.
pub(super) struct Finished<'a> {
    /// The flags.
    pub a: &'a SearchArgs,
    /// The space.
    pub kind: SpaceKind,
    /// The strategy.
    pub strategy: &'a Strategy,
    /// The fitness.
    pub fitness: &'a Fitness,
    /// The ground truth, if any.
    pub truth: Option<&'a Truth>,
    /// Each run's seed and outcome.
    pub outcomes: &'a [(u64, Outcome)],
    /// The benchmark index of an architecture, when the space has one.
    pub index_of: &'a dyn Fn(&AnyArch) -> Option<usize>,
}

fn scores_json(s: &ScoreMap) -> Value {
    Value::Object(s.iter().map(|(k, v)| (k.clone(), encode(*v))).collect())
}

/// A score for the table: 4 decimals, or scientific notation for very large or small
/// magnitudes (synflow).
fn fmt_score(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && (a >= 1e6 || (a < 1e-3 && a > 0.0)) {
        format!("{v:.4e}")
    } else {
        fmt_f64(v, 4)
    }
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let sd = if xs.len() > 1 { (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, sd)
}

impl Finished<'_> {
    fn accuracy(&self, arch: &AnyArch) -> Option<f64> {
        self.truth.and_then(|t| t.value(arch, (self.index_of)(arch)))
    }

    /// Prints every run (a table, or with `json` one object per run on stdout) and, for
    /// several runs, the mean ± std of the found accuracy.
    pub fn print(&self, json_out: bool) {
        let (a, kind, strategy, fitness) = (self.a, self.kind, self.strategy, self.fitness);
        let mut found = Vec::new();
        for (r, (seed, o)) in self.outcomes.iter().enumerate() {
            let acc = self.accuracy(&o.best);
            let rank = match (self.truth, acc) {
                (Some(t), Some(x)) => Some(t.rank(x)),
                _ => None,
            };
            if let Some(x) = acc {
                found.push(x);
            }
            // Issue 13: a run in which no architecture had a finite fitness says so.
            let terms = fitness.terms();
            let finite =
                o.distinct.iter().any(|(_, s)| terms.iter().any(|(n, _)| s.get(n).is_some_and(|v| v.is_finite())));
            if !finite {
                eprintln!(
                    "note: run {r}: no architecture had a finite fitness ('{}' is non-finite for all {} evaluated), so its best is arbitrary",
                    fitness.name(),
                    o.distinct.len()
                );
            }
            if json_out {
                let v = json!({
                    "run": r,
                    "seed": seed,
                    "space": kind.name(),
                    "strategy": strategy.name(),
                    "fitness": fitness.name(),
                    "budget": a.budget,
                    "best": {
                        "arch": o.best.text(),
                        "index": (self.index_of)(&o.best),
                        "scores": scores_json(&o.best_scores),
                        "truth": acc.map(encode).unwrap_or(Value::Null),
                        "rank": rank.map(|x| x.0),
                    },
                    "steps": o.steps,
                    "evaluated": o.evaluated,
                    "finite_fitness": finite,
                    "scored": o.scored,
                    "seconds": o.seconds,
                    "scoring_seconds": o.scoring_seconds,
                });
                println!("{v}");
                continue;
            }
            println!(
                "run {r} (seed {seed}): {} on {} by {}, budget {}",
                strategy.name(),
                kind.name(),
                fitness.name(),
                a.budget
            );
            match (self.index_of)(&o.best) {
                Some(i) => println!("  best:      {} (index {i})", o.best.text()),
                None => println!("  best:      {}", o.best.text()),
            }
            let sc: Vec<String> = o.best_scores.iter().map(|(k, v)| format!("{k}={}", fmt_score(*v))).collect();
            println!("  scores:    {}", sc.join(", "));
            match (acc, rank) {
                (Some(x), Some((rk, n))) => println!("  truth:     {x:.2}% test accuracy, rank {rk} of {n}"),
                (Some(x), None) => println!("  truth:     {x:.2}% test accuracy"),
                _ if self.truth.is_some() => println!("  truth:     not in the truth table"),
                _ => {}
            }
            println!(
                "  evaluated: {} distinct architectures in {} steps ({} scored in this run, {} from the cache)",
                o.evaluated,
                o.steps,
                o.scored,
                o.evaluated - o.scored.min(o.evaluated)
            );
            println!(
                "  time:      {:.1} s (scoring {:.1} s, other {:.1} s)",
                o.seconds,
                o.scoring_seconds,
                (o.seconds - o.scoring_seconds).max(0.0)
            );
        }
        if a.runs > 1 && !found.is_empty() {
            let (m, sd) = mean_std(&found);
            let msg = format!(
                "found accuracy over {} runs (seeds {}..{}): {m:.2} ± {sd:.2} %{}",
                a.runs,
                a.seed,
                a.seed + a.runs as u64 - 1,
                if found.len() < a.runs { format!(" ({} runs with truth)", found.len()) } else { String::new() }
            );
            if json_out {
                eprintln!("{msg}");
            } else {
                println!("{msg}");
            }
        }
    }

    /// Best-so-far curves (mean over runs): accuracy when known, then the fitness (a vote:
    /// each member's value of the current winner), to `stem`.png and `stem`.svg.
    pub fn plot(&self, stem: &std::path::Path) -> Result<()> {
        let outcomes = self.outcomes;
        let steps = outcomes.iter().map(|(_, o)| o.trace.len()).max().unwrap_or(0);
        let curve = |f: &dyn Fn(&AnyArch, &ScoreMap) -> Option<f64>| -> Vec<(f64, f64)> {
            (0..steps)
                .map(|i| {
                    let vals: Vec<f64> = outcomes
                        .iter()
                        .filter_map(|(_, o)| o.trace.get(i).map(|&b| &o.distinct[b]))
                        .filter_map(|(a, s)| f(a, s))
                        .collect();
                    let y = if vals.is_empty() { f64::NAN } else { vals.iter().sum::<f64>() / vals.len() as f64 };
                    ((i + 1) as f64, y)
                })
                .collect()
        };
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        if self.truth.is_some() {
            let c = curve(&|a, _| self.accuracy(a));
            if c.iter().any(|p| p.1.is_finite()) {
                series.push(("best-so-far test accuracy (%)".into(), c));
            }
        }
        let label = match self.fitness {
            Fitness::Score { .. } => "best-so-far",
            Fitness::Vote(_) => "vote winner's",
            Fitness::Aggregate(_) => "aggregate winner's",
        };
        for (name, _) in self.fitness.terms() {
            let n = name.clone();
            // Proxies spanning orders of magnitude are plotted as ln(value).
            let log = LOG_SCALED.contains(&name.as_str());
            let title = if log { format!("{label} ln {name}") } else { format!("{label} {name}") };
            series.push((title, curve(&move |_, s| s.get(&n).map(|&x| if log { x.ln() } else { x }))));
        }
        let refs: Vec<(&str, Vec<(f64, f64)>)> = series.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let runs = if outcomes.len() > 1 { format!(" (mean over {} runs)", outcomes.len()) } else { String::new() };
        line_plot(
            stem,
            &refs,
            "evaluations",
            "value",
            &format!("{} on {} by {}{runs}", self.strategy.name(), self.kind.name(), self.fitness.name()),
        )
    }
}
