//! `zsnas search`: architecture search with a training-free fitness (a proxy or a vote)
//! by random search, regularised evolution or REINFORCE (see [`crate::search`]).
//!
//! Seeds: run `r` (0-based, `--runs R`) draws its search randomness from `--seed + r`,
//! but every architecture is scored with the FIXED `--score-seed` (default 0): the batch
//! is drawn with it and the weights are initialised from `arch_seed(score_seed, arch)`.
//! An architecture therefore has one score whatever run or step evaluates it, so the
//! cache is shared by the runs and a history file can be replayed.
//!
//! `--history FILE.jsonl` streams every step as one JSON line
//! `{"run","seed","step","arch","index","repeat","scores","best_so_far":{"arch","truth"},...}`
//! and resumes a killed search: the scores in the file prefill the cache and each run is
//! replayed from its first step; since strategies are deterministic given the seed and
//! the scores, the replay retraces the recorded steps (checked step by step) without
//! appending them again, then continues and appends the new steps.

use super::arch::AnyArch;
use super::precomputed::Precomputed;
use super::record::{decode, encode};
use super::score::{arch_seed, build_model, SetupArgs, SpaceKind};
use crate::data::truth::TruthTable;
use crate::proxy::{compute, Proxy, ProxyOptions};
use crate::report::jsonl::JsonlLog;
use crate::report::plot::line_plot;
use crate::report::progress::Progress;
use crate::report::table::fmt_f64;
use crate::search::reinforce::LOG_SCALED;
use crate::search::{Cache, Fitness, Outcome, ScoreMap, Search, Space, StepView, Strategy};
use crate::space::mbv2::DEFAULT_FLOPS_LIMIT;
use crate::space::nb201_table::Nb201Table;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Flags of `zsnas search`.
#[derive(clap::Args, Clone, Debug)]
pub struct SearchArgs {
    /// Search space: nb201, nb101, mbv2.
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// Search strategy: random, evolution or reinforce.
    #[arg(long)]
    pub strategy: String,
    /// Fitness: a proxy (e.g. wrcor, synflow; '-name' for lower is better) or a vote
    /// (sjw, spw, vote:p1,p2,...).
    #[arg(long)]
    pub fitness: String,
    /// Number of evaluations per run (repeated architectures count, but are not scored
    /// again).
    #[arg(long)]
    pub budget: usize,
    /// Search seed of the first run (run r uses seed + r).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fixed scoring seed: batch choice and weight initialisation of every architecture,
    /// the same for all runs so that scores are comparable and cached.
    #[arg(long, default_value_t = 0)]
    pub score_seed: u64,
    /// Number of runs (seeds seed..seed+runs-1); reports the mean ± std of the found
    /// accuracy.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Ground-truth CSV (optionally gzipped). NAS-Bench-201 uses the embedded table by
    /// default.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Key column of --truth (default: arch_str for nb201, hash for nb101, arch for mbv2).
    #[arg(long)]
    pub truth_key: Option<String>,
    /// Value column of --truth (default: test_acc_200ep for nb201, test_accuracy for
    /// nb101, accuracy for mbv2).
    #[arg(long)]
    pub truth_value: Option<String>,
    /// Do not look up ground truth (not even the embedded NAS-Bench-201 table).
    #[arg(long)]
    pub no_truth: bool,
    /// Precomputed scores to reuse (repeatable, or several files after one flag):
    /// `zsnas score --output` files or earlier `--history` files made with this search's
    /// scoring setup (score `--seed` = `--score-seed`, same --data, --batch-size,
    /// --augment). Architectures with all the fitness's proxies there are not scored
    /// again; missing proxies are computed. One architecture is re-scored to check the
    /// setup.
    #[arg(long = "scores", num_args = 1..)]
    pub scores: Vec<PathBuf>,
    /// Stream every evaluation to this JSON-lines file and resume from it.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Plot best-so-far accuracy and fitness vs evaluations to FILE.png and FILE.svg.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Output format: table or json (one object per run).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// mbv2: FLOPs limit (multiply-accumulates of one image at its resolution), e.g. 600e6.
    #[arg(long)]
    pub flops_limit: Option<f64>,
    /// Evolution: population size.
    #[arg(long, default_value_t = 64)]
    pub population: usize,
    /// Evolution: tournament size (drawn without replacement).
    #[arg(long, default_value_t = 10)]
    pub tournament: usize,
    /// REINFORCE: random architectures scored first to standardise rewards (at most half
    /// the budget).
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    /// Data, batch size, augmentation, head, device of the scoring.
    #[command(flatten)]
    pub setup: SetupArgs,
}

/// Ground truth of a search: the embedded NAS-Bench-201 table or a CSV key → value table.
pub enum Truth {
    /// NAS-Bench-201 CIFAR-10 test accuracy after 200 epochs.
    Nb201(Nb201Table),
    /// A table keyed by [`AnyArch::key`].
    Table(TruthTable),
}

impl Truth {
    /// The accuracy of `arch`, if known.
    pub fn accuracy(&self, arch: &AnyArch) -> Option<f64> {
        match (self, arch) {
            (Truth::Nb201(t), AnyArch::Nb201(a)) => t.row_of(a).map(|r| r.test_acc_200ep),
            (Truth::Table(t), a) => t.get(&a.key()),
            _ => None,
        }
    }

    /// 1-based rank of `arch` by accuracy (1 = best) and the number of architectures.
    pub fn rank(&self, arch: &AnyArch) -> Option<(usize, usize)> {
        match (self, arch) {
            (Truth::Nb201(t), AnyArch::Nb201(a)) => t.rank_of(a).map(|r| (r, t.rows().len())),
            (Truth::Table(t), a) => {
                let v = t.get(&a.key())?;
                Some((1 + t.iter().filter(|(_, x)| *x > v).count(), t.len()))
            }
            _ => None,
        }
    }
}

/// One line of a history file, as read back.
struct HistLine {
    key: String,
    arch: AnyArch,
    scores: ScoreMap,
}

fn field<'v>(r: &'v Value, k: &str, line: usize) -> Result<&'v Value> {
    r.get(k).ok_or_else(|| anyhow!("history line {line} has no '{k}'"))
}

/// Reads the history records into per-run step lists (index i = step i+1), checking
/// that they belong to this search.
fn read_history(
    records: &[Value],
    space: SpaceKind,
    strategy: &str,
    fitness: &str,
    seed: u64,
    budget: usize,
) -> Result<BTreeMap<usize, Vec<HistLine>>> {
    let mut by_run: BTreeMap<usize, BTreeMap<usize, HistLine>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let line = i + 1;
        for (k, want) in [("strategy", strategy), ("fitness", fitness), ("space", space.name())] {
            if let Some(v) = r.get(k).and_then(|v| v.as_str()) {
                if v != want {
                    bail!("the history file was written by a search with {k} '{v}', not '{want}' (line {line}); use another --history file");
                }
            }
        }
        let run = field(r, "run", line)?.as_u64().ok_or_else(|| anyhow!("history line {line}: bad 'run'"))? as usize;
        let step = field(r, "step", line)?.as_u64().ok_or_else(|| anyhow!("history line {line}: bad 'step'"))? as usize;
        if let Some(s) = r.get("seed").and_then(|v| v.as_u64()) {
            if s != seed + run as u64 {
                bail!(
                    "the history file's run {run} used seed {s}, but this search gives run {run} seed {} (--seed {seed}); use the same --seed or another --history file",
                    seed + run as u64
                );
            }
        }
        let text =
            field(r, "arch", line)?.as_str().ok_or_else(|| anyhow!("history line {line}: 'arch' is not a string"))?;
        let arch = AnyArch::parse(space, text).with_context(|| format!("history line {line}"))?;
        let scores: ScoreMap = field(r, "scores", line)?
            .as_object()
            .ok_or_else(|| anyhow!("history line {line}: 'scores' is not an object"))?
            .iter()
            .map(|(k, v)| {
                decode(v)
                    .map(|x| (k.clone(), x))
                    .ok_or_else(|| anyhow!("history line {line}: score '{k}' is not a number"))
            })
            .collect::<Result<_>>()?;
        if step == 0 || step > budget {
            bail!("history line {line}: step {step} of run {run} is outside 1..={budget} (--budget {budget})");
        }
        let key = arch.key();
        if by_run.entry(run).or_default().insert(step, HistLine { key, arch, scores }).is_some() {
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

fn scores_json(s: &ScoreMap) -> Value {
    Value::Object(s.iter().map(|(k, v)| (k.clone(), encode(*v))).collect())
}

fn opt_num(v: Option<f64>) -> Value {
    v.map(encode).unwrap_or(Value::Null)
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

/// Runs `zsnas search`.
pub fn run(a: SearchArgs) -> Result<()> {
    let json_out = match a.format.as_str() {
        "table" => false,
        "json" => true,
        f => bail!("unknown --format '{f}' (table or json)"),
    };
    let kind = SpaceKind::parse(&a.space)?;
    let mut strategy = Strategy::parse(&a.strategy)?;
    let fitness = Fitness::parse(&a.fitness)?;
    if a.budget == 0 {
        bail!("--budget must be at least 1 evaluation (got 0)");
    }
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let flops_limit = match (a.flops_limit, kind) {
        (None, _) => DEFAULT_FLOPS_LIMIT,
        (Some(f), SpaceKind::Mbv2) => {
            if !(f.is_finite() && f >= 1.0) {
                bail!("--flops-limit must be a positive number such as 600e6 (got {f})");
            }
            f.round() as u64
        }
        (Some(_), _) => bail!("--flops-limit only applies to --space mbv2"),
    };
    match &mut strategy {
        Strategy::Evolution(c) => {
            c.population = a.population;
            c.tournament = a.tournament;
            c.validate()?;
        }
        Strategy::Reinforce(c) => {
            if a.warmup == 0 {
                bail!("--warmup must be at least 1");
            }
            c.warmup = a.warmup;
        }
        Strategy::Random => {}
    }
    let proxies = fitness.proxies()?;
    let space = Space::new(kind, flops_limit);
    let truth = if a.no_truth {
        None
    } else if let Some(p) = &a.truth {
        let key = a.truth_key.clone().unwrap_or_else(|| {
            match kind {
                SpaceKind::Nb201 => "arch_str",
                SpaceKind::Nb101 => "hash",
                SpaceKind::Mbv2 => "arch",
            }
            .to_string()
        });
        let val = a.truth_value.clone().unwrap_or_else(|| {
            match kind {
                SpaceKind::Nb201 => "test_acc_200ep",
                SpaceKind::Nb101 => "test_accuracy",
                SpaceKind::Mbv2 => "accuracy",
            }
            .to_string()
        });
        Some(Truth::Table(TruthTable::load_csv(p, &key, &val)?))
    } else if kind == SpaceKind::Nb201 {
        Some(Truth::Nb201(Nb201Table::embedded()?))
    } else {
        None
    };
    let nb201_index = match kind {
        SpaceKind::Nb201 => Some(match &truth {
            Some(Truth::Nb201(t)) => t.clone(),
            _ => Nb201Table::embedded()?,
        }),
        _ => None,
    };
    let index_of = |x: &AnyArch| x.index(nb201_index.as_ref());

    // History: prefill the cache, remember each run's recorded steps.
    let (mut log, mut replay) = match &a.history {
        Some(p) => {
            let (log, recs) = JsonlLog::open(p)?;
            let h = read_history(&recs, kind, strategy.name(), &fitness.name(), a.seed, a.budget)
                .with_context(|| format!("resuming from {}", p.display()))?;
            (Some(log), h)
        }
        None => (None, BTreeMap::new()),
    };
    let mut cache = Cache::new();
    for lines in replay.values() {
        for l in lines {
            cache.insert(&l.arch, l.scores.clone());
        }
    }
    let resumed: usize = replay.iter().filter(|(r, _)| **r < a.runs).map(|(_, v)| v.len()).sum();
    if resumed > 0 {
        eprintln!("resuming: {resumed} steps in the history file are replayed from the cache");
    }

    // Scoring setup (fixed score seed).
    let num_classes = a.setup.num_classes(kind);
    let (device, batch) = a.setup.batch(kind, a.score_seed)?;
    let opts = ProxyOptions::default();
    let score_seed = a.score_seed;
    let score_some = |x: &AnyArch, which: &[Proxy]| -> Result<ScoreMap> {
        let m = build_model(x.builder(num_classes), device, arch_seed(score_seed, &x.text()), None)?;
        Ok(compute(&m, &batch, which, &opts)?.values)
    };

    // Precomputed scores: complete ones go to the cache, partial ones are completed when
    // the search reaches them.
    let needed: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
    let pre = Precomputed::load(&a.scores, kind, &needed)?;
    let mut partial: HashMap<String, ScoreMap> = HashMap::new();
    if pre.is_empty() && !a.scores.is_empty() {
        eprintln!(
            "note: --scores: none of the {} lines has a score of {} (the proxies of '{}'); nothing is reused",
            pre.lines(),
            needed.join(", "),
            fitness.name()
        );
    }
    if !pre.is_empty() {
        let checked = pre.check(|x, names| {
            let which: Vec<Proxy> = proxies.iter().copied().filter(|p| names.iter().any(|n| n == p.name())).collect();
            score_some(x, &which)
        })?;
        let mut complete = 0;
        for e in pre.entries() {
            if needed.iter().all(|n| e.scores.contains_key(*n)) {
                if cache.get(&e.arch).is_none() {
                    cache.insert(&e.arch, e.scores.clone());
                }
                complete += 1;
            } else {
                partial.insert(e.arch.key(), e.scores.clone());
            }
        }
        eprintln!(
            "--scores: {} lines, {complete} architectures with every proxy of '{}', {} with some; setup checked on {}",
            pre.lines(),
            fitness.name(),
            partial.len(),
            checked.map(|x| x.text()).unwrap_or_default()
        );
    }

    let progress = Progress::new((a.budget * a.runs) as u64, "search");
    let mut outcomes: Vec<(u64, Outcome)> = Vec::new();
    for r in 0..a.runs {
        let seed = a.seed + r as u64;
        let recorded: Vec<String> =
            replay.remove(&r).map(|v| v.into_iter().map(|l| l.key).collect()).unwrap_or_default();
        let scorer = Box::new(|x: &AnyArch| -> Result<ScoreMap> {
            match partial.get(&x.key()) {
                None => score_some(x, &proxies),
                Some(known) => {
                    let missing: Vec<Proxy> =
                        proxies.iter().copied().filter(|p| !known.contains_key(p.name())).collect();
                    let mut s = score_some(x, &missing)?;
                    s.extend(known.iter().map(|(k, v)| (k.clone(), *v)));
                    Ok(s)
                }
            }
        });
        let mut log_ref = log.as_mut();
        let truth_ref = truth.as_ref();
        let (strategy_name, fitness_name, space_name) = (strategy.name(), fitness.name(), kind.name());
        let progress_ref = &progress;
        let index_ref = &index_of;
        let observer = Box::new(move |v: &StepView| -> Result<()> {
            progress_ref.inc(1);
            if v.step <= recorded.len() {
                if recorded[v.step - 1] != v.arch.key() {
                    bail!(
                        "replaying run {r} from the history: step {} evaluates {} but the file recorded another architecture; the file was written with other flags (use the same flags or another --history file)",
                        v.step,
                        v.arch.text()
                    );
                }
                return Ok(());
            }
            if let Some(l) = log_ref.as_mut() {
                let line = json!({
                    "run": r,
                    "seed": seed,
                    "step": v.step,
                    "arch": v.arch.text(),
                    "index": index_ref(v.arch),
                    "repeat": v.repeat,
                    "scores": scores_json(v.scores),
                    "best_so_far": {
                        "arch": v.best_arch.text(),
                        "truth": opt_num(truth_ref.and_then(|t| t.accuracy(v.best_arch))),
                    },
                    "space": space_name,
                    "strategy": strategy_name,
                    "fitness": fitness_name,
                });
                l.append(&line)?;
            }
            Ok(())
        });
        let mut search = Search::new(space.clone(), fitness.clone(), a.budget, cache, scorer)?.with_observer(observer);
        strategy.run(&mut search, seed).with_context(|| format!("search run {r} (seed {seed})"))?;
        let (out, c) = search.finish()?;
        cache = c;
        outcomes.push((seed, out));
    }
    progress.finish();

    // Report.
    let mut found = Vec::new();
    for (r, (seed, o)) in outcomes.iter().enumerate() {
        let acc = truth.as_ref().and_then(|t| t.accuracy(&o.best));
        let rank = truth.as_ref().and_then(|t| t.rank(&o.best));
        if let Some(x) = acc {
            found.push(x);
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
                    "index": index_of(&o.best),
                    "scores": scores_json(&o.best_scores),
                    "truth": opt_num(acc),
                    "rank": rank.map(|x| x.0),
                },
                "steps": o.steps,
                "evaluated": o.evaluated,
                "scored": o.scored,
                "seconds": o.seconds,
                "scoring_seconds": o.scoring_seconds,
            });
            println!("{v}");
        } else {
            println!(
                "run {r} (seed {seed}): {} on {} by {}, budget {}",
                strategy.name(),
                kind.name(),
                fitness.name(),
                a.budget
            );
            match index_of(&o.best) {
                Some(i) => println!("  best:      {} (index {i})", o.best.text()),
                None => println!("  best:      {}", o.best.text()),
            }
            let sc: Vec<String> = o.best_scores.iter().map(|(k, v)| format!("{k}={}", fmt_score(*v))).collect();
            println!("  scores:    {}", sc.join(", "));
            match (acc, rank) {
                (Some(x), Some((rk, n))) => println!("  truth:     {x:.2}% test accuracy, rank {rk} of {n}"),
                (Some(x), None) => println!("  truth:     {x:.2}% test accuracy"),
                _ if truth.is_some() => println!("  truth:     not in the truth table"),
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
    if let Some(p) = &a.plot {
        // `--plot curve.png` writes curve.png and curve.svg, not curve.png.png.
        let p = match p.extension().and_then(|e| e.to_str()) {
            Some("png" | "svg") => p.with_extension(""),
            _ => p.clone(),
        };
        plot(&p, &outcomes, &fitness, truth.as_ref(), &strategy, kind)?;
        if !json_out {
            println!("plot: {}.png, {}.svg", p.display(), p.display());
        }
    }
    Ok(())
}

/// Best-so-far curves (mean over runs): accuracy when known, then the fitness (a vote:
/// each member's value of the current winner).
fn plot(
    stem: &std::path::Path,
    outcomes: &[(u64, Outcome)],
    fitness: &Fitness,
    truth: Option<&Truth>,
    strategy: &Strategy,
    kind: SpaceKind,
) -> Result<()> {
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
    if let Some(t) = truth {
        let c = curve(&|a, _| t.accuracy(a));
        if c.iter().any(|p| p.1.is_finite()) {
            series.push(("best-so-far test accuracy (%)".into(), c));
        }
    }
    let label = match fitness {
        Fitness::Score { .. } => "best-so-far",
        Fitness::Vote(_) => "vote winner's",
    };
    for (name, _) in fitness.terms() {
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
        &format!("{} on {} by {}{runs}", strategy.name(), kind.name(), fitness.name()),
    )
}
