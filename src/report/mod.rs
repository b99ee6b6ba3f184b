//! Presentation: progress display, plots (PNG + SVG) and plain-text tables.
//!
//! Everything here is pure Rust (no libtorch) and knows nothing of spaces or proxies.

pub mod plot;
pub mod progress;
pub mod table;
