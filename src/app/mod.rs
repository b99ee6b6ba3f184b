//! The commands, one file (or folder) each: its flags (clap) and its `run`. Commands do
//! not import each other; what several share lives in [`setup`] (flag groups) and
//! [`scoring`] (the scoring loop of `score` and `correlate`).

pub mod bench;
pub mod correlate;
pub mod demo;
pub mod export;
pub mod plot;
pub mod proxies;
pub mod score;
pub mod scoring;
pub mod search;
pub mod setup;
pub mod table;
pub mod train;
