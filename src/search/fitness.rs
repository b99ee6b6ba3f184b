//! What a search maximises: one proxy's score (in a direction), a majority [`Vote`] or a
//! rank [`Aggregate`].

use crate::proxy::aggregate::Aggregate;
use crate::proxy::spec::{check_no_empty_item, parse_target, Target};
use crate::proxy::vote::Vote;
use crate::proxy::{Proxy, ScoreMap};
use crate::space::SpaceKind;
use anyhow::{anyhow, bail, Result};
use std::cmp::Ordering;

/// What a search maximises.
#[derive(Clone, Debug, PartialEq)]
pub enum Fitness {
    /// One score looked up by name; `higher` tells the direction. NaN is never the best
    /// (it ranks below everything, −inf included); ±inf is the worst number in either
    /// direction ([`crate::proxy::rank_key`]).
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
    /// A rank aggregate: an architecture's fitness is its aggregate ranked among every
    /// architecture the run has evaluated (see [`crate::search::Search::best_of`]).
    Aggregate(Aggregate),
}

impl Fitness {
    /// Parses a fitness for `space` with the project's one list parser
    /// ([`parse_target`]): a proxy name (`wrcor`, an alias; `-name` for lower-is-better), a
    /// vote (`sjw`, `spw`, `vote:a,b,c`) or a rank aggregate (`rank`, `logrank:a,b`,
    /// `meanrank:a,b`). Errors name the unknown fitness and list the choices.
    pub fn parse(s: &str, space: SpaceKind) -> Result<Fitness> {
        let t = s.trim();
        if t.is_empty() {
            bail!("--fitness is empty (give a proxy such as wrcor, a vote such as sjw, or an aggregate such as rank)");
        }
        check_no_empty_item(t, "--fitness")?;
        let (item, higher) = match t.strip_prefix('-') {
            Some(n) => (n, false),
            None => (t.strip_prefix('+').unwrap_or(t), true),
        };
        let unknown = |e: anyhow::Error| {
            anyhow!(
                "unknown fitness '{s}': {e:#} (a fitness is a proxy, '-name' for lower is better; a vote: sjw, spw, vote:p1,p2,...; or an aggregate: rank, logrank:p1,p2,..., meanrank:p1,p2,...)"
            )
        };
        match parse_target(item, space).map_err(unknown)? {
            Target::Proxy(p) => Ok(Fitness::Score { name: p.name().to_string(), higher }),
            _ if !higher => bail!("unknown fitness '{s}': '-' reverses a single proxy, not a vote or an aggregate"),
            Target::Vote(v) => Ok(Fitness::Vote(v)),
            Target::Aggregate(a) => Ok(Fitness::Aggregate(a)),
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
            Fitness::Aggregate(a) => a.name.clone(),
        }
    }

    /// The score fields the fitness reads, each with whether higher is better.
    pub fn terms(&self) -> Vec<(String, bool)> {
        match self {
            Fitness::Score { name, higher } => vec![(name.clone(), *higher)],
            Fitness::Vote(v) => v.members.iter().map(|(p, h)| (p.name().to_string(), *h)).collect(),
            Fitness::Aggregate(a) => a.all_members().iter().map(|(p, h)| (p.name().to_string(), *h)).collect(),
        }
    }

    /// The terms of a per-architecture reward (REINFORCE), each with whether higher is
    /// better and its weight: the proxy (weight 1), every vote member (weight 1), or an
    /// aggregate's first-stage members with their weights. A per-architecture reward has
    /// no population to cut, so an aggregate's second stage (`topP%`) is not a term.
    pub fn reward_terms(&self) -> Vec<(String, bool, f64)> {
        match self {
            Fitness::Aggregate(a) => {
                a.members.iter().zip(&a.weights).map(|((p, h), w)| (p.name().to_string(), *h, *w)).collect()
            }
            f => f.terms().into_iter().map(|(n, h)| (n, h, 1.0)).collect(),
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

    /// Orders two score maps of a single-score fitness (NaN or missing lowest, then ±inf,
    /// then by value in the fitness's direction: [`crate::proxy::rank_key`]). For a vote: [`Vote::compare`]. For an aggregate:
    /// the aggregate of the pair ranked between themselves (a ranking against a larger set
    /// is [`crate::search::Search::best_of`]'s).
    pub fn compare(&self, a: &ScoreMap, b: &ScoreMap) -> Ordering {
        match self {
            Fitness::Score { name, higher } => {
                let key = |m: &ScoreMap| crate::proxy::rank_key(m.get(name).copied(), *higher);
                match (key(a), key(b)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Greater,
                    (None, Some(_)) => Ordering::Less,
                    (None, None) => Ordering::Equal,
                }
            }
            Fitness::Vote(v) => v.compare(a, b),
            Fitness::Aggregate(g) => {
                let v = g.values(&[a.clone(), b.clone()]);
                v[0].partial_cmp(&v[1]).unwrap_or(Ordering::Equal)
            }
        }
    }

    /// Index of the best of `pop`: for a score the first maximum under
    /// [`Fitness::compare`]; for a vote the Copeland winner ([`Vote::best`]); for an
    /// aggregate the first maximum of its values ranked within `pop`. `None` for an empty
    /// population.
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
            Fitness::Aggregate(g) => {
                let owned: Vec<ScoreMap> = pop.iter().map(|m| (*m).clone()).collect();
                first_max(&g.values(&owned))
            }
        }
    }
}

/// Index of the first maximum of `v` (NaN never wins); `None` when empty.
pub fn first_max(v: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, x) in v.iter().enumerate() {
        if x.is_nan() {
            continue;
        }
        match best {
            Some(b) if *x <= v[b] => {}
            _ => best = Some(i),
        }
    }
    best.or(if v.is_empty() { None } else { Some(0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: SpaceKind = SpaceKind::Nb201;

    #[test]
    fn fitness_parse_and_errors() {
        assert_eq!(Fitness::parse("wrcor", NB).unwrap(), Fitness::score("wrcor"));
        assert_eq!(Fitness::parse("jacov", NB).unwrap(), Fitness::score("jacob_cov"));
        assert_eq!(Fitness::parse("-params", NB).unwrap(), Fitness::Score { name: "params".into(), higher: false });
        assert!(matches!(Fitness::parse("sjw", NB).unwrap(), Fitness::Vote(_)));
        assert!(matches!(Fitness::parse("vote:synflow,wrcor", NB).unwrap(), Fitness::Vote(_)));
        let e = Fitness::parse("magic", NB).unwrap_err().to_string();
        assert!(e.contains("unknown fitness 'magic'"), "{e}");
        let e = Fitness::parse("logrank:params_live,,flops_live", SpaceKind::Nb201).unwrap_err().to_string();
        assert_eq!(
            e,
            "--fitness 'logrank:params_live,,flops_live': item 2 is empty (two commas in a row, or a comma at an end)"
        );
        let e = Fitness::parse("vote:nope", NB).unwrap_err().to_string();
        assert!(e.contains("unknown fitness"), "{e}");
        assert_eq!(
            Fitness::parse("sjw", NB).unwrap().proxies().unwrap(),
            vec![Proxy::Synflow, Proxy::JacobCov, Proxy::Wrcor]
        );
    }

    /// A degenerate network's −inf (or +inf) never wins, whichever the direction: reversed
    /// single scores and reversed vote members alike.
    #[test]
    fn non_finite_scores_never_win_in_either_direction() {
        let m = |x: f64| -> ScoreMap { [("naswot".to_string(), x)].into_iter().collect() };
        let pop = [m(f64::NEG_INFINITY), m(5.0), m(f64::NAN), m(3.0), m(f64::INFINITY)];
        let refs: Vec<&ScoreMap> = pop.iter().collect();
        for (fitness, best) in [("naswot", 1), ("-naswot", 3), ("vote:-naswot", 3), ("vote:naswot", 1)] {
            let f = Fitness::parse(fitness, NB).unwrap();
            assert_eq!(f.best_index(&refs), Some(best), "{fitness}");
        }
        let lower = Fitness::parse("-naswot", NB).unwrap();
        assert_eq!(lower.compare(&m(f64::NEG_INFINITY), &m(1e300)), Ordering::Less);
        assert_eq!(lower.compare(&m(f64::NEG_INFINITY), &m(f64::NAN)), Ordering::Greater);
    }

    #[test]
    fn vote_members_are_checked_as_aggregate_members() {
        for (bad, needle) in [
            ("vote:params,-flops,-flops", "member 'flops' appears twice"),
            ("vote:params,-params", "member 'params' appears twice"),
            ("vote:,params", "member 1 is empty"),
            ("logrank:,params", "member 1 is empty"),
        ] {
            let e = format!("{:#}", Fitness::parse(bad, NB).unwrap_err());
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
