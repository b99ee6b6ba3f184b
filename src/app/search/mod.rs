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
//! `{"run","seed","step","arch","index","repeat","scores","best_so_far":{"arch","truth","truth_of"},...}`
//! and resumes a killed search: the scores in the file prefill the cache and each run is
//! replayed from its first step; since strategies are deterministic given the seed and
//! the scores, the replay retraces the recorded steps (checked step by step) without
//! appending them again, then continues and appends the new steps.
//!
//! `--jobs N` (N > 1) scores every architecture on one libtorch thread and the draws known
//! before their scores are needed (random search, evolution's initial population,
//! REINFORCE's warm-up) N at a time ([`Search::with_batch_scorer`], the parallel scorer
//! of `zsnas score --jobs`): the history and the results are those of one at a time.

mod args;
mod report;

pub use args::SearchArgs;

use super::scoring::{guarded, score_batch, Builds};
use crate::io::history::{read_history, SearchId};
use crate::io::jsonl::JsonlLog;
use crate::io::precomputed::Precomputed;
use crate::io::provenance::VERSION;
use crate::io::record::{BestSoFar, HistoryLine, TruthOf};
use crate::net::build::build_seeded;
use crate::proxy::{check_batch_size, compute, Proxy, ProxyOptions, ScoreMap};
use crate::report::plot::{check_writable, stem_of};
use crate::report::progress::{stdout_line, Progress};
use crate::search::{BatchScorer, Cache, Fitness, Outcome, Search, StepView, Strategy};
use crate::space::mbv2::DEFAULT_FLOPS_LIMIT;
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, Space, SpaceKind};
use anyhow::{bail, Context, Result};
use report::Finished;
use std::collections::BTreeMap;

/// Runs `zsnas search`.
pub fn run(a: SearchArgs) -> Result<()> {
    let json_out = match a.format.as_str() {
        "table" => false,
        "json" => true,
        f => bail!("unknown --format '{f}' (table or json)"),
    };
    let kind = SpaceKind::parse(&a.space)?;
    let mut strategy = Strategy::parse(&a.strategy)?;
    let fitness = Fitness::parse(&a.fitness, kind)?;
    // Before any note, batch or file: a proxy the space lacks failed inside the first run.
    for p in fitness.proxies()? {
        p.check_space(kind).with_context(|| format!("--fitness {}", fitness.name()))?;
    }
    if a.budget == 0 {
        bail!("--budget must be at least 1 evaluation (got 0)");
    }
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let Some(evaluations) = a.budget.checked_mul(a.runs) else {
        bail!("--budget {} × --runs {} evaluations is too large (at most {} in all)", a.budget, a.runs, usize::MAX);
    };
    if a.seed.checked_add(a.runs as u64 - 1).is_none() {
        bail!("--seed {} with --runs {}: the run seeds seed..seed+runs-1 pass {}", a.seed, a.runs, u64::MAX);
    }
    // `--plot curve.png` writes curve.png and curve.svg, not curve.png.png; checked before
    // the search so that a long run does not fail at its end.
    let plot_stem = a.plot.as_deref().map(stem_of);
    if let Some(p) = &plot_stem {
        let mut inputs: Vec<&std::path::Path> = a.scores.iter().map(|x| x.as_path()).collect();
        inputs.extend(a.history.as_deref());
        inputs.extend(a.truth.truth.as_deref());
        super::setup::check_plot_not_input("--plot", p, &inputs)?;
        check_writable(p).with_context(|| {
            format!("--plot {}", a.plot.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
        })?;
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
    a.strategy_args.apply(&mut strategy)?;
    match &strategy {
        Strategy::Evolution(c) if a.budget <= c.population => crate::note!(
            "note: --budget {} is not above --population {}: aging evolution only fills its random initial population, so this run is a random search",
            a.budget, c.population
        ),
        Strategy::Reinforce(c) if a.strategy_args.warmup.is_some() && c.effective_warmup(a.budget) < c.warmup => crate::note!(
            "note: the REINFORCE warm-up is at most half the budget: {} random architectures, not --warmup {}",
            c.effective_warmup(a.budget),
            c.warmup
        ),
        _ => {}
    }
    if a.jobs > 1 {
        // Every architecture on one thread, the same scores whatever --jobs.
        tch::set_num_threads(1);
    }
    let proxies = fitness.proxies()?;
    let space = Space::new(kind, flops_limit);
    let truth = a.truth.load_optional(kind, a.setup.dataset, a.no_truth)?;
    let nb201_index = match kind {
        SpaceKind::Nb201 => Some(Nb201Table::embedded()?),
        _ => None,
    };
    let index_of = |x: &AnyArch| x.index(nb201_index.as_ref());

    // Scoring setup (fixed score seed), recorded in every history line.
    let num_classes = a.setup.num_classes(kind);
    let (device, batch) = a.setup.batch(kind, a.score_seed)?;
    check_batch_size(&proxies, batch.len())?;
    let setup = a.setup.scoring_setup(kind, a.score_seed, &batch, None)?;
    let truth_of = truth.as_ref().map(|t| TruthOf { source: t.source.clone(), column: t.column.clone() });
    // History: prefill the cache, remember each run's recorded steps.
    let (mut log, mut replay) = match &a.history {
        Some(p) => {
            let (log, recs) = JsonlLog::open(p)?;
            let id = SearchId {
                space: kind,
                strategy: strategy.name(),
                fitness: &fitness.name(),
                seed: a.seed,
                budget: a.budget,
                setup: &setup,
                canonical: !a.raw,
                truth_of: truth_of.as_ref(),
            };
            let h = read_history(&recs, id).with_context(|| format!("resuming from {}", p.display()))?;
            (Some(log), h)
        }
        None => (None, BTreeMap::new()),
    };
    let mut cache = if a.raw { Cache::new() } else { Cache::canonical() };
    for lines in replay.values() {
        for l in lines {
            // A named fitness whose definition changed since the file was written (e.g.
            // `rank` gained a member) would otherwise replay to another architecture.
            if let Some(p) = proxies.iter().find(|p| !l.scores.contains_key(p.name())) {
                bail!(
                    "resuming from {}: its lines lack '{}', which fitness '{}' needs (its definition may have changed since the file was written); start another --history file, passing this one to --scores to reuse its scores",
                    a.history.as_ref().map(|h| h.display().to_string()).unwrap_or_default(),
                    p.name(),
                    fitness.name()
                );
            }
            cache.insert(&l.arch, l.scores.clone());
        }
    }
    let resumed: usize = replay.iter().filter(|(r, _)| **r < a.runs).map(|(_, v)| v.len()).sum();
    if resumed > 0 {
        crate::note!("resuming: {resumed} steps in the history file are replayed from the cache");
    }

    let opts = ProxyOptions::default();
    let score_seed = a.score_seed;
    let score_some = |x: &AnyArch, which: &[Proxy]| -> Result<ScoreMap> {
        let x = if a.raw { x.clone() } else { x.canonical() };
        guarded(&x, &batch, || {
            let m = build_seeded(&x, num_classes, device, score_seed, None)?;
            Ok(compute(&m, &batch, which, &opts)?.values)
        })
    };

    // Precomputed scores: complete ones go to the cache, partial ones are completed when
    // the search reaches them.
    let needed: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
    let pre = Precomputed::load(&a.scores, kind, &needed, !a.raw, &setup)?;
    let partial = pre.prefill(&mut cache, &fitness.name(), a.raw, !a.scores.is_empty(), |x, names| {
        let which: Vec<Proxy> = proxies.iter().copied().filter(|p| names.iter().any(|n| n == p.name())).collect();
        score_some(x, &which)
    })?;

    let progress = Progress::new(evaluations as u64, "search");
    let mut outcomes: Vec<(u64, Outcome)> = Vec::new();
    for r in 0..a.runs {
        let seed = a.seed + r as u64;
        let recorded: Vec<String> =
            replay.remove(&r).map(|v| v.into_iter().map(|l| l.key).collect()).unwrap_or_default();
        let (raw, jobs) = (a.raw, a.jobs);
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
        // --jobs N: the draws known before their scores are needed, N at a time, with the
        // scores `scorer` would give (the form scored, the proxies a partial line lacks).
        let builds = Builds { num_classes, seed: score_seed, weights: None };
        let (partial_ref, proxies_ref, batch_ref) = (&partial, &proxies, &batch);
        let batch_scorer: BatchScorer =
            Box::new(move |xs: &[AnyArch], emit: &mut dyn FnMut(usize, ScoreMap) -> Result<()>| -> Result<()> {
                let items: Vec<(AnyArch, Vec<Proxy>)> = xs
                    .iter()
                    .map(|x| {
                        let form = if raw { x.clone() } else { x.canonical() };
                        let which = match partial_ref.get(&x.key()) {
                            None => proxies_ref.clone(),
                            Some(known) => {
                                proxies_ref.iter().copied().filter(|p| !known.contains_key(p.name())).collect()
                            }
                        };
                        (form, which)
                    })
                    .collect();
                score_batch(&builds, jobs, &items, batch_ref, device, |i, scored| {
                    let mut s = scored.values.clone();
                    if let Some(known) = partial_ref.get(&xs[i].key()) {
                        s.extend(known.iter().map(|(k, v)| (k.clone(), *v)));
                    }
                    emit(i, s)
                })
            });
        let mut log_ref = log.as_mut();
        let truth_ref = truth.as_ref();
        let truth_of_ref = truth_of.as_ref();
        let setup_ref = &setup;
        let (strategy_name, fitness_name, space_name) = (strategy.name(), fitness.name(), kind.name());
        let progress_ref = &progress;
        let index_ref = &index_of;
        // REINFORCE's warm-up depends on the budget: a run written with another --budget
        // replays other random draws.
        let replay_hint = match &strategy {
            Strategy::Reinforce(c) => format!(
                "; REINFORCE's warm-up is min(--warmup, --budget/2), {} random architectures here: a file written with another --budget needs the warm-up it had, given as --warmup",
                c.effective_warmup(a.budget)
            ),
            _ => String::new(),
        };
        let replay_hint = &replay_hint;
        let observer = Box::new(move |v: &StepView| -> Result<()> {
            progress_ref.inc(1);
            if v.step <= recorded.len() {
                if recorded[v.step - 1] != v.arch.key() {
                    bail!(
                        "replaying run {r} from the history: step {} evaluates {} but the file recorded another architecture; the file was written with other flags (use the same flags or another --history file){replay_hint}",
                        v.step,
                        v.arch.text()
                    );
                }
                return Ok(());
            }
            if let Some(l) = log_ref.as_mut() {
                let line = HistoryLine {
                    arch: v.arch.text(),
                    best_so_far: BestSoFar {
                        arch: v.best_arch.text(),
                        truth: truth_ref.and_then(|t| t.value(v.best_arch, index_ref(v.best_arch))),
                        truth_of: truth_of_ref.cloned(),
                    },
                    canonical: (!raw).then(|| v.arch.canonical().text()).filter(|c| *c != v.arch.text()),
                    fitness: Some(fitness_name.clone()),
                    index: index_ref(v.arch).map(|i| i as u64),
                    repeat: v.repeat,
                    run: r,
                    scores: v.scores.clone(),
                    seed: Some(seed),
                    setup: Some(setup_ref.clone()),
                    space: Some(space_name.to_string()),
                    step: v.step,
                    strategy: Some(strategy_name.to_string()),
                    version: Some(VERSION.to_string()),
                };
                l.append(&line)?;
            }
            Ok(())
        });
        let mut search = Search::new(space.clone(), fitness.clone(), a.budget, cache, scorer)?.with_observer(observer);
        if jobs > 1 {
            search = search.with_batch_scorer(batch_scorer, 4 * jobs);
        }
        strategy.run(&mut search, seed).with_context(|| format!("search run {r} (seed {seed})"))?;
        let (out, c) = search.finish()?;
        cache = c;
        outcomes.push((seed, out));
    }
    progress.finish();

    let finished = Finished {
        a: &a,
        kind,
        strategy: &strategy,
        fitness: &fitness,
        truth: truth.as_ref(),
        outcomes: &outcomes,
        index_of: &index_of,
    };
    finished.print(json_out)?;
    if let Some(p) = &plot_stem {
        finished.plot(p)?;
        if !json_out {
            stdout_line(&format!("plot: {}.png, {}.svg", p.display(), p.display()))?;
        }
    }
    Ok(())
}
