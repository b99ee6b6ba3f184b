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
use std::collections::HashSet;
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

    /// Evaluates `arch`: one step of the budget. Returns its scores, from the cache when
    /// known (the step still counts). Errors when the budget is spent or the scorer or
    /// the observer fails.
    pub fn evaluate(&mut self, arch: &AnyArch) -> Result<ScoreMap> {
        if self.steps >= self.budget {
            bail!("the search budget of {} evaluations is spent", self.budget);
        }
        let scores = match self.cache.get(arch) {
            Some(s) => s.clone(),
            None => {
                let t = Instant::now();
                let s = (self.scorer)(arch)?;
                self.scoring_seconds += t.elapsed().as_secs_f64();
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

    #[test]
    fn zero_budget_is_an_error() {
        let e = Search::new(Space::nb201(), Fitness::score("x"), 0, Cache::new(), Box::new(|_| Ok(ScoreMap::new())));
        assert!(e.err().unwrap().to_string().contains("at least 1"));
    }
}
