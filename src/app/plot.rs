//! `zsnas plot`: one figure from the `--history` files of one or more searches, to compare
//! strategies and fitnesses: per file the mean over its runs of the best-so-far test
//! accuracy (the highest among the architectures evaluated so far) and/or the accuracy
//! of the fitness-best architecture, each with a ±1 std band over runs, as step lines.
//!
//! The accuracy of every evaluated architecture comes from the ground truth (default: the
//! truth the histories recorded, `best_so_far.truth_of`, else the space's benchmark table,
//! as for `search`); the fitness-best architecture's from the same truth, or the value the
//! history recorded when the truth has no entry for it.

use super::setup::TruthArgs;
use crate::eval::truth::{axis_label, Truth, EMBEDDED_SOURCE};
use crate::io::history::{read_history_file, HistoryFile};
use crate::io::record::TruthOf;
use crate::report::curves::{accuracy_curves, Curves, RunAccuracy};
use crate::report::plot::{stem_of, step_plot, StepPanel};
use crate::space::{AnyArch, SpaceKind};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::PathBuf;

/// Flags of `zsnas plot`.
#[derive(clap::Args, Clone, Debug)]
pub struct PlotArgs {
    /// History files written by `zsnas search --history` (plain or .gz), one search each.
    #[arg(required = true, value_name = "HISTORY")]
    pub histories: Vec<PathBuf>,
    /// Output path stem: writes STEM.png and STEM.svg (`fig.png` or `fig.svg` names the
    /// stem `fig`).
    #[arg(long, value_name = "STEM")]
    pub output: PathBuf,
    /// Comma-separated legend labels, one per history file (default: "strategy, fitness"
    /// as recorded in each file).
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub labels: Option<Vec<String>>,
    /// Which accuracy curves to draw (default: both for one file, best-so-far for several).
    #[arg(long, value_enum)]
    pub curves: Option<Curves>,
    /// The ground truth (default: the truth the histories recorded, else the space's
    /// benchmark table).
    #[command(flatten)]
    pub truth: TruthArgs,
}

/// One file's runs as accuracies (in the truth's units), and its best-known architecture
/// accuracy per step as recorded when the truth lacks it.
fn run_accuracies(h: &HistoryFile, space: SpaceKind, truth: Option<&Truth>) -> Result<Vec<RunAccuracy>> {
    let mut runs = Vec::new();
    for lines in &h.runs {
        let mut known: HashMap<&str, f64> = HashMap::new();
        let mut r = RunAccuracy::default();
        for l in lines {
            let acc = match truth {
                Some(t) => {
                    let arch = AnyArch::parse(space, &l.arch)?;
                    t.value(&arch, l.index.map(|i| i as usize)).unwrap_or(f64::NAN)
                }
                None => f64::NAN,
            };
            known.insert(l.arch.as_str(), acc);
            r.evaluated.push(acc);
            let best = known
                .get(l.best_so_far.arch.as_str())
                .copied()
                .filter(|v| v.is_finite())
                .or(l.best_so_far.truth)
                .unwrap_or(f64::NAN);
            r.fitness_best.push(best);
        }
        runs.push(r);
    }
    Ok(runs)
}

/// The truth flags to plot with: the given ones when any is given; else the truth the
/// histories recorded their best-so-far accuracies against (`best_so_far.truth_of`), so a
/// search reported against CIFAR-100 is plotted against CIFAR-100. Errors: histories that
/// recorded different truths (without flags to settle it).
fn recorded_truth(a: &PlotArgs, files: &[HistoryFile]) -> Result<TruthArgs> {
    let t = &a.truth;
    if t.truth.is_some() || t.truth_column.is_some() || t.truth_key.is_some() {
        return Ok(t.clone());
    }
    let mut seen: Vec<(&TruthOf, &PathBuf)> = Vec::new();
    for (f, p) in files.iter().zip(&a.histories) {
        let recorded = f.runs.iter().flatten().find_map(|l| l.best_so_far.truth_of.as_ref());
        if let Some(r) = recorded {
            if let Some((first, q)) = seen.iter().find(|(x, _)| *x != r) {
                bail!(
                    "{} records truth column {} of {}, {} column {} of {}; plot one truth per figure, or give --truth/--truth-column",
                    q.display(),
                    first.column,
                    first.source,
                    p.display(),
                    r.column,
                    r.source
                );
            }
            seen.push((r, p));
        }
    }
    Ok(match seen.first() {
        Some((r, _)) => TruthArgs {
            truth: (r.source != EMBEDDED_SOURCE).then(|| PathBuf::from(&r.source)),
            truth_column: Some(r.column.clone()),
            truth_key: None,
        },
        None => t.clone(),
    })
}

/// Runs `zsnas plot`.
pub fn run(a: PlotArgs) -> Result<()> {
    if let Some(l) = &a.labels {
        if l.len() != a.histories.len() {
            bail!("--labels gives {} labels for {} history files; give one per file", l.len(), a.histories.len());
        }
        if let Some(i) = l.iter().position(|x| x.trim().is_empty()) {
            bail!("--labels: label {} is empty; give a name per file", i + 1);
        }
    }
    let mut inputs: Vec<&std::path::Path> = a.histories.iter().map(|p| p.as_path()).collect();
    inputs.extend(a.truth.truth.as_deref());
    super::setup::check_plot_not_input("--output", &stem_of(&a.output), &inputs)?;
    let files: Vec<HistoryFile> = a.histories.iter().map(|p| read_history_file(p)).collect::<Result<_>>()?;
    let space_name = files[0].space.clone().unwrap_or_else(|| "nb201".into());
    for (f, p) in files.iter().zip(&a.histories) {
        if let Some(s) = &f.space {
            if *s != space_name {
                bail!("{} is a search on {s}, the first file on {space_name}; plot one space per figure", p.display());
            }
        }
    }
    let space = SpaceKind::parse(&space_name)?;
    let truth = recorded_truth(&a, &files)?.load_optional(space, None, false)?;
    let which = a.curves.unwrap_or(if files.len() == 1 { Curves::Both } else { Curves::BestSoFar });
    if truth.is_none() && which == Curves::BestSoFar {
        bail!("{space_name} has no ground truth here: give --truth FILE (or --curves fitness-best for the recorded accuracies)");
    }
    let mut all: Vec<(String, Vec<RunAccuracy>)> = Vec::new();
    for (i, (f, p)) in files.iter().zip(&a.histories).enumerate() {
        let runs =
            run_accuracies(f, space, truth.as_ref()).with_context(|| format!("reading history {}", p.display()))?;
        let label = a.labels.as_ref().map(|l| l[i].clone()).unwrap_or_else(|| f.label());
        all.push((label, runs));
    }
    let y = match &truth {
        Some(t) => t.axis_label(),
        None => {
            let recorded = all.iter().flat_map(|(_, r)| r.iter().flat_map(|x| x.fitness_best.iter().copied()));
            axis_label("test_acc_200ep", recorded)
        }
    };
    let mut curves = Vec::new();
    for (i, (label, runs)) in all.iter().enumerate() {
        let (prefix, colours) = if files.len() == 1 { ("", (0, 1)) } else { (label.as_str(), (i, i)) };
        curves.extend(accuracy_curves(runs, which, y.scale, prefix, colours));
    }
    if curves.is_empty() {
        bail!("none of the history files has an architecture with a known accuracy; nothing to plot");
    }
    let nruns: Vec<usize> = files.iter().map(|f| f.runs.len()).collect();
    let runs_text = if nruns.iter().all(|&n| n == nruns[0]) {
        format!("{} run{}", nruns[0], if nruns[0] == 1 { "" } else { "s" })
    } else {
        format!("{}–{} runs", nruns.iter().min().unwrap_or(&0), nruns.iter().max().unwrap_or(&0))
    };
    let (low, high) = files.iter().map(HistoryFile::budget).fold((usize::MAX, 0), |(l, h), b| (l.min(b), h.max(b)));
    let budget = if low == high { format!("budget {high}") } else { format!("budgets {low}–{high}") };
    let title = if files.len() == 1 {
        let f = &files[0];
        format!(
            "{} search on {space_name} with fitness {}, {budget}",
            f.strategy.as_deref().unwrap_or("a"),
            f.fitness.as_deref().unwrap_or("unknown")
        )
    } else {
        format!("{} searches on {space_name} (strategy, fitness), {budget}", files.len())
    };
    let mut notes = vec![if nruns.iter().all(|&n| n == 1) { runs_text } else { format!("mean over {runs_text}") }];
    if nruns.iter().any(|&n| n > 1) {
        notes.push("band ±1 std".into());
    }
    if which != Curves::FitnessBest {
        notes.push("best so far: highest accuracy among the architectures evaluated".into());
    }
    if which != Curves::BestSoFar {
        notes.push("dashed: the architecture the fitness ranks best".into());
    }
    let stem = stem_of(&a.output);
    step_plot(
        &stem,
        &title,
        &notes.join("; "),
        "architectures evaluated (search steps)",
        &[StepPanel { caption: String::new(), y_label: y.text, curves }],
    )?;
    crate::note!("plot: {} history file(s) drawn to {}.png and .svg", files.len(), stem.display());
    Ok(())
}
