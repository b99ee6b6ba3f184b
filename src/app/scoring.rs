//! The scoring loop shared by `zsnas score` and `zsnas correlate` (scoring on the fly):
//! build each architecture's network, compute the proxies, write one [`ScoreLine`] per
//! architecture (appended and flushed to the output file, which is resumed).

use super::setup::SetupArgs;
use crate::io::jsonl::{done_set, key_string, JsonlLog};
use crate::io::record::ScoreLine;
use crate::io::shard::Shard;
use crate::net::build::{arch_seed, build_model};
use crate::proxy::{compute, Proxy, ProxyOptions, Scores};
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
    let (mut log, done, old) = match &job.output {
        Some(p) => {
            let (log, recs) = JsonlLog::open(p)?;
            (Some(log), done_set(&recs, "arch"), recs)
        }
        None => (None, Default::default(), Vec::new()),
    };
    let selected: Vec<&AnyArch> = job.shard.select(job.archs.iter()).map(|(_, x)| x).collect();
    let todo: Vec<&AnyArch> = selected.iter().copied().filter(|x| !done.contains(&x.text())).collect();
    let mut out: Vec<ScoreLine> = Vec::new();
    if !old.is_empty() {
        let wanted: HashSet<String> = selected.iter().map(|x| x.text()).collect();
        let mut kept: HashSet<String> = HashSet::new();
        for r in old {
            if let Some(k) = key_string(&r, "arch") {
                if wanted.contains(&k) && kept.insert(k) {
                    out.push(serde_json::from_value(r)?);
                }
            }
        }
    }
    if !done.is_empty() {
        eprintln!("resuming: {} architectures already in the output, {} to score", done.len(), todo.len());
    }
    let progress = Progress::new(todo.len() as u64, "score");
    let opts = ProxyOptions::default();
    // Canonical class → (scores, seconds) of this run: each class is scored once.
    let mut classes: HashMap<String, Scores> = HashMap::new();
    for arch in todo {
        let text = arch.text();
        let scored = if job.canonical { arch.canonical() } else { arch.clone() };
        let key = scored.text();
        let s = match classes.get(&key) {
            Some(s) => s.clone(),
            None => {
                let m = build_model(&scored, num_classes, device, arch_seed(job.seed, &key), job.weights.as_deref())?;
                let s = compute(&m, &batch, &job.proxies, &opts)?;
                if job.canonical {
                    classes.insert(key.clone(), s.clone());
                }
                s
            }
        };
        let line = ScoreLine {
            canonical: (key != text).then_some(key),
            arch: text,
            data: if job.setup.random_data(space) {
                Some("random".to_string())
            } else {
                job.setup.data.as_ref().map(|p| p.display().to_string())
            },
            dataset: job.setup.dataset.map(|d| d.name().to_string()),
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
            scores: s.values,
            seconds: s.seconds,
            space: Some(space.name().to_string()),
        };
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
