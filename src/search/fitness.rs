//! What a search maximises: one proxy's score (in a direction) or a majority [`Vote`].

use crate::proxy::vote::Vote;
use crate::proxy::{Proxy, ScoreMap};
use anyhow::{anyhow, bail, Result};
use std::cmp::Ordering;

/// What a search maximises.
#[derive(Clone, Debug, PartialEq)]
pub enum Fitness {
    /// One score looked up by name; `higher` tells the direction. NaN is never the best
    /// (it ranks below everything, −inf included); −inf is the worst number.
    Score {
        /// Field name in the score map (a proxy's canonical name, or any name a custom
        /// scorer returns).
        name: String,
        /// Whether higher is better.
        higher: bool,
    },
    /// A majority vote over proxies: pairwise [`Vote::compare`], populations ranked by
    /// Copeland score ([`Vote::best`]).
    Vote(Vote),
}

impl Fitness {
    /// Parses a proxy name (`wrcor`, `synflow`, an alias; `-name` for lower-is-better) or
    /// a vote (`sjw`, `spw`, `vote:a,b,c`). Errors name the unknown fitness and list the
    /// choices.
    pub fn parse(s: &str) -> Result<Fitness> {
        let t = s.trim();
        if t.is_empty() {
            bail!("--fitness is empty (give a proxy such as wrcor, or a vote such as sjw)");
        }
        if let Some(v) = Vote::parse(t).map_err(|e| anyhow!("unknown fitness '{s}': {e}"))? {
            return Ok(Fitness::Vote(v));
        }
        let (name, higher) = match t.strip_prefix('-') {
            Some(n) => (n, false),
            None => (t.strip_prefix('+').unwrap_or(t), true),
        };
        match Proxy::from_name(name) {
            Ok(p) => Ok(Fitness::Score { name: p.name().to_string(), higher }),
            Err(_) => {
                let names: Vec<&str> = Proxy::ALL.iter().map(|p| p.name()).collect();
                bail!(
                    "unknown fitness '{s}' (a proxy: {}; '-name' for lower is better; or a vote: sjw, spw, vote:p1,p2,...)",
                    names.join(", ")
                )
            }
        }
    }

    /// A higher-is-better fitness on the field `name` of whatever the scorer returns
    /// (for custom scorers and tests).
    pub fn score(name: &str) -> Fitness {
        Fitness::Score { name: name.to_string(), higher: true }
    }

    /// Display name (`wrcor`, `-params`, `sjw`, `vote:...`).
    pub fn name(&self) -> String {
        match self {
            Fitness::Score { name, higher: true } => name.clone(),
            Fitness::Score { name, higher: false } => format!("-{name}"),
            Fitness::Vote(v) => v.name.clone(),
        }
    }

    /// The score fields the fitness reads, each with whether higher is better.
    pub fn terms(&self) -> Vec<(String, bool)> {
        match self {
            Fitness::Score { name, higher } => vec![(name.clone(), *higher)],
            Fitness::Vote(v) => v.members.iter().map(|(p, h)| (p.name().to_string(), *h)).collect(),
        }
    }

    /// The proxies to compute for this fitness. Errors when a term is not a proxy (a
    /// custom name only a custom scorer can produce).
    pub fn proxies(&self) -> Result<Vec<Proxy>> {
        let mut out: Vec<Proxy> = Vec::new();
        for (n, _) in self.terms() {
            let p = Proxy::from_name(&n)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Orders two score maps of a single-score fitness (NaN or missing lowest, then by
    /// value in the fitness's direction). For a vote: [`Vote::compare`].
    pub fn compare(&self, a: &ScoreMap, b: &ScoreMap) -> Ordering {
        match self {
            Fitness::Score { name, higher } => {
                let key =
                    |m: &ScoreMap| m.get(name).copied().filter(|x| !x.is_nan()).map(|x| if *higher { x } else { -x });
                match (key(a), key(b)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Greater,
                    (None, Some(_)) => Ordering::Less,
                    (None, None) => Ordering::Equal,
                }
            }
            Fitness::Vote(v) => v.compare(a, b),
        }
    }

    /// Index of the best of `pop`: for a score the first maximum under
    /// [`Fitness::compare`]; for a vote the Copeland winner ([`Vote::best`]). `None` for
    /// an empty population.
    pub fn best_index(&self, pop: &[&ScoreMap]) -> Option<usize> {
        match self {
            Fitness::Score { .. } => {
                let mut best: Option<usize> = None;
                for i in 0..pop.len() {
                    match best {
                        Some(b) if self.compare(pop[i], pop[b]) != Ordering::Greater => {}
                        _ => best = Some(i),
                    }
                }
                best
            }
            Fitness::Vote(v) => {
                let owned: Vec<ScoreMap> = pop.iter().map(|m| (*m).clone()).collect();
                v.best(&owned)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitness_parse_and_errors() {
        assert_eq!(Fitness::parse("wrcor").unwrap(), Fitness::score("wrcor"));
        assert_eq!(Fitness::parse("jacov").unwrap(), Fitness::score("jacob_cov"));
        assert_eq!(Fitness::parse("-params").unwrap(), Fitness::Score { name: "params".into(), higher: false });
        assert!(matches!(Fitness::parse("sjw").unwrap(), Fitness::Vote(_)));
        assert!(matches!(Fitness::parse("vote:synflow,wrcor").unwrap(), Fitness::Vote(_)));
        let e = Fitness::parse("magic").unwrap_err().to_string();
        assert!(e.contains("unknown fitness 'magic'"), "{e}");
        let e = Fitness::parse("vote:nope").unwrap_err().to_string();
        assert!(e.contains("unknown fitness"), "{e}");
        assert_eq!(
            Fitness::parse("sjw").unwrap().proxies().unwrap(),
            vec![Proxy::Synflow, Proxy::JacobCov, Proxy::Wrcor]
        );
    }
}
