//! zsnas: zero-shot neural architecture search with training-free proxies (WRCor and the
//! zero-cost proxy suite) on libtorch.
//!
//! Layers import downward only: [`space`] (what an architecture is; no tensors) and
//! [`data`] (batches) → [`net`] (networks on tch, the ReLU-site recorder, building) →
//! [`proxy`] (responses, scores, the proxy-list parser) → [`search`] / [`eval`] / [`io`]
//! (strategies; truth and statistics; result files) → [`app`] (the commands). [`report`]
//! (plots, tables, progress) is a leaf utility any layer may use.

pub mod app;
pub mod data;
pub mod eval;
pub mod io;
pub mod net;
pub mod proxy;
pub mod report;
pub mod search;
pub mod space;
pub mod train;
