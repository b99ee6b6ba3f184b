//! `zsnas correlate`: how well do proxy scores rank architectures by their benchmark
//! accuracy?
//!
//! Reads the JSON lines of one or more `zsnas score` runs (shard files are merged; an
//! architecture found twice must carry the same scores), or scores a selection on the
//! fly, joins them with a ground-truth table and reports, per proxy and per vote:
//!
//! * `n`: architectures with a finite score (and a truth value), used for ρ and τ;
//! * `n_nonfinite`: architectures whose score is NaN, ±inf or missing (left out of ρ/τ);
//! * Spearman ρ and Kendall τ-b over the `n` finite pairs;
//! * precision@k for k = 1 %, 5 %, 10 % ([`TOP_FRACTIONS`]) over the whole joined
//!   population (`n + n_nonfinite` architectures), NaN scores ranking last, so a proxy
//!   that fails on good architectures is penalised;
//! * a 95 % percentile bootstrap interval of each (`--bootstrap` resamples, `--seed`).
//!
//! Votes (`sjw`, `spw`, `vote:a,b,c`) are scored by Copeland ranking
//! ([`Vote::rank_scores`]) of the members' scores over the joined population.
//!
//! Architectures missing from the truth table are reported on stderr (count and the
//! first few) and left out.

use super::arch::AnyArch;
use super::cli_score::{score_records, ScoreArgs};
use super::record::decode;
use super::score::{SetupArgs, SpaceKind};
use crate::data::truth::TruthTable;
use crate::eval::stats::{bootstrap_ci, finite_pairs, kendall_tau_b, precision_at_k, spearman};
use crate::proxy::vote::Vote;
use crate::proxy::Proxy;
use crate::report::plot::{auto_log_x, scatter};
use crate::report::progress::Progress;
use crate::report::table::{fmt_f64, Table};
use crate::space::nb101::load_records;
use crate::space::nb201_table::Nb201Table;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The top fractions of precision@k: label and fraction.
pub const TOP_FRACTIONS: [(&str, f64); 3] = [("1%", 0.01), ("5%", 0.05), ("10%", 0.10)];

/// How many missing architectures are named on stderr.
const SHOW_MISSING: usize = 5;

/// Output format of `zsnas correlate`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A plain-text table.
    Table,
    /// One JSON object per proxy or vote, one per line.
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
    /// Search space: nb201 or nb101 (default: the lines' "space" field; nb201 when
    /// scoring on the fly).
    #[arg(long)]
    pub space: Option<String>,
    /// Ground-truth table: a CSV file (plain or gzip), or for nb101 a JSON list like
    /// nb101_sample200.json. Default: nb201 the embedded NAS-Bench-201 table; nb101
    /// <data dir>/nb101/nb101_sample200.json.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Truth column (default: test_acc_200ep for nb201, valid_acc_108ep for nb101).
    #[arg(long)]
    pub truth_column: Option<String>,
    /// Join key, also the truth CSV's key column: arch_str (the architecture string),
    /// index (benchmark index) or hash (NAS-Bench-101 module hash); another name joins
    /// that column on the architecture string. Default: arch_str for nb201, hash for nb101.
    #[arg(long)]
    pub truth_key: Option<String>,
    /// Comma-separated proxies and votes to evaluate (e.g. wrcor,naswot,sjw,vote:a,b,c).
    /// Default: every proxy present in the scores. When scoring on the fly: what to
    /// score (default wrcor).
    #[arg(long)]
    pub proxies: Option<String>,
    /// Bootstrap resamples for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap (and, when scoring on the fly, the run seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write a scatter plot per proxy/vote to DIR/<proxy>.png and .svg.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,

    /// Score this architecture (repeatable).
    #[arg(long, help_heading = "Scoring on the fly (without --scores)")]
    pub arch: Vec<String>,
    /// Score the architectures of this file, one per line.
    #[arg(long, help_heading = "Scoring on the fly (without --scores)")]
    pub archs_file: Option<PathBuf>,
    /// Score a seeded uniform sample of K distinct architectures (seed: --seed).
    #[arg(long, value_name = "K", help_heading = "Scoring on the fly (without --scores)")]
    pub sample: Option<usize>,
    /// Score every architecture of the space (nb201).
    #[arg(long, help_heading = "Scoring on the fly (without --scores)")]
    pub all: bool,
    /// Data, batch size, augmentation, head, device.
    #[command(flatten, next_help_heading = "Scoring on the fly (without --scores)")]
    pub setup: SetupArgs,
    /// Also keep the scores in this JSON-lines file (resumes like `zsnas score --output`).
    #[arg(long, help_heading = "Scoring on the fly (without --scores)")]
    pub output: Option<PathBuf>,
}

impl CorrelateArgs {
    fn scoring_requested(&self) -> bool {
        !self.arch.is_empty() || self.archs_file.is_some() || self.sample.is_some() || self.all
    }

    /// The `zsnas score` flags equivalent to the on-the-fly scoring flags.
    fn score_args(&self) -> ScoreArgs {
        ScoreArgs {
            space: self.space.clone().unwrap_or_else(|| "nb201".into()),
            arch: self.arch.clone(),
            archs_file: self.archs_file.clone(),
            sample: self.sample,
            all: self.all,
            proxies: self.proxies.clone().unwrap_or_else(|| "wrcor".into()),
            setup: self.setup.clone(),
            seed: self.seed,
            weights: None,
            output: self.output.clone(),
            // Never pick up a scheduler's shard variables: correlate needs everything.
            shard: Some("0/1".into()),
            shard_count: None,
            resolution: None,
            flops_limit: None,
        }
    }
}

/// One scored architecture, as read from the score lines.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredArch {
    /// The `arch` field (canonical architecture text).
    pub arch: String,
    /// The `index` field (benchmark index), when present.
    pub index: Option<u64>,
    /// The `hash` field (NAS-Bench-101 module hash), when present.
    pub hash: Option<String>,
    /// Proxy name to score (non-finite scores kept as NaN/±inf).
    pub scores: BTreeMap<String, f64>,
    /// Where the record came from (`file:line`), for messages.
    pub origin: String,
}

impl ScoredArch {
    /// Builds a record from one `zsnas score` JSON line; `origin` names it in errors.
    pub fn from_json(v: &Value, origin: &str) -> Result<ScoredArch> {
        let arch = v
            .get("arch")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{origin}: no 'arch' string in this line (not a `zsnas score` or history line)"))?;
        let obj = v.get("scores").and_then(Value::as_object).ok_or_else(|| {
            anyhow!("{origin}: no 'scores' object in this line (not a `zsnas score` or history line)")
        })?;
        let mut scores = BTreeMap::new();
        for (k, x) in obj {
            let val = decode(x)
                .ok_or_else(|| anyhow!("{origin}: score '{k}' is {x}, not a number (or \"nan\", \"inf\", \"-inf\")"))?;
            scores.insert(k.clone(), val);
        }
        Ok(ScoredArch {
            arch: arch.to_string(),
            index: v.get("index").and_then(Value::as_u64),
            hash: v.get("hash").and_then(Value::as_str).map(str::to_string),
            scores,
            origin: origin.to_string(),
        })
    }

    /// The deduplication key: the hash for NAS-Bench-101 (computed from the arch text
    /// when the line has none), the architecture text otherwise.
    fn dedup_key(&self, space: SpaceKind) -> String {
        if space == SpaceKind::Nb101 {
            if let Some(h) = &self.hash {
                return h.clone();
            }
            if let Ok(a) = AnyArch::parse(space, &self.arch) {
                return a.key();
            }
        }
        self.arch.clone()
    }

    /// The value joined with the truth table's key column `key`.
    fn join_key(&self, space: SpaceKind, key: &str) -> Option<String> {
        match key {
            "index" => self.index.map(|i| i.to_string()),
            "hash" => match &self.hash {
                Some(h) => Some(h.clone()),
                None if space == SpaceKind::Nb101 => AnyArch::parse(space, &self.arch).ok().map(|a| a.key()),
                None => None,
            },
            _ => Some(self.arch.clone()),
        }
    }
}

/// The merged score lines of one or more files.
#[derive(Clone, Debug)]
pub struct ScoreSet {
    /// The space of every line.
    pub space: SpaceKind,
    /// One record per architecture, in order of first appearance.
    pub archs: Vec<ScoredArch>,
    /// Lines dropped as exact duplicates of an earlier one.
    pub duplicates: usize,
}

impl ScoreSet {
    /// Proxy names present in at least one record, sorted.
    pub fn proxy_names(&self) -> Vec<String> {
        let s: BTreeSet<&String> = self.archs.iter().flat_map(|a| a.scores.keys()).collect();
        s.into_iter().cloned().collect()
    }
}

/// Relative difference below which two values of one proxy for one architecture count as
/// the same score (libtorch's multi-threaded kernels move `jacob_cov` by about 1e-15
/// relative between runs; a different batch or seed moves every score by far more).
pub const SAME_SCORE_RTOL: f64 = 1e-9;

/// Whether `a` and `b` are the same score up to [`SAME_SCORE_RTOL`] (NaN equals NaN,
/// infinities must be equal).
pub fn same_score(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    (a - b).abs() <= SAME_SCORE_RTOL * a.abs().max(b.abs())
}

/// Merges score records: records of the same architecture are merged (the union of
/// their proxies); the same proxy with different values (beyond [`SAME_SCORE_RTOL`]) is an
/// error naming both lines.
pub fn merge_records(space: SpaceKind, records: Vec<ScoredArch>) -> Result<ScoreSet> {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut archs: Vec<ScoredArch> = Vec::new();
    let mut duplicates = 0;
    for r in records {
        let key = r.dedup_key(space);
        match by_key.get(&key) {
            None => {
                by_key.insert(key, archs.len());
                archs.push(r);
            }
            Some(&i) => {
                let first = &mut archs[i];
                for (p, &v) in &r.scores {
                    if let Some(&w) = first.scores.get(p) {
                        if !same_score(v, w) {
                            bail!(
                                "architecture {} is scored twice with different '{p}' scores: {w} ({}) and {v} ({}); \
                                 were the runs made with different settings (seed, batch, data)?",
                                r.arch,
                                first.origin,
                                r.origin
                            );
                        }
                    }
                }
                for (p, v) in r.scores {
                    first.scores.entry(p).or_insert(v);
                }
                if first.index.is_none() {
                    first.index = r.index;
                }
                duplicates += 1;
            }
        }
    }
    Ok(ScoreSet { space, archs, duplicates })
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r' | 0))
}

/// Reads the JSON lines of a `zsnas score` output file (plain or gzip-compressed) without
/// modifying it (the file may still be being written): blank lines are skipped, an unparsable *last* line (a
/// torn write) is skipped with a note on stderr, an unparsable line elsewhere is an
/// error naming the line. Returns `(origin, value)` pairs, origin = `file:line`.
pub fn read_score_file(path: &Path) -> Result<Vec<(String, Value)>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read scores file '{}'", path.display()))?;
    let bytes = crate::data::truth::maybe_gunzip(bytes, &format!("scores file '{}'", path.display()))?;
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let last = lines.iter().rposition(|l| !is_blank(l));
    let Some(last) = last else {
        bail!("scores file '{}' is empty (no score lines)", path.display());
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate().take(last + 1) {
        if is_blank(l) {
            continue;
        }
        let origin = format!("{}:{}", path.display(), i + 1);
        match serde_json::from_slice::<Value>(l) {
            Ok(v) if v.is_object() => out.push((origin, v)),
            Ok(_) | Err(_) if i == last => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "note: {origin}: ignoring a torn last line (a run still writing, or killed)"
                );
            }
            Ok(_) => bail!("{origin}: not a JSON object"),
            Err(e) => bail!("{origin}: corrupt JSON line (not the last line, so not a torn write): {e}"),
        }
    }
    if out.is_empty() {
        bail!("scores file '{}' holds no complete score line", path.display());
    }
    Ok(out)
}

/// Reads and merges score files (see [`read_score_file`] and [`merge_records`]). The
/// space is `space` when given (every line must agree), else the lines' `space` field.
pub fn load_scores(paths: &[PathBuf], space: Option<SpaceKind>) -> Result<ScoreSet> {
    let mut lines = Vec::new();
    for p in paths {
        lines.extend(read_score_file(p)?);
    }
    records_to_set(lines, space)
}

/// Turns `(origin, JSON line)` pairs into a merged [`ScoreSet`], checking that all lines
/// are of one space.
pub fn records_to_set(lines: Vec<(String, Value)>, space: Option<SpaceKind>) -> Result<ScoreSet> {
    let mut found: Option<(SpaceKind, String)> = None;
    let mut recs = Vec::with_capacity(lines.len());
    for (origin, v) in &lines {
        if let Some(s) = v.get("space").and_then(Value::as_str) {
            let k = SpaceKind::parse(s).with_context(|| format!("{origin}"))?;
            if let Some(want) = space {
                if k != want {
                    bail!("{origin}: line of space '{}' but --space {}", k.name(), want.name());
                }
            }
            match &found {
                Some((f, o)) if *f != k => {
                    bail!("score lines of different spaces: '{}' ({o}) and '{}' ({origin})", f.name(), k.name())
                }
                Some(_) => {}
                None => found = Some((k, origin.clone())),
            }
        }
        recs.push(ScoredArch::from_json(v, origin)?);
    }
    let space = match (space, found) {
        (Some(s), _) => s,
        (None, Some((s, _))) => s,
        (None, None) => bail!("the score lines have no \"space\" field; give --space nb201|nb101"),
    };
    merge_records(space, recs)
}

/// A ground-truth mapping from join key to value.
#[derive(Clone, Debug)]
pub struct Truth {
    /// Human-readable source (file name or "embedded NAS-Bench-201 table").
    pub source: String,
    /// The value column.
    pub column: String,
    /// The join key (see [`CorrelateArgs::truth_key`]).
    pub key: String,
    /// Key → value.
    pub map: HashMap<String, f64>,
}

/// Columns of the embedded NAS-Bench-201 table usable as truth.
const NB201_COLUMNS: [&str; 3] = ["test_acc_200ep", "valid_acc_200ep", "params_m"];
/// Columns of a NAS-Bench-101 records JSON usable as truth.
const NB101_COLUMNS: [&str; 4] = ["valid_acc_108ep", "valid_acc_12ep", "trainable_parameters", "train_time_s"];

/// Loads the ground truth for `space`: `path` (CSV, or NAS-Bench-101 JSON), or the
/// space's default (see [`CorrelateArgs::truth`]), with the column and key defaults of
/// the space.
pub fn load_truth(space: SpaceKind, path: Option<&Path>, column: Option<&str>, key: Option<&str>) -> Result<Truth> {
    let default_col = match space {
        SpaceKind::Nb101 => "valid_acc_108ep",
        _ => "test_acc_200ep",
    };
    let default_key = match space {
        SpaceKind::Nb101 => "hash",
        _ => "arch_str",
    };
    let column = column.unwrap_or(default_col).to_string();
    let key = key.unwrap_or(default_key).to_string();
    let path: Option<PathBuf> = match (path, space) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, SpaceKind::Nb201) => None,
        (None, SpaceKind::Nb101) => {
            let p = crate::data::data_dir().map(|d| d.join("nb101/nb101_sample200.json"));
            match p {
                Some(p) if p.exists() => Some(p),
                _ => bail!("nb101 has no built-in truth table: give --truth nb101_sample200.json (or a CSV with --truth-key hash)"),
            }
        }
        (None, SpaceKind::Mbv2) => {
            bail!("mbv2 has no benchmark table: give --truth FILE.csv --truth-column NAME --truth-key NAME")
        }
    };
    let Some(path) = path else {
        // Embedded NAS-Bench-201 table.
        let t = Nb201Table::embedded()?;
        let col = NB201_COLUMNS.iter().position(|c| *c == column).ok_or_else(|| {
            anyhow!(
                "the embedded NAS-Bench-201 table has no column '{column}' (available: {}); use --truth FILE.csv for others",
                NB201_COLUMNS.join(", ")
            )
        })?;
        let mut map = HashMap::new();
        for r in t.rows() {
            let k = match key.as_str() {
                "index" => r.index.to_string(),
                "arch_str" | "arch" => r.arch.arch_str(),
                other => bail!("the embedded NAS-Bench-201 table is keyed by arch_str or index, not '{other}'"),
            };
            let v = [r.test_acc_200ep, r.valid_acc_200ep, r.params_m][col];
            map.insert(k, v);
        }
        return Ok(Truth { source: "embedded NAS-Bench-201 table".into(), column, key, map });
    };
    let is_json = path.extension().is_some_and(|e| e == "json")
        || std::fs::read(&path).ok().is_some_and(|b| b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'['));
    if is_json {
        if key != "hash" {
            bail!("'{}' is a NAS-Bench-101 records JSON, keyed by hash, not '{key}'", path.display());
        }
        let recs = load_records(&path)?;
        let col = NB101_COLUMNS.iter().position(|c| *c == column).ok_or_else(|| {
            anyhow!("'{}' has no column '{column}' (available: {})", path.display(), NB101_COLUMNS.join(", "))
        })?;
        let mut map = HashMap::new();
        for r in recs {
            let v = match col {
                0 => r.valid_acc_108ep,
                1 => r.valid_acc_12ep,
                2 => r.trainable_parameters.map(|x| x as f64),
                _ => r.train_time_s,
            };
            if let Some(v) = v {
                map.insert(r.hash, v);
            }
        }
        if map.is_empty() {
            bail!("'{}' has no record with a '{column}' value", path.display());
        }
        return Ok(Truth { source: path.display().to_string(), column, key, map });
    }
    let t = TruthTable::load_csv(&path, &key, &column)?;
    let map = t.iter().map(|(k, v)| (k.to_string(), v)).collect();
    Ok(Truth { source: path.display().to_string(), column, key, map })
}

/// The scored architectures that have a (finite) truth value.
#[derive(Clone, Debug)]
pub struct Joined {
    /// Architecture texts.
    pub archs: Vec<String>,
    /// Their scores.
    pub scores: Vec<BTreeMap<String, f64>>,
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

/// What is evaluated: a proxy's scores (by name in the score lines) or a vote.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A proxy, by its name in the score lines.
    Proxy(String),
    /// A vote over proxies of the score lines.
    Vote(Vote),
}

impl Target {
    /// The display name.
    pub fn name(&self) -> &str {
        match self {
            Target::Proxy(p) => p,
            Target::Vote(v) => &v.name,
        }
    }
}

/// Splits a `--proxies` list into items the way `zsnas score` does: `vote:a,b,c` keeps
/// the following names as members until the next `vote:...`, `sjw` or `spw`.
pub fn split_proxy_list(s: &str) -> Vec<String> {
    let items: Vec<&str> = s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let mut it = items[i].to_string();
        if it.starts_with("vote:") {
            while i + 1 < items.len()
                && !items[i + 1].starts_with("vote:")
                && items[i + 1] != "sjw"
                && items[i + 1] != "spw"
            {
                i += 1;
                it.push(',');
                it.push_str(items[i]);
            }
        }
        out.push(it);
        i += 1;
    }
    out
}

/// Resolves `--proxies` against the proxies `present` in the scores. Errors: an empty
/// list, an unknown proxy name, a proxy (or vote member) absent from the scores.
pub fn resolve_targets(list: &str, present: &[String]) -> Result<Vec<Target>> {
    let present_list = || if present.is_empty() { "none".to_string() } else { present.join(", ") };
    let mut out: Vec<Target> = Vec::new();
    for item in split_proxy_list(list) {
        let t = if present.contains(&item) {
            Target::Proxy(item.clone())
        } else if let Some(v) = Vote::parse(&item)? {
            for (p, _) in &v.members {
                if !present.iter().any(|x| x == p.name()) {
                    bail!(
                        "vote '{}': member '{}' is not in the scores (present: {})",
                        v.name,
                        p.name(),
                        present_list()
                    );
                }
            }
            Target::Vote(v)
        } else {
            match Proxy::from_name(&item) {
                Ok(p) if present.iter().any(|x| x == p.name()) => Target::Proxy(p.name().to_string()),
                Ok(_) => bail!("proxy '{item}' is not in the scores (present: {})", present_list()),
                Err(_) if super::cli_score::SPACE_PROXIES.contains(&item.as_str()) => {
                    bail!("proxy '{item}' is not in the scores (present: {})", present_list())
                }
                Err(e) => return Err(e),
            }
        };
        if !out.iter().any(|o| o.name() == t.name()) {
            out.push(t);
        }
    }
    if out.is_empty() {
        bail!("--proxies names no proxy");
    }
    Ok(out)
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
    /// Architectures with a finite score, used for ρ and τ.
    pub n: usize,
    /// Architectures with a NaN, ±inf or missing score.
    pub n_nonfinite: usize,
    /// Spearman ρ over the finite pairs (NaN if undefined).
    pub spearman: f64,
    /// Kendall τ-b over the finite pairs (NaN if undefined).
    pub kendall: f64,
    /// precision@k over the whole population, in the order of [`TOP_FRACTIONS`].
    pub precision_at: [f64; 3],
    /// Bootstrap intervals, `None` with zero resamples.
    pub ci95: Option<Ci95>,
}

fn gather(v: &[f64], ix: &[usize]) -> Vec<f64> {
    ix.iter().map(|&i| v[i]).collect()
}

/// Evaluates `scores` (one per architecture, any value) against finite `truth` of the
/// same length: ρ and τ-b over the pairs with a finite score; precision@k over all, NaN
/// scores ranking last (±inf keep their order); `resamples` bootstrap rounds seeded by
/// `seed` for the 95 % intervals (each statistic resampled over its own population).
pub fn evaluate(proxy: &str, scores: &[f64], truth: &[f64], resamples: usize, seed: u64) -> ProxyStats {
    let (fs, ft) = finite_pairs(scores, truth);
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
        n_nonfinite: scores.len() - n,
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

/// A file-name-safe form of a proxy or vote name (`vote:a,-b` → `vote_a_-b`).
pub fn plot_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "_-.".contains(c) { c } else { '_' }).collect()
}

fn say(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// Runs `zsnas correlate`.
pub fn run(a: CorrelateArgs) -> Result<()> {
    let space_flag = a.space.as_deref().map(SpaceKind::parse).transpose()?;
    if matches!(space_flag, Some(SpaceKind::Mbv2)) && a.truth.is_none() {
        bail!("mbv2 has no benchmark table: give --truth FILE.csv --truth-column NAME --truth-key NAME");
    }
    let set = if !a.scores.is_empty() {
        if a.scoring_requested() {
            bail!("give either --scores FILE or architectures to score (--sample/--arch/--archs-file/--all), not both");
        }
        load_scores(&a.scores, space_flag)?
    } else {
        if !a.scoring_requested() {
            bail!("nothing to correlate: give --scores FILE.jsonl (repeatable) or architectures to score (--sample K, --arch, --archs-file, --all)");
        }
        let sa = a.score_args();
        let recs = score_records(&sa, |_| Ok(()))?;
        let lines = recs.into_iter().enumerate().map(|(i, v)| (format!("scored line {}", i + 1), v)).collect();
        records_to_set(lines, Some(SpaceKind::parse(&sa.space)?))?
    };
    if set.archs.is_empty() {
        bail!("no scored architecture");
    }
    if set.duplicates > 0 {
        say(&format!("note: {} duplicate score lines (same architecture, same scores) merged", set.duplicates));
    }
    let present = set.proxy_names();
    let targets = match &a.proxies {
        Some(l) => resolve_targets(l, &present)?,
        None => {
            if present.is_empty() {
                bail!("the score lines hold no scores");
            }
            present.iter().map(|p| Target::Proxy(p.clone())).collect()
        }
    };
    let truth = load_truth(set.space, a.truth.as_deref(), a.truth_column.as_deref(), a.truth_key.as_deref())?;
    let j = join(&set, &truth);
    let report = |what: &str, list: &[String]| {
        if list.is_empty() {
            return;
        }
        let shown: Vec<&str> = list.iter().take(SHOW_MISSING).map(String::as_str).collect();
        say(&format!(
            "warning: {} of {} scored architectures {what} ({}, key {}) and are left out; first {}: {}",
            list.len(),
            set.archs.len(),
            format!("{} of {}", truth.column, truth.source),
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
    let (stats, plots) = evaluate_targets(&targets, &j, a.bootstrap, a.seed, a.plot.is_some());
    match write_results(&a, &set, &truth, &j, &stats) {
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {}
        r => r?,
    }
    if let Some(dir) = &a.plot {
        std::fs::create_dir_all(dir).with_context(|| format!("creating plot directory '{}'", dir.display()))?;
        for ((name, scores), s) in plots.iter().zip(&stats) {
            let pts: Vec<(f64, f64)> = scores.iter().copied().zip(j.truth.iter().copied()).collect();
            let finite_x: Vec<f64> = scores.iter().copied().filter(|x| x.is_finite()).collect();
            let title = format!(
                "{name}: Spearman ρ = {}, Kendall τ = {} (n = {})",
                fmt_f64(s.spearman, 3),
                fmt_f64(s.kendall, 3),
                s.n
            );
            let x_label = if name.starts_with("vote:") || name == "sjw" || name == "spw" {
                format!("{name} (Copeland rank score)")
            } else {
                format!("{name} score")
            };
            let stem = dir.join(plot_stem(name));
            scatter(&stem, &pts, &x_label, &truth.column, &title, auto_log_x(&finite_x))
                .with_context(|| format!("plotting {name}"))?;
        }
        say(&format!("plots: {} proxies written to {}", plots.len(), dir.display()));
    }
    Ok(())
}

/// Evaluates every target over the joined population, in parallel over targets
/// (`tch::get_num_threads()` workers, i.e. `--threads`); results keep the targets'
/// order and do not depend on the number of workers. With `keep_scores`, also returns
/// each target's per-architecture scores (for the plots).
pub fn evaluate_targets(
    targets: &[Target],
    j: &Joined,
    resamples: usize,
    seed: u64,
    keep_scores: bool,
) -> (Vec<ProxyStats>, Vec<(String, Vec<f64>)>) {
    let workers = (tch::get_num_threads().max(1) as usize).min(targets.len()).max(1);
    let progress = (j.archs.len() >= 2000).then(|| Progress::new(targets.len() as u64, "correlate").with_unit("proxy"));
    let slots: Vec<Mutex<Option<(ProxyStats, Vec<f64>)>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..workers {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(t) = targets.get(i) else { break };
                let scores: Vec<f64> = match t {
                    Target::Proxy(p) => j.scores.iter().map(|s| s.get(p).copied().unwrap_or(f64::NAN)).collect(),
                    Target::Vote(v) => v.rank_scores(&j.scores),
                };
                let st = evaluate(t.name(), &scores, &j.truth, resamples, seed);
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
            plots.push((t.name().to_string(), scores));
        }
    }
    (stats, plots)
}

/// Writes the results to stdout in the requested format.
fn write_results(a: &CorrelateArgs, set: &ScoreSet, truth: &Truth, j: &Joined, stats: &[ProxyStats]) -> Result<()> {
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
                "zsnas correlate: {} architectures of {} against {} ({}){ci}",
                j.archs.len(),
                set.space.name(),
                truth.column,
                truth.source
            )?;
            write!(o, "{}", render_table(stats))?;
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
