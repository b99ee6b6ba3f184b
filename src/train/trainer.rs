//! The training loop: epochs of shuffled, augmented mini-batches with SGD, evaluation on
//! the test set after every epoch, a checkpoint and a log line per epoch, resumption,
//! learning-curve plots and the final exports.

use super::checkpoint::{self, CheckpointMeta, RngState, CHECKPOINT_VERSION};
use super::data::{batches_per_epoch, beta_symmetric, epoch_batches, make_batch};
use super::recipe::{Augment, Recipe};
use super::sgd::{Sgd, SgdConfig};
use crate::data::cifar10::RawImages;
use crate::io::jsonl::JsonlLog;
use crate::net::model::{Builder, Model};
use crate::net::recorder::{Mode, Recorder};
use crate::report::progress::{Progress, ProgressMode};
use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Reduction, Tensor};

/// File names inside the output folder.
pub mod files {
    /// The checkpoint (written after every epoch).
    pub const CHECKPOINT: &str = "checkpoint.safetensors";
    /// One JSON line per epoch.
    pub const LOG: &str = "log.jsonl";
    /// Folder of the weights with the best test accuracy (`weights.safetensors`, `model.pt`).
    pub const BEST: &str = "best";
    /// Folder of the final weights (`weights.safetensors`, `model.pt`).
    pub const LAST: &str = "last";
    /// Weights file name inside [`BEST`] and [`LAST`] (PyTorch state-dict names).
    pub const WEIGHTS: &str = "weights.safetensors";
    /// TorchScript file name inside [`BEST`] and [`LAST`].
    pub const TORCHSCRIPT: &str = "model.pt";
    /// Learning-curve plot stem (`curves.png`, `curves.svg`).
    pub const CURVES: &str = "curves";
}

/// What to train: the network and the data.
pub struct TrainSpec {
    /// Search space name (`nb201`, `nb101`, `mbv2`), recorded in the checkpoint.
    pub space: String,
    /// The architecture's canonical text, recorded in the checkpoint.
    pub arch: String,
    /// Builds the network.
    pub builder: Builder,
    /// Classifier outputs.
    pub num_classes: i64,
    /// Input size (height, width) of the exported TorchScript module: the training images'
    /// size (mbv2 networks resize it to their resolution, inside `model.pt` too).
    pub input_size: (i64, i64),
    /// Root class name of the TorchScript module (e.g. `Nb201Net`).
    pub class_name: String,
    /// Training images.
    pub train: RawImages,
    /// Test images (evaluated after every epoch), if any.
    pub test: Option<RawImages>,
}

/// How to run it.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Output folder (created): checkpoint, log, exports, plots.
    pub output: PathBuf,
    /// Where the network runs.
    pub device: Device,
    /// Draw learning curves (`curves.png`/`.svg`) after every epoch.
    pub plot: bool,
    /// Export `model.pt` (TorchScript) next to the final weights.
    pub torchscript: bool,
    /// Progress display on stderr.
    pub progress: ProgressMode,
    /// Stop after this many finished epochs (as a kill would, but cleanly): for tests and
    /// for splitting a run into sessions. The run resumes from the checkpoint.
    pub stop_after: Option<usize>,
}

/// One line of `log.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's images (the mixup loss when mixup is on).
    pub train_loss: f64,
    /// Training accuracy (%) of the augmented (and mixed) images against their own labels.
    pub train_acc: f64,
    /// Test accuracy (%) after the epoch (BatchNorm in evaluation mode), when there is a test set.
    pub test_acc: Option<f64>,
    /// Learning rate of the epoch's first iteration.
    pub lr: f64,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
}

/// The result of [`train`].
#[derive(Debug)]
pub struct TrainOutcome {
    /// Every epoch's log line so far (including those of earlier sessions).
    pub epochs: Vec<EpochLog>,
    /// Best test accuracy (%) and its epoch.
    pub best: Option<(f64, usize)>,
    /// Epochs that were already done when this session started (0: fresh start).
    pub resumed_from: usize,
    /// True when every epoch of the recipe is done (false after `stop_after`).
    pub finished: bool,
    /// Files written at the end (weights, TorchScript, plots).
    pub exported: Vec<PathBuf>,
}

/// The settings a resumed run must match: the recipe's fields plus `space`, `arch`,
/// `num_classes`, the number and size of the training and test images and an md5 of each
/// set's content ([`RawImages::md5`]), so that other images of the same count and size
/// are refused too.
pub fn settings(spec: &TrainSpec, recipe: &Recipe) -> BTreeMap<String, Value> {
    let mut s: BTreeMap<String, Value> = recipe.fields().into_iter().collect();
    s.insert("space".into(), json!(spec.space));
    s.insert("arch".into(), json!(spec.arch));
    s.insert("num_classes".into(), json!(spec.num_classes));
    s.insert("train_images".into(), json!(spec.train.n));
    s.insert("image_size".into(), json!(format!("{}x{}", spec.train.height, spec.train.width)));
    s.insert("test_images".into(), json!(spec.test.as_ref().map(|t| t.n)));
    s.insert("train_md5".into(), json!(spec.train.md5()));
    s.insert("test_md5".into(), json!(spec.test.as_ref().map(|t| t.md5())));
    s
}

/// The named trainable parameters of `m`, sorted by name.
fn named_params(m: &Model) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = m.vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Every variable (parameters and buffers) of `m`, sorted by name.
pub fn named_vars(m: &Model) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = m.vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Test accuracy (%) of `m` on `test`: BatchNorm in evaluation mode, batches of
/// `batch_size` in order, no augmentation, no gradients.
pub fn evaluate(m: &Model, test: &RawImages, batch_size: usize, device: Device) -> Result<f64> {
    let mut correct = 0i64;
    let mut rng = ChaCha8Rng::seed_from_u64(0); // unused by Augment::None
    let idx: Vec<usize> = (0..test.n).collect();
    for chunk in idx.chunks(batch_size.max(1)) {
        let b = make_batch(test, chunk, Augment::None, &mut rng, device)?;
        let logits = tch::no_grad(|| m.net.forward(&b.images, &mut Recorder::plain(Mode { bn: true, train: false })));
        correct += logits.argmax(1, false).eq_tensor(&b.labels).sum(Kind::Int64).int64_value(&[]);
    }
    Ok(100.0 * correct as f64 / test.n.max(1) as f64)
}

/// Trains `spec` with `recipe` (see [`crate::train`]). Resumes from `<output>/checkpoint.safetensors`
/// when it exists (after checking that the settings match, naming the first that does
/// not); otherwise starts afresh (removing a stale `log.jsonl`).
///
/// Errors: an invalid recipe, labels outside `0..num_classes`, test images of another size,
/// a checkpoint of other settings or of a different network, unwritable output, an epoch
/// whose train loss or weights are NaN or infinite (diverged: neither its log line nor its
/// checkpoint is written, so the folder resumes from the epoch before).
pub fn train(spec: &TrainSpec, recipe: &Recipe, opts: &TrainOptions) -> Result<TrainOutcome> {
    recipe.validate()?;
    if spec.train.n < 2 {
        bail!("training needs at least 2 images, the training set has {}", spec.train.n);
    }
    for (what, set) in [("training", Some(&spec.train)), ("test", spec.test.as_ref())] {
        let Some(set) = set else { continue };
        if let Some(&l) = set.labels.iter().find(|&&l| l as i64 >= spec.num_classes) {
            bail!("{what} set has label {l}, outside the network's {} classes", spec.num_classes);
        }
        if (set.height, set.width) != (spec.train.height, spec.train.width) {
            bail!(
                "{what} images are {}x{}, training images {}x{}: both sets must have one size",
                set.height,
                set.width,
                spec.train.height,
                spec.train.width
            );
        }
    }
    let out = &opts.output;
    // An export's folder (`zsnas export`: arch.json beside initial weights) is not a run.
    if out.join("arch.json").exists() && !out.join(files::CHECKPOINT).exists() && !out.join(files::LOG).exists() {
        bail!("--output {} holds an export (arch.json), not a train run: give another folder", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create output folder '{}'", out.display()))?;
    if opts.plot {
        crate::report::plot::check_writable(&out.join(files::CURVES))?;
    }
    let settings = settings(spec, recipe);

    let model = Model::new(spec.builder.clone(), opts.device, recipe.seed as i64);
    let cfg = SgdConfig { momentum: recipe.momentum, nesterov: recipe.nesterov, weight_decay: recipe.weight_decay };
    let mut sgd = Sgd::new(named_params(&model), cfg);
    let mut rng = ChaCha8Rng::seed_from_u64(recipe.seed ^ 0x7a73_6e61_7354_524e);
    let mut done = 0usize;
    let mut step = 0u64;
    let mut best: Option<(f64, usize)> = None;
    let mut history: Vec<EpochLog> = Vec::new();

    let ckpt_path = out.join(files::CHECKPOINT);
    let log_path = out.join(files::LOG);
    if ckpt_path.exists() {
        let c = checkpoint::load(&ckpt_path)?;
        c.meta.check_settings(&settings)?;
        restore(&model, &mut sgd, &c)?;
        rng = c.meta.rng.restore()?;
        done = c.meta.epoch;
        step = c.meta.step;
        best = c.meta.best;
        history = read_log(&log_path, done)?;
    } else if log_path.exists() {
        std::fs::remove_file(&log_path).with_context(|| format!("cannot remove stale '{}'", log_path.display()))?;
    }
    let (mut log, _) = JsonlLog::open(&log_path)?;
    log.set_sync(true);

    let n_batches = batches_per_epoch(spec.train.n, recipe.batch_size);
    let stop = opts.stop_after.unwrap_or(recipe.epochs).min(recipe.epochs);
    let total = (stop.saturating_sub(done) * n_batches) as u64;
    let progress = Progress::with_mode(total, "train", opts.progress).with_unit("batch");
    if done > 0 {
        progress.println(&format!("resuming after epoch {done} of {} from {}", recipe.epochs, ckpt_path.display()));
    }
    for epoch in done..stop {
        let t0 = Instant::now();
        let (loss, acc, lr0) = train_epoch(spec, recipe, &model, &mut sgd, &mut rng, epoch, opts.device, &progress)?;
        // A diverged epoch writes neither a log line nor a checkpoint: the folder stays
        // resumable from the last good epoch.
        check_finite(&model, loss, epoch + 1)?;
        step += n_batches as u64;
        let test_acc = match &spec.test {
            Some(t) => Some(evaluate(&model, t, recipe.batch_size, opts.device)?),
            None => None,
        };
        let e = EpochLog {
            epoch: epoch + 1,
            train_loss: loss,
            train_acc: acc,
            test_acc,
            lr: lr0,
            seconds: t0.elapsed().as_secs_f64(),
        };
        if let Some(a) = test_acc {
            if best.is_none_or(|(b, _)| a > b) {
                best = Some((a, epoch + 1));
                let dir = out.join(files::BEST);
                std::fs::create_dir_all(&dir)?;
                let bytes = checkpoint::safetensors_bytes(&named_vars(&model), None)?;
                checkpoint::write_atomic(&dir.join(files::WEIGHTS), &bytes)?;
            }
        }
        log.append(&e)?;
        let meta = CheckpointMeta {
            version: CHECKPOINT_VERSION,
            epoch: epoch + 1,
            step,
            rng: RngState::of(&rng),
            best,
            settings: settings.clone(),
        };
        let bufs: Vec<(String, Tensor)> = sgd
            .params
            .iter()
            .zip(&sgd.buffers)
            .filter_map(|((k, _), b)| b.as_ref().map(|b| (k.clone(), b.shallow_clone())))
            .collect();
        checkpoint::save(&ckpt_path, &named_vars(&model), &bufs, &meta)?;
        progress.println(&format!(
            "epoch {}/{}: train loss {:.4}, train acc {:.2}%, test acc {}, lr {:.5}, {:.1} s",
            e.epoch,
            recipe.epochs,
            e.train_loss,
            e.train_acc,
            e.test_acc.map(|a| format!("{a:.2}%")).unwrap_or_else(|| "-".into()),
            e.lr,
            e.seconds
        ));
        history.push(e);
        if opts.plot {
            plot_curves(&out.join(files::CURVES), &history)?;
        }
    }
    progress.finish();
    let finished = stop == recipe.epochs;
    let mut exported = Vec::new();
    if finished {
        exported = export_final(spec, &model, out, opts)?;
    }
    if opts.plot {
        exported.push(out.join(format!("{}.png", files::CURVES)));
    }
    Ok(TrainOutcome { epochs: history, best, resumed_from: done, finished, exported })
}

/// Errors when training diverged in epoch `epoch` (1-based): the epoch's mean train loss
/// or a variable of `model` (parameter or BatchNorm buffer) is NaN or infinite.
fn check_finite(model: &Model, loss: f64, epoch: usize) -> Result<()> {
    if !loss.is_finite() {
        let what = if loss.is_nan() { "NaN" } else { "infinite" };
        bail!("training diverged: the train loss is {what} after epoch {epoch} (lower --lr)");
    }
    let bad = named_vars(model).into_iter().find(|(_, t)| tch::no_grad(|| t.isfinite().all().int64_value(&[])) == 0);
    if let Some((name, _)) = bad {
        bail!("training diverged: weight '{name}' holds NaN or infinite values after epoch {epoch} (lower --lr)");
    }
    Ok(())
}

/// One epoch of training; returns (mean loss, accuracy %, lr of the first iteration).
#[allow(clippy::too_many_arguments)]
fn train_epoch(
    spec: &TrainSpec,
    recipe: &Recipe,
    model: &Model,
    sgd: &mut Sgd,
    rng: &mut ChaCha8Rng,
    epoch: usize,
    device: Device,
    progress: &Progress,
) -> Result<(f64, f64, f64)> {
    let batches = epoch_batches(spec.train.n, recipe.batch_size, rng);
    let n_batches = batches.len();
    let (mut loss_sum, mut correct, mut seen) = (0f64, 0i64, 0usize);
    let mut lr0 = recipe.lr_at(epoch, 0, n_batches);
    for (i, idx) in batches.iter().enumerate() {
        let lr = recipe.lr_at(epoch, i, n_batches);
        if i == 0 {
            lr0 = lr;
        }
        let b = make_batch(&spec.train, idx, recipe.augment, rng, device)?;
        let bs = idx.len();
        // mixup: λ ~ Beta(α, α), partner = a random permutation of the batch.
        let mix = if recipe.mixup > 0.0 {
            let lam = beta_symmetric(recipe.mixup, rng);
            let mut perm: Vec<i64> = (0..bs as i64).collect();
            perm.shuffle(rng);
            Some((lam, Tensor::from_slice(&perm).to_device(device)))
        } else {
            None
        };
        let images = match &mix {
            Some((lam, perm)) => &b.images * *lam + b.images.index_select(0, perm) * (1.0 - *lam),
            None => b.images.shallow_clone(),
        };
        let logits = model.net.forward(&images, &mut Recorder::plain(Mode { bn: true, train: true }));
        let ce =
            |y: &Tensor| logits.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, recipe.label_smoothing);
        let loss = match &mix {
            Some((lam, perm)) => ce(&b.labels) * *lam + ce(&b.labels.index_select(0, perm)) * (1.0 - *lam),
            None => ce(&b.labels),
        };
        sgd.zero_grad();
        loss.backward();
        if recipe.clip_grad > 0.0 {
            sgd.clip_grad_norm(recipe.clip_grad)?;
        }
        sgd.step(lr);
        loss_sum += loss.double_value(&[]) * bs as f64;
        correct += tch::no_grad(|| logits.argmax(1, false).eq_tensor(&b.labels).sum(Kind::Int64).int64_value(&[]));
        seen += bs;
        progress.inc(1);
    }
    Ok((loss_sum / seen.max(1) as f64, 100.0 * correct as f64 / seen.max(1) as f64, lr0))
}

/// Copies a checkpoint's weights and momentum buffers into `model` and `sgd`.
fn restore(model: &Model, sgd: &mut Sgd, c: &checkpoint::Checkpoint) -> Result<()> {
    for (name, var) in named_vars(model) {
        let src = c
            .model
            .get(&name)
            .ok_or_else(|| anyhow::anyhow!("the checkpoint has no tensor '{name}': it was made for another network"))?;
        if src.size() != var.size() {
            bail!("checkpoint tensor '{name}' has shape {:?}, the network expects {:?}", src.size(), var.size());
        }
        tch::no_grad(|| {
            let mut v = var.shallow_clone();
            v.copy_(&src.to_device(var.device()));
        });
    }
    if c.model.len() != model.vs.variables().len() {
        bail!(
            "the checkpoint holds {} tensors, the network {}: it was made for another network",
            c.model.len(),
            model.vs.len()
        );
    }
    for ((name, p), buf) in sgd.params.iter().zip(sgd.buffers.iter_mut()) {
        *buf = c.momentum.get(name).map(|b| b.to_device(p.device()));
    }
    Ok(())
}

/// The log lines of epochs `1..=done`; rewrites `log.jsonl` without later ones (written
/// after the checkpoint of epoch `done`, before a kill). Errors when an epoch is missing.
fn read_log(path: &Path, done: usize) -> Result<Vec<EpochLog>> {
    let mut keep: Vec<EpochLog> = Vec::new();
    if path.exists() {
        let (_, records) = JsonlLog::open(path)?;
        for r in records {
            let e: EpochLog =
                serde_json::from_value(r).with_context(|| format!("malformed line in '{}'", path.display()))?;
            if e.epoch <= done {
                keep.push(e);
            }
        }
    }
    if keep.len() != done || keep.iter().enumerate().any(|(i, e)| e.epoch != i + 1) {
        bail!("'{}' does not hold exactly the log lines of epochs 1..={done} of the checkpoint", path.display());
    }
    let mut text = String::new();
    for e in &keep {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    checkpoint::write_atomic(path, text.as_bytes())?;
    Ok(keep)
}

/// Learning curves: training loss, training accuracy and test accuracy per epoch.
pub fn plot_curves(stem: &Path, history: &[EpochLog]) -> Result<()> {
    let xs = |f: &dyn Fn(&EpochLog) -> Option<f64>| -> Vec<(f64, f64)> {
        history.iter().filter_map(|e| f(e).map(|y| (e.epoch as f64, y))).collect()
    };
    let mut series =
        vec![("training loss", xs(&|e| Some(e.train_loss))), ("training accuracy (%)", xs(&|e| Some(e.train_acc)))];
    if history.iter().any(|e| e.test_acc.is_some()) {
        series.push(("test accuracy (%)", xs(&|e| e.test_acc)));
    }
    crate::report::plot::line_plot(stem, &series, "epoch", "", "learning curves")
}

/// Writes `last/weights.safetensors` (+ `model.pt`) and, when a test set was used,
/// `best/model.pt` from `best/weights.safetensors`. A failed TorchScript export is
/// reported on stderr and skipped (the weights are written regardless).
fn export_final(spec: &TrainSpec, model: &Model, out: &Path, opts: &TrainOptions) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let last = out.join(files::LAST);
    std::fs::create_dir_all(&last)?;
    let w = last.join(files::WEIGHTS);
    checkpoint::write_atomic(&w, &checkpoint::safetensors_bytes(&named_vars(model), None)?)?;
    written.push(w);
    let ts = |m: &Model, dir: &Path, written: &mut Vec<PathBuf>| {
        if !opts.torchscript {
            return;
        }
        let p = dir.join(files::TORCHSCRIPT);
        match crate::net::torchscript::save_torchscript(m, spec.input_size.0, spec.input_size.1, &spec.class_name, &p) {
            Ok(()) => written.push(p),
            Err(e) => crate::note!("warning: TorchScript export to '{}' failed: {e:#}", p.display()),
        }
    };
    ts(model, &last, &mut written);
    let best_w = out.join(files::BEST).join(files::WEIGHTS);
    if best_w.exists() {
        let mut m = Model::new(spec.builder.clone(), opts.device, 0);
        crate::net::weights::load_state_dict(&mut m.vs, &best_w)?;
        written.push(best_w);
        ts(&m, &out.join(files::BEST), &mut written);
    }
    Ok(written)
}
