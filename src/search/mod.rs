//! Architecture search driven by training-free fitness: random search, regularised
//! (aging) evolution and REINFORCE, over any space of [`AnyArch`].
//!
//! The pieces:
//! * [`Space`] (in `crate::space`): sampling, mutation and the policy encoding of every
//!   space, which strategies use through its interface only;
//! * [`Fitness`] (`fitness.rs`): one score (higher is better unless written `-name`; NaN is
//!   never the best, −inf is the worst number) or a majority vote (Copeland ranking);
//! * [`Cache`] and [`BestTracker`] (`cache.rs`);
//! * [`Search`]: the evaluation context a strategy runs in. It owns the budget (every
//!   call of [`Search::evaluate`] is one step, repeats included), the [`Cache`] keyed by
//!   [`AnyArch::key`] (every architecture is scored at most once, across runs too), the
//!   best-so-far tracker and an optional observer called after every step (the CLI
//!   streams history lines from it).
//! * Batch scoring: with a [`BatchScorer`] ([`Search::with_batch_scorer`]), the parts of a
//!   strategy whose architectures are known before their scores are needed (random
//!   search, evolution's initial population, REINFORCE's warm-up) score them several at a
//!   time, each evaluated as soon as its scores arrive ([`Search::evaluate_samples`]); the
//!   run is the same as with one at a time (same steps, trace, counts, observer calls).
//!
//! Strategies are generic over the scoring closure given to [`Search::new`], so tests
//! use toy fitness without any network. They are deterministic for a given seed (all
//! randomness comes from a `ChaCha8Rng`) and given scores; since the cache returns
//! identical scores, a killed search resumes by replaying the strategy with the cache
//! prefilled from its history.

pub mod cache;
pub mod evolution;
pub mod fitness;
pub mod random;
pub mod reinforce;

pub use cache::{BestTracker, Cache};
pub use fitness::Fitness;

use crate::proxy::ScoreMap;
use crate::space::{AnyArch, Space};
use anyhow::{anyhow, bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// What the observer of a [`Search`] sees after each step.
#[derive(Clone, Copy, Debug)]
pub struct StepView<'s> {
    /// Step number, 1-based (= evaluations so far, repeats included).
    pub step: usize,
    /// The architecture evaluated.
    pub arch: &'s AnyArch,
    /// Its scores.
    pub scores: &'s ScoreMap,
    /// `true` when this run already evaluated the architecture (a cache hit that does not
    /// add a distinct architecture).
    pub repeat: bool,
    /// The best architecture so far in this run.
    pub best_arch: &'s AnyArch,
    /// Its scores.
    pub best_scores: &'s ScoreMap,
}

/// The scoring closure of a [`Search`].
pub type Scorer<'a> = Box<dyn FnMut(&AnyArch) -> Result<ScoreMap> + 'a>;

/// The batch scorer of a [`Search`]: scores several architectures (the scorer's work, e.g.
/// in parallel) and hands each one's scores to `emit(i, scores)` (`i`: its position in
/// the slice) in order, as soon as it and every one before it are scored. It stops at
/// the first scoring failure or `emit` error and returns it; the architectures left are
/// then scored one at a time by the [`Scorer`] if the strategy reaches them.
pub type BatchScorer<'a> = Box<dyn FnMut(&[AnyArch], &mut dyn FnMut(usize, ScoreMap) -> Result<()>) -> Result<()> + 'a>;

/// The observer of a [`Search`], called after every step; an error stops the search.
pub type Observer<'a> = Box<dyn FnMut(&StepView) -> Result<()> + 'a>;

/// The result of one search run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The best architecture found (see [`BestTracker`]).
    pub best: AnyArch,
    /// Its scores.
    pub best_scores: ScoreMap,
    /// Steps taken (= the budget unless a strategy stopped early).
    pub steps: usize,
    /// Distinct architectures evaluated by this run.
    pub evaluated: usize,
    /// Architectures actually scored by the scorer during this run (the others came from
    /// the cache: repeats, earlier runs, a resumed history).
    pub scored: usize,
    /// Seconds spent inside the scorer.
    pub scoring_seconds: f64,
    /// Wall seconds of the whole run.
    pub seconds: f64,
    /// Per step, the index into `distinct` of the best so far.
    pub trace: Vec<usize>,
    /// Per step, the number of distinct architectures evaluated so far (the prefix of
    /// `distinct` seen by then).
    pub seen_trace: Vec<usize>,
    /// The distinct architectures in order of first evaluation, with their scores.
    pub distinct: Vec<(AnyArch, ScoreMap)>,
}

/// The evaluation context of one search run (see the [module docs](self)).
pub struct Search<'a> {
    space: Space,
    fitness: Fitness,
    budget: usize,
    scorer: Scorer<'a>,
    batch_scorer: Option<BatchScorer<'a>>,
    chunk: usize,
    /// Scores from the batch scorer by cache key, with the seconds charged to each, until
    /// [`Search::evaluate`] takes them.
    pending: HashMap<String, (ScoreMap, f64)>,
    cache: Cache,
    observer: Option<Observer<'a>>,
    steps: usize,
    scored: usize,
    scoring_seconds: f64,
    seen: HashSet<String>,
    tracker: BestTracker,
    trace: Vec<usize>,
    seen_trace: Vec<usize>,
    started: Instant,
}

impl<'a> Search<'a> {
    /// A search over `space` maximising `fitness` with `budget` evaluations, scoring
    /// architectures missing from `cache` with `scorer`. Errors on a zero budget.
    pub fn new(space: Space, fitness: Fitness, budget: usize, cache: Cache, scorer: Scorer<'a>) -> Result<Search<'a>> {
        if budget == 0 {
            bail!("the budget must be at least 1 evaluation (got 0)");
        }
        Ok(Search {
            space,
            tracker: BestTracker::new(fitness.clone()),
            fitness,
            budget,
            scorer,
            batch_scorer: None,
            chunk: 1,
            pending: HashMap::new(),
            cache,
            observer: None,
            steps: 0,
            scored: 0,
            scoring_seconds: 0.0,
            seen: HashSet::new(),
            trace: Vec::new(),
            seen_trace: Vec::new(),
            started: Instant::now(),
        })
    }

    /// Sets the observer called after every step.
    pub fn with_observer(mut self, observer: Observer<'a>) -> Search<'a> {
        self.observer = Some(observer);
        self
    }

    /// Sets a batch scorer, used by [`Search::evaluate_samples`], and the number of random draws
    /// [`Search::evaluate_samples`] scores at a time (`chunk`, at least 1; a few times the
    /// batch scorer's parallelism keeps it busy while a killed search loses little).
    pub fn with_batch_scorer(mut self, batch_scorer: BatchScorer<'a>, chunk: usize) -> Search<'a> {
        self.batch_scorer = Some(batch_scorer);
        self.chunk = chunk.max(1);
        self
    }

    /// The space.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The fitness.
    pub fn fitness(&self) -> &Fitness {
        &self.fitness
    }

    /// The budget (number of evaluations).
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Evaluations left.
    pub fn remaining(&self) -> usize {
        self.budget - self.steps
    }

    /// Distinct architectures evaluated so far in this run.
    pub fn evaluated(&self) -> usize {
        self.seen.len()
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The best-so-far tracker.
    pub fn tracker(&self) -> &BestTracker {
        &self.tracker
    }

    /// Index of the best member of `pop` (architectures this run has evaluated, with
    /// their scores): [`Fitness::best_index`], except that a rank aggregate ranks every
    /// member against all architectures the run has evaluated, not only against `pop`
    /// (a tournament of 10 would otherwise rank on 10 values). `None` for an empty `pop`.
    pub fn best_of(&self, pop: &[(&AnyArch, &ScoreMap)]) -> Option<usize> {
        match &self.fitness {
            Fitness::Aggregate(g) => {
                let entries = self.tracker.entries();
                let values = g.values(&self.tracker.scores());
                let at: std::collections::HashMap<String, usize> =
                    entries.iter().enumerate().map(|(i, (a, _))| (a.key(), i)).collect();
                let v: Vec<f64> =
                    pop.iter().map(|(a, _)| at.get(&a.key()).map(|&i| values[i]).unwrap_or(f64::NAN)).collect();
                fitness::first_max(&v)
            }
            f => f.best_index(&pop.iter().map(|(_, s)| *s).collect::<Vec<_>>()),
        }
    }

    /// The number of random draws [`Search::evaluate_samples`] scores at a time (1
    /// without a batch scorer).
    pub fn chunk(&self) -> usize {
        if self.batch_scorer.is_some() {
            self.chunk
        } else {
            1
        }
    }

    /// Evaluates up to `n` uniform samples of the space drawn from `rng` (fewer when the
    /// budget ends first), calling `each(arch, scores, step)` after each evaluation. The
    /// draws are made [`Search::chunk`] at a time; with a batch scorer the draws the cache
    /// lacks are scored together (each cache key once: the first draw with it, as one at
    /// a time would score), and each draw is evaluated, in order, as soon as its scores
    /// and those of every draw before it are known, so the observer (the history file)
    /// sees each step as early as one at a time would allow. `rng` is used as by drawing
    /// and evaluating one at a time, and the run is the same: same steps, counts, trace
    /// and observer calls. A scoring failure in a batch ends the batch; the draws left are
    /// then evaluated one at a time, so the failure is met at the same step. Errors as
    /// [`Search::evaluate`] and [`Space::sample`].
    pub fn evaluate_samples(
        &mut self,
        n: usize,
        rng: &mut ChaCha8Rng,
        mut each: impl FnMut(AnyArch, ScoreMap, usize),
    ) -> Result<()> {
        let mut done = 0;
        while done < n && self.remaining() > 0 {
            let k = self.chunk().min(n - done).min(self.remaining());
            let archs = (0..k).map(|_| self.space.sample(rng)).collect::<Result<Vec<_>>>()?;
            let mut next = 0;
            if let Some(mut batch) = self.batch_scorer.take() {
                let r = self.stream(&mut batch, &archs, &mut next, &mut each);
                self.batch_scorer = Some(batch);
                r?;
            }
            for a in &archs[next..] {
                let s = self.evaluate(a)?;
                each(a.clone(), s, self.steps);
            }
            // Scores of a failed batch's later draws are not kept (one at a time would not
            // have scored them yet).
            self.pending.clear();
            done += k;
        }
        Ok(())
    }

    /// Scores the draws of `archs` that the cache lacks with `batch` and evaluates
    /// `archs[*next..]` in order while their scores are known (`*next` counts the
    /// evaluated ones). Returns an evaluation (observer, budget) error; a scoring failure
    /// only ends the stream.
    fn stream(
        &mut self,
        batch: &mut BatchScorer<'a>,
        archs: &[AnyArch],
        next: &mut usize,
        each: &mut impl FnMut(AnyArch, ScoreMap, usize),
    ) -> Result<()> {
        let mut keys: Vec<String> = Vec::new();
        let mut todo: Vec<AnyArch> = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        for a in archs {
            let k = self.cache.key(a);
            if self.cache.get(a).is_none() && taken.insert(k.clone()) {
                keys.push(k);
                todo.push(a.clone());
            }
        }
        let mut advance = |this: &mut Search<'a>| -> Result<()> {
            while let Some(a) = archs.get(*next) {
                if this.cache.get(a).is_none() && !this.pending.contains_key(&this.cache.key(a)) {
                    break;
                }
                let s = this.evaluate(a)?;
                each(a.clone(), s, this.steps);
                *next += 1;
            }
            Ok(())
        };
        advance(self)?;
        if todo.is_empty() {
            return Ok(());
        }
        let mut failed: Option<anyhow::Error> = None;
        let mut last = Instant::now();
        let r = batch(&todo, &mut |i: usize, scores: ScoreMap| -> Result<()> {
            let key = keys.get(i).ok_or_else(|| anyhow!("the batch scorer emitted item {i} of {}", keys.len()))?;
            let now = Instant::now();
            self.pending.insert(key.clone(), (scores, (now - last).as_secs_f64()));
            last = now;
            advance(self).map_err(|e| {
                let m = anyhow!("{e:#}");
                failed = Some(e);
                m
            })
        });
        match (r, failed) {
            (_, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Evaluates `arch`: one step of the budget. Returns its scores, from the cache when
    /// known (the step still counts), else from the batch scorer
    /// ([`Search::evaluate_samples`]) or the scorer. Errors when the budget is spent or
    /// the scorer or the observer fails.
    pub fn evaluate(&mut self, arch: &AnyArch) -> Result<ScoreMap> {
        if self.steps >= self.budget {
            bail!("the search budget of {} evaluations is spent", self.budget);
        }
        let scores = match self.cache.get(arch) {
            Some(s) => s.clone(),
            None => {
                let pre = if self.pending.is_empty() { None } else { self.pending.remove(&self.cache.key(arch)) };
                let (s, seconds) = match pre {
                    Some(known) => known,
                    None => {
                        let t = Instant::now();
                        let s = (self.scorer)(arch)?;
                        (s, t.elapsed().as_secs_f64())
                    }
                };
                self.scoring_seconds += seconds;
                self.scored += 1;
                self.cache.insert(arch, s.clone());
                s
            }
        };
        self.steps += 1;
        let repeat = !self.seen.insert(arch.key());
        let best =
            if repeat { self.tracker.best().unwrap_or(0) } else { self.tracker.add(arch.clone(), scores.clone()) };
        self.trace.push(best);
        self.seen_trace.push(self.seen.len());
        if let Some(obs) = self.observer.as_mut() {
            let (ba, bs) = &self.tracker.entries()[best];
            obs(&StepView { step: self.steps, arch, scores: &scores, repeat, best_arch: ba, best_scores: bs })?;
        }
        Ok(scores)
    }

    /// Ends the run: its [`Outcome`] and the cache (to share with later runs). Errors
    /// when nothing was evaluated.
    pub fn finish(self) -> Result<(Outcome, Cache)> {
        let b = self.tracker.best().ok_or_else(|| anyhow!("the search evaluated no architecture"))?;
        let (best, best_scores) = self.tracker.entries()[b].clone();
        let out = Outcome {
            best,
            best_scores,
            steps: self.steps,
            evaluated: self.seen.len(),
            scored: self.scored,
            scoring_seconds: self.scoring_seconds,
            seconds: self.started.elapsed().as_secs_f64(),
            trace: self.trace,
            seen_trace: self.seen_trace,
            distinct: self.tracker.into_entries(),
        };
        Ok((out, self.cache))
    }
}

/// A search strategy with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Uniform random sampling ([`random::run`]).
    Random,
    /// Regularised evolution ([`evolution::run`]).
    Evolution(evolution::EvolutionConfig),
    /// REINFORCE ([`reinforce::run`]).
    Reinforce(reinforce::ReinforceConfig),
}

impl Strategy {
    /// Parses `random`, `evolution` (also `ea`, `rea`) or `reinforce` (also `rl`) with
    /// default settings. Errors name the unknown strategy and list the known ones.
    pub fn parse(s: &str) -> Result<Strategy> {
        match s.trim() {
            "random" | "rs" => Ok(Strategy::Random),
            "evolution" | "ea" | "rea" => Ok(Strategy::Evolution(evolution::EvolutionConfig::default())),
            "reinforce" | "rl" => Ok(Strategy::Reinforce(reinforce::ReinforceConfig::default())),
            _ => bail!("unknown strategy '{s}' (known: random, evolution, reinforce)"),
        }
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::Evolution(_) => "evolution",
            Strategy::Reinforce(_) => "reinforce",
        }
    }

    /// Runs the strategy on `search` with its randomness from `ChaCha8Rng::seed_from_u64(seed)`.
    pub fn run(&self, search: &mut Search, seed: u64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match self {
            Strategy::Random => random::run(search, &mut rng),
            Strategy::Evolution(c) => evolution::run(search, c, &mut rng),
            Strategy::Reinforce(c) => reinforce::run(search, c, &mut rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_strategy_is_named() {
        assert!(Strategy::parse("annealing").unwrap_err().to_string().contains("unknown strategy 'annealing'"));
    }

    /// Toy fitness of an NAS-Bench-201 cell: a weighted sum of its op codes (no network).
    fn toy(a: &AnyArch) -> ScoreMap {
        let v = match a {
            AnyArch::Nb201(x) => x.ops.iter().enumerate().map(|(i, o)| ((*o as usize) * (i + 1)) as f64).sum(),
            _ => 0.0,
        };
        [("toy".to_string(), v)].into_iter().collect()
    }

    /// Runs `strategy` (seed 5, budget 40, canonical cache prefilled with `known`) one at
    /// a time or with a batch scorer (chunks of 3); returns the outcome, the steps the
    /// observer saw, the architectures given to the sequential scorer and to the batch
    /// scorer.
    fn run(strategy: &Strategy, batch: bool, known: &[AnyArch]) -> (Outcome, Vec<String>, Vec<String>, Vec<String>) {
        use std::cell::RefCell;
        let one = RefCell::new(Vec::new());
        let many = RefCell::new(Vec::new());
        let seen = RefCell::new(Vec::new());
        let mut cache = Cache::canonical();
        for a in known {
            cache.insert(a, toy(a));
        }
        let scorer: Scorer = Box::new(|a| {
            one.borrow_mut().push(a.key());
            Ok(toy(a))
        });
        let observer: Observer = Box::new(|v| {
            seen.borrow_mut().push(format!("{} {} {} {}", v.step, v.arch.key(), v.repeat, v.best_arch.key()));
            Ok(())
        });
        let mut s =
            Search::new(Space::nb201(), Fitness::score("toy"), 40, cache, scorer).unwrap().with_observer(observer);
        if batch {
            s = s.with_batch_scorer(
                Box::new(|archs, emit| {
                    many.borrow_mut().extend(archs.iter().map(|a| a.key()));
                    for (i, a) in archs.iter().enumerate() {
                        emit(i, toy(a))?;
                        // Streamed: the step of this architecture is already observed.
                        let k = format!(" {} ", a.key());
                        assert!(seen.borrow().iter().any(|l| l.contains(&k)), "{k} not yet observed");
                    }
                    Ok(())
                }),
                3,
            );
        }
        strategy.run(&mut s, 5).unwrap();
        let (out, _) = s.finish().unwrap();
        (out, seen.into_inner(), one.into_inner(), many.into_inner())
    }

    fn same(a: &Outcome, b: &Outcome) {
        assert_eq!(a.best.key(), b.best.key());
        assert_eq!(a.best_scores, b.best_scores);
        assert_eq!((a.steps, a.evaluated, a.scored), (b.steps, b.evaluated, b.scored));
        assert_eq!(a.trace, b.trace);
        assert_eq!(a.seen_trace, b.seen_trace);
        let keys = |o: &Outcome| o.distinct.iter().map(|(x, s)| (x.key(), s.clone())).collect::<Vec<_>>();
        assert_eq!(keys(a), keys(b));
    }

    #[test]
    fn a_batch_scorer_gives_the_run_of_one_at_a_time() {
        let evolution = Strategy::Evolution(evolution::EvolutionConfig { population: 10, tournament: 3 });
        let reinforce = Strategy::Reinforce(reinforce::ReinforceConfig { warmup: 12, ..Default::default() });
        for (strategy, prefetched) in [(Strategy::Random, 40), (evolution, 10), (reinforce, 12)] {
            let (seq, seq_seen, seq_one, seq_many) = run(&strategy, false, &[]);
            assert!(seq_many.is_empty());
            let (par, par_seen, par_one, par_many) = run(&strategy, true, &[]);
            same(&seq, &par);
            assert_eq!(seq_seen, par_seen, "{}: observer", strategy.name());
            // The random draws went to the batch scorer (each canonical class once), the
            // rest one at a time; together they are what one at a time scored, in order.
            assert!(!par_many.is_empty() && par_many.len() <= prefetched, "{}: {}", strategy.name(), par_many.len());
            assert_eq!(par_many.len() + par_one.len(), seq.scored);
            assert_eq!([par_many.clone(), par_one].concat(), seq_one, "{}", strategy.name());
            if matches!(strategy, Strategy::Random) {
                assert!(seq.scored < 40, "the toy run has canonical repeats");
            }
            // Resume: architectures already in the cache are not scored again.
            let known: Vec<AnyArch> = seq.distinct.iter().take(5).map(|(a, _)| a.clone()).collect();
            let (seq2, seen2, _, _) = run(&strategy, false, &known);
            let (par2, par_seen2, _, par_many2) = run(&strategy, true, &known);
            same(&seq2, &par2);
            assert_eq!(seen2, par_seen2);
            assert_eq!(seq2.scored, seq.scored - 5);
            let known_keys: Vec<String> = known.iter().map(|a| a.canonical().key()).collect();
            let canon = |k: &String| AnyArch::parse(crate::space::SpaceKind::Nb201, k).unwrap().canonical().key();
            assert!(par_many2.iter().all(|k| !known_keys.contains(&canon(k))));
        }
    }

    #[test]
    fn a_batch_failure_stops_the_run_where_one_at_a_time_would() {
        let fail_at = |a: &AnyArch, bad: &str| if a.key() == bad { Err(anyhow!("no score")) } else { Ok(toy(a)) };
        let (seq, _, _, _) = run(&Strategy::Random, false, &[]);
        let bad = seq.distinct[7].0.key();
        let steps = std::cell::Cell::new(0);
        let mut s =
            Search::new(Space::nb201(), Fitness::score("toy"), 40, Cache::new(), Box::new(|a| fail_at(a, &bad)))
                .unwrap()
                .with_observer(Box::new(|v| {
                    steps.set(v.step);
                    Ok(())
                }))
                .with_batch_scorer(
                    Box::new(|archs, emit| {
                        for (i, a) in archs.iter().enumerate() {
                            emit(i, fail_at(a, &bad)?)?;
                        }
                        Ok(())
                    }),
                    4,
                );
        let e = Strategy::Random.run(&mut s, 5).unwrap_err();
        assert_eq!(e.to_string(), "no score");
        let first_bad = seq.seen_trace.iter().position(|&n| n == 8).unwrap();
        assert_eq!(steps.get(), first_bad, "the steps before the failing architecture were evaluated");
    }

    #[test]
    fn zero_budget_is_an_error() {
        let e = Search::new(Space::nb201(), Fitness::score("x"), 0, Cache::new(), Box::new(|_| Ok(ScoreMap::new())));
        assert!(e.err().unwrap().to_string().contains("at least 1"));
    }
}
