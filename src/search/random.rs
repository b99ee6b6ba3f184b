//! Random search: draw architectures uniformly from the space until the budget is spent
//! and keep the best (the [`Search`]'s best-so-far tracker). Repeated draws are cache
//! hits: they use a step but are not scored again. With a batch scorer the draws are
//! scored a chunk at a time ([`Search::evaluate_samples`]), with the same result.

use super::Search;
use anyhow::Result;
use rand_chacha::ChaCha8Rng;

/// Spends the whole budget of `search` on uniform samples of its space.
pub fn run(search: &mut Search, rng: &mut ChaCha8Rng) -> Result<()> {
    search.evaluate_samples(search.remaining(), rng, |_, _, _| {})
}
