//! An architecture of any space: canonical text, benchmark index, join key, and parsing
//! from the command line or files, sampling and enumeration. Networks are built from it
//! in `net::build`.

use super::mbv2::{random_arch, Mbv2Arch, DEFAULT_FLOPS_LIMIT};
use super::nb101::Nb101Spec;
use super::nb201::Nb201Arch;
use super::nb201_table::Nb201Table;
use super::SpaceKind;
use crate::report::cut;
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use serde_json::Value;
use std::path::Path;

/// An architecture of one of the spaces.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyArch {
    /// A NAS-Bench-201 cell.
    Nb201(Nb201Arch),
    /// A NAS-Bench-101 cell.
    Nb101(Nb101Spec),
    /// A MobileNetV2-like network (with its input resolution).
    Mbv2(Mbv2Arch),
}

impl AnyArch {
    /// Canonical text (the `arch` field of output lines).
    pub fn text(&self) -> String {
        match self {
            AnyArch::Nb201(a) => a.arch_str(),
            AnyArch::Nb101(s) => s.to_text(),
            AnyArch::Mbv2(a) => a.to_string(),
        }
    }

    /// The canonical form scores are computed on: a NAS-Bench-201 cell with every dead edge
    /// set to `none` ([`Nb201Arch::canonical`]); NAS-Bench-101 specs are pruned when parsed
    /// and mbv2 networks have no dead modules, so they are their own canonical form.
    pub fn canonical(&self) -> AnyArch {
        match self {
            AnyArch::Nb201(a) => AnyArch::Nb201(a.canonical()),
            other => other.clone(),
        }
    }

    /// The space.
    pub fn space(&self) -> SpaceKind {
        match self {
            AnyArch::Nb201(_) => SpaceKind::Nb201,
            AnyArch::Nb101(_) => SpaceKind::Nb101,
            AnyArch::Mbv2(_) => SpaceKind::Mbv2,
        }
    }

    /// Benchmark index when the space has one.
    pub fn index(&self, nb201: Option<&Nb201Table>) -> Option<usize> {
        match self {
            AnyArch::Nb201(a) => nb201.and_then(|t| t.index_of(a)),
            _ => None,
        }
    }

    /// Extra identifying fields of the output line (e.g. NAS-Bench-101's `hash`).
    pub fn extra(&self) -> Vec<(&'static str, Value)> {
        match self {
            AnyArch::Nb101(s) => vec![("hash", Value::String(s.hash()))],
            AnyArch::Mbv2(a) => vec![("resolution", Value::from(a.resolution))],
            _ => Vec::new(),
        }
    }

    /// The key joined with ground-truth tables: `arch_str` (NAS-Bench-201), module hash
    /// (NAS-Bench-101), canonical text otherwise.
    pub fn key(&self) -> String {
        match self {
            AnyArch::Nb101(s) => s.hash(),
            _ => self.text(),
        }
    }

    /// Parses an architecture of `space` from its command-line text.
    pub fn parse(space: SpaceKind, s: &str) -> Result<AnyArch> {
        // Messages quote the string: a long one is cut to 120 characters there.
        // A message that does not quote the string (NAS-Bench-101's and mbv2's checks of a
        // parsed architecture) is prefixed with it, so that the failing one of several
        // --arch is named.
        Self::parse_full(space, s).map_err(|e| {
            let short = cut(s, 120);
            let msg = format!("{e:#}");
            let msg = if s.chars().count() > 120 { msg.replace(s, &short) } else { msg };
            if msg.contains(&short) {
                anyhow::anyhow!("{msg}")
            } else {
                anyhow::anyhow!("'{short}': {msg}")
            }
        })
    }

    fn parse_full(space: SpaceKind, s: &str) -> Result<AnyArch> {
        match space {
            SpaceKind::Nb201 => Ok(AnyArch::Nb201(Nb201Arch::parse(s)?)),
            SpaceKind::Nb101 => {
                if s.trim_start().starts_with('{') {
                    let v: super::nb101::Nb101SpecJson = serde_json::from_str(s).context("NAS-Bench-101 spec JSON")?;
                    Ok(AnyArch::Nb101(Nb101Spec::try_from(v)?))
                } else {
                    Ok(AnyArch::Nb101(Nb101Spec::parse_text(s)?))
                }
            }
            SpaceKind::Mbv2 => {
                let a = Mbv2Arch::parse(s)?;
                a.validate()?;
                Ok(AnyArch::Mbv2(a))
            }
        }
    }

    /// Reads architectures from a file: one text form per line (blank lines and `#`
    /// comments skipped, a leading UTF-8 byte-order mark ignored; lines may end in `\n`,
    /// `\r\n` or a lone `\r`). Errors: an unreadable
    /// file, a malformed line (naming `file:line`), a file without any architecture.
    pub fn read_file(space: SpaceKind, path: &Path) -> Result<Vec<AnyArch>> {
        // A device would never end (`/dev/zero`); a pipe (`--archs-file <(...)`) is read to
        // its end.
        if let Some(kind) = not_a_text_source(path) {
            bail!("archs file '{}' is {kind}, not a file or pipe", path.display());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read archs file '{}'", path.display()))?;
        // A byte-order mark (editors on Windows write one) is not part of the first line.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if space == SpaceKind::Nb101 && text.trim_start().starts_with('[') {
            let v: Vec<super::nb101::Nb101SpecJson> = serde_json::from_str(text)
                .with_context(|| format!("'{}': expected a JSON list of {{ops, adjacency}}", path.display()))?;
            if v.is_empty() {
                bail!("archs file '{}' holds an empty JSON list", path.display());
            }
            return v
                .into_iter()
                .enumerate()
                .map(|(i, x)| {
                    Nb101Spec::try_from(x)
                        .map(AnyArch::Nb101)
                        .with_context(|| format!("{}: entry {} of the list (counting from 1)", path.display(), i + 1))
                })
                .collect();
        }
        let mut out = Vec::new();
        // Line ends "\n", "\r\n" and a lone "\r" (old Mac files), as truth CSVs are read.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            out.push(AnyArch::parse(space, l).with_context(|| format!("{}:{}", path.display(), i + 1))?);
        }
        if out.is_empty() {
            bail!("archs file '{}' holds no architecture (only blank or '#' lines)", path.display());
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
            SpaceKind::Nb101 => {
                let mut seen = std::collections::HashSet::new();
                let mut out = Vec::new();
                let mut tries = 0;
                while out.len() < k {
                    tries += 1;
                    if tries > 100 * k + 1000 {
                        bail!("could not draw {k} distinct NAS-Bench-101 cells");
                    }
                    let s = Nb101Spec::random_spec(&mut rng);
                    if seen.insert(s.hash()) {
                        out.push(AnyArch::Nb101(s));
                    }
                }
                Ok(out)
            }
            SpaceKind::Mbv2 => (0..k).map(|_| random_arch(&mut rng, DEFAULT_FLOPS_LIMIT).map(AnyArch::Mbv2)).collect(),
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

/// What `path` is when it is something a small text input (an archs file, a truth table)
/// cannot be read from to its end: "a folder", "a device" or "a socket"; `None` for a
/// regular file, a pipe or FIFO, and a path that does not exist (its reader says so).
pub fn not_a_text_source(path: &Path) -> Option<&'static str> {
    let m = std::fs::metadata(path).ok()?;
    let t = m.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    t.is_dir().then_some("a folder")
}
