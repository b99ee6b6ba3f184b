//! `zsnas score`: scores a list, a seeded sample or all architectures, streaming one JSON
//! line per architecture ([`crate::io::record::ScoreLine`], flushed) to `--output` or
//! stdout, resuming from what the output file holds; or, with `--format csv`, a flat table
//! on stdout ([`crate::io::flat`]) with votes and aggregates as their own columns and the
//! NAS-Bench-201 accuracies.

use super::scoring::{score_all, ScoreJob};
use super::setup::{ArchArgs, SetupArgs};
use crate::io::flat::{write_score_csv, TruthColumn};
use crate::io::record::{to_line, ScoreLine};
use crate::io::scores::{read_score_file, records_to_set};
use crate::io::shard::Shard;
use crate::proxy::spec::{parse_list, proxies_needed, Target};
use crate::proxy::Proxy;
use crate::report::progress::{stderr_line, stdout_line};
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, SpaceKind};
use anyhow::Result;
use std::path::PathBuf;

/// What `zsnas score` writes to stdout.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON line per architecture as it is scored (without `--output`); exact values,
    /// non-finite ones as the strings "nan", "inf", "-inf".
    Jsonl,
    /// A flat CSV table at the end (also with `--output`, which keeps the JSON lines):
    /// one column per setup field, proxy, vote/aggregate (ranked over the scored set) and
    /// NAS-Bench-201 accuracy (%); non-finite values as nan, inf, -inf (pandas floats).
    Csv,
}

/// NAS-Bench-201 accuracy columns of the CSV table: the 200-epoch test accuracy (%) on
/// each of the three data sets.
const NB201_CSV_TRUTH: [&str; 3] = ["test_acc_200ep", "cifar100_test_200", "imagenet16_test_200"];

/// Flags of `zsnas score`.
#[derive(clap::Args, Clone, Debug)]
pub struct ScoreArgs {
    /// Search space: nb201, nb101, mbv2.
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// Which architectures.
    #[command(flatten)]
    pub archs: ArchArgs,
    /// Comma-separated proxies and votes (`zsnas proxies` lists them); a vote's members
    /// are computed [default: wrcor]. With --from: every proxy in the files is a column
    /// whatever --proxies says; its proxies must be in the files, and its votes and
    /// aggregates are added as columns.
    #[arg(long, allow_hyphen_values = true)]
    pub proxies: Option<String>,
    /// Run seed (batch choice, per-architecture initialisation).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub seed: u64,
    /// PyTorch state dict (safetensors) to load instead of a fresh initialisation, for
    /// one architecture (the one it belongs to); its path and md5 are recorded in `setup`.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Data, batch size, augmentation, head, device.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Append JSON lines here (resumes: architectures already in the file are skipped).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// What to write to stdout: JSON lines as they are scored (without --output), or a
    /// flat CSV table when all are scored.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Convert existing score files (`score --output`, any zsnas version, plain or gzip)
    /// to --format instead of scoring: every line, in file order; votes and aggregates of
    /// --proxies become columns. Example: `--from scores.jsonl --format csv > scores.csv`.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with_all = ["arch", "archs_file", "sample", "all", "output", "weights", "shard", "shard_count", "seed", "data", "batch_size", "augment", "num_classes", "device", "dataset", "photos", "balanced", "jobs", "raw", "resolution", "flops_limit"])]
    pub from: Vec<PathBuf>,
    /// Score only slice I of N (0-based), e.g. 3/8; default from SLURM_ARRAY_TASK_ID /
    /// JOB_COMPLETION_INDEX with --shard-count.
    #[arg(long, allow_hyphen_values = true)]
    pub shard: Option<String>,
    /// Number of shards when the index comes from the environment (SLURM_ARRAY_TASK_ID,
    /// JOB_COMPLETION_INDEX); an error when no index is set there.
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub shard_count: Option<usize>,
    /// Score N architectures at once, each on one libtorch thread (ignores --threads):
    /// throughput on a busy or many-core CPU; the output is the same whatever N above 1,
    /// and the same as with --threads 1. Memory: N networks at a time.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub jobs: usize,
    /// Score the raw architecture strings: keep NAS-Bench-201's dead edges (default: score
    /// each cell's canonical form, every dead edge set to `none`, once per class, and
    /// write it as "canonical").
    #[arg(long)]
    pub raw: bool,
    /// mbv2: input resolution of the --arch and --archs-file architectures, overriding
    /// the string's own (not with --sample/--all).
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub resolution: Option<usize>,
    /// mbv2: reject --arch and --archs-file architectures above this many FLOPs
    /// (multiply-accumulates at their resolution, 1,000 classes), e.g. 600e6 (not with
    /// --sample/--all).
    #[arg(long, allow_hyphen_values = true, value_parser = super::setup::positive)]
    pub flops_limit: Option<f64>,
}

/// Runs `zsnas score`: with `--output` the lines go to that file (resuming), otherwise
/// each line is printed to stdout as soon as it is scored.
pub fn run(a: ScoreArgs) -> Result<()> {
    let space = SpaceKind::parse(&a.space)?;
    if space != SpaceKind::Mbv2 {
        for (flag, given) in [("--resolution", a.resolution.is_some()), ("--flops-limit", a.flops_limit.is_some())] {
            if given {
                anyhow::bail!("{flag} only applies to --space mbv2");
            }
        }
    }
    if (a.archs.sample.is_some() || a.archs.all) && space == SpaceKind::Mbv2 {
        for (flag, given) in [("--resolution", a.resolution.is_some()), ("--flops-limit", a.flops_limit.is_some())] {
            if given {
                anyhow::bail!("{flag} applies to --arch and --archs-file architectures, not to --sample/--all");
            }
        }
    }
    let targets = parse_list(a.proxies.as_deref().unwrap_or("wrcor"), "--proxies", space)?;
    let proxies = proxies_needed(&targets);
    let combos: Vec<Target> = targets.iter().filter(|t| t.is_combination()).cloned().collect();
    if !a.from.is_empty() {
        // With --proxies, its plain proxies must be in the files (every proxy there is a
        // column anyway); without it, nothing is asked for.
        let asked: Vec<String> = match &a.proxies {
            Some(_) => targets.iter().filter(|t| !t.is_combination()).map(Target::name).collect(),
            None => Vec::new(),
        };
        return convert(&a.from, space, a.format, &asked, &combos);
    }
    let mut archs = a.archs.select(space, a.seed)?;
    for (i, x) in archs.iter_mut().enumerate() {
        if let (AnyArch::Mbv2(m), Some(r)) = (&mut *x, a.resolution) {
            m.resolution = r;
            m.validate()?;
        }
        if let (AnyArch::Mbv2(m), Some(l)) = (&*x, a.flops_limit) {
            m.check_flops(l as u64)
                .map_err(|e| anyhow::anyhow!("--flops-limit: selected architecture {} ({m}): {e}", i + 1))?;
        }
    }
    let shard = match (&a.shard, a.shard_count) {
        (Some(s), count) => {
            let s = Shard::parse(s)?;
            if let Some(c) = count.filter(|&c| c != s.count) {
                anyhow::bail!("--shard-count {c} disagrees with --shard {s} (give one of them)");
            }
            s
        }
        (None, count) => match Shard::from_env(count)? {
            Some((s, source)) => {
                // Said, so that a job array run for another reason does not lose lines unnoticed.
                stderr_line(&format!(
                    "note: scoring shard {s} (from {source}): {} of the {} selected architectures; --shard 0/1 scores them all",
                    s.len_of(archs.len()),
                    archs.len()
                ));
                s
            }
            None if count.is_some() => anyhow::bail!(
                "--shard-count takes the shard index from the environment (ZSNAS_SHARD, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX), and none is set: give --shard I/N"
            ),
            None => Shard::ALL,
        },
    };
    let job = ScoreJob {
        space,
        archs,
        proxies: proxies.clone(),
        seed: a.seed,
        weights: a.weights,
        setup: a.setup,
        output: a.output.clone(),
        shard,
        canonical: !a.raw,
        photo_resolution: a.resolution,
        jobs: a.jobs,
    };
    if !combos.is_empty() {
        let names: Vec<String> = combos.iter().map(Target::name).collect();
        let members: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
        stderr_line(&format!(
            "note: votes and aggregates ({}) rank the scored set as a whole: their members ({}) are scored per architecture; {}",
            names.join(", "),
            members.join(", "),
            if a.format == Format::Csv {
                "their values are columns of the CSV table"
            } else {
                "--format csv adds their values as columns (or give the file to zsnas correlate)"
            }
        ));
    }
    let stream = a.output.is_none() && a.format == Format::Jsonl;
    let lines = score_all(&job, |line| {
        if stream {
            stdout_line(&to_line(line))?;
        }
        Ok(())
    })?;
    if a.format == Format::Csv {
        write_csv(space, &lines, &proxies.iter().map(|p| p.name().to_string()).collect::<Vec<_>>(), &combos)?;
    }
    Ok(())
}

/// `score --from`: reads the score lines of `files` (in order) and writes them to stdout in
/// `format`, with every proxy present as a column (in `zsnas proxies` order, unknown names
/// after, sorted) and the `combos` computed over all lines; an architecture found twice
/// with the same scores is kept once (as `correlate` merges them), its proxies united; when
/// its lines record different setups the merged line records none (a note on stderr says
/// so). Errors: unreadable files, a line that is not a score line (named by file:line), the
/// checks of `correlate` (one proxy with two scores of one architecture or with two setups),
/// a proxy of `asked` or a member of `combos` in none of the files.
fn convert(files: &[PathBuf], space: SpaceKind, format: Format, asked: &[String], combos: &[Target]) -> Result<()> {
    let mut raw: Vec<(String, serde_json::Value)> = Vec::new();
    for f in files {
        raw.extend(read_score_file(f)?);
    }
    // The checks of `correlate`: one score per proxy and architecture, one setup per proxy.
    records_to_set(raw.clone(), Some(space))?;
    let mut lines: Vec<ScoreLine> = Vec::new();
    let mut seen: std::collections::HashMap<String, (usize, String)> = std::collections::HashMap::new();
    let mut mixed: Option<String> = None;
    let mut mixed_count = 0;
    for (origin, v) in raw {
        let l: ScoreLine = serde_json::from_value(v).map_err(|e| anyhow::anyhow!("{origin}: not a score line: {e}"))?;
        if let Some(s) = l.space.as_deref().filter(|s| *s != space.name()) {
            anyhow::bail!("{origin}: a {s} line, but --space is {} (give --space {s})", space.name());
        }
        match seen.get(&l.arch).cloned() {
            // The same architecture again (shards, a file given twice, another file with
            // other proxies): one line with the union of the proxies, as correlate merges
            // them. A line records one setup, so lines of different setups merge into one
            // that records none (and cannot be resumed).
            Some((i, first)) => {
                // (Different scores of one proxy were refused by `records_to_set` above.)
                let x = &mut lines[i];
                if x.setup.is_some() && !matches!((&x.setup, &l.setup), (Some(a), Some(b)) if a.same_as(b)) {
                    mixed_count += 1;
                    if mixed.is_none() {
                        mixed = Some(match (&x.setup, &l.setup) {
                            (Some(a), Some(b)) => match a.first_difference(b) {
                                Some((k, va, vb)) => format!("{first} has {k} {va}, {origin} has {k} {vb}"),
                                None => format!("{first} and {origin}"),
                            },
                            _ => format!("{first} records a setup, {origin} none"),
                        });
                    }
                    x.setup = None;
                }
                for (k, v) in l.scores {
                    x.scores.entry(k).or_insert(v);
                }
                for (k, v) in l.seconds {
                    x.seconds.entry(k).or_insert(v);
                }
            }
            None => {
                seen.insert(l.arch.clone(), (lines.len(), origin));
                lines.push(l);
            }
        }
    }
    if let Some(m) = mixed {
        stderr_line(&format!(
            "note: {mixed_count} architectures merge lines of different scoring setups (e.g. {m}); their lines record no setup"
        ));
    }
    let present: std::collections::BTreeSet<&str> =
        lines.iter().flat_map(|l| l.scores.keys().map(String::as_str)).collect();
    if let Some(p) = asked.iter().find(|p| !present.contains(p.as_str())) {
        anyhow::bail!(
            "--proxies {p}: it is in none of the --from files (they hold {})",
            present.iter().copied().collect::<Vec<_>>().join(", ")
        );
    }
    for t in combos {
        for (p, _) in t.members() {
            if !present.contains(p.name()) {
                anyhow::bail!("--proxies {}: its member {} is in none of the --from files", t.name(), p.name());
            }
        }
    }
    if format == Format::Jsonl {
        for l in &lines {
            stdout_line(&to_line(l))?;
        }
        return Ok(());
    }
    let mut names: Vec<String> =
        Proxy::ALL.iter().map(|p| p.name()).filter(|n| present.contains(n)).map(String::from).collect();
    names.extend(present.iter().filter(|n| Proxy::from_name(n).is_err()).map(|n| n.to_string()));
    write_csv(space, &lines, &names, combos)
}

/// Writes the CSV table of `lines` to stdout, with the NAS-Bench-201 accuracies for nb201
/// and a note when a vote/aggregate ranks fewer than 2 architectures.
fn write_csv(space: SpaceKind, lines: &[ScoreLine], proxies: &[String], combos: &[Target]) -> Result<()> {
    if !combos.is_empty() && lines.len() < 2 {
        stderr_line(&format!(
            "note: {} architecture(s) scored: votes and aggregates need at least 2 to rank (their columns say nan)",
            lines.len()
        ));
    }
    let mut truth = Vec::new();
    if space == SpaceKind::Nb201 {
        let table = Nb201Table::embedded()?;
        for c in NB201_CSV_TRUTH {
            let values = lines
                .iter()
                .map(|l| l.index.and_then(|i| table.get(i as usize)).and_then(|r| r.value(c)).filter(|v| v.is_finite()))
                .collect();
            truth.push(TruthColumn { name: c.to_string(), values });
        }
    }
    let mut buf = Vec::new();
    write_score_csv(&mut buf, lines, proxies, combos, &truth)?;
    let text = String::from_utf8(buf)?;
    stdout_line(text.trim_end_matches('\n'))?;
    Ok(())
}
