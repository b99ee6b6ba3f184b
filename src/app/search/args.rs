//! The flags of `zsnas search` (see the [command's docs](super)).

use super::super::setup::{SetupArgs, StrategyArgs, TruthArgs};
use std::path::PathBuf;

/// Flags of `zsnas search`.
#[derive(clap::Args, Clone, Debug)]
pub struct SearchArgs {
    /// Search space: nb201, nb101, mbv2.
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// Search strategy: random, evolution or reinforce.
    #[arg(long)]
    pub strategy: String,
    /// Fitness: a proxy (e.g. wrcor, synflow; '-name' for lower is better), a vote (sjw,
    /// spw, vote:p1,p2,...) or a rank aggregate (rank, logrank:p1,p2,..., meanrank:...;
    /// `logrank:a,b,top5%,c`: the best 5 % by a and b re-ordered by c). Default `rank`,
    /// zsnas's default ranker for the space (`zsnas proxies` defines it).
    #[arg(long, default_value = "rank", allow_hyphen_values = true)]
    pub fitness: String,
    /// Number of evaluations per run (repeated architectures count, but are not scored
    /// again).
    #[arg(long, allow_negative_numbers = true, value_parser = super::super::setup::count)]
    pub budget: usize,
    /// Search seed of the first run (run r uses seed + r).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub seed: u64,
    /// Fixed scoring seed: batch choice and weight initialisation of every architecture,
    /// the same for all runs so that scores are comparable and cached.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub score_seed: u64,
    /// Number of runs (seeds seed..seed+runs-1); reports the mean ± std of the found
    /// accuracy.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = super::super::setup::count)]
    pub runs: usize,
    /// The ground truth the found architectures are reported against.
    #[command(flatten)]
    pub truth: TruthArgs,
    /// Score the raw architecture strings (NAS-Bench-201 dead edges kept). Default: each
    /// cell is scored as its canonical form (dead edges set to `none`), once per class.
    #[arg(long)]
    pub raw: bool,
    /// Do not look up ground truth (not even the embedded NAS-Bench-201 table).
    #[arg(long, conflicts_with_all = ["truth", "truth_column", "truth_key"])]
    pub no_truth: bool,
    /// Precomputed scores to reuse (repeatable, or several files after one flag):
    /// `zsnas score --output` files or earlier `--history` files made with this search's
    /// scoring setup (score `--seed` = `--score-seed`, same --data, --batch-size,
    /// --augment). Architectures with all the fitness's proxies there are not scored
    /// again; missing proxies are computed. Each line's recorded setup must equal this
    /// search's; in files of zsnas 0.1, which record none, one architecture is re-scored
    /// to check it. The scores themselves are trusted: an edited score is not detected.
    #[arg(long = "scores", num_args = 1..)]
    pub scores: Vec<PathBuf>,
    /// Score up to N architectures at once, each on one libtorch thread (ignores
    /// --threads, as `score --jobs`): random search's draws, evolution's initial
    /// population and REINFORCE's warm-up; the other steps are scored one at a time, on one
    /// thread. The result and the history are the same whatever N (N = 1: with --threads
    /// 1). Memory: N networks at a time.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = super::super::setup::count)]
    pub jobs: usize,
    /// Stream every evaluation to this JSON-lines file and resume from it.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Plot best-so-far accuracy and fitness vs evaluations to FILE.png and FILE.svg.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Output format: table or json (one object per run).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// mbv2: FLOPs limit (multiply-accumulates of one image at its resolution), e.g. 600e6.
    #[arg(long, allow_hyphen_values = true, value_parser = super::super::setup::positive)]
    pub flops_limit: Option<f64>,
    /// Strategy settings.
    #[command(flatten)]
    pub strategy_args: StrategyArgs,
    /// Data, batch size, augmentation, head, device of the scoring.
    #[command(flatten)]
    pub setup: SetupArgs,
}
