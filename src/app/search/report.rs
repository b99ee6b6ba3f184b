//! What `zsnas search` prints and draws once its runs are done: per run the best
//! architecture, its scores and accuracy (table or one JSON object per run), the mean ±
//! std over runs, and the best-so-far curves.

use super::SearchArgs;
use crate::eval::truth::Truth;
use crate::io::record::encode;
use crate::proxy::ScoreMap;
use crate::report::curves::{accuracy_curves, mean_std_by_step, Curves, RunAccuracy};
use crate::report::plot::{step_plot, StepCurve, StepPanel};
use crate::report::progress::stdout_line;
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
    /// several runs, the mean ± std of the found accuracy. Errors: stdout cannot be
    /// written (e.g. a full disk).
    pub fn print(&self, json_out: bool) -> std::io::Result<()> {
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
                crate::note!(
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
                stdout_line(&v.to_string())?;
                continue;
            }
            stdout_line(&format!(
                "run {r} (seed {seed}): {} on {} by {}, budget {}",
                strategy.name(),
                kind.name(),
                fitness.name(),
                a.budget
            ))?;
            match (self.index_of)(&o.best) {
                Some(i) => stdout_line(&format!("  best:      {} (index {i})", o.best.text()))?,
                None => stdout_line(&format!("  best:      {}", o.best.text()))?,
            }
            let sc: Vec<String> = o.best_scores.iter().map(|(k, v)| format!("{k}={}", fmt_score(*v))).collect();
            stdout_line(&format!("  scores:    {}", sc.join(", ")))?;
            match (acc, rank) {
                (Some(x), Some((rk, n))) => {
                    stdout_line(&format!("  truth:     {x:.2}% test accuracy, rank {rk} of {n}"))?
                }
                (Some(x), None) => stdout_line(&format!("  truth:     {x:.2}% test accuracy"))?,
                _ if self.truth.is_some() => stdout_line("  truth:     not in the truth table")?,
                _ => {}
            }
            stdout_line(&format!(
                "  evaluated: {} distinct architectures in {} steps ({} scored in this run, {} from the cache)",
                o.evaluated,
                o.steps,
                o.scored,
                o.evaluated - o.scored.min(o.evaluated)
            ))?;
            stdout_line(&format!(
                "  time:      {:.1} s (scoring {:.1} s, other {:.1} s)",
                o.seconds,
                o.scoring_seconds,
                (o.seconds - o.scoring_seconds).max(0.0)
            ))?;
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
                crate::note!("{msg}");
            } else {
                stdout_line(&msg)?;
            }
        }
        Ok(())
    }

    /// The search figure, to `stem`.png and `stem`.svg: when the truth is known a panel
    /// with the best-so-far test accuracy (highest among the architectures evaluated so
    /// far, monotone) and the fitness-best architecture's accuracy, then one panel per
    /// fitness term (the fitness-best architecture's score; ln of it for proxies spanning
    /// orders of magnitude); each curve is the mean over runs with a ±1 std band.
    pub fn plot(&self, stem: &std::path::Path) -> Result<()> {
        let outcomes = self.outcomes;
        let mut panels = Vec::new();
        if let Some(truth) = self.truth {
            let y = truth.axis_label();
            let runs: Vec<RunAccuracy> = outcomes
                .iter()
                .map(|(_, o)| {
                    let acc: Vec<f64> = o.distinct.iter().map(|(a, _)| self.accuracy(a).unwrap_or(f64::NAN)).collect();
                    let mut prev = 0;
                    let evaluated = o
                        .seen_trace
                        .iter()
                        .map(|&k| {
                            let new = k > prev;
                            prev = k;
                            if new {
                                acc[k - 1]
                            } else {
                                f64::NAN
                            }
                        })
                        .collect();
                    let fitness_best = o.trace.iter().map(|&b| acc[b]).collect();
                    RunAccuracy { evaluated, fitness_best }
                })
                .collect();
            let curves = accuracy_curves(&runs, Curves::Both, y.scale, "", (0, 1));
            if !curves.is_empty() {
                panels.push(StepPanel { caption: String::new(), y_label: y.text, curves });
            }
        }
        for (i, (name, _)) in self.fitness.terms().iter().enumerate() {
            // Proxies spanning orders of magnitude are plotted as ln(value).
            let log = LOG_SCALED.contains(&name.as_str());
            let runs: Vec<Vec<f64>> = outcomes
                .iter()
                .map(|(_, o)| {
                    o.trace
                        .iter()
                        .map(|&b| {
                            let v = o.distinct[b].1.get(name).copied().unwrap_or(f64::NAN);
                            if log {
                                v.ln()
                            } else {
                                v
                            }
                        })
                        .collect()
                })
                .collect();
            let what = if log { format!("ln {name}") } else { name.clone() };
            panels.push(StepPanel {
                caption: format!("{what} of the fitness-best architecture"),
                y_label: format!("{what} score"),
                curves: vec![StepCurve {
                    label: String::new(),
                    colour: 2 + i,
                    dashed: false,
                    points: mean_std_by_step(&runs),
                }],
            });
        }
        let n = outcomes.len();
        let subtitle = if n > 1 {
            format!("mean over {n} runs, band ±1 std; best so far: highest accuracy evaluated; dashed: the fitness-best architecture")
        } else {
            "best so far: highest accuracy evaluated; dashed: the fitness-best architecture".to_string()
        };
        step_plot(
            stem,
            &format!(
                "{} search on {} with fitness {}, budget {}",
                self.strategy.name(),
                self.kind.name(),
                self.fitness.name(),
                self.a.budget
            ),
            &subtitle,
            "architectures evaluated (search steps)",
            &panels,
        )
    }
}
