//! The one parser of proxy lists, shared by every command: `--proxies` of `score`,
//! `correlate` and `bench`, and `--fitness` of `search`.
//!
//! A list is comma-separated items; an item is a proxy name (or an alias such as `jacov`,
//! see [`Proxy::from_name`]), a named vote (`sjw`, `spw`), a named aggregate (`rank`), an
//! ad-hoc vote `vote:a,b,-c` or an ad-hoc rank aggregate `logrank:a,b` / `meanrank:a,-b`,
//! whose members run up to the next combination item (a `-` member is lower-is-better).
//! Example: `wrcor,sjw,rank,vote:synflow,-params,naswot,logrank:jacob_cov,params_live`.

use super::aggregate::Aggregate;
use super::vote::Vote;
use super::{Proxy, ScoreMap};
use crate::space::SpaceKind;
use anyhow::{bail, Context, Result};

/// One item of a proxy list: what is computed, evaluated or searched for.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A single proxy (higher is better).
    Proxy(Proxy),
    /// A majority vote over proxies (`src/proxy/vote.rs`).
    Vote(Vote),
    /// A rank aggregate of proxies (`src/proxy/aggregate.rs`).
    Aggregate(Aggregate),
}

impl Target {
    /// The display name: the proxy's canonical name, `sjw`, or `vote:a,b,c`.
    pub fn name(&self) -> String {
        match self {
            Target::Proxy(p) => p.name().to_string(),
            Target::Vote(v) => v.name.clone(),
            Target::Aggregate(a) => a.name.clone(),
        }
    }

    /// The proxies the target reads, each with whether higher is better.
    pub fn members(&self) -> Vec<(Proxy, bool)> {
        match self {
            Target::Proxy(p) => vec![(*p, true)],
            Target::Vote(v) => v.members.clone(),
            Target::Aggregate(a) => a.all_members(),
        }
    }

    /// Whether the target is a population-level combination (a vote or an aggregate),
    /// whose value for an architecture depends on the other architectures scored with it.
    pub fn is_combination(&self) -> bool {
        !matches!(self, Target::Proxy(_))
    }

    /// The target's value for each member of a population of score maps: the proxy's
    /// score (NaN when missing), for a vote its Copeland rank score
    /// ([`Vote::rank_scores`]), for an aggregate its rank aggregate ([`Aggregate::values`])
    /// over the population.
    pub fn values(&self, population: &[ScoreMap]) -> Vec<f64> {
        match self {
            Target::Proxy(p) => population.iter().map(|s| s.get(p.name()).copied().unwrap_or(f64::NAN)).collect(),
            Target::Vote(v) => v.rank_scores(population),
            Target::Aggregate(a) => a.values(population),
        }
    }
}

/// Whether `item` starts a combination (a vote or an aggregate, named or ad hoc), which
/// ends the member list of the previous ad-hoc combination.
fn starts_combination(item: &str) -> bool {
    ["vote:", "logrank:", "meanrank:"].iter().any(|p| item.starts_with(p))
        || Vote::parse(item).ok().flatten().is_some()
        || Aggregate::named(item, SpaceKind::Nb201).is_some()
}

/// Splits a list into items: `vote:a,b,c` (and `logrank:`, `meanrank:`) keeps the
/// following names as its members until the next combination item. Empty items are
/// dropped.
pub fn split_list(s: &str) -> Vec<String> {
    let items: Vec<&str> = s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let mut it = items[i].to_string();
        if ["vote:", "logrank:", "meanrank:"].iter().any(|p| it.starts_with(p)) {
            while i + 1 < items.len() && !starts_combination(items[i + 1]) {
                i += 1;
                it.push(',');
                it.push_str(items[i]);
            }
        }
        out.push(it);
        i += 1;
    }
    out
}

/// Parses one item: a vote ([`Vote::parse`]), an aggregate ([`Aggregate::parse`], named
/// ones resolved for `space`) or a proxy ([`Proxy::from_name`]). Errors: an empty vote or
/// aggregate, an unknown proxy (the message lists the known ones), an empty member (two
/// commas in a row).
pub fn parse_target(item: &str, space: SpaceKind) -> Result<Target> {
    let item = item.trim();
    check_no_empty_item(item, "the list")?;
    if item == "vote:" {
        bail!("vote 'vote:' has no proxies (write e.g. vote:synflow,jacob_cov,wrcor)");
    }
    if let Some(v) = Vote::parse(item)? {
        return Ok(Target::Vote(v));
    }
    if let Some(a) = Aggregate::parse(item, space)? {
        return Ok(Target::Aggregate(a));
    }
    Ok(Target::Proxy(Proxy::from_name(item)?))
}

/// Errors when the comma-separated `s` has an empty item, naming `what` and the item's
/// 1-based position: a doubled comma or a comma at either end is more likely a name left
/// out than a separator to ignore.
pub fn check_no_empty_item(s: &str, what: &str) -> Result<()> {
    match s.split(',').position(|x| x.trim().is_empty()) {
        Some(i) => bail!("{what} '{s}': item {} is empty (two commas in a row, or a comma at an end)", i + 1),
        None => Ok(()),
    }
}

/// Parses a whole list (see the module docs) for `space`, dropping repeated items. `what`
/// names the flag in errors (e.g. `--proxies`). Errors: an empty list, an empty item (two
/// commas in a row, or a comma at either end), any item [`parse_target`] rejects, a proxy
/// not defined on `space` ([`Proxy::check_space`]).
pub fn parse_list(s: &str, what: &str, space: SpaceKind) -> Result<Vec<Target>> {
    if s.split(',').any(|x| !x.trim().is_empty()) {
        check_no_empty_item(s, what)?;
    }
    let mut out: Vec<Target> = Vec::new();
    for item in split_list(s) {
        let t = parse_target(&item, space)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() {
        bail!("{what} names no proxy");
    }
    // Before any work: a proxy that is not defined on the space (in a vote or aggregate
    // too) was refused only at the first network, after an output file was made.
    for p in proxies_needed(&out) {
        p.check_space(space).with_context(|| format!("{what} '{s}'"))?;
    }
    Ok(out)
}

/// The proxies to compute for `targets`: every proxy and every vote member, once, in
/// order of first mention.
pub fn proxies_needed(targets: &[Target]) -> Vec<Proxy> {
    let mut out: Vec<Proxy> = Vec::new();
    for t in targets {
        for (p, _) in t.members() {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The targets of a list whose members must all be `present` (the proxies of a score
/// file; `correlate`), or without a list every known proxy present. Errors: a target or vote member absent from the scores, no scores at all.
pub fn resolve_present(list: Option<&str>, present: &[String], space: SpaceKind) -> Result<Vec<Target>> {
    let present_list = || if present.is_empty() { "none".to_string() } else { present.join(", ") };
    let Some(list) = list else {
        let t: Vec<Target> = present.iter().filter_map(|p| Proxy::from_name(p).ok()).map(Target::Proxy).collect();
        if t.is_empty() {
            bail!("the score lines hold no scores of a known proxy (present: {})", present_list());
        }
        return Ok(t);
    };
    let t = parse_list(list, "--proxies", space)?;
    for x in &t {
        for (p, _) in x.members() {
            if !present.iter().any(|n| n == p.name()) {
                match x {
                    Target::Proxy(_) => {
                        bail!("proxy '{}' is not in the scores (present: {})", p.name(), present_list())
                    }
                    _ => bail!(
                        "'{}': member '{}' is not in the scores (present: {})",
                        x.name(),
                        p.name(),
                        present_list()
                    ),
                }
            }
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: SpaceKind = SpaceKind::Nb201;

    #[test]
    fn lists_votes_and_aliases() {
        let t = parse_list("wrcor, sjw,vote:synflow,-params,naswot,jacov,wrcor", "--proxies", NB).unwrap();
        let names: Vec<String> = t.iter().map(Target::name).collect();
        assert_eq!(names, ["wrcor", "sjw", "vote:synflow,-params,naswot,jacov,wrcor"]);
        assert_eq!(proxies_needed(&t), [Proxy::Wrcor, Proxy::Synflow, Proxy::JacobCov, Proxy::Params, Proxy::Naswot]);
        assert_eq!(split_list("vote:a,b,sjw,c"), ["vote:a,b", "sjw", "c"]);
        assert_eq!(parse_list("jacov,jacob_cov", "x", NB).unwrap(), [Target::Proxy(Proxy::JacobCov)]);
        let t = parse_list("logrank:jacob_cov,params_live,rank,meanrank:wrcor,-params,sjw", "x", NB).unwrap();
        let names: Vec<String> = t.iter().map(Target::name).collect();
        assert_eq!(names, ["logrank:jacob_cov,params_live", "rank", "meanrank:wrcor,-params", "sjw"]);
        assert!(t.iter().all(Target::is_combination));
    }

    #[test]
    fn errors_name_the_input() {
        assert!(parse_list(" , ", "--proxies", NB).unwrap_err().to_string().contains("--proxies names no proxy"));
        assert!(parse_list("magic", "--proxies", NB).unwrap_err().to_string().contains("unknown proxy 'magic'"));
        assert!(parse_list("vote:", "--proxies", NB).unwrap_err().to_string().contains("has no proxies"));
        assert!(parse_list("vote:nope", "--proxies", NB).unwrap_err().to_string().contains("unknown proxy 'nope'"));
        let e = parse_list("params_live,,flops_live", "--proxies", NB).unwrap_err().to_string();
        assert_eq!(
            e,
            "--proxies 'params_live,,flops_live': item 2 is empty (two commas in a row, or a comma at an end)"
        );
        assert!(parse_list("wrcor,", "--proxies", NB).unwrap_err().to_string().contains("item 2 is empty"));
        let e = parse_target("logrank:params_live,,flops_live", NB).unwrap_err().to_string();
        assert!(e.contains("'logrank:params_live,,flops_live': item 2 is empty"), "{e}");
    }

    #[test]
    fn values_of_a_proxy_and_a_vote() {
        let pop: Vec<ScoreMap> = [(1.0, 3.0), (2.0, 2.0), (3.0, f64::NAN)]
            .iter()
            .map(|&(a, b)| [("synflow".to_string(), a), ("wrcor".to_string(), b)].into_iter().collect())
            .collect();
        let p = parse_target("wrcor", NB).unwrap();
        let v = p.values(&pop);
        assert_eq!(&v[..2], &[3.0, 2.0]);
        assert!(v[2].is_nan());
        assert_eq!(parse_target("vote:synflow,wrcor", NB).unwrap().values(&pop).len(), 3);
    }
}
