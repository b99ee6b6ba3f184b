//! Command implementations behind the CLI (the binary only parses flags and prints).

pub mod arch;
pub mod bench;
pub mod cli_score;
pub mod correlate;
pub mod demo;
pub mod export;
pub mod precomputed;
pub mod record;
pub mod score;
pub mod search;
pub mod train;
