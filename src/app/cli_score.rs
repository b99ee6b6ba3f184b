//! `zsnas score`: scores a list, a seeded sample or all architectures, streaming one JSON
//! line per architecture (flushed) to `--output`, resuming from what the file holds.

use super::arch::AnyArch;
use super::record::to_json;
use super::score::{arch_seed, build_model, SetupArgs, SpaceKind};
use crate::proxy::vote::Vote;
use crate::proxy::{compute, Proxy, ProxyOptions};
use crate::report::jsonl::{done_set, key_string, JsonlLog};
use crate::report::progress::Progress;
use crate::report::shard::Shard;
use crate::space::nb201_table::Nb201Table;
use anyhow::{bail, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

/// Flags of `zsnas score`.
#[derive(clap::Args, Clone, Debug)]
pub struct ScoreArgs {
    /// Search space: nb201, nb101, mbv2.
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// An architecture (repeatable).
    #[arg(long)]
    pub arch: Vec<String>,
    /// A file of architectures, one per line.
    #[arg(long)]
    pub archs_file: Option<PathBuf>,
    /// A seeded uniform sample of K distinct architectures (seed: --seed).
    #[arg(long)]
    pub sample: Option<usize>,
    /// Every architecture of the space (NAS-Bench-201: all 15,625 in index order).
    #[arg(long)]
    pub all: bool,
    /// Comma-separated proxies and votes (`zsnas proxies` lists them).
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
    #[arg(long)]
    pub shard_count: Option<usize>,
    /// mbv2: input resolution, overriding the architecture string's own.
    #[arg(long)]
    pub resolution: Option<usize>,
    /// mbv2: reject architectures above this many FLOPs (multiply-accumulates at their
    /// resolution, 1,000 classes), e.g. 600e6.
    #[arg(long)]
    pub flops_limit: Option<f64>,
}

/// Proxies computed from the architecture alone, outside [`Proxy`]: `flops_reference`
/// (mbv2: the reference FLOPs counter with its stride quirk).
pub const SPACE_PROXIES: [&str; 1] = ["flops_reference"];

/// Splits a `--proxies` list into the proxies to compute (vote members included).
pub fn expand_proxies(s: &str) -> Result<(Vec<Proxy>, Vec<Vote>)> {
    let mut proxies: Vec<Proxy> = Vec::new();
    let mut votes = Vec::new();
    // Split on commas, but keep `vote:a,b,c` together until the next vote/known token.
    let items: Vec<&str> = s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    let mut i = 0;
    while i < items.len() {
        let it = items[i];
        if let Some(rest) = it.strip_prefix("vote:") {
            let mut members = vec![rest.to_string()];
            while i + 1 < items.len()
                && !items[i + 1].starts_with("vote:")
                && items[i + 1] != "sjw"
                && items[i + 1] != "spw"
            {
                i += 1;
                members.push(items[i].to_string());
            }
            let v = Vote::parse(&format!("vote:{}", members.join(",")))?.unwrap();
            votes.push(v);
        } else if let Some(v) = Vote::parse(it)? {
            votes.push(v);
        } else if SPACE_PROXIES.contains(&it) {
            // handled by the caller
        } else {
            proxies.push(Proxy::from_name(it)?);
        }
        i += 1;
    }
    if s.trim() == "vote:" {
        bail!("vote 'vote:' has no proxies");
    }
    for v in &votes {
        for (p, _) in &v.members {
            if !proxies.contains(p) {
                proxies.push(*p);
            }
        }
    }
    if proxies.is_empty() && !items.iter().any(|x| SPACE_PROXIES.contains(x)) {
        bail!("--proxies names no proxy");
    }
    Ok((proxies, votes))
}

/// Runs `zsnas score`: with `--output` the lines go to that file (resuming), otherwise
/// each line is printed to stdout as soon as it is scored.
pub fn run(a: ScoreArgs) -> Result<()> {
    let to_stdout = a.output.is_none();
    let stdout = std::io::stdout();
    score_records(&a, |line| {
        if to_stdout {
            let mut o = stdout.lock();
            writeln!(o, "{line}")?;
            o.flush()?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Scores the architectures selected by `a` (the work of `zsnas score`) and returns the
/// records of this run's selection (after `--shard`), one JSON line each, in list order
/// of first appearance: with `--output`, the records the file already holds for the
/// selection (resumed, not recomputed) followed by the newly scored ones, which are
/// appended to the file as they are produced. Every newly scored record is also passed
/// to `on_new` right after it is written.
pub fn score_records(a: &ScoreArgs, mut on_new: impl FnMut(&Value) -> Result<()>) -> Result<Vec<Value>> {
    let space = SpaceKind::parse(&a.space)?;
    let (proxies, _votes) = expand_proxies(&a.proxies)?;
    let want_flops_ref = a.proxies.split(',').any(|x| x.trim() == "flops_reference");
    if want_flops_ref && space != SpaceKind::Mbv2 {
        bail!("proxy 'flops_reference' is only defined for --space mbv2");
    }
    let num_classes = a.setup.num_classes(space);
    let table = Nb201Table::embedded()?;
    let mut archs: Vec<AnyArch> = Vec::new();
    for s in &a.arch {
        let mut x = AnyArch::parse(space, s)?;
        if let (AnyArch::Mbv2(m), Some(r)) = (&mut x, a.resolution) {
            m.resolution = r;
            m.validate()?;
        }
        if let (AnyArch::Mbv2(m), Some(l)) = (&x, a.flops_limit) {
            m.check_flops(l as u64)?;
        }
        archs.push(x);
    }
    if let Some(f) = &a.archs_file {
        archs.extend(AnyArch::read_file(space, f)?);
    }
    if let Some(k) = a.sample {
        archs.extend(AnyArch::sample(space, k, a.seed)?);
    }
    if a.all {
        archs.extend(AnyArch::all(space, &table)?);
    }
    if archs.is_empty() {
        bail!("no architecture given (use --arch, --archs-file, --sample K or --all)");
    }
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_env(a.shard_count)?.unwrap_or(Shard::ALL),
    };
    let (device, batch) = a.setup.batch(space, a.seed)?;
    let (mut log, done, old) = match &a.output {
        Some(p) => {
            let (log, recs) = JsonlLog::open(p)?;
            (Some(log), done_set(&recs, "arch"), recs)
        }
        None => (None, Default::default(), Vec::new()),
    };
    let selected: Vec<&AnyArch> = shard.select(archs.iter()).map(|(_, x)| x).collect();
    let todo: Vec<&AnyArch> = selected.iter().copied().filter(|x| !done.contains(&x.text())).collect();
    let mut out: Vec<Value> = Vec::new();
    if !old.is_empty() {
        let wanted: HashSet<String> = selected.iter().map(|x| x.text()).collect();
        let mut kept: HashSet<String> = HashSet::new();
        for r in old {
            if let Some(k) = key_string(&r, "arch") {
                if wanted.contains(&k) && kept.insert(k) {
                    out.push(r);
                }
            }
        }
    }
    if !done.is_empty() {
        eprintln!("resuming: {} architectures already in the output, {} to score", done.len(), todo.len());
    }
    let progress = Progress::new(todo.len() as u64, "score");
    let opts = ProxyOptions::default();
    for arch in todo {
        let text = arch.text();
        let m = build_model(arch.builder(num_classes), device, arch_seed(a.seed, &text), a.weights.as_deref())?;
        let mut s = if proxies.is_empty() { Default::default() } else { compute(&m, &batch, &proxies, &opts)? };
        if let (true, AnyArch::Mbv2(x)) = (want_flops_ref, arch) {
            s.values.insert("flops_reference".into(), x.flops_reference(num_classes as usize));
            s.seconds.insert("flops_reference".into(), 0.0);
        }
        let mut extra = arch.extra();
        if a.setup.random_data(space) {
            extra.push(("data", serde_json::json!("random")));
        }
        let line = to_json(space.name(), &text, arch.index(Some(&table)), &extra, &s.values, &s.seconds);
        if let Some(l) = log.as_mut() {
            l.append(&line)?;
        }
        on_new(&line)?;
        out.push(line);
        progress.inc(1);
    }
    progress.finish();
    Ok(out)
}
