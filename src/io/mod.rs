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
