//! `zsnas correlate`: how well do proxy scores rank architectures by their benchmark
//! accuracy?
//!
//! Reads the JSON lines of one or more `zsnas score` runs (shard files are merged; an
//! architecture found twice must carry the same scores), or scores a selection on the
//! fly, joins them with a ground-truth table and reports, per proxy and per vote, the
//! statistics of [`crate::eval::correlation`]: `n` (finite scores), `n_nonfinite`,
//! Spearman ρ, Kendall τ-b, Pearson r, precision@1/5/10 % and 95 % bootstrap intervals;
//! `--per-arch FILE` writes each architecture's scores, ranks and truth. Votes are
//! scored by Copeland ranking of the members' scores over the joined population.
//! Architectures missing from the truth table are reported on stderr (count and the
//! first few) and left out.

use super::scoring::{score_all, ScoreJob};
use super::setup::{ArchArgs, SetupArgs, TruthArgs};
use crate::eval::correlation::{
    evaluate_targets, join, nan_notes, per_arch_table, render_table, Joined, NonFinite, ProxyStats,
};
use crate::eval::truth::Truth;
use crate::io::scores::{load_scores, records_to_set, ScoreSet};
use crate::io::shard::Shard;
use crate::proxy::spec::{parse_list, proxies_needed, resolve_present};
use crate::report::plot::{scatter, ScatterText};
use crate::report::table::fmt_f64;
use crate::space::SpaceKind;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;

/// How many missing architectures are named on stderr.
const SHOW_MISSING: usize = 5;

/// Output format of `zsnas correlate`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A plain-text table.
    Table,
    /// One flat JSON object per proxy or vote, one per line (the CSV's columns as keys).
    Json,
    /// CSV with a header row.
    Csv,
}

/// Flags of `zsnas correlate`.
#[derive(clap::Args, Clone, Debug)]
pub struct CorrelateArgs {
    /// JSON-lines files written by `zsnas score`, e.g. one per shard (repeatable, and
    /// one flag takes several files: `--scores scores.*.jsonl`). Without it, the
    /// architectures given by the scoring flags below are scored first.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub scores: Vec<PathBuf>,
    /// Search space: nb201, nb101, or mbv2 with --truth (default: the lines' "space"
    /// field; nb201 when scoring on the fly).
    #[arg(long)]
    pub space: Option<String>,
    /// The ground truth.
    #[command(flatten)]
    pub truth: TruthArgs,
    /// Comma-separated proxies and votes to evaluate (e.g. wrcor,naswot,sjw,vote:a,b,c).
    /// Default: every proxy present in the scores. When scoring on the fly: what to
    /// score (default wrcor).
    #[arg(long, allow_hyphen_values = true)]
    pub proxies: Option<String>,
    /// Non-finite scores (a degenerate network's NaN or −inf): ranked last in ρ and τ, as a
    /// search treats them, or dropped from ρ and τ. Pearson r always uses the finite pairs
    /// only (a linear correlation has no place for −inf).
    #[arg(long, value_enum, default_value_t = NonFinite::Last)]
    pub nonfinite: NonFinite,
    /// Bootstrap resamples for the 95% intervals (0: no intervals; at most 100,000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 1000, value_parser = super::setup::resamples)]
    pub bootstrap: usize,
    /// Seed of the bootstrap (and, when scoring on the fly, the run seed).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write each architecture's scores, ranks (1 = best, non-finite last) and truth to
    /// FILE as CSV (pandas reads every value column as floats).
    #[arg(long, value_name = "FILE")]
    pub per_arch: Option<PathBuf>,
    /// Write a scatter plot per proxy/vote to `DIR/<proxy>.png` and `.svg`.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Architectures to score on the fly (without --scores).
    #[command(flatten, next_help_heading = "Scoring on the fly (without --scores)")]
    pub archs: ArchArgs,
    /// Data, batch size, augmentation, head, device.
    #[command(flatten, next_help_heading = "Scoring on the fly (without --scores)")]
    pub setup: SetupArgs,
    /// Also keep the scores in this JSON-lines file (resumes like `zsnas score --output`).
    #[arg(long, help_heading = "Scoring on the fly (without --scores)")]
    pub output: Option<PathBuf>,
    /// Score N architectures at once, each on one libtorch thread (as `zsnas score --jobs`;
    /// default 1).
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count, help_heading = "Scoring on the fly (without --scores)")]
    pub jobs: Option<usize>,
}

/// Scores the on-the-fly selection of `a` (the work of `zsnas score` with the same flags).
fn score_on_the_fly(a: &CorrelateArgs) -> Result<ScoreSet> {
    let space = SpaceKind::parse(a.space.as_deref().unwrap_or("nb201"))?;
    let targets = parse_list(a.proxies.as_deref().unwrap_or("wrcor"), "--proxies", space)?;
    let job = ScoreJob {
        space,
        archs: a.archs.select(space, a.seed)?,
        proxies: proxies_needed(&targets),
        seed: a.seed,
        weights: None,
        setup: a.setup.clone(),
        output: a.output.clone(),
        // Never pick up a scheduler's shard variables: correlate needs everything.
        shard: Shard::ALL,
        canonical: true,
        photo_resolution: None,
        jobs: a.jobs.unwrap_or(1),
    };
    let lines = score_all(&job, |_| Ok(()))?;
    let values = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| Ok((format!("scored line {}", i + 1), serde_json::to_value(l)?)))
        .collect::<Result<Vec<_>>>()?;
    records_to_set(values, Some(space))
}

/// A file-name-safe form of a proxy or vote name (`vote:a,-b` → `vote_a_-b`).
pub fn plot_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "_-.".contains(c) { c } else { '_' }).collect()
}

fn say(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// Runs `zsnas correlate`.
pub fn run(a: CorrelateArgs) -> Result<()> {
    if let Some(f) = &a.per_arch {
        // The table must not replace an input or the scores this run writes.
        let same = |p: &PathBuf| crate::io::same_file(p, f);
        if a.scores.iter().any(same) {
            bail!("--per-arch {} is one of the --scores inputs: give another file", f.display());
        }
        for (flag, p) in [("--truth", &a.truth.truth), ("--archs-file", &a.archs.archs_file), ("--output", &a.output)] {
            if p.as_ref().is_some_and(same) {
                bail!("--per-arch {} is also the {flag} file: give another file", f.display());
            }
        }
        if let Some(dir) = f.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            bail!("--per-arch {}: directory {} does not exist", f.display(), dir.display());
        }
    }
    // The plot folder is made (and so checked) before any scoring, not after it.
    if let Some(dir) = &a.plot {
        std::fs::create_dir_all(dir).with_context(|| format!("--plot: cannot create directory '{}'", dir.display()))?;
    }
    let space_flag = a.space.as_deref().map(SpaceKind::parse).transpose()?;
    if matches!(space_flag, Some(SpaceKind::Mbv2)) && a.truth.truth.is_none() {
        bail!("mbv2 has no benchmark table: give --truth FILE.csv --truth-column NAME --truth-key NAME");
    }
    let set = if !a.scores.is_empty() {
        if a.archs.any() {
            bail!("give either --scores FILE or architectures to score (--sample/--arch/--archs-file/--all), not both");
        }
        let mut scoring = a.setup.scoring_flags_given();
        if a.output.is_some() {
            scoring.push("--output");
        }
        if a.jobs.is_some() {
            scoring.push("--jobs");
        }
        if let Some(flag) = scoring.first() {
            bail!(
                "{flag} applies to scoring on the fly, not to --scores files (their lines record how they were scored)"
            );
        }
        // With --proxies, only its proxies (and their members) must agree across the files'
        // lines and setups ([`load_scores`]); another proxy there (scored twice, or with two
        // setups) does not stop the run. Without --space the files' space is not known yet:
        // a list that parses in any space will do here (`resolve_present` checks it against
        // the files' space afterwards); a malformed list is refused now.
        let keep: Option<Vec<String>> = match a.proxies.as_deref() {
            None => None,
            Some(l) => {
                let spaces = space_flag.map_or(vec![SpaceKind::Nb201, SpaceKind::Nb101, SpaceKind::Mbv2], |s| vec![s]);
                let mut parsed = spaces.into_iter().map(|s| parse_list(l, "--proxies", s));
                let t = match parsed.next().expect("one space at least") {
                    Ok(t) => t,
                    Err(e) => parsed.find_map(Result::ok).ok_or(e)?,
                };
                Some(proxies_needed(&t).iter().map(|p| p.name().to_string()).collect())
            }
        };
        load_scores(&a.scores, space_flag, keep.as_deref())?
    } else {
        if !a.archs.any() {
            bail!("nothing to correlate: give --scores FILE.jsonl (repeatable) or architectures to score (--sample K, --arch, --archs-file, --all)");
        }
        score_on_the_fly(&a)?
    };
    if set.archs.is_empty() {
        bail!("no scored architecture");
    }
    if set.duplicates > 0 {
        say(&format!("note: {} duplicate score lines (same architecture, same scores) merged", set.duplicates));
    }
    let present = set.proxy_names();
    let targets = resolve_present(a.proxies.as_deref(), &present, set.space)?;
    let truth = a.truth.load(set.space, a.setup.dataset)?;
    let j = join(&set, &truth);
    let report = |what: &str, list: &[String]| {
        if list.is_empty() {
            return;
        }
        let shown: Vec<&str> = list.iter().take(SHOW_MISSING).map(String::as_str).collect();
        say(&format!(
            "warning: {} of {} scored architectures {what} ({} of {}, key {}) and are left out; first {}: {}",
            list.len(),
            set.archs.len(),
            truth.column,
            truth.source,
            truth.key,
            shown.len(),
            shown.join("  ")
        ));
    };
    report("are not in the truth table", &j.missing);
    report("have a non-finite truth value", &j.nonfinite_truth);
    if j.archs.is_empty() {
        bail!(
            "none of the {} scored architectures is in the truth table {} (key {})",
            set.archs.len(),
            truth.source,
            truth.key
        );
    }
    let keep = a.plot.is_some() || a.per_arch.is_some();
    let (stats, plots) = evaluate_targets(&targets, &j, a.nonfinite, a.bootstrap, a.seed, keep);
    if let Some(f) = &a.per_arch {
        let (head, rows) = per_arch_table(&j, &truth.column, &plots);
        let mut w = csv::Writer::from_path(f).with_context(|| format!("--per-arch {}", f.display()))?;
        w.write_record(&head)?;
        for r in rows {
            w.write_record(&r)?;
        }
        w.flush().with_context(|| format!("--per-arch {}", f.display()))?;
        say(&format!("per-architecture table: {} architectures written to {}", j.archs.len(), f.display()));
    }
    match write_results(&a, &set, &truth, &j, &stats) {
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {}
        r => r?,
    }
    if let Some(dir) = &a.plot {
        std::fs::create_dir_all(dir).with_context(|| format!("creating plot directory '{}'", dir.display()))?;
        let y = truth.axis_label();
        for ((name, scores), s) in plots.iter().zip(&stats) {
            let pts: Vec<(f64, f64)> = scores.iter().copied().zip(j.truth.iter().map(|t| t * y.scale)).collect();
            let title =
                format!("{name} against benchmark accuracy ({}, {} architectures)", set.space.name(), pts.len());
            let nonfinite = match (s.n_nonfinite, a.nonfinite) {
                (0, _) => String::new(),
                (k, NonFinite::Last) => format!(", {k} non-finite ranked last"),
                (k, NonFinite::Drop) => format!(", {k} non-finite left out"),
            };
            let subtitle = format!(
                "Spearman ρ = {}, Kendall τ = {} over n = {}{nonfinite}",
                fmt_f64(s.spearman, 3),
                fmt_f64(s.kendall, 3),
                s.n
            );
            let x_label = match name.as_str() {
                n if n.starts_with("vote:") || n == "sjw" || n == "spw" => format!("{name} (Copeland rank score)"),
                "params" => "params (parameter count)".to_string(),
                "flops" => "flops (floating-point operations)".to_string(),
                _ => format!("{name} score"),
            };
            let stem = dir.join(plot_stem(name));
            let text = ScatterText { title: &title, subtitle: &subtitle, x: &x_label, y: &y.text };
            scatter(&stem, &pts, &text).with_context(|| format!("plotting {name}"))?;
        }
        say(&format!("plots: {} proxies written to {}", plots.len(), dir.display()));
    }
    Ok(())
}

/// Writes the results to stdout in the requested format.
fn write_results(a: &CorrelateArgs, set: &ScoreSet, truth: &Truth, j: &Joined, stats: &[ProxyStats]) -> Result<()> {
    write_results_to_stdout(a, set, truth, j, stats).context("writing to standard output")
}

fn write_results_to_stdout(
    a: &CorrelateArgs,
    set: &ScoreSet,
    truth: &Truth,
    j: &Joined,
    stats: &[ProxyStats],
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    match a.format {
        Format::Table => {
            let ci = if a.bootstrap > 0 {
                format!(", 95% bootstrap intervals over {} resamples (seed {})", a.bootstrap, a.seed)
            } else {
                String::new()
            };
            writeln!(
                o,
                "zsnas correlate: {} architectures of {} against {} ({}){ci}; non-finite scores {}",
                j.archs.len(),
                set.space.name(),
                truth.column,
                truth.source,
                match a.nonfinite {
                    NonFinite::Last => "ranked last (--nonfinite last)",
                    NonFinite::Drop => "dropped from ρ and τ (--nonfinite drop)",
                }
            )?;
            write!(o, "{}", render_table(stats))?;
            for n in nan_notes(stats) {
                crate::note!("{n}");
            }
        }
        Format::Json => {
            for s in stats {
                writeln!(o, "{}", s.to_json_line())?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut o);
            w.write_record(ProxyStats::csv_header())?;
            for s in stats {
                w.write_record(s.csv_row())?;
            }
            w.flush()?;
        }
    }
    o.flush()?;
    Ok(())
}
