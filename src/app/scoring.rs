//! The scoring loop shared by `zsnas score` and `zsnas correlate` (scoring on the fly):
//! build each architecture's network, compute the proxies, write one [`ScoreLine`] per
//! architecture (appended and flushed to the output file, which is resumed).

use super::setup::{cut, SetupArgs};
use crate::data::batch::Batch;
use crate::io::provenance::VERSION;
use crate::io::record::ScoreLine;
use crate::io::resume::ScoreFile;
use crate::io::shard::Shard;
use crate::net::build::{arch_seed, build_model};
use crate::proxy::{check_batch_size, compute, Proxy, ProxyOptions, Scores};
use crate::report::progress::Progress;
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{bail, Result};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// What to score and how.
#[derive(Clone, Debug)]
pub struct ScoreJob {
    /// The space of every architecture.
    pub space: SpaceKind,
    /// The architectures, in order.
    pub archs: Vec<AnyArch>,
    /// The proxies to compute (vote members included).
    pub proxies: Vec<Proxy>,
    /// Run seed: batch choice and per-architecture initialisation ([`arch_seed`]).
    pub seed: u64,
    /// A PyTorch state dict (safetensors) loaded instead of a fresh initialisation.
    pub weights: Option<PathBuf>,
    /// Data, batch, head, device.
    pub setup: SetupArgs,
    /// JSON-lines output, resumed: architectures already there are not scored again.
    pub output: Option<PathBuf>,
    /// The slice of `archs` this process scores.
    pub shard: Shard,
    /// Score each architecture's canonical form ([`AnyArch::canonical`]), once per
    /// canonical class; `false` scores the raw architectures.
    pub canonical: bool,
    /// Resolution of a `--photos` batch (mbv2: the `--resolution` flag; 224 when `None`).
    pub photo_resolution: Option<usize>,
}

/// Scores the job's architectures (after `shard`) and returns their lines in list order
/// of first appearance: with an output file, the lines it already holds for the selection
/// (resumed, not recomputed) followed by the newly scored ones, each appended to the file
/// as it is produced and passed to `on_new` right after.
///
/// Errors: no proxy, `flops_reference` outside mbv2, an unreadable batch or output file,
/// a network that fails to build or score.
pub fn score_all(job: &ScoreJob, mut on_new: impl FnMut(&ScoreLine) -> Result<()>) -> Result<Vec<ScoreLine>> {
    let space = job.space;
    if job.proxies.is_empty() {
        bail!("--proxies names no proxy");
    }
    if job.proxies.contains(&Proxy::FlopsReference) && space != SpaceKind::Mbv2 {
        bail!("proxy 'flops_reference' is only defined for --space mbv2");
    }
    let num_classes = job.setup.num_classes(space);
    let table = Nb201Table::embedded()?;
    let (device, batch, drawn) = job.setup.batch_with_files(space, job.seed, job.photo_resolution)?;
    check_batch_size(&job.proxies, batch.len())?;
    let setup = job.setup.scoring_setup(space, job.seed, &batch, job.weights.as_deref());
    let mut file = match &job.output {
        Some(p) => Some(ScoreFile::open(p, space, &setup, job.canonical)?),
        None => None,
    };
    // The selection, once per architecture, and what each still needs: every proxy (not
    // in the file), the proxies its line lacks (completed), or nothing (reused).
    let mut seen: HashSet<String> = HashSet::new();
    let selected: Vec<&AnyArch> =
        job.shard.select(job.archs.iter()).map(|(_, x)| x).filter(|x| seen.insert(x.text())).collect();
    let mut plan: Vec<(&AnyArch, Vec<Proxy>)> = Vec::new();
    let (mut reused, mut completing) = (0, 0);
    for &x in &selected {
        match file.as_ref().and_then(|f| f.get(&x.text())) {
            None => plan.push((x, job.proxies.clone())),
            Some(l) => {
                let missing: Vec<Proxy> =
                    job.proxies.iter().copied().filter(|p| !l.scores.contains_key(p.name())).collect();
                if missing.is_empty() {
                    reused += 1;
                } else {
                    completing += 1;
                    plan.push((x, missing));
                }
            }
        }
    }
    if let Some(f) = file.as_ref().filter(|f| !f.is_empty()) {
        eprintln!(
            "resuming: {} architectures in the output ({} of this selection complete), {completing} to complete, {} to score",
            f.len(),
            reused,
            plan.len() - completing
        );
    }
    let progress = Progress::new(plan.len() as u64, "score");
    let opts = ProxyOptions::default();
    // Canonical class → scores of this run: each class is scored once per proxy.
    let mut classes: HashMap<String, Scores> = HashMap::new();
    let mut fresh: HashMap<String, ScoreLine> = HashMap::new();
    for (arch, which) in plan {
        let text = arch.text();
        let scored = if job.canonical { arch.canonical() } else { arch.clone() };
        let key = scored.text();
        let s = match classes.get(&key).filter(|s| which.iter().all(|p| s.values.contains_key(p.name()))) {
            Some(s) => s.clone(),
            None => {
                let s = guarded(&scored, &batch, || {
                    let m =
                        build_model(&scored, num_classes, device, arch_seed(job.seed, &key), job.weights.as_deref())?;
                    compute(&m, &batch, &which, &opts)
                })?;
                if job.canonical {
                    classes.insert(key.clone(), s.clone());
                }
                s
            }
        };
        let values = s.values.into_iter().filter(|(k, _)| which.iter().any(|p| p.name() == k));
        let seconds = s.seconds.into_iter().filter(|(k, _)| which.iter().any(|p| p.name() == k));
        let line = match file.as_ref().and_then(|f| f.get(&text)) {
            Some(old) => {
                let mut l = old.clone();
                l.scores.extend(values);
                l.seconds.extend(seconds);
                l.version = Some(VERSION.to_string());
                l
            }
            None => ScoreLine {
                canonical: (key != text).then_some(key),
                arch: text.clone(),
                drawn: drawn.clone(),
                hash: match arch {
                    AnyArch::Nb101(s) => Some(s.hash()),
                    _ => None,
                },
                index: arch.index(Some(&table)).map(|i| i as u64),
                resolution: match arch {
                    AnyArch::Mbv2(a) => Some(a.resolution as u64),
                    _ => None,
                },
                scores: values.collect(),
                seconds: seconds.collect(),
                setup: Some(setup.clone()),
                space: Some(space.name().to_string()),
                version: Some(VERSION.to_string()),
            },
        };
        if let Some(f) = file.as_mut() {
            f.append(&line)?;
        }
        on_new(&line)?;
        fresh.insert(text, line);
        progress.inc(1);
    }
    let out: Vec<ScoreLine> = selected
        .iter()
        .filter_map(|x| fresh.get(&x.text()).or_else(|| file.as_ref().and_then(|f| f.get(&x.text()))).cloned())
        .collect();
    if let Some(f) = file {
        f.finish()?;
    }
    progress.finish();
    Ok(out)
}

/// Runs `f`, which builds and scores the network of `arch` on `batch`, turning a libtorch
/// failure into an error. tch reports libtorch's C++ exceptions by panicking; the panic is
/// caught (its default report silenced) and becomes "out of memory scoring ARCH at batch
/// N, resolution R: try a smaller --batch-size" for an allocation failure, else "libtorch
/// failed scoring ARCH: MESSAGE" (first line). Long architecture strings are cut.
pub fn guarded<T>(arch: &AnyArch, batch: &Batch, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let payload = match r {
        Ok(r) => return r,
        Err(p) => p,
    };
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let first = msg.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown error");
    let low = first.to_lowercase();
    let r = match arch {
        AnyArch::Mbv2(m) => m.resolution as i64,
        _ => batch.images.size().last().copied().unwrap_or(0),
    };
    let arch = cut(&arch.text(), 120);
    if ["not enough memory", "out of memory", "can't allocate", "failed to allocate", "bad_alloc"]
        .iter()
        .any(|k| low.contains(k))
    {
        bail!("out of memory scoring {arch} at batch {}, resolution {r}: try a smaller --batch-size", batch.len());
    }
    bail!("libtorch failed scoring {arch}: {}", cut(first, 300))
}
