//! Evaluation of proxies against ground truth: rank correlations, top-k
//! precision and bootstrap confidence intervals.

pub mod stats;
