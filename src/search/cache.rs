//! The score cache shared by the runs of one search invocation, and the best-so-far
//! tracker of one run.

use super::fitness::{first_max, Fitness};
use crate::proxy::ScoreMap;
use crate::space::AnyArch;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Scores of architectures already evaluated, keyed by [`AnyArch::key`] or, for a search
/// that scores canonical forms, by the key of [`AnyArch::canonical`] (so each canonical
/// class is scored once). Shared by the runs of one invocation and prefilled from a
/// history file on resume.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    map: HashMap<String, ScoreMap>,
    canonical: bool,
}

impl Cache {
    /// An empty cache keyed by the architecture itself.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// An empty cache keyed by the canonical form (scores are those of the canonical form).
    pub fn canonical() -> Cache {
        Cache { map: HashMap::new(), canonical: true }
    }

    /// The key `arch` is stored under: [`AnyArch::key`], or that of its canonical form
    /// for a canonical cache.
    pub fn key(&self, arch: &AnyArch) -> String {
        if self.canonical {
            arch.canonical().key()
        } else {
            arch.key()
        }
    }

    /// The scores of `arch`, if known.
    pub fn get(&self, arch: &AnyArch) -> Option<&ScoreMap> {
        self.map.get(&self.key(arch))
    }

    /// Records the scores of `arch` (keeps the first value if already present).
    pub fn insert(&mut self, arch: &AnyArch, scores: ScoreMap) {
        let k = self.key(arch);
        self.map.entry(k).or_insert(scores);
    }

    /// Number of architectures in the cache.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` when the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Best-so-far over the distinct architectures of one run. For a single score: the first
/// architecture with the highest value (NaN never best). For a vote: the Copeland winner
/// (pairwise majority wins + ½ per tie) among all distinct architectures evaluated so
/// far, updated incrementally; ties go to the earliest. For a rank aggregate: the first
/// maximum of the aggregate ranked among all distinct architectures evaluated so far.
#[derive(Clone, Debug)]
pub struct BestTracker {
    fitness: Fitness,
    entries: Vec<(AnyArch, ScoreMap)>,
    copeland: Vec<f64>,
    best: Option<usize>,
}

impl BestTracker {
    /// An empty tracker.
    pub fn new(fitness: Fitness) -> BestTracker {
        BestTracker { fitness, entries: Vec::new(), copeland: Vec::new(), best: None }
    }

    /// Adds a new distinct architecture and returns the index of the best so far.
    pub fn add(&mut self, arch: AnyArch, scores: ScoreMap) -> usize {
        let i = self.entries.len();
        match &self.fitness {
            Fitness::Score { .. } => {
                let better = match self.best {
                    None => true,
                    Some(b) => self.fitness.compare(&scores, &self.entries[b].1) == Ordering::Greater,
                };
                self.entries.push((arch, scores));
                if better {
                    self.best = Some(i);
                }
            }
            Fitness::Vote(v) => {
                let mut mine = 0.0;
                for (j, (_, s)) in self.entries.iter().enumerate() {
                    match v.compare(&scores, s) {
                        Ordering::Greater => mine += 1.0,
                        Ordering::Less => self.copeland[j] += 1.0,
                        Ordering::Equal => {
                            mine += 0.5;
                            self.copeland[j] += 0.5;
                        }
                    }
                }
                self.entries.push((arch, scores));
                self.copeland.push(mine);
                let mut b = 0;
                for k in 1..self.copeland.len() {
                    if self.copeland[k] > self.copeland[b] {
                        b = k;
                    }
                }
                self.best = Some(b);
            }
            Fitness::Aggregate(g) => {
                self.entries.push((arch, scores));
                self.best = first_max(&g.values(&self.scores()));
            }
        }
        self.best.unwrap_or(i)
    }

    /// The scores of the distinct architectures, in order of first evaluation.
    pub fn scores(&self) -> Vec<ScoreMap> {
        self.entries.iter().map(|(_, s)| s.clone()).collect()
    }

    /// Index of the best so far (`None` before the first architecture).
    pub fn best(&self) -> Option<usize> {
        self.best
    }

    /// The distinct architectures in order of first evaluation, with their scores.
    pub fn entries(&self) -> &[(AnyArch, ScoreMap)] {
        &self.entries
    }

    /// The distinct architectures with their scores, consuming the tracker.
    pub fn into_entries(self) -> Vec<(AnyArch, ScoreMap)> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::nb201::Nb201Arch;

    fn m(v: &[(&str, f64)]) -> ScoreMap {
        v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
    }

    #[test]
    fn nan_never_best_and_neg_inf_worst_number() {
        let f = Fitness::score("x");
        let pop = [m(&[("x", f64::NAN)]), m(&[("x", f64::NEG_INFINITY)]), m(&[("x", -1e300)])];
        let refs: Vec<&ScoreMap> = pop.iter().collect();
        assert_eq!(f.best_index(&refs), Some(2));
        assert_eq!(f.best_index(&refs[..2]), Some(1));
        let mut t = BestTracker::new(f);
        let a = AnyArch::Nb201(Nb201Arch::from_code(0));
        assert_eq!(t.add(a.clone(), pop[0].clone()), 0);
        assert_eq!(t.add(a.clone(), pop[1].clone()), 1);
        assert_eq!(t.add(a.clone(), m(&[("x", f64::NAN)])), 1);
        assert_eq!(t.add(a, pop[2].clone()), 3);
        let lower = Fitness::parse("-params", crate::space::SpaceKind::Nb201).unwrap();
        assert_eq!(lower.best_index(&[&m(&[("params", 5.0)]), &m(&[("params", 3.0)])]), Some(1));
    }

    #[test]
    fn vote_tracker_is_copeland() {
        let f = Fitness::parse("vote:synflow,jacob_cov,wrcor", crate::space::SpaceKind::Nb201).unwrap();
        let mut t = BestTracker::new(f);
        let a = AnyArch::Nb201(Nb201Arch::from_code(0));
        // b beats a on all three, c beats b on two of three but loses to a on two.
        t.add(a.clone(), m(&[("synflow", 1.0), ("jacob_cov", 1.0), ("wrcor", 1.0)]));
        assert_eq!(t.add(a.clone(), m(&[("synflow", 2.0), ("jacob_cov", 2.0), ("wrcor", 2.0)])), 1);
        assert_eq!(t.add(a, m(&[("synflow", 3.0), ("jacob_cov", 3.0), ("wrcor", 0.0)])), 2);
    }
}
