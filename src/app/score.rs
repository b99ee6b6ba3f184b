//! `zsnas score`: scores a list, a seeded sample or all architectures, streaming one JSON
//! line per architecture ([`crate::io::record::ScoreLine`], flushed) to `--output` or
//! stdout, resuming from what the output file holds.

use super::scoring::{score_all, ScoreJob};
use super::setup::{ArchArgs, SetupArgs};
use crate::io::record::to_line;
use crate::io::shard::Shard;
use crate::proxy::spec::{parse_list, proxies_needed};
use crate::space::{AnyArch, SpaceKind};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

/// Flags of `zsnas score`.
#[derive(clap::Args, Clone, Debug)]
pub struct ScoreArgs {
    /// Search space: nb201, nb101, mbv2.
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// Which architectures.
    #[command(flatten)]
    pub archs: ArchArgs,
    /// Comma-separated proxies and votes (`zsnas proxies` lists them); a vote's members
    /// are computed.
    #[arg(long, default_value = "wrcor")]
    pub proxies: String,
    /// Run seed (batch choice, per-architecture initialisation).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// PyTorch state dict (safetensors) to load instead of a fresh initialisation.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Data, batch size, augmentation, head, device.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Append JSON lines here (resumes: architectures already in the file are skipped).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Score only slice I of N (0-based), e.g. 3/8; default from SLURM_ARRAY_TASK_ID /
    /// JOB_COMPLETION_INDEX with --shard-count.
    #[arg(long)]
    pub shard: Option<String>,
    /// Number of shards when the index comes from the environment.
    #[arg(long, value_parser = super::setup::count)]
    pub shard_count: Option<usize>,
    /// Score the raw architecture strings: keep NAS-Bench-201's dead edges (default: score
    /// each cell's canonical form, every dead edge set to `none`, once per class, and
    /// write it as "canonical").
    #[arg(long)]
    pub raw: bool,
    /// mbv2: input resolution of the --arch architectures, overriding the string's own.
    #[arg(long, value_parser = super::setup::count)]
    pub resolution: Option<usize>,
    /// mbv2: reject --arch architectures above this many FLOPs (multiply-accumulates at
    /// their resolution, 1,000 classes), e.g. 600e6.
    #[arg(long, value_parser = super::setup::positive)]
    pub flops_limit: Option<f64>,
}

/// Runs `zsnas score`: with `--output` the lines go to that file (resuming), otherwise
/// each line is printed to stdout as soon as it is scored.
pub fn run(a: ScoreArgs) -> Result<()> {
    let space = SpaceKind::parse(&a.space)?;
    if space != SpaceKind::Mbv2 {
        for (flag, given) in [("--resolution", a.resolution.is_some()), ("--flops-limit", a.flops_limit.is_some())] {
            if given {
                anyhow::bail!("{flag} only applies to --space mbv2");
            }
        }
    }
    let proxies = proxies_needed(&parse_list(&a.proxies, "--proxies", space)?);
    let mut archs = a.archs.select(space, a.seed)?;
    for x in archs.iter_mut().take(a.archs.arch.len()) {
        if let (AnyArch::Mbv2(m), Some(r)) = (&mut *x, a.resolution) {
            m.resolution = r;
            m.validate()?;
        }
        if let (AnyArch::Mbv2(m), Some(l)) = (&*x, a.flops_limit) {
            m.check_flops(l as u64)?;
        }
    }
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_env(a.shard_count)?.unwrap_or(Shard::ALL),
    };
    let job = ScoreJob {
        space,
        archs,
        proxies,
        seed: a.seed,
        weights: a.weights,
        setup: a.setup,
        output: a.output.clone(),
        shard,
        canonical: !a.raw,
        photo_resolution: a.resolution,
    };
    let to_stdout = a.output.is_none();
    let stdout = std::io::stdout();
    score_all(&job, |line| {
        if to_stdout {
            let mut o = stdout.lock();
            writeln!(o, "{}", to_line(line))?;
            o.flush()?;
        }
        Ok(())
    })?;
    Ok(())
}
