//! Evaluation against benchmark ground truth: the truth tables ([`truth`]), rank
//! statistics ([`stats`]) and the correlation report of proxies ([`correlation`]).

pub mod correlation;
pub mod stats;
pub mod truth;
