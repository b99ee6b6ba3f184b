//! zsnas: zero-shot neural architecture search with training-free proxies (WRCor and the
//! zero-cost proxy suite) on libtorch.
//!
//! Data flows one way: [`data`] → [`net`] → [`proxy`] (responses, scores) → search / eval.

pub mod app;
pub mod data;
pub mod eval;
pub mod net;
pub mod proxy;
pub mod report;
pub mod search;
pub mod space;
pub mod train;
