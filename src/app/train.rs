//! `zsnas train`: trains an architecture of any space on CIFAR-10 binaries or an image
//! folder with a recipe (`nb201`, `imagenet`) whose every field can be overridden;
//! resumable (checkpoint per epoch), one JSON line per epoch, learning curves, and the
//! best and last weights exported as safetensors and TorchScript. See [`crate::train`].

use super::scoring::guarded_work;
use crate::data::load::{read_raw, DataSource};
use crate::net::device::parse_device;
use crate::report::cut;
use crate::report::progress::{stdout_line, ProgressMode};
use crate::space::nb201_table::Nb201Table;
use crate::space::AnyArch;
use crate::space::SpaceKind;
use crate::train::recipe::Recipe;
use crate::train::trainer::{train, TrainOptions, TrainOutcome, TrainSpec};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Flags of `zsnas train`.
#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    /// Search space (nb201, nb101 or mbv2).
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// The architecture (canonical text form of the space, as `zsnas score --arch`).
    #[arg(long)]
    pub arch: String,
    /// mbv2: input resolution, overriding the string's own.
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub resolution: Option<usize>,
    /// Number of classes (default: the number of classes in --data).
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::classes)]
    pub num_classes: Option<i64>,
    /// Training images: CIFAR-10 binary file or folder of them, or an image folder (one
    /// sub-folder per class).
    #[arg(long)]
    pub data: PathBuf,
    /// Test images (same forms as --data), evaluated after every epoch.
    #[arg(long)]
    pub test_data: Option<PathBuf>,
    /// Recipe: nb201 (NAS-Bench-201's) or imagenet (the WRCor paper's, without AutoAugment
    /// and distillation).
    #[arg(long, default_value = "nb201")]
    pub recipe: String,
    /// Epochs (the cosine schedule spans them).
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub epochs: Option<usize>,
    /// Images per batch.
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub batch_size: Option<usize>,
    /// Initial learning rate.
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Weight decay (on every parameter).
    #[arg(long, allow_hyphen_values = true)]
    pub weight_decay: Option<f64>,
    /// SGD momentum.
    #[arg(long, allow_hyphen_values = true)]
    pub momentum: Option<f64>,
    /// Nesterov momentum (true or false).
    #[arg(long)]
    pub nesterov: Option<bool>,
    /// Label smoothing ε.
    #[arg(long, allow_hyphen_values = true)]
    pub label_smoothing: Option<f64>,
    /// mixup α (0: off).
    #[arg(long, allow_hyphen_values = true)]
    pub mixup: Option<f64>,
    /// Gradient clipping: largest global L2 norm (0: off).
    #[arg(long, allow_hyphen_values = true)]
    pub clip_grad: Option<f64>,
    /// Seed of initialisation, data order, augmentation and mixup.
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Output folder: checkpoint.safetensors, log.jsonl, best/ and last/ (weights.safetensors,
    /// model.pt), curves.png/svg. A folder with a checkpoint is resumed.
    #[arg(long)]
    pub output: PathBuf,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Draw learning curves (curves.png and curves.svg in --output) after every epoch.
    #[arg(long)]
    pub plot: bool,
    /// Do not write model.pt (TorchScript) next to the final weights.
    #[arg(long)]
    pub no_torchscript: bool,
    /// Stop after this many epochs (the run resumes from its checkpoint later).
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub stop_after: Option<usize>,
}

impl TrainArgs {
    /// The recipe: the preset with the overriding flags applied, validated.
    pub fn recipe(&self) -> Result<Recipe> {
        let mut r = Recipe::preset(&self.recipe)?;
        if let Some(v) = self.epochs {
            r.epochs = v;
        }
        if let Some(v) = self.batch_size {
            r.batch_size = v;
        }
        if let Some(v) = self.lr {
            r.lr = v;
        }
        if let Some(v) = self.weight_decay {
            r.weight_decay = v;
        }
        if let Some(v) = self.momentum {
            r.momentum = v;
        }
        if let Some(v) = self.nesterov {
            r.nesterov = v;
        }
        if let Some(v) = self.label_smoothing {
            r.label_smoothing = v;
        }
        if let Some(v) = self.mixup {
            r.mixup = v;
        }
        if let Some(v) = self.clip_grad {
            r.clip_grad = v;
        }
        if let Some(v) = self.seed {
            r.seed = v;
        }
        r.validate()?;
        Ok(r)
    }
}

/// Runs `zsnas train`: prints the set-up, trains (progress on stderr), prints a summary.
/// A libtorch failure (e.g. out of memory) is an error naming the architecture and batch.
pub fn run(a: TrainArgs) -> Result<TrainOutcome> {
    let recipe = a.recipe()?;
    let space = SpaceKind::parse(&a.space)?;
    let mut arch = AnyArch::parse(space, &a.arch)?;
    if let Some(r) = a.resolution {
        match &mut arch {
            AnyArch::Mbv2(m) => {
                m.resolution = r;
                m.validate()?;
            }
            _ => bail!("--resolution only applies to --space mbv2"),
        }
    }
    let device = parse_device(&a.device)?;
    let train_set = read_raw(&DataSource::Path(a.data.clone())).context("reading --data")?;
    let test_set = match &a.test_data {
        Some(p) => {
            let mut t = read_raw(&DataSource::Path(p.clone())).context("reading --test-data")?;
            // Labels are indices into each set's own class list: test labels must mean the
            // training classes of the same name.
            t.relabel_like(&train_set.class_names)
                .map_err(|e| anyhow::anyhow!("--test-data {}: {e} of --data {}", p.display(), a.data.display()))?;
            Some(t)
        }
        None => None,
    };
    let classes = a.num_classes.unwrap_or(train_set.class_names.len() as i64);
    if classes < 1 {
        bail!("--num-classes must be positive, got {classes}");
    }
    let class_name = match &arch {
        AnyArch::Mbv2(_) => "Mbv2Net",
        AnyArch::Nb201(_) => "Nb201Net",
        AnyArch::Nb101(_) => "Nb101Net",
    };
    let input_size = (train_set.height as i64, train_set.width as i64);
    if matches!(arch, AnyArch::Nb201(_)) {
        crate::net::nb201::check_input_size(input_size.0, input_size.1)
            .map_err(|e| anyhow::anyhow!("--data {}: {e}", a.data.display()))?;
    }
    crate::net::build::check_fits_memory(&arch, classes, recipe.batch_size)?;
    let text = arch.text();
    let index = match &arch {
        AnyArch::Nb201(c) => {
            let t = Nb201Table::embedded()?;
            t.row_of(c).map(|r| {
                format!(
                    " (NAS-Bench-201 index {}, benchmark CIFAR-10 test accuracy {:.2}% after 200 epochs)",
                    r.index, r.test_acc_200ep
                )
            })
        }
        _ => None,
    };
    stdout_line(&format!("zsnas train: {} {}{}", space.name(), text, index.unwrap_or_default()))?;
    stdout_line(&format!(
        "data: {} ({} images {}x{}, {} classes), test: {}",
        a.data.display(),
        train_set.n,
        train_set.height,
        train_set.width,
        classes,
        match (&a.test_data, &test_set) {
            (Some(p), Some(t)) => format!("{} ({} images)", p.display(), t.n),
            _ => "none".into(),
        }
    ))?;
    stdout_line(&format!("recipe: {}", serde_json::to_string(&recipe)?))?;
    let spec = TrainSpec {
        space: space.name().into(),
        arch: text.clone(),
        builder: crate::net::build::builder(&arch, classes),
        num_classes: classes,
        input_size,
        class_name: class_name.into(),
        train: train_set,
        test: test_set,
    };
    let opts = TrainOptions {
        output: a.output.clone(),
        device,
        plot: a.plot,
        torchscript: !a.no_torchscript,
        progress: ProgressMode::detect(),
        stop_after: a.stop_after,
    };
    let doing = match &arch {
        AnyArch::Mbv2(m) => {
            format!("training {} at batch {}, resolution {}", cut(&text, 120), recipe.batch_size, m.resolution)
        }
        _ => format!("training {} at batch {}", cut(&text, 120), recipe.batch_size),
    };
    let out = guarded_work(&doing, "try a smaller --batch-size", || train(&spec, &recipe, &opts))?;
    if out.resumed_from > 0 {
        stdout_line(&format!("resumed after epoch {}", out.resumed_from))?;
    }
    for e in &out.epochs {
        stdout_line(&format!(
            "epoch {:>3}: train loss {:.4}  train acc {:6.2}%  test acc {}  lr {:.5}  {:.1} s",
            e.epoch,
            e.train_loss,
            e.train_acc,
            e.test_acc.map(|v| format!("{v:6.2}%")).unwrap_or_else(|| "     -".into()),
            e.lr,
            e.seconds
        ))?;
    }
    if let Some((acc, ep)) = out.best {
        stdout_line(&format!("best test accuracy {acc:.2}% after epoch {ep}"))?;
    }
    if out.finished {
        for p in &out.exported {
            stdout_line(&format!("wrote {}", p.display()))?;
        }
    } else {
        stdout_line(&format!("stopped after epoch {}; run the same command to resume", out.epochs.len()))?;
    }
    Ok(out)
}
