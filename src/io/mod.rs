//! Result files: the typed JSON-line records zsnas writes ([`record`]), appending with
//! resume ([`jsonl`]), reading and merging score files ([`scores`]), search histories
//! ([`history`]), precomputed scores for searches ([`precomputed`]), work splitting
//! ([`shard`]) and gzip-transparent reading ([`gz`]).

pub mod gz;
pub mod history;
pub mod jsonl;
pub mod precomputed;
pub mod record;
pub mod scores;
pub mod shard;
