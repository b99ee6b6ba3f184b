//! Result files: the typed JSON-line records zsnas writes ([`record`]), appending with
//! resume ([`jsonl`]), reading and merging score files ([`scores`]), search histories
//! ([`history`]), the scoring setup every line records ([`provenance`]), precomputed scores for searches ([`precomputed`]), resuming score files
//! ([`resume`]), flat CSV tables of score lines ([`flat`]), work splitting ([`shard`]) and
//! gzip-transparent reading ([`gz`]).

pub mod flat;
pub mod gz;
pub mod history;
pub mod jsonl;
pub mod precomputed;
pub mod provenance;
pub mod record;
pub mod resume;
pub mod scores;
pub mod shard;

/// Whether the paths `a` and `b` name one file, so that writing one would overwrite the
/// other: for existing files the same path, a symbolic link to it, or a hard link (same
/// device and inode on Unix); where either does not exist yet (an output still to be
/// written), the same path once made absolute.
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => std::path::absolute(a).ok().zip(std::path::absolute(b).ok()).is_some_and(|(x, y)| x == y),
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::canonicalize(a).ok().zip(std::fs::canonicalize(b).ok()).is_some_and(|(x, y)| x == y)
    }
}
