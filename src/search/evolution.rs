//! Regularised (aging) evolution (Real et al. 2019), as used for NAS-Bench-201:
//!
//! 1. fill a population of `population` (64) uniformly random architectures;
//! 2. repeat until the budget is spent: draw a tournament of `tournament` (10) distinct
//!    members uniformly **without replacement**; the parent is the tournament's best by
//!    the fitness ([`Fitness::best_index`]: the highest score, or for a vote the
//!    Copeland winner within the tournament); the child is `mutate(parent)`
//!    (NAS-Bench-201: one edge's op changed to a different op); append the child and
//!    remove the **oldest** member.
//!
//! Every evaluation (initial members and children, repeats included) is one step of the
//! budget. The answer is the best architecture ever evaluated (the [`Search`]'s tracker),
//! not the best of the final population.
//!
//! [`Fitness::best_index`]: super::Fitness::best_index

use super::Search;
use crate::proxy::ScoreMap;
use crate::space::AnyArch;
use anyhow::{bail, Result};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Settings of regularised evolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvolutionConfig {
    /// Population size P (64).
    pub population: usize,
    /// Tournament size S (10), at most P.
    pub tournament: usize,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig { population: 64, tournament: 10 }
    }
}

impl EvolutionConfig {
    /// Checks `1 <= tournament <= population`.
    pub fn validate(&self) -> Result<()> {
        if self.population == 0 {
            bail!("--population must be at least 1");
        }
        if self.tournament == 0 || self.tournament > self.population {
            bail!(
                "--tournament must be between 1 and the population size {} (got {})",
                self.population,
                self.tournament
            );
        }
        Ok(())
    }
}

/// A member of the population.
#[derive(Clone, Debug)]
pub struct Member {
    /// The architecture.
    pub arch: AnyArch,
    /// Its scores.
    pub scores: ScoreMap,
    /// The step at which it was evaluated (its age key: smaller is older).
    pub born: usize,
}

/// What one evolution step did (for tests and diagnostics).
#[derive(Clone, Debug)]
pub struct StepReport {
    /// Population positions (before the step) of the tournament's members, distinct.
    pub tournament: Vec<usize>,
    /// Population position of the parent.
    pub parent: usize,
    /// The member removed (the oldest), if the population was full.
    pub removed: Option<Member>,
}

/// The state of regularised evolution: the population, oldest first.
#[derive(Clone, Debug)]
pub struct Evolution {
    /// Settings.
    pub config: EvolutionConfig,
    /// The population, oldest at the front.
    pub population: VecDeque<Member>,
}

impl Evolution {
    /// An empty population. Errors on invalid settings.
    pub fn new(config: EvolutionConfig) -> Result<Evolution> {
        config.validate()?;
        Ok(Evolution { population: VecDeque::with_capacity(config.population + 1), config })
    }

    /// Fills the population with random architectures (stops early when the budget ends),
    /// scored a chunk at a time with a batch scorer ([`Search::evaluate_samples`]).
    /// Errors as [`Search::evaluate`].
    pub fn initialise(&mut self, search: &mut Search, rng: &mut ChaCha8Rng) -> Result<()> {
        let n = self.config.population.saturating_sub(self.population.len());
        let pop = &mut self.population;
        search.evaluate_samples(n, rng, |arch, scores, born| pop.push_back(Member { arch, scores, born }))
    }

    /// Draws a tournament: `min(tournament, population)` distinct positions, uniformly
    /// without replacement.
    pub fn tournament(&self, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let k = self.config.tournament.min(self.population.len());
        rand::seq::index::sample(rng, self.population.len(), k).into_vec()
    }

    /// One generation: tournament, mutation of the winner, evaluation of the child (one
    /// step), child appended, oldest removed when the population exceeds its size.
    /// Errors when the population is empty or the budget is spent.
    pub fn step(&mut self, search: &mut Search, rng: &mut ChaCha8Rng) -> Result<StepReport> {
        if self.population.is_empty() {
            bail!("evolution step on an empty population");
        }
        let t = self.tournament(rng);
        let refs: Vec<(&AnyArch, &ScoreMap)> =
            t.iter().map(|&i| (&self.population[i].arch, &self.population[i].scores)).collect();
        let w = search.best_of(&refs).unwrap_or(0);
        let parent = t[w];
        let child = search.space().mutate(&self.population[parent].arch, rng)?;
        let scores = search.evaluate(&child)?;
        self.population.push_back(Member { arch: child, scores, born: search.steps() });
        let removed = if self.population.len() > self.config.population { self.population.pop_front() } else { None };
        Ok(StepReport { tournament: t, parent, removed })
    }
}

/// Runs regularised evolution until the budget of `search` is spent.
pub fn run(search: &mut Search, config: &EvolutionConfig, rng: &mut ChaCha8Rng) -> Result<()> {
    let mut ev = Evolution::new(config.clone())?;
    ev.initialise(search, rng)?;
    while search.remaining() > 0 {
        ev.step(search, rng)?;
    }
    Ok(())
}
