//! An architecture of any space, with what the CLI needs: canonical text, benchmark
//! index, network builder, and parsing from the command line or files.

use super::score::{nb201_builder, SpaceKind};
use crate::net::model::Builder;
use crate::space::nb201::Nb201Arch;
use crate::space::nb201_table::Nb201Table;
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use serde_json::Value;
use std::path::Path;

/// An architecture of one of the spaces.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyArch {
    /// A NAS-Bench-201 cell.
    Nb201(Nb201Arch),
}

impl AnyArch {
    /// Canonical text (the `arch` field of output lines).
    pub fn text(&self) -> String {
        match self {
            AnyArch::Nb201(a) => a.arch_str(),
        }
    }

    /// The space.
    pub fn space(&self) -> SpaceKind {
        match self {
            AnyArch::Nb201(_) => SpaceKind::Nb201,
        }
    }

    /// Benchmark index when the space has one.
    pub fn index(&self, nb201: Option<&Nb201Table>) -> Option<usize> {
        match self {
            AnyArch::Nb201(a) => nb201.and_then(|t| t.index_of(a)),
        }
    }

    /// Extra identifying fields of the output line (e.g. NAS-Bench-101's `hash`).
    pub fn extra(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }

    /// The network builder with `num_classes` outputs.
    pub fn builder(&self, num_classes: i64) -> Builder {
        match self {
            AnyArch::Nb201(a) => nb201_builder(*a, num_classes),
        }
    }

    /// Parses an architecture of `space` from its command-line text.
    pub fn parse(space: SpaceKind, s: &str) -> Result<AnyArch> {
        match space {
            SpaceKind::Nb201 => Ok(AnyArch::Nb201(Nb201Arch::parse(s)?)),
            _ => bail!("space '{}' is not available in this build", space.name()),
        }
    }

    /// Reads architectures from a file: one text form per line (blank lines and `#`
    /// comments skipped).
    pub fn read_file(space: SpaceKind, path: &Path) -> Result<Vec<AnyArch>> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read archs file '{}'", path.display()))?;
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            out.push(AnyArch::parse(space, l).with_context(|| format!("{}:{}", path.display(), i + 1))?);
        }
        Ok(out)
    }

    /// A seeded uniform sample of `k` distinct architectures of `space`.
    pub fn sample(space: SpaceKind, k: usize, seed: u64) -> Result<Vec<AnyArch>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        match space {
            SpaceKind::Nb201 => {
                if k > 15625 {
                    bail!("--sample {k}: NAS-Bench-201 has 15,625 architectures");
                }
                let mut seen = std::collections::HashSet::new();
                let mut out = Vec::new();
                while out.len() < k {
                    let a = Nb201Arch::sample(&mut rng);
                    if seen.insert(a) {
                        out.push(AnyArch::Nb201(a));
                    }
                }
                Ok(out)
            }
            _ => bail!("space '{}' is not available in this build", space.name()),
        }
    }

    /// Every architecture of `space` in benchmark order (NAS-Bench-201 only).
    pub fn all(space: SpaceKind, table: &Nb201Table) -> Result<Vec<AnyArch>> {
        match space {
            SpaceKind::Nb201 => Ok(table.rows().iter().map(|r| AnyArch::Nb201(r.arch)).collect()),
            _ => bail!("--all is only available for nb201"),
        }
    }
}
