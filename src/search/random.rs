//! Random search: draw architectures uniformly from the space until the budget is spent
//! and keep the best (the [`Search`]'s best-so-far tracker). Repeated draws are cache
//! hits: they use a step but are not scored again.

use super::Search;
use anyhow::Result;
use rand_chacha::ChaCha8Rng;

/// Spends the whole budget of `search` on uniform samples of its space.
pub fn run(search: &mut Search, rng: &mut ChaCha8Rng) -> Result<()> {
    while search.remaining() > 0 {
        let a = search.space().sample(rng)?;
        search.evaluate(&a)?;
    }
    Ok(())
}
