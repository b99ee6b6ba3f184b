//! Reporting utilities: crash-safe JSON-lines result logs, work sharding,
//! progress display, plots (PNG + SVG) and plain-text tables.
//!
//! Everything here is pure Rust (no libtorch).

pub mod jsonl;
pub mod plot;
pub mod progress;
pub mod shard;
pub mod table;
