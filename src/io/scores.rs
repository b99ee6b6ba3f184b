//! Reading score files: the JSON lines of `zsnas score --output` and `zsnas search
//! --history` (plain or gzip), merged into one record per architecture.

use super::gz::maybe_gunzip;
use super::provenance::ScoringSetup;
use super::record::ScoreLine;
use crate::proxy::{Proxy, ScoreMap};
use crate::space::{AnyArch, SpaceKind};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One scored architecture, as read from the score lines.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredArch {
    /// The `arch` field (canonical architecture text).
    pub arch: String,
    /// The `index` field (benchmark index), when present.
    pub index: Option<u64>,
    /// The `hash` field (NAS-Bench-101 module hash), when present.
    pub hash: Option<String>,
    /// The `canonical` field: the canonical cell the scores were computed on, when it
    /// differs from `arch`.
    pub canonical: Option<String>,
    /// Proxy name to score (non-finite scores kept as NaN/±inf).
    pub scores: ScoreMap,
    /// The scoring setup the line records (`None` in lines written before zsnas 0.2).
    pub setup: Option<ScoringSetup>,
    /// Where the record came from (`file:line`), for messages.
    pub origin: String,
}

impl ScoredArch {
    /// Builds a record from one JSON line of `zsnas score` or `zsnas search --history`
    /// (read as a [`ScoreLine`]); `origin` names it in errors.
    pub fn from_json(v: &Value, origin: &str) -> Result<ScoredArch> {
        if !v.get("arch").is_some_and(Value::is_string) {
            bail!("{origin}: no 'arch' string in this line (not a `zsnas score` or history line)");
        }
        if !v.get("scores").is_some_and(Value::is_object) {
            bail!("{origin}: no 'scores' object in this line (not a `zsnas score` or history line)");
        }
        let l: ScoreLine = serde_json::from_value(v.clone()).map_err(|e| anyhow!("{origin}: {e}"))?;
        Ok(ScoredArch {
            arch: l.arch,
            index: l.index,
            hash: l.hash,
            canonical: l.canonical,
            scores: l.scores,
            setup: l.setup,
            origin: origin.to_string(),
        })
    }

    /// The deduplication key: the hash for NAS-Bench-101 (computed from the arch text
    /// when the line has none), the architecture text otherwise.
    pub fn dedup_key(&self, space: SpaceKind) -> String {
        if space == SpaceKind::Nb101 {
            if let Some(h) = &self.hash {
                return h.clone();
            }
            if let Ok(a) = AnyArch::parse(space, &self.arch) {
                return a.key();
            }
        }
        self.arch.clone()
    }

    /// The value joined with the truth table's key column `key`.
    pub fn join_key(&self, space: SpaceKind, key: &str) -> Option<String> {
        match key {
            "index" => self.index.map(|i| i.to_string()),
            "hash" => match &self.hash {
                Some(h) => Some(h.clone()),
                None if space == SpaceKind::Nb101 => AnyArch::parse(space, &self.arch).ok().map(|a| a.key()),
                None => None,
            },
            _ => Some(self.arch.clone()),
        }
    }
}

/// The merged score lines of one or more files.
#[derive(Clone, Debug)]
pub struct ScoreSet {
    /// The space of every line.
    pub space: SpaceKind,
    /// One record per architecture, in order of first appearance.
    pub archs: Vec<ScoredArch>,
    /// Lines that added no proxy to an earlier line of the same architecture (the same
    /// scores again: a file given twice, overlapping shards).
    pub duplicates: usize,
    /// Lines merged into an earlier line of the same architecture that added proxies
    /// (the same cells scored with other proxies in another file).
    pub merged: usize,
}

impl ScoreSet {
    /// Proxy names present in at least one record, sorted.
    pub fn proxy_names(&self) -> Vec<String> {
        let s: BTreeSet<&String> = self.archs.iter().flat_map(|a| a.scores.keys()).collect();
        s.into_iter().cloned().collect()
    }
}

/// Relative difference below which two values of one proxy for one architecture count as
/// the same score, unless the proxy has its own ([`Proxy::thread_rtol`]): a different
/// batch or seed moves every score by far more.
pub const SAME_SCORE_RTOL: f64 = 1e-9;

/// Whether `a` and `b` are the same score up to [`SAME_SCORE_RTOL`] (NaN equals NaN,
/// infinities must be equal).
pub fn same_score(a: f64, b: f64) -> bool {
    same_within(a, b, SAME_SCORE_RTOL)
}

/// Whether `a` and `b` are the same score of proxy `name`: within the proxy's documented
/// thread-count tolerance ([`Proxy::thread_rtol`]; [`SAME_SCORE_RTOL`] for names that are
/// not proxies), so files scored with different `--threads` merge.
pub fn same_score_of(name: &str, a: f64, b: f64) -> bool {
    let rtol = Proxy::from_name(name).map(|p| p.thread_rtol()).unwrap_or(SAME_SCORE_RTOL);
    same_within(a, b, rtol)
}

fn same_within(a: f64, b: f64, rtol: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    (a - b).abs() <= rtol * a.abs().max(b.abs())
}

/// Merges score records: records of the same architecture are merged (the union of
/// their proxies); the same proxy with different values (beyond [`same_score_of`]) is an
/// error naming both lines. One proxy's scores must share one scoring setup (lines of
/// zsnas 0.1, which record none, aside): a proxy scored with two setups (another batch,
/// seed, data, ...) is an error naming a line of each and the first field that differs,
/// since one ranking cannot mix them. Different proxies may come from different setups,
/// and the shape counts from any ([`Proxy::depends_on_batch_or_seed`]).
///
/// With `checked`, only those proxies are held to both rules; another proxy keeps the
/// value of its first line.
pub fn merge_records(space: SpaceKind, records: Vec<ScoredArch>, checked: Option<&[String]>) -> Result<ScoreSet> {
    let is_checked = |p: &str| checked.is_none_or(|c| c.iter().any(|x| x == p));
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut archs: Vec<ScoredArch> = Vec::new();
    let mut duplicates = 0;
    let mut merged = 0;
    // Proxy name -> index of the first record that scored it with a recorded setup.
    let mut setup_of: HashMap<String, usize> = HashMap::new();
    let mut with_setup: Vec<(ScoringSetup, String)> = Vec::new();
    for r in records {
        if let Some(setup) = &r.setup {
            let mine = match with_setup.iter().position(|(s, _)| s.same_as(setup)) {
                Some(i) => i,
                None => {
                    with_setup.push((setup.clone(), r.origin.clone()));
                    with_setup.len() - 1
                }
            };
            let depend = r
                .scores
                .keys()
                .filter(|p| is_checked(p) && Proxy::from_name(p).map_or(true, |x| x.depends_on_batch_or_seed()));
            for p in depend {
                let first = *setup_of.entry(p.clone()).or_insert(mine);
                if first != mine {
                    let (old, origin) = &with_setup[first];
                    let (k, x, y) = old.first_difference(setup).unwrap_or_default();
                    bail!(
                        "'{p}' is scored with two setups, which one ranking cannot mix: {origin} has {k} {x}, {} has {k} {y}; give files of one setup per proxy",
                        r.origin
                    );
                }
            }
        }
        let key = r.dedup_key(space);
        match by_key.get(&key) {
            None => {
                by_key.insert(key, archs.len());
                archs.push(r);
            }
            Some(&i) => {
                let first = &mut archs[i];
                for (p, &v) in r.scores.iter().filter(|(p, _)| is_checked(p)) {
                    if let Some(&w) = first.scores.get(p) {
                        if !same_score_of(p, v, w) && first.arch != r.arch {
                            bail!(
                                "{} ({}) and {} ({}) are two specs of one network (hash {}) with different '{p}' scores, {w} and {v}: \
                                 a NAS-Bench-101 network's scores depend on how its spec is written (vertex order, unpruned \
                                 vertices); keep one spec per network",
                                first.arch,
                                first.origin,
                                r.arch,
                                r.origin,
                                r.dedup_key(space)
                            );
                        }
                        if !same_score_of(p, v, w) {
                            bail!(
                                "architecture {} is scored twice with different '{p}' scores: {w} ({}) and {v} ({}); \
                                 were the runs made with different settings (seed, batch, data)?",
                                r.arch,
                                first.origin,
                                r.origin
                            );
                        }
                    }
                }
                let adds = r.scores.keys().any(|p| !first.scores.contains_key(p));
                for (p, v) in r.scores {
                    first.scores.entry(p).or_insert(v);
                }
                if first.index.is_none() {
                    first.index = r.index;
                }
                if adds {
                    merged += 1;
                } else {
                    duplicates += 1;
                }
            }
        }
    }
    Ok(ScoreSet { space, archs, duplicates, merged })
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r' | 0))
}

/// Reads the JSON lines of a `zsnas score` output file (plain or gzip-compressed) without
/// modifying it (the file may still be being written): blank lines are skipped, an
/// unparsable last line without its newline (a torn write) is skipped with a note on
/// stderr, any other unparsable line is an error naming the line. Returns `(origin, value)` pairs, origin = `file:line`.
pub fn read_score_file(path: &Path) -> Result<Vec<(String, Value)>> {
    super::jsonl::require_regular(path).context("scores file")?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read scores file '{}'", path.display()))?;
    let bytes = maybe_gunzip(bytes, &format!("scores file '{}'", path.display()))?;
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let last = lines.iter().rposition(|l| !is_blank(l));
    let Some(last) = last else {
        bail!("scores file '{}' is empty (no score lines)", path.display());
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate().take(last + 1) {
        if is_blank(l) {
            continue;
        }
        let origin = format!("{}:{}", path.display(), i + 1);
        match serde_json::from_slice::<Value>(l) {
            Ok(v) if v.is_object() => out.push((origin, v)),
            // Only an unterminated last line can be a torn write; a complete bad line is
            // corrupt wherever it stands.
            Ok(_) | Err(_) if i == last && last == lines.len() - 1 => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "note: {origin}: ignoring a torn last line (a run still writing, or killed)"
                );
            }
            Ok(_) => bail!("{origin}: not a JSON object"),
            Err(e) => bail!("{origin}: corrupt JSON line (a complete line, so not a torn write): {e}"),
        }
    }
    if out.is_empty() {
        bail!("scores file '{}' holds no complete score line", path.display());
    }
    Ok(out)
}

/// Reads and merges score files (see [`read_score_file`] and [`merge_records`]). The
/// space is `space` when given (every line must agree), else the lines' `space` field.
/// With `checked`, only those proxies must agree across lines and setups (the proxies a
/// command uses); the others are kept as first read.
pub fn load_scores(paths: &[PathBuf], space: Option<SpaceKind>, checked: Option<&[String]>) -> Result<ScoreSet> {
    let mut lines = Vec::new();
    for p in paths {
        lines.extend(read_score_file(p)?);
    }
    records_checked(lines, space, checked)
}

/// Turns `(origin, JSON line)` pairs into a merged [`ScoreSet`], checking that all lines
/// are of one space.
pub fn records_to_set(lines: Vec<(String, Value)>, space: Option<SpaceKind>) -> Result<ScoreSet> {
    records_checked(lines, space, None)
}

/// [`records_to_set`], checking only the proxies of `checked` when given ([`merge_records`]).
fn records_checked(
    lines: Vec<(String, Value)>,
    space: Option<SpaceKind>,
    checked: Option<&[String]>,
) -> Result<ScoreSet> {
    let mut found: Option<(SpaceKind, String)> = None;
    let mut recs = Vec::with_capacity(lines.len());
    for (origin, v) in &lines {
        if let Some(s) = v.get("space").and_then(Value::as_str) {
            let k = SpaceKind::parse(s).with_context(|| origin.to_string())?;
            if let Some(want) = space {
                if k != want {
                    bail!("{origin}: line of space '{}' but --space {}", k.name(), want.name());
                }
            }
            match &found {
                Some((f, o)) if *f != k => {
                    bail!("score lines of different spaces: '{}' ({o}) and '{}' ({origin})", f.name(), k.name())
                }
                Some(_) => {}
                None => found = Some((k, origin.clone())),
            }
        }
        recs.push(ScoredArch::from_json(v, origin)?);
    }
    let space = match (space, found) {
        (Some(s), _) => s,
        (None, Some((s, _))) => s,
        (None, None) => bail!("the score lines have no \"space\" field; give --space nb201|nb101"),
    };
    merge_records(space, recs, checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(proxy: &str, v: f64, origin: &str) -> ScoredArch {
        ScoredArch {
            arch: "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|".into(),
            index: None,
            hash: None,
            canonical: None,
            scores: [(proxy.to_string(), v)].into_iter().collect(),
            setup: None,
            origin: origin.into(),
        }
    }

    #[test]
    fn two_specs_of_one_nb101_network_scored_differently_say_so() {
        let spec = |arch: &str, v: f64, origin: &str| ScoredArch {
            arch: arch.into(),
            index: None,
            hash: Some("7c65f6bd01b87407734781b6038050bc".into()),
            canonical: None,
            scores: [("synflow".to_string(), v)].into_iter().collect(),
            setup: None,
            origin: origin.into(),
        };
        let a = "input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000";
        let b = "input,maxpool3x3,conv3x3-bn-relu,output|0110|0001|0001|0000";
        let e = merge_records(SpaceKind::Nb101, vec![spec(a, 2.367e26, "s:1"), spec(b, 2.322e26, "s:2")], None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{a} (s:1) and {b} (s:2) are two specs of one network (hash 7c65f6bd01b87407734781b6038050bc) with \
                 different 'synflow' scores, 236700000000000000000000000 and 232200000000000000000000000: a NAS-Bench-101 \
                 network's scores depend on how its spec is written (vertex order, unpruned vertices); keep one spec per \
                 network"
            )
        );
        // The same spec twice with equal scores merges.
        let set = merge_records(SpaceKind::Nb101, vec![spec(a, 1.0, "s:1"), spec(a, 1.0, "s:2")], None).unwrap();
        assert_eq!((set.archs.len(), set.duplicates), (1, 1));
    }

    #[test]
    fn lines_adding_proxies_are_merged_not_counted_as_duplicates() {
        let set = merge_records(
            SpaceKind::Nb201,
            vec![rec("synflow", 2.0, "a:1"), rec("swap", 5.0, "b:1"), rec("synflow", 2.0, "c:1")],
            None,
        )
        .unwrap();
        assert_eq!(set.archs.len(), 1);
        assert_eq!((set.merged, set.duplicates), (1, 1));
        assert_eq!(set.archs[0].scores.len(), 2);
        let err = merge_records(SpaceKind::Nb201, vec![rec("synflow", 2.0, "a:1"), rec("synflow", 3.0, "b:7")], None)
            .unwrap_err();
        assert!(format!("{err}").contains("b:7"), "{err}");
    }

    /// With `checked`, a proxy outside it neither conflicts nor mixes setups: it keeps its
    /// first value, and the checked proxies are held to both rules as before.
    #[test]
    fn only_the_checked_proxies_must_agree() {
        let with = |proxy: &str, v: f64, batch_size: usize, origin: &str| ScoredArch {
            setup: Some(ScoringSetup { batch_size, ..ScoringSetup::example() }),
            ..rec(proxy, v, origin)
        };
        let recs = || {
            vec![
                with("naswot", 2.0, 8, "a:1"),
                with("params_live", 5.0, 8, "a:2"),
                with("naswot", 3.0, 16, "b:1"),
                with("params_live", 5.0, 16, "b:2"),
            ]
        };
        let keep = ["params_live".to_string()];
        let set = merge_records(SpaceKind::Nb201, recs(), Some(&keep)).unwrap();
        assert_eq!(set.archs.len(), 1);
        assert_eq!(set.archs[0].scores["naswot"], 2.0);
        assert_eq!(set.archs[0].scores["params_live"], 5.0);
        let err = merge_records(SpaceKind::Nb201, recs(), None).unwrap_err().to_string();
        assert!(err.starts_with("'naswot' is scored with two setups"), "{err}");
        let naswot = ["naswot".to_string()];
        assert!(merge_records(SpaceKind::Nb201, recs(), Some(&naswot)).is_err());
        // Two values of a checked proxy without setups are still refused.
        let twice = vec![rec("params_live", 1.0, "a:1"), rec("params_live", 2.0, "b:1"), rec("naswot", 1.0, "c:1")];
        assert!(merge_records(SpaceKind::Nb201, twice, Some(&keep)).is_err());
    }

    #[test]
    fn one_proxy_from_two_setups_is_refused_but_shape_counts_and_other_proxies_merge() {
        let with = |proxy: &str, arch: &str, batch_size: usize, origin: &str| ScoredArch {
            arch: arch.into(),
            setup: Some(ScoringSetup { batch_size, ..ScoringSetup::example() }),
            ..rec(proxy, 1.0, origin)
        };
        let (a, b) = (
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        );
        let err = merge_records(
            SpaceKind::Nb201,
            vec![with("meco", a, 64, "m.jsonl:1"), with("meco", b, 8, "n.jsonl:3")],
            None,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "'meco' is scored with two setups, which one ranking cannot mix: m.jsonl:1 has batch_size 64, n.jsonl:3 has batch_size 8; give files of one setup per proxy"
        );
        // Other proxies per setup, shape counts from any setup, lines without a setup.
        let set = merge_records(
            SpaceKind::Nb201,
            vec![
                with("meco", a, 64, "m:1"),
                with("meco", b, 64, "m:2"),
                with("zico", a, 8, "z:1"),
                with("params_live", a, 64, "m:1"),
                with("params_live", b, 8, "z:2"),
                rec("meco", 1.0, "old:1"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(set.archs.len(), 3);
    }
}
