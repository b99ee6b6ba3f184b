//! Voting proxies (Jing et al. 2025, Sec. on voting): a vote is a list of proxies with
//! signs (+ = higher is better). Architecture a beats b when more than half of the
//! proxies prefer a; otherwise they tie. A NaN (or missing) score never wins a
//! comparison: a proxy with a finite score on one side and NaN on the other prefers the
//! finite side; NaN on both sides is no preference. ±inf is the worst number in either
//! direction (a lower-is-better member does not prefer a degenerate −inf).
//!
//! The majority relation is not transitive, so a population is ranked by Copeland score
//! (number of pairwise wins, ties counting ½), ties broken by the mean of the members'
//! per-proxy ranks, then by position. The paper sorts with the pairwise comparator
//! (Python `sorted` with `cmp_to_key`), whose result depends on the input order when the
//! relation has cycles; Copeland ranking is order-free and agrees with that sort whenever
//! the majority relation is transitive on the population.

use super::Proxy;
use anyhow::{bail, Result};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Named votes: (name, members).
pub const NAMED: [(&str, &str); 2] = [("sjw", "synflow + jacob_cov + wrcor"), ("spw", "synflow + l2_norm + wrcor")];

/// A vote over proxies.
#[derive(Clone, Debug, PartialEq)]
pub struct Vote {
    /// Display name (`sjw`, or `vote:a,b,c`).
    pub name: String,
    /// Members and whether higher is better.
    pub members: Vec<(Proxy, bool)>,
}

impl Vote {
    /// Parses `sjw`, `spw` or `vote:p1,p2,...` (a member prefixed with `-` is lower-better).
    /// Returns `Ok(None)` when `s` is not a vote. Errors: an empty vote or member, an
    /// unknown member, a member named twice (with either sign: a doubled member would
    /// count twice in the majority, `a,-a` would never decide), as aggregates refuse it.
    pub fn parse(s: &str) -> Result<Option<Vote>> {
        let list = match s {
            "sjw" => "synflow,jacob_cov,wrcor",
            "spw" => "synflow,l2_norm,wrcor",
            _ => match s.strip_prefix("vote:") {
                Some(l) => l,
                None => return Ok(None),
            },
        };
        if list.trim().is_empty() {
            bail!("vote '{s}' has no proxies (write e.g. vote:synflow,jacob_cov,wrcor)");
        }
        let mut members: Vec<(Proxy, bool)> = Vec::new();
        for m in super::member_list(s, list)? {
            let (name, higher) = match m.strip_prefix('-') {
                Some(n) => (n, false),
                None => (m.strip_prefix('+').unwrap_or(m), true),
            };
            let p = Proxy::from_name(name)?;
            if members.iter().any(|(q, _)| *q == p) {
                bail!("vote '{s}': member '{}' appears twice (each member has one vote)", p.name());
            }
            members.push((p, higher));
        }
        Ok(Some(Vote { name: s.to_string(), members }))
    }

    /// +1 when this proxy prefers a, −1 when it prefers b, 0 otherwise, by
    /// [`super::rank_key`] (NaN or missing never preferred, ±inf only over them).
    fn pref(a: Option<f64>, b: Option<f64>, higher: bool) -> i32 {
        match (super::rank_key(a, higher), super::rank_key(b, higher)) {
            (Some(x), Some(y)) => match x.partial_cmp(&y).unwrap_or(Ordering::Equal) {
                Ordering::Greater => 1,
                Ordering::Less => -1,
                Ordering::Equal => 0,
            },
            (Some(_), None) => 1,
            (None, Some(_)) => -1,
            (None, None) => 0,
        }
    }

    /// The paper's majority comparator: `Greater` when more than half of the members
    /// prefer `a`, `Less` when more than half prefer `b`, `Equal` otherwise.
    pub fn compare(&self, a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> Ordering {
        let (mut wa, mut wb) = (0usize, 0usize);
        for (p, h) in &self.members {
            match Self::pref(a.get(p.name()).copied(), b.get(p.name()).copied(), *h) {
                1 => wa += 1,
                -1 => wb += 1,
                _ => {}
            }
        }
        let half = self.members.len();
        if 2 * wa > half {
            Ordering::Greater
        } else if 2 * wb > half {
            Ordering::Less
        } else {
            Ordering::Equal
        }
    }

    /// Copeland scores of a population (wins + ½·ties), one per member of `pop`.
    pub fn copeland(&self, pop: &[BTreeMap<String, f64>]) -> Vec<f64> {
        let n = pop.len();
        let mut s = vec![0.0; n];
        for i in 0..n {
            for j in (i + 1)..n {
                match self.compare(&pop[i], &pop[j]) {
                    Ordering::Greater => s[i] += 1.0,
                    Ordering::Less => s[j] += 1.0,
                    Ordering::Equal => {
                        s[i] += 0.5;
                        s[j] += 0.5;
                    }
                }
            }
        }
        s
    }

    /// A score per population member for ranking (higher = better): the Copeland score
    /// plus a tie-break in [0, 1) from the members' mean per-proxy rank.
    pub fn rank_scores(&self, pop: &[BTreeMap<String, f64>]) -> Vec<f64> {
        let n = pop.len();
        let cop = self.copeland(pop);
        let mut mean_rank = vec![0.0; n];
        for (p, h) in &self.members {
            let mut idx: Vec<usize> = (0..n).collect();
            let key = |i: usize| super::rank_key(pop[i].get(p.name()).copied(), *h).unwrap_or(f64::NEG_INFINITY);
            idx.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
            for (r, &i) in idx.iter().enumerate() {
                mean_rank[i] += r as f64 / (n.max(1) as f64 * self.members.len() as f64);
            }
        }
        cop.iter().zip(mean_rank).map(|(c, m)| c + 0.999 * m).collect()
    }

    /// Index of the best member of `pop` by [`Vote::rank_scores`] (first on ties).
    pub fn best(&self, pop: &[BTreeMap<String, f64>]) -> Option<usize> {
        let s = self.rank_scores(pop);
        (0..pop.len()).fold(None, |best: Option<usize>, i| match best {
            Some(b) if s[b] >= s[i] => Some(b),
            _ => Some(i),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: &[(&str, f64)]) -> BTreeMap<String, f64> {
        v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
    }

    #[test]
    fn majority_and_ties() {
        let v = Vote::parse("sjw").unwrap().unwrap();
        let a = m(&[("synflow", 2.0), ("jacob_cov", 1.0), ("wrcor", 5.0)]);
        let b = m(&[("synflow", 1.0), ("jacob_cov", 2.0), ("wrcor", 4.0)]);
        assert_eq!(v.compare(&a, &b), Ordering::Greater);
        assert_eq!(v.compare(&b, &a), Ordering::Less);
        let c = m(&[("synflow", 2.0), ("jacob_cov", 1.0), ("wrcor", 5.0)]);
        assert_eq!(v.compare(&a, &c), Ordering::Equal);
    }

    #[test]
    fn nan_never_wins() {
        let v = Vote::parse("vote:wrcor").unwrap().unwrap();
        let a = m(&[("wrcor", f64::NAN)]);
        let b = m(&[("wrcor", f64::NEG_INFINITY)]);
        assert_eq!(v.compare(&a, &b), Ordering::Less);
        assert_eq!(v.compare(&a, &a), Ordering::Equal);
        let v3 = Vote::parse("sjw").unwrap().unwrap();
        let x = m(&[("synflow", f64::NAN), ("jacob_cov", f64::NAN), ("wrcor", f64::NAN)]);
        let y = m(&[("synflow", 0.0), ("jacob_cov", -1e9), ("wrcor", f64::NEG_INFINITY)]);
        assert_eq!(v3.compare(&x, &y), Ordering::Less);
        assert_eq!(v3.best(&[x, y]), Some(1));
    }

    #[test]
    fn signs_and_errors() {
        let v = Vote::parse("vote:-params,wrcor").unwrap().unwrap();
        assert_eq!(v.members, vec![(Proxy::Params, false), (Proxy::Wrcor, true)]);
        assert!(Vote::parse("vote:").unwrap_err().to_string().contains("no proxies"));
        assert!(Vote::parse("vote:foo").unwrap_err().to_string().contains("unknown proxy 'foo'"));
        assert_eq!(Vote::parse("wrcor").unwrap(), None);
    }

    #[test]
    fn copeland_handles_cycles() {
        // Condorcet cycle a > b > c > a: all Copeland scores equal.
        let v = Vote::parse("vote:synflow,jacob_cov,wrcor").unwrap().unwrap();
        let a = m(&[("synflow", 3.0), ("jacob_cov", 1.0), ("wrcor", 2.0)]);
        let b = m(&[("synflow", 2.0), ("jacob_cov", 3.0), ("wrcor", 1.0)]);
        let c = m(&[("synflow", 1.0), ("jacob_cov", 2.0), ("wrcor", 3.0)]);
        assert_eq!(v.copeland(&[a, b, c]), vec![1.0, 1.0, 1.0]);
    }
}
