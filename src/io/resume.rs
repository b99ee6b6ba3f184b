//! Resuming a `zsnas score --output` file: only lines of the run's own scoring setup are
//! reused, lines missing proxies asked for now are completed, and the file ends with one
//! line per architecture.
//!
//! How completion keeps the file kill-safe: a completed line (the old scores plus the new
//! ones) is *appended* like any new line, so a kill at any moment loses at most the line
//! being written; readers merge lines of one architecture ([`super::scores::merge_records`]).
//! When the run ends, [`ScoreFile::finish`] rewrites the file with one line per
//! architecture (the last, most complete one, at the place of the first) into a temporary
//! file beside it and renames it over the original (atomic on POSIX file systems).

use super::jsonl::JsonlLog;
use super::provenance::ScoringSetup;
use super::record::{to_line, ScoreLine};
use super::scores::same_score_of;
use crate::report::cut;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An open score file being resumed (see the [module docs](self)).
#[derive(Debug)]
pub struct ScoreFile {
    log: JsonlLog,
    path: PathBuf,
    /// Every line in file order, the last line of each architecture replacing earlier ones.
    lines: Vec<ScoreLine>,
    by_arch: HashMap<String, usize>,
    /// `file:line` of each architecture's first line.
    origins: Vec<String>,
    /// Lines in the file (or appended) beyond one per architecture.
    duplicates: usize,
}

impl ScoreFile {
    /// Opens (or creates) `path`, repairing a torn last line ([`JsonlLog::open`]), and
    /// checks every line against this run: the same `setup` (else an error naming the
    /// field and both values), the same space, and for a NAS-Bench-201 cell with dead
    /// edges the same scoring form (`canonical`: scored on the canonical cell; `false` is
    /// `--raw`).
    ///
    /// Errors: an unreadable or corrupt file, a line that is not a score line, a line
    /// without a recorded setup (written before zsnas 0.2: it cannot be checked), a
    /// different setup, space or scoring form.
    pub fn open(path: &Path, space: SpaceKind, setup: &ScoringSetup, canonical: bool) -> Result<ScoreFile> {
        let (log, records) = JsonlLog::open(path)?;
        let remedy = "use the same flags, or another --output file";
        let mut f = ScoreFile {
            log,
            path: path.to_path_buf(),
            lines: Vec::new(),
            by_arch: HashMap::new(),
            origins: Vec::new(),
            duplicates: 0,
        };
        for (i, v) in records.into_iter().enumerate() {
            let origin = format!("{}:{}", path.display(), i + 1);
            let l: ScoreLine =
                serde_json::from_value(v).map_err(|e| anyhow!("{origin}: not a `zsnas score` line: {e}"))?;
            if let Some(s) = l.space.as_deref() {
                if s != space.name() {
                    bail!("{origin}: a line of space {s}, but this run has space {}: {remedy}", space.name());
                }
            }
            let Some(old) = &l.setup else {
                bail!(
                    "{origin}: this line records no scoring setup (written before zsnas 0.2), so resuming cannot check it: score into another --output file"
                );
            };
            setup.check_same(old, &origin, remedy)?;
            let arch = AnyArch::parse(space, &l.arch).with_context(|| origin.clone())?;
            if arch.canonical() != arch && l.canonical.is_some() != canonical {
                let (was, now) =
                    if canonical { ("raw (--raw)", "on canonical cells") } else { ("on the canonical cell", "--raw") };
                bail!("{origin}: {} was scored {was}, but this run scores {now}: {remedy}", l.arch);
            }
            if let Some(&i) = f.by_arch.get(&l.arch) {
                for (k, &v) in &l.scores {
                    if let Some(&w) = f.lines[i].scores.get(k) {
                        if !same_score_of(k, v, w) {
                            bail!(
                                "{origin}: {} has '{k}' {v} here but {w} at {}: the file holds two different scorings of it (remove one line by hand)",
                                cut(&l.arch, 120),
                                f.origins[i]
                            );
                        }
                    }
                }
            }
            f.put(l, origin);
        }
        Ok(f)
    }

    /// Adds a line; a later line of the same architecture replaces the earlier one,
    /// keeping the earlier one's scores it lacks (the union).
    fn put(&mut self, mut l: ScoreLine, origin: String) {
        match self.by_arch.get(&l.arch) {
            Some(&i) => {
                for (k, v) in &self.lines[i].scores {
                    l.scores.entry(k.clone()).or_insert(*v);
                }
                for (k, v) in &self.lines[i].seconds {
                    l.seconds.entry(k.clone()).or_insert(*v);
                }
                self.lines[i] = l;
                self.duplicates += 1;
            }
            None => {
                self.by_arch.insert(l.arch.clone(), self.lines.len());
                self.lines.push(l);
                self.origins.push(origin);
            }
        }
    }

    /// The line of architecture text `arch`, when the file has one.
    pub fn get(&self, arch: &str) -> Option<&ScoreLine> {
        self.by_arch.get(arch).map(|&i| &self.lines[i])
    }

    /// Number of architectures in the file.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the file holds no line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Appends `line` (flushed to the operating system before returning); a line of an
    /// architecture already in the file replaces it (see the [module docs](self)).
    pub fn append(&mut self, line: &ScoreLine) -> Result<()> {
        self.log.append(line)?;
        self.put(line.clone(), format!("{} (appended)", self.path.display()));
        Ok(())
    }

    /// Ends the run: when the file holds more than one line for some architecture, rewrites
    /// it with one line each (via `<file>.tmp` and an atomic rename, keeping the file's
    /// permissions; a symbolic link's target is rewritten, the link kept; a file with
    /// other hard links is rewritten in place). Returns the number of lines dropped.
    pub fn finish(self) -> Result<usize> {
        if self.duplicates == 0 {
            return Ok(0);
        }
        // Through a symbolic link, the file it points to is rewritten (the link stays).
        let target = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let tmp = target.with_extension("jsonl.tmp");
        let mut text = String::new();
        for l in &self.lines {
            text.push_str(&to_line(l));
            text.push('\n');
        }
        let meta = std::fs::metadata(&target).ok();
        #[cfg(unix)]
        let hard_linked = meta.as_ref().is_some_and(|m| std::os::unix::fs::MetadataExt::nlink(m) > 1);
        #[cfg(not(unix))]
        let hard_linked = false;
        drop(self.log);
        if hard_linked {
            // A rename would leave the file's other names holding the old lines: rewrite it
            // in place (a kill meanwhile leaves a prefix, which the next run repairs).
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&target)
                .with_context(|| format!("cannot rewrite '{}'", target.display()))?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .with_context(|| format!("cannot rewrite '{}'", target.display()))?;
            return Ok(self.duplicates);
        }
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write '{}'", tmp.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write '{}'", tmp.display()))?;
        // The rewritten file keeps the permissions of the one it replaces.
        if let Some(m) = &meta {
            std::fs::set_permissions(&tmp, m.permissions())
                .with_context(|| format!("cannot set the permissions of '{}'", tmp.display()))?;
        }
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot replace '{}' by '{}'", target.display(), tmp.display()))?;
        Ok(self.duplicates)
    }
}
