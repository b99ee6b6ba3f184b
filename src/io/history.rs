//! Reading a `zsnas search --history` file back to resume a search: per run, the
//! recorded steps in order, checked against the resuming search's flags
//! ([`read_history`]); or any history file for plotting ([`read_history_file`]).

use super::provenance::ScoringSetup;
use super::record::{HistoryLine, TruthOf};
use crate::proxy::ScoreMap;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// One recorded step, as read back.
#[derive(Clone, Debug)]
pub struct Step {
    /// The architecture's join key ([`AnyArch::key`]).
    pub key: String,
    /// The architecture.
    pub arch: AnyArch,
    /// Its scores.
    pub scores: ScoreMap,
}

/// What a history must have been written by to be resumed.
#[derive(Clone, Copy, Debug)]
pub struct SearchId<'a> {
    /// The space.
    pub space: SpaceKind,
    /// The strategy's name.
    pub strategy: &'a str,
    /// The fitness's name.
    pub fitness: &'a str,
    /// The search seed of run 0 (run r uses seed + r).
    pub seed: u64,
    /// Evaluations per run.
    pub budget: usize,
    /// The scoring setup of this search: every line must record the same.
    pub setup: &'a ScoringSetup,
    /// Whether this search scores canonical cells (`false`: `--raw`).
    pub canonical: bool,
    /// The truth this search reports its best architectures against (`None`: no truth).
    pub truth_of: Option<&'a TruthOf>,
}

/// Reads history records (the JSON values of [`super::jsonl::JsonlLog::open`]) into
/// per-run step lists (index i = step i+1).
///
/// Errors, naming the 1-based line: a line that is not a [`HistoryLine`], another
/// space/strategy/fitness or seed, a step outside `1..=budget`, a step recorded twice, a
/// gap in a run's steps, an architecture not of the space; a line without a recorded
/// scoring setup (written before zsnas 0.2) or with another one (naming the field and both
/// values); a cell with dead edges scored in the other form (raw vs canonical); a line
/// whose best-so-far truth came from another truth source or column.
pub fn read_history(records: &[Value], id: SearchId<'_>) -> Result<BTreeMap<usize, Vec<Step>>> {
    let mut by_run: BTreeMap<usize, BTreeMap<usize, Step>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let line = i + 1;
        for k in ["run", "step", "arch", "scores"] {
            if r.get(k).is_none() {
                bail!("history line {line} has no '{k}'");
            }
        }
        let h: HistoryLine = serde_json::from_value(r.clone()).map_err(|e| anyhow!("history line {line}: {e}"))?;
        for (k, got, want) in [
            ("strategy", &h.strategy, id.strategy),
            ("fitness", &h.fitness, id.fitness),
            ("space", &h.space, id.space.name()),
        ] {
            if let Some(v) = got {
                if v != want {
                    bail!("the history file was written by a search with {k} '{v}', not '{want}' (line {line}); use another --history file");
                }
            }
        }
        let (run, step) = (h.run, h.step);
        if let Some(s) = h.seed {
            if s != id.seed + run as u64 {
                bail!(
                    "the history file's run {run} used seed {s}, but this search gives run {run} seed {} (--seed {}); use the same --seed or another --history file",
                    id.seed + run as u64,
                    id.seed
                );
            }
        }
        let remedy = "use the same flags, or another --history file";
        let Some(setup) = &h.setup else {
            bail!("history line {line} records no scoring setup (written before zsnas 0.2), so resuming cannot check it; use another --history file");
        };
        id.setup.check_same(setup, &format!("history line {line}"), remedy)?;
        if let Some(was) = &h.best_so_far.truth_of {
            if id.truth_of != Some(was) {
                let now = match id.truth_of {
                    Some(t) => format!("column {} of {}", t.column, t.source),
                    None => "no truth".to_string(),
                };
                bail!(
                    "history line {line} reports truth column {} of {}, but this search reports {now}: use the same --truth, --truth-column and --dataset, or another --history file",
                    was.column,
                    was.source
                );
            }
        }
        let arch = AnyArch::parse(id.space, &h.arch).with_context(|| format!("history line {line}"))?;
        if arch.canonical() != arch && h.canonical.is_some() != id.canonical {
            let (was, now) =
                if id.canonical { ("raw (--raw)", "on canonical cells") } else { ("on the canonical cell", "--raw") };
            bail!("history line {line}: {} was scored {was}, but this search scores {now}; {remedy}", h.arch);
        }
        if step == 0 || step > id.budget {
            bail!(
                "history line {line}: step {step} of run {run} is outside 1..={} (--budget {})",
                id.budget,
                id.budget
            );
        }
        let key = arch.key();
        if by_run.entry(run).or_default().insert(step, Step { key, arch, scores: h.scores }).is_some() {
            bail!("the history file holds step {step} of run {run} twice (line {line})");
        }
    }
    let mut out = BTreeMap::new();
    for (run, steps) in by_run {
        let n = steps.len();
        if let Some((&last, _)) = steps.iter().next_back() {
            if last != n {
                bail!("the history of run {run} has a gap: {n} lines but its last step is {last}");
            }
        }
        out.insert(run, steps.into_values().collect::<Vec<_>>());
    }
    Ok(out)
}

/// A `zsnas search --history` file read back for plotting ([`read_history_file`]).
#[derive(Clone, Debug)]
pub struct HistoryFile {
    /// The space of its lines (`nb201`, …), when recorded.
    pub space: Option<String>,
    /// The strategy's name, when recorded.
    pub strategy: Option<String>,
    /// The fitness's name, when recorded.
    pub fitness: Option<String>,
    /// Per run (ascending run number), its lines in step order.
    pub runs: Vec<Vec<HistoryLine>>,
}

impl HistoryFile {
    /// "strategy, fitness" (the parts recorded; "search" when neither is).
    pub fn label(&self) -> String {
        let parts: Vec<&str> = [&self.strategy, &self.fitness].into_iter().flatten().map(String::as_str).collect();
        if parts.is_empty() {
            "search".into()
        } else {
            parts.join(", ")
        }
    }

    /// The largest step of any run.
    pub fn budget(&self) -> usize {
        self.runs.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// Reads a history file (plain or gzip) for plotting: its lines grouped by run and sorted
/// by step; blank lines are skipped.
///
/// Errors, naming the file (and the 1-based line): unreadable; not a history line (not
/// JSON, or without `run`/`step`/`arch`/`scores`/`best_so_far`, as a `zsnas score` file);
/// lines of different spaces, strategies, fitnesses or scoring setups; a step recorded
/// twice in a run; a run whose steps do not run 1, 2, ... without gaps; no line at all.
pub fn read_history_file(path: &std::path::Path) -> Result<HistoryFile> {
    let name = path.display();
    // A FIFO or device would block or never end: history files are regular files.
    super::jsonl::require_regular(path).with_context(|| format!("history file {name}"))?;
    let bytes = super::gz::read_maybe_gz(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{name} is not a text file (not a zsnas search --history file)"))?;
    let mut by_run: BTreeMap<usize, BTreeMap<usize, HistoryLine>> = BTreeMap::new();
    let (mut space, mut strategy, mut fitness) = (None, None, None);
    let mut setup: Option<(ScoringSetup, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(raw)
            .map_err(|e| anyhow!("{name} line {line} is not JSON ({e}); expected a zsnas search --history file"))?;
        for k in ["run", "step", "arch", "scores", "best_so_far"] {
            if v.get(k).is_none() {
                bail!("{name} line {line} has no '{k}': not a zsnas search --history file");
            }
        }
        let h: HistoryLine = serde_json::from_value(v).map_err(|e| anyhow!("{name} line {line}: {e}"))?;
        for (what, seen, got) in [
            ("space", &mut space, &h.space),
            ("strategy", &mut strategy, &h.strategy),
            ("fitness", &mut fitness, &h.fitness),
        ] {
            if let Some(g) = got {
                match seen {
                    Some(s) if s != g => {
                        bail!("{name} line {line} has {what} '{g}' but earlier lines '{s}'; give one search per file")
                    }
                    Some(_) => {}
                    None => *seen = Some(g.clone()),
                }
            }
        }
        if let Some(s) = &h.setup {
            match &setup {
                Some((first, at)) => {
                    if let Some((k, x, y)) = ScoringSetup::first_difference(first, s) {
                        bail!("{name} line {line} was scored with {k} {y}, line {at} with {k} {x}: give one search per file");
                    }
                }
                None => setup = Some((s.clone(), line)),
            }
        }
        let (run, step) = (h.run, h.step);
        if by_run.entry(run).or_default().insert(step, h).is_some() {
            bail!("{name} holds step {step} of run {run} twice (line {line})");
        }
    }
    if by_run.is_empty() {
        bail!("{name} holds no history line (empty file)");
    }
    // A search writes steps 1, 2, ... of each run: a gap means lost or edited lines, which
    // a curve over the steps would silently close up.
    for (run, steps) in &by_run {
        if let Some((k, &step)) = steps.keys().enumerate().find(|(k, &s)| s != k + 1) {
            bail!(
                "{name}: run {run} has no step {} (its steps jump to {step}); a search writes steps 1, 2, ... without gaps",
                k + 1
            );
        }
    }
    let runs = by_run.into_values().map(|steps| steps.into_values().collect()).collect();
    Ok(HistoryFile { space, strategy, fitness, runs })
}
