//! Precomputed scores for `zsnas search --scores FILE...`: reuse the JSON lines of
//! `zsnas score --output` files (e.g. all 15,625 NAS-Bench-201 cells scored in shards)
//! or of earlier `--history` files instead of scoring those architectures again.
//!
//! Only scores made with the search's own scoring setup may be reused (`zsnas score
//! --seed S` = `zsnas search --score-seed S`, same `--data`, `--batch-size`, `--augment`,
//! `--num-classes`): an architecture's score depends on the batch and on its
//! initialisation seed `arch_seed(S, arch)`, nothing else. Every line records its
//! [`ScoringSetup`], which must equal the search's (else an error naming the field);
//! for lines written before zsnas 0.2, which record none, [`Precomputed::check`]
//! re-scores one of them to catch files written with another setup.

use super::provenance::ScoringSetup;
use super::scores::{read_score_file, records_to_set, same_score_of, ScoredArch};
use crate::proxy::ScoreMap;
use crate::search::Cache;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{anyhow, bail, Result};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// One architecture's precomputed scores, restricted to the proxies the search needs.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The architecture.
    pub arch: AnyArch,
    /// Proxy name → score (a subset of the needed proxies, never empty).
    pub scores: ScoreMap,
    /// `file:line` of the first line that gave a score, for messages.
    pub origin: String,
}

/// Precomputed scores keyed by [`AnyArch::key`].
#[derive(Clone, Debug, Default)]
pub struct Precomputed {
    entries: HashMap<String, Entry>,
    lines: usize,
    other_form: usize,
    needed: Vec<String>,
    /// Keys of the entries from lines without a recorded setup, each with the first such
    /// line (`file:line`) and the proxies those lines give (only they are re-checked).
    legacy: Vec<(String, String, HashSet<String>)>,
}

impl Precomputed {
    /// Reads `paths` (JSON lines with `arch` and `scores`, as written by `zsnas score
    /// --output` and `zsnas search --history`) with [`load_scores`], the reader of `zsnas
    /// correlate`, and keeps the proxies in `needed`. Several lines for one architecture
    /// are merged (the union of their proxies).
    ///
    /// Errors (those of [`load_scores`]): an unreadable or corrupt file, a line without
    /// `arch` or `scores`, a score that is not a number, a line of another space, one
    /// proxy of one architecture with two different values (the files were made with
    /// different scoring setups); and an `arch` that is not of `space`.
    ///
    /// `canonical` tells how the search scores: on canonical forms (lines of cells with
    /// dead edges are reused only when they say they were scored on the canonical cell,
    /// `"canonical"`) or on raw architectures (such lines are not reused). Lines left out
    /// this way are counted in [`Precomputed::other_form`].
    ///
    /// `setup` is the search's scoring setup: a line recording another one is an error
    /// naming the file line, the field and both values.
    pub fn load(
        paths: &[PathBuf],
        space: SpaceKind,
        needed: &[&str],
        canonical: bool,
        setup: &ScoringSetup,
    ) -> Result<Precomputed> {
        let mut out = Precomputed { needed: needed.iter().map(|n| n.to_string()).collect(), ..Default::default() };
        if paths.is_empty() {
            return Ok(out);
        }
        let mut lines = Vec::new();
        for p in paths {
            lines.extend(read_score_file(p)?);
        }
        // Every line's setup, before lines of one architecture are merged (a merged record
        // keeps its first line's setup only). Lines without one (zsnas 0.1) are checked by
        // re-scoring ([`Precomputed::check`]).
        let mut unrecorded: HashMap<String, (String, HashSet<String>)> = HashMap::new();
        for (origin, v) in &lines {
            let r = ScoredArch::from_json(v, origin)?;
            match &r.setup {
                Some(s) => setup.check_same(
                    s,
                    &format!("--scores {origin}"),
                    "use the same --score-seed, --data, --batch-size, --augment, --num-classes and --dataset, or leave --scores out",
                )?,
                None => {
                    let (_, names) = unrecorded.entry(r.dedup_key(space)).or_insert_with(|| (origin.clone(), HashSet::new()));
                    names.extend(r.scores.keys().cloned());
                }
            }
        }
        let set = records_to_set(lines, Some(space))?;
        out.lines = set.archs.len() + set.duplicates + set.merged;
        for r in set.archs {
            let legacy = unrecorded.remove(&r.dedup_key(space));
            let scores: ScoreMap = r.scores.into_iter().filter(|(k, _)| needed.contains(&k.as_str())).collect();
            if scores.is_empty() {
                continue;
            }
            let arch = AnyArch::parse(space, &r.arch).map_err(|e| anyhow!("{}: {e:#}", r.origin))?;
            if let Some((origin, names)) = legacy {
                out.legacy.push((arch.key(), origin, names));
            }
            let dead_edges = arch.canonical() != arch;
            if dead_edges && (canonical != r.canonical.is_some()) {
                out.other_form += 1;
                continue;
            }
            out.entries.insert(arch.key(), Entry { arch, scores, origin: r.origin });
        }
        Ok(out)
    }

    /// Number of architectures with at least one needed score.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no architecture has a needed score.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines left out because they were scored on the other form (raw vs canonical).
    pub fn other_form(&self) -> usize {
        self.other_form
    }

    /// Number of JSON lines read.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// The needed scores known for `arch`.
    pub fn get(&self, arch: &AnyArch) -> Option<&ScoreMap> {
        self.entries.get(&arch.key()).map(|e| &e.scores)
    }

    /// All entries, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Checks that lines without a recorded setup (written before zsnas 0.2) were made
    /// with this search's scoring setup: re-scores the entry with the smallest key
    /// (deterministic choice) with `score` and compares the scores that such lines give
    /// (scores of lines with a recorded setup were checked by it). Returns the architecture
    /// checked, `None` when there is nothing to check. Errors on any difference beyond
    /// [`super::scores::same_score_of`], naming the first line without a setup.
    pub fn check(&self, score: impl FnOnce(&AnyArch, &[String]) -> Result<ScoreMap>) -> Result<Option<AnyArch>> {
        let Some((e, origin, given)) = self
            .legacy
            .iter()
            .filter_map(|(k, origin, names)| self.entries.get(k).map(|e| (e, origin, names)))
            .filter(|(e, _, names)| e.scores.keys().any(|k| names.contains(k)))
            .min_by(|a, b| a.0.arch.key().cmp(&b.0.arch.key()))
        else {
            return Ok(None);
        };
        let names: Vec<String> = e.scores.keys().filter(|k| given.contains(*k)).cloned().collect();
        let fresh = score(&e.arch, &names)?;
        for k in &names {
            let x = e.scores[k];
            let y = fresh.get(k).copied().unwrap_or(f64::NAN);
            if !same_score_of(k, x, y) {
                bail!(
                    "--scores {origin}: '{k}' of {} is {x} in the file but {y} with this search's scoring setup; \
                     the file was made with another --seed/--score-seed, --data, --batch-size, --augment or \
                     --num-classes (use the same ones, or leave --scores out)",
                    e.arch.text()
                );
            }
        }
        Ok(Some(e.arch.clone()))
    }

    /// Puts what the files give into a search's cache and returns the partial entries
    /// (architecture key → the proxies known), after [`Precomputed::check`] with `score`.
    /// An entry with every needed proxy goes to `cache` (unless already there); one with
    /// some is returned, to be completed when the search reaches it. Notes on stderr say
    /// what was reused: `fitness` names the fitness, `raw` the search's scoring form,
    /// `given` whether any `--scores` file was given.
    pub fn prefill(
        &self,
        cache: &mut Cache,
        fitness: &str,
        raw: bool,
        given: bool,
        score: impl FnOnce(&AnyArch, &[String]) -> Result<ScoreMap>,
    ) -> Result<HashMap<String, ScoreMap>> {
        if self.other_form > 0 {
            let how = if raw {
                "on canonical cells, not raw (this search has --raw)"
            } else {
                "raw (--raw), not on canonical cells"
            };
            crate::note!(
                "note: --scores: {} lines of cells with dead edges were scored {how}; they are scored again",
                self.other_form
            );
        }
        let mut partial: HashMap<String, ScoreMap> = HashMap::new();
        if self.is_empty() {
            if given {
                crate::note!(
                    "note: --scores: none of the {} lines has a score of the proxies of '{fitness}'; nothing is reused",
                    self.lines
                );
            }
            return Ok(partial);
        }
        let checked = self.check(score)?;
        let mut complete = 0;
        for e in self.entries.values() {
            if self.needed.iter().all(|n| e.scores.contains_key(n)) {
                if cache.get(&e.arch).is_none() {
                    cache.insert(&e.arch, e.scores.clone());
                }
                complete += 1;
            } else {
                partial.insert(e.arch.key(), e.scores.clone());
            }
        }
        crate::note!(
            "--scores: {} lines, {complete} architectures with every proxy of '{fitness}', {} with some; {}",
            self.lines,
            partial.len(),
            match checked {
                Some(x) => format!("lines without a recorded setup checked by re-scoring {}", x.text()),
                None => "every line's recorded setup is this search's".to_string(),
            }
        );
        Ok(partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_score_tolerates_rounding_only() {
        use super::super::scores::same_score;
        assert!(same_score_of("zico", 100.0, 100.5));
        assert!(!same_score_of("wrcor", 100.0, 100.001));
        assert!(same_score(-68.29798463460646, -68.29798463460648));
        assert!(!same_score(871.4054, 871.4055));
        assert!(same_score(f64::NAN, f64::NAN));
        assert!(same_score(f64::NEG_INFINITY, f64::NEG_INFINITY));
        assert!(!same_score(f64::NEG_INFINITY, -1e300));
        assert!(!same_score(f64::NAN, 1.0));
    }

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The re-scoring check of lines without a setup compares only the scores such lines
    /// give, and names such a line, when another file with a recorded setup gives other
    /// proxies of the same architecture.
    #[test]
    fn check_compares_only_the_scores_of_lines_without_a_setup() {
        let dir = tempfile::tempdir().unwrap();
        let a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        let setup = serde_json::to_string(&ScoringSetup::example()).unwrap();
        let with_setup = write(
            dir.path(),
            "new.jsonl",
            &format!("{{\"arch\":\"{a}\",\"scores\":{{\"jacob_cov\":-65.0}},\"setup\":{setup}}}\n"),
        );
        let legacy = write(dir.path(), "old.jsonl", &format!("{{\"arch\":\"{a}\",\"scores\":{{\"wrcor\":800.5}}}}\n"));
        for files in [[with_setup.clone(), legacy.clone()], [legacy.clone(), with_setup.clone()]] {
            let p =
                Precomputed::load(&files, SpaceKind::Nb201, &["wrcor", "jacob_cov"], false, &ScoringSetup::example())
                    .unwrap();
            // The fresh jacob_cov differs (another machine), but only wrcor is re-checked.
            let mut asked = Vec::new();
            let checked = p
                .check(|_, names| {
                    asked = names.to_vec();
                    Ok(ScoreMap::from([("wrcor".to_string(), 800.5), ("jacob_cov".to_string(), -64.0)]))
                })
                .unwrap();
            assert!(checked.is_some());
            assert_eq!(asked, ["wrcor"]);
            // A legacy score that differs is blamed on the legacy file's line.
            let e = p.check(|_, _| Ok(ScoreMap::from([("wrcor".to_string(), 801.5)]))).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--scores {}:1: 'wrcor'", legacy.display())), "{e}");
        }
        // Only lines with a setup: nothing to re-check.
        let p = Precomputed::load(&[with_setup], SpaceKind::Nb201, &["jacob_cov"], false, &ScoringSetup::example())
            .unwrap();
        assert!(p.check(|_, _| panic!("nothing to re-score")).unwrap().is_none());
    }

    #[test]
    fn load_merges_files_keeps_needed_and_rejects_conflicts() {
        let dir = std::env::temp_dir().join(format!("zsnas_pre_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        let b = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
        let f1 = write(
            &dir,
            "a.jsonl",
            &format!(
                "{{\"arch\":\"{a}\",\"scores\":{{\"wrcor\":800.5,\"naswot\":1.0}}}}\n{{\"arch\":\"{b}\",\"scores\":{{\"wrcor\":\"-inf\"}}}}\n"
            ),
        );
        let f2 = write(
            &dir,
            "b.jsonl",
            &format!("{{\"arch\":\"{a}\",\"step\":3,\"scores\":{{\"synflow\":2e35,\"wrcor\":800.5}}}}\n"),
        );
        let p = Precomputed::load(
            &[f1.clone(), f2],
            SpaceKind::Nb201,
            &["wrcor", "synflow", "jacob_cov"],
            false,
            &ScoringSetup::example(),
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.lines(), 3);
        let ea = p.get(&AnyArch::parse(SpaceKind::Nb201, a).unwrap()).unwrap();
        assert_eq!(ea.len(), 2, "naswot is not needed; wrcor and synflow merged: {ea:?}");
        assert_eq!(ea["synflow"], 2e35);
        assert_eq!(p.get(&AnyArch::parse(SpaceKind::Nb201, b).unwrap()).unwrap()["wrcor"], f64::NEG_INFINITY);

        // A gzip-compressed copy reads the same.
        let gz = dir.join("a.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &std::fs::read(&f1).unwrap()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let pz = Precomputed::load(&[gz], SpaceKind::Nb201, &["wrcor"], false, &ScoringSetup::example()).unwrap();
        assert_eq!(pz.len(), 2);
        assert_eq!(pz.get(&AnyArch::parse(SpaceKind::Nb201, a).unwrap()).unwrap()["wrcor"], 800.5);

        let f3 = write(&dir, "c.jsonl", &format!("{{\"arch\":\"{a}\",\"scores\":{{\"wrcor\":801.5}}}}\n"));
        let e = Precomputed::load(&[f1.clone(), f3], SpaceKind::Nb201, &["wrcor"], false, &ScoringSetup::example())
            .unwrap_err();
        assert!(format!("{e:#}").contains("different 'wrcor' scores"), "{e:#}");

        for (name, line, needle) in [
            ("e.jsonl", format!("{{\"arch\":\"{a}\",\"scores\":{{\"wrcor\":\"abc\"}}}}\n"), "score 'wrcor'"),
            ("f.jsonl", format!("{{\"arch\":\"{a}\",\"scores\":{{\"wrcor\":null}}}}\n"), "not a number"),
            ("g.jsonl", format!("{{\"arch\":\"{a}\"}}\n"), "no 'scores'"),
            ("h.jsonl", format!("{{\"arch\":\"{a}\",\"scores\":\"abc\"}}\n"), "no 'scores'"),
            (
                "i.jsonl",
                format!("{{\"space\":\"nb101\",\"arch\":\"{a}\",\"scores\":{{\"wrcor\":1.0}}}}\n"),
                "space 'nb101'",
            ),
        ] {
            let f = write(&dir, name, &line);
            let e = Precomputed::load(&[f], SpaceKind::Nb201, &["wrcor"], false, &ScoringSetup::example()).unwrap_err();
            assert!(format!("{e:#}").contains(needle) && format!("{e:#}").contains(name), "{name}: {e:#}");
        }
        let f4 = write(&dir, "d.jsonl", "{\"arch\":\"|nor_conv_3x3~0|\",\"scores\":{\"wrcor\":1.0}}\n");
        let e = Precomputed::load(&[f4], SpaceKind::Nb201, &["wrcor"], false, &ScoringSetup::example()).unwrap_err();
        assert!(format!("{e:#}").contains("d.jsonl:1"), "{e:#}");

        // Every line's setup is checked, also a line merged into an earlier line of the same
        // architecture from another file (it adds a proxy, so the merge keeps the first
        // line's setup).
        let ours = serde_json::to_string(&ScoringSetup::example()).unwrap();
        let other = serde_json::to_string(&ScoringSetup { batch_size: 16, ..ScoringSetup::example() }).unwrap();
        let f5 =
            write(&dir, "s8.jsonl", &format!("{{\"arch\":\"{a}\",\"scores\":{{\"synflow\":1.0}},\"setup\":{ours}}}\n"));
        let f6 = write(
            &dir,
            "s16.jsonl",
            &format!("{{\"arch\":\"{a}\",\"scores\":{{\"naswot\":2.0}},\"setup\":{other}}}\n"),
        );
        let e = Precomputed::load(&[f5, f6], SpaceKind::Nb201, &["naswot"], false, &ScoringSetup::example())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--scores")
                && e.contains("s16.jsonl:1: scored with batch_size 16, but this run has batch_size 64"),
            "{e}"
        );

        // check(): a scorer that disagrees is an error naming the file line.
        let p = Precomputed::load(&[f1], SpaceKind::Nb201, &["wrcor"], false, &ScoringSetup::example()).unwrap();
        let e = p.check(|_, _| Ok(ScoreMap::from([("wrcor".to_string(), 1.0)]))).unwrap_err();
        assert!(format!("{e:#}").contains("a.jsonl"), "{e:#}");
        let ok = p.check(|x, names| {
            assert_eq!(names, ["wrcor".to_string()]);
            let v = if x.text() == a { 800.5 } else { f64::NEG_INFINITY };
            Ok(ScoreMap::from([("wrcor".to_string(), v)]))
        });
        assert!(ok.unwrap().is_some());
        std::fs::remove_dir_all(&dir).ok();
    }
}
