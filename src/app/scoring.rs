//! The scoring loop shared by `zsnas score` and `zsnas correlate` (scoring on the fly):
//! build each architecture's network, compute the proxies, write one [`ScoreLine`] per
//! architecture (appended and flushed to the output file, which is resumed).

use super::setup::{cut, SetupArgs};
use crate::data::batch::Batch;
use crate::io::provenance::VERSION;
use crate::io::record::ScoreLine;
use crate::io::resume::ScoreFile;
use crate::io::shard::Shard;
use crate::net::build::build_seeded;
use crate::proxy::{check_batch_size, compute, Proxy, ProxyOptions, Scores};
use crate::report::progress::Progress;
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{bail, Result};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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
    /// Architectures scored at once (`--jobs`), each on one libtorch thread; 1 scores one
    /// at a time with `--threads` threads. The lines (and the file) are the same whatever
    /// the number above 1, and the same as with `--threads 1` ([`score_all`]); with
    /// `--threads` above 1 a few proxies move within [`Proxy::thread_rtol`].
    pub jobs: usize,
}

/// Held while a network is built (its seeded initialisation) and while a proxy that draws
/// randomness runs ([`Proxy::draws_randomness`]): libtorch has one global generator.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How the networks of one scoring are built: the head's class count, the run seed their
/// initialisation is drawn from ([`arch_seed`] of the seed and the architecture), and an
/// optional state dict loaded instead.
#[derive(Clone, Copy, Debug)]
pub struct Builds<'a> {
    /// Classes of the head.
    pub num_classes: i64,
    /// Run seed ([`arch_seed`]).
    pub seed: u64,
    /// A PyTorch state dict (safetensors) loaded instead of a fresh initialisation.
    pub weights: Option<&'a Path>,
}

/// Builds the network of `scored` ([`build_seeded`]) and computes `which` on `batch`.
/// With a proxy that draws randomness, the whole computation holds [`RNG`]; otherwise
/// only the build does.
fn score_one(builds: &Builds, scored: &AnyArch, which: &[Proxy], batch: &Batch, device: tch::Device) -> Result<Scores> {
    let opts = ProxyOptions::default();
    let exclusive = which.iter().any(|p| p.draws_randomness(&opts));
    let lock = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let m = build_seeded(scored, builds.num_classes, device, builds.seed, builds.weights)?;
    if !exclusive {
        drop(lock);
        return compute(&m, batch, which, &opts);
    }
    let r = compute(&m, batch, which, &opts);
    drop(lock);
    r
}

/// Scores the job's architectures (after `shard`) and returns their lines in list order
/// of first appearance: with an output file, the lines it already holds for the selection
/// (resumed, not recomputed) followed by the newly scored ones, each appended to the file
/// as it is produced and passed to `on_new` right after.
///
/// Errors: no proxy, a proxy not defined on the space ([`Proxy::check_space`]), `weights` with more than one
/// architecture, an unreadable batch, weights or output file, a network that fails to
/// build or score.
pub fn score_all(job: &ScoreJob, mut on_new: impl FnMut(&ScoreLine) -> Result<()>) -> Result<Vec<ScoreLine>> {
    let space = job.space;
    if job.proxies.is_empty() {
        bail!("--proxies names no proxy");
    }
    for p in &job.proxies {
        p.check_space(space)?;
    }
    if let Some(w) = &job.weights {
        let distinct: HashSet<String> = job.archs.iter().map(|x| x.text()).collect();
        if distinct.len() > 1 {
            bail!(
                "--weights {}: a weights file holds the weights of one architecture, but {} architectures are selected; score it with one --arch",
                w.display(),
                distinct.len()
            );
        }
    }
    let table = Nb201Table::embedded()?;
    let (device, batch, drawn) = job.setup.batch_with_files(space, job.seed, job.photo_resolution)?;
    check_batch_size(&job.proxies, batch.len())?;
    let setup = job.setup.scoring_setup(space, job.seed, &batch, job.weights.as_deref())?;
    let mut file = match &job.output {
        Some(p) => Some(ScoreFile::open(p, space, &setup, job.canonical)?),
        None => None,
    };
    // The selection, once per architecture, and what each still needs: every proxy (not
    // in the file), the proxies its line lacks (completed), or nothing (reused).
    let mut seen: HashSet<String> = HashSet::new();
    let mut repeated: Vec<String> = Vec::new();
    let selected: Vec<&AnyArch> = job
        .shard
        .select(job.archs.iter())
        .map(|(_, x)| x)
        .filter(|x| {
            let text = x.text();
            let first = seen.insert(text.clone());
            if !first {
                repeated.push(text);
            }
            first
        })
        .collect();
    if let Some(first) = repeated.first() {
        crate::note!(
            "note: {} architecture(s) selected more than once are scored once (first: {first})",
            repeated.len()
        );
    }
    // NAS-Bench-101 specs written differently can be one network (one module hash); each
    // is built and seeded as written, so their scores differ and `correlate` refuses them.
    if space == SpaceKind::Nb101 {
        let mut by_hash: std::collections::HashMap<String, &AnyArch> = std::collections::HashMap::new();
        let twins: Vec<(String, String)> = selected
            .iter()
            .filter_map(|x| match by_hash.entry(x.key()) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    Some((cut(&e.get().text(), 100), cut(&x.text(), 100)))
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(x);
                    None
                }
            })
            .collect();
        if let Some((a, b)) = twins.first() {
            crate::note!(
                "note: {} NAS-Bench-101 spec(s) are another spelling of a network already selected (same hash; first: {a} and {b}): each is scored as written, so their scores differ, and correlate refuses a file holding both",
                twins.len()
            );
        }
    }
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
        crate::note!(
            "resuming: {} architectures in the output ({} of this selection complete), {completing} to complete, {} to score",
            f.len(),
            reused,
            plan.len() - completing
        );
    }
    let progress = Progress::new(plan.len() as u64, "score");
    // The distinct computations (canonical class, proxies), in plan order, and which one
    // each plan item takes its scores from: each class is scored once per proxy set.
    let mut work: Vec<(AnyArch, String, Vec<Proxy>)> = Vec::new();
    let mut work_of: Vec<usize> = Vec::with_capacity(plan.len());
    {
        let mut index: HashMap<(String, Vec<&'static str>), usize> = HashMap::new();
        for (arch, which) in &plan {
            let scored = if job.canonical { arch.canonical() } else { (*arch).clone() };
            let key = scored.text();
            let id = (key.clone(), which.iter().map(|p| p.name()).collect::<Vec<_>>());
            let w = if let (true, Some(&w)) = (job.canonical, index.get(&id)) {
                w
            } else {
                work.push((scored, key, which.clone()));
                index.insert(id, work.len() - 1);
                work.len() - 1
            };
            work_of.push(w);
        }
    }
    let builds = Builds { num_classes: job.setup.num_classes(space), seed: job.seed, weights: job.weights.as_deref() };
    let mut fresh: HashMap<String, ScoreLine> = HashMap::new();
    // Turns the scores of plan item `i` into its line, appends it and reports it.
    let mut emit = |i: usize, s: &Scores, file: &mut Option<ScoreFile>| -> Result<()> {
        let (arch, which) = &plan[i];
        let text = arch.text();
        let key = &work[work_of[i]].1;
        let values =
            s.values.iter().filter(|(k, _)| which.iter().any(|p| p.name() == *k)).map(|(k, v)| (k.clone(), *v));
        let seconds =
            s.seconds.iter().filter(|(k, _)| which.iter().any(|p| p.name() == *k)).map(|(k, v)| (k.clone(), *v));
        let line = match file.as_ref().and_then(|f| f.get(&text)) {
            Some(old) => {
                let mut l = old.clone();
                l.scores.extend(values);
                l.seconds.extend(seconds);
                l.version = Some(VERSION.to_string());
                l
            }
            None => ScoreLine {
                canonical: (*key != text).then(|| key.clone()),
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
        Ok(())
    };
    if job.jobs > 1 {
        // One libtorch thread per scoring even when one architecture is left (a resumed
        // run): `--jobs N` gives the lines of `--threads 1` whatever is left to score.
        tch::set_num_threads(1);
    }
    if job.jobs <= 1 || work.len() <= 1 {
        let mut done: HashMap<usize, Scores> = HashMap::new();
        for (i, &w) in work_of.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(e) = done.entry(w) {
                let (scored, _, which) = &work[w];
                e.insert(guarded(scored, &batch, || score_one(&builds, scored, which, &batch, device))?);
            }
            emit(i, &done[&w], &mut file)?;
        }
    } else {
        score_parallel(job.jobs, &builds, &work, &work_of, &batch, device, |i, s| emit(i, s, &mut file))?;
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

/// `--jobs N`: computes the `work` items on `jobs` threads, each with one libtorch
/// intra-op thread (set for the whole process: it stays 1 afterwards) and its own network
/// (memory: N networks at a time), and hands plan item `i`'s scores to `emit` in plan order
/// as soon as they and all before them are done, so the output is the same as one at a
/// time on one thread. The first error (in plan order) stops the workers after their
/// current network and is returned.
fn score_parallel(
    jobs: usize,
    builds: &Builds,
    work: &[(AnyArch, String, Vec<Proxy>)],
    work_of: &[usize],
    batch: &Batch,
    device: tch::Device,
    mut emit: impl FnMut(usize, &Scores) -> Result<()>,
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    tch::set_num_threads(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Scores>)>();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::thread::scope(|sc| -> Result<()> {
        for _ in 0..jobs.min(work.len()) {
            let tx = tx.clone();
            let b = Batch { images: batch.images.shallow_clone(), labels: batch.labels.shallow_clone() };
            let (next, stop) = (&next, &stop);
            sc.spawn(move || loop {
                let w = next.fetch_add(1, Ordering::Relaxed);
                if w >= work.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let (scored, _, which) = &work[w];
                let r = unwind_to_error(scored, &b, || score_one(builds, scored, which, &b, device));
                if tx.send((w, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut done: HashMap<usize, Result<Scores>> = HashMap::new();
        let result = (|| {
            for (i, &w) in work_of.iter().enumerate() {
                while !done.contains_key(&w) {
                    match rx.recv() {
                        Ok((k, r)) => {
                            done.insert(k, r);
                        }
                        Err(_) => bail!("a scoring thread ended without a result"),
                    }
                }
                match &done[&w] {
                    Ok(s) => emit(i, s)?,
                    Err(e) => bail!("{e:#}"),
                }
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        drop(rx);
        result
    });
    std::panic::set_hook(hook);
    r
}

/// Scores `items` (each: the architecture whose network is built, seeded from its text,
/// and the proxies to compute) on up to `jobs` threads (the parallel scorer of `score
/// --jobs`), each on one libtorch intra-op thread, which stays the process's setting
/// afterwards, and hands item `i`'s scores to `emit(i, scores)` in item order as soon as
/// it and every item before it are done. Errors at the first failure in item order (a
/// libtorch failure as [`guarded`] words it) or `emit` error; the items after it are not
/// emitted.
pub fn score_batch(
    builds: &Builds,
    jobs: usize,
    items: &[(AnyArch, Vec<Proxy>)],
    batch: &Batch,
    device: tch::Device,
    mut emit: impl FnMut(usize, &Scores) -> Result<()>,
) -> Result<()> {
    let work: Vec<(AnyArch, String, Vec<Proxy>)> =
        items.iter().map(|(a, which)| (a.clone(), a.text(), which.clone())).collect();
    if work.is_empty() {
        return Ok(());
    }
    let work_of: Vec<usize> = (0..work.len()).collect();
    score_parallel(jobs.max(1), builds, &work, &work_of, batch, device, |i, s| emit(i, s))
}

/// Runs `f`, which builds and scores the network of `arch` on `batch`, turning a libtorch
/// failure into an error. tch reports libtorch's C++ exceptions by panicking; the panic is
/// caught (its default report silenced) and becomes "out of memory scoring ARCH at batch
/// N, resolution R: try a smaller --batch-size" for an allocation failure, else "libtorch
/// failed scoring ARCH: MESSAGE" (libtorch's message without tch's wrapper and the C++
/// stack). Long architecture strings are cut.
pub fn guarded<T>(arch: &AnyArch, batch: &Batch, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = unwind_to_error(arch, batch, f);
    std::panic::set_hook(hook);
    r
}

/// [`guarded`] without touching the panic hook (the caller silences it).
fn unwind_to_error<T>(arch: &AnyArch, batch: &Batch, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let (oom, message) = match catch_libtorch(f) {
        Ok(r) => return r,
        Err(e) => e,
    };
    let r = match arch {
        AnyArch::Mbv2(m) => m.resolution as i64,
        _ => batch.images.size().last().copied().unwrap_or(0),
    };
    let arch = cut(&arch.text(), 120);
    if oom {
        bail!("out of memory scoring {arch} at batch {}, resolution {r}: try a smaller --batch-size", batch.len());
    }
    bail!("libtorch failed scoring {arch}: {message}")
}

/// Runs `f`, catching a panic (tch's report of a libtorch C++ exception) without touching
/// the panic hook: `Err((out_of_memory, message))` with whether it was an allocation
/// failure and libtorch's message ([`libtorch_message`] of the first line, cut to 300
/// characters).
fn catch_libtorch<T>(f: impl FnOnce() -> Result<T>) -> std::result::Result<Result<T>, (bool, String)> {
    let payload = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => return Ok(r),
        Err(p) => p,
    };
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let first = msg.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown error");
    let low = first.to_lowercase();
    let oom = ["not enough memory", "out of memory", "can't allocate", "failed to allocate", "bad_alloc"]
        .iter()
        .any(|k| low.contains(k));
    Err((oom, cut(libtorch_message(first), 300)))
}

/// Runs `f`, work other than scoring (training, exporting), turning a libtorch failure
/// into an error as [`guarded`] does: "out of memory DOING: HINT" for an allocation
/// failure (just "out of memory DOING" when `hint` is empty), else "libtorch failed DOING:
/// MESSAGE". `doing` names the work, e.g. "training ARCH at batch 32".
pub fn guarded_work<T>(doing: &str, hint: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_libtorch(f);
    std::panic::set_hook(hook);
    match r {
        Ok(r) => r,
        Err((true, _)) if hint.is_empty() => bail!("out of memory {doing}"),
        Err((true, _)) => bail!("out of memory {doing}: {hint}"),
        Err((false, message)) => bail!("libtorch failed {doing}: {message}"),
    }
}

/// The message of a libtorch error as tch's `unwrap` panics with it (`called
/// Result::unwrap() on an Err value: Torch("<message>\nException raised from ...")`):
/// `<message>` alone, without the wrapper, the C++ source location and the stack frames.
/// Other text is returned as it is.
fn libtorch_message(first_line: &str) -> &str {
    let Some(start) = first_line.find("Torch(\"") else { return first_line };
    let m = &first_line[start + "Torch(\"".len()..];
    let end = [m.find("\\n"), m.find("Exception raised from"), m.rfind("\")")].into_iter().flatten().min();
    let message = end.map_or(m, |e| &m[..e]).trim();
    if message.is_empty() {
        first_line
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::libtorch_message;

    #[test]
    fn libtorch_messages_lose_their_wrapper_and_stack() {
        let raw = r#"called `Result::unwrap()` on an `Err` value: Torch("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 3\nException raised from infer_size_impl at /x/ExpandUtils.cpp:35 (most recent call first):\nframe #0: c10::Error::Error() + 0x9d")"#;
        assert_eq!(
            libtorch_message(raw),
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 3"
        );
        assert_eq!(libtorch_message(r#"x: Torch("short")"#), "short");
        assert_eq!(libtorch_message("a plain panic"), "a plain panic");
        // Nothing inside the wrapper: the line as it is.
        assert_eq!(libtorch_message(r#"x: Torch("")"#), r#"x: Torch("")"#);
    }
}
