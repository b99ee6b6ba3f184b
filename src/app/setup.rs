//! The command-line groups that several commands share: the scoring setup (data, batch,
//! head, device), the architecture selection, and the ground truth.

use crate::data::batch::Batch;
use crate::data::dataset::{Dataset, Epochs};
use crate::data::imagenet_folder::{load_imagenet_folder_batch, ImageNetFolderMode};
use crate::data::load::{load_batch_with, random_batch, BatchSpec, DataSource, LoadOptions};
use crate::eval::truth::{default_truth, load_truth, Truth};
use crate::io::provenance::ScoringSetup;
use crate::net::device::parse_device;
pub use crate::report::cut;
use crate::search::Strategy;
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};
use tch::Device;

/// Clap parser of a count flag: an integer ≥ 1 (e.g. `--batch-size`, `--budget`,
/// `--sample`). Errors: "0 is not a count of at least 1", "'-1' is negative: give a whole
/// number of at least 1", "'x' is not a whole number of at least 1", and "too large"
/// beyond `usize::MAX`.
pub fn count(s: &str) -> std::result::Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 is not a count of at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(not_a_count(s, &e, "a whole number of at least 1")),
    }
}

/// The message for a count that does not parse: too large, negative, or not a number.
fn not_a_count(s: &str, e: &std::num::ParseIntError, what: &str) -> String {
    use std::num::IntErrorKind;
    match e.kind() {
        IntErrorKind::PosOverflow => format!("'{}' is too large (at most {})", cut(s, 40), usize::MAX),
        IntErrorKind::InvalidDigit if s.trim().starts_with('-') => format!("'{}' is negative: give {what}", cut(s, 40)),
        _ => format!("'{}' is not {what}", cut(s, 40)),
    }
}

/// Clap parser of `--bootstrap`: 0 to 100,000 resamples.
pub fn resamples(s: &str) -> std::result::Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n <= 100_000 => Ok(n),
        Ok(n) => Err(format!("{n} resamples: at most 100,000")),
        Err(e) => Err(not_a_count(s, &e, "a whole number of resamples")),
    }
}

/// Clap parser of `--num-classes`: an integer from 1 to 1,000,000.
pub fn classes(s: &str) -> std::result::Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(k) if (1..=1_000_000).contains(&k) => Ok(k),
        Ok(k) => Err(format!("{k} classes: the head needs 1 to 1,000,000 classes")),
        Err(_) => Err(format!("'{}' is not a whole number of classes", cut(s, 40))),
    }
}

/// Clap parser of a positive finite number (e.g. `--flops-limit 600e6`).
pub fn positive(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(x) => Err(format!("{x} is not a positive finite number")),
        Err(_) => Err(format!("'{}' is not a number", cut(s, 40))),
    }
}

/// The scoring-setup flags that `zsnas score`, `search` and `correlate` share: besides
/// the architecture and the seed, an architecture's score depends on exactly these.
#[derive(clap::Args, Clone, Debug)]
pub struct SetupArgs {
    /// CIFAR-10 binary file or folder, image folder, or prepared batch (.safetensors).
    /// Default: the embedded CIFAR-10 images (mbv2: a random Gaussian batch).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Batch size N.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = count)]
    pub batch_size: usize,
    /// Standard CIFAR augmentation of the batch (random crop with 4-pixel padding,
    /// horizontal flip).
    #[arg(long)]
    pub augment: bool,
    /// Number of classes of the network head (default: 10; 1,000 for mbv2).
    #[arg(long, value_parser = classes)]
    pub num_classes: Option<i64>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The NAS-Bench-201 data set: cifar10, cifar100 or imagenet16-120 (aliases: c10,
    /// c100, ImageNet16-120, ...). Selects the normalisation, the class count (10/100/120;
    /// mbv2 keeps 1,000 unless --num-classes), the truth column of NAS-Bench-201 and checks
    /// that --data holds that data set.
    #[arg(long, value_parser = Dataset::parse)]
    pub dataset: Option<Dataset>,
    /// Read --data as an ImageNet-style folder of JPEG or PNG photographs of any size (one
    /// sub-folder per class, any number of classes): only the drawn images are decoded,
    /// resized (shorter side to resolution/0.875) and centre-cropped to the resolution
    /// (mbv2: 224, or score's --resolution), ImageNet mean/std.
    #[arg(long)]
    pub photos: bool,
    /// With --photos: draw the batch class-balanced instead of uniformly.
    #[arg(long)]
    pub balanced: bool,
}

impl Default for SetupArgs {
    fn default() -> Self {
        SetupArgs {
            data: None,
            batch_size: 64,
            augment: false,
            num_classes: None,
            device: "cpu".into(),
            dataset: None,
            photos: false,
            balanced: false,
        }
    }
}

impl SetupArgs {
    /// The head's class count for `space`: `--num-classes`, else 10 (1,000 for mbv2).
    pub fn num_classes(&self, space: SpaceKind) -> i64 {
        match (self.num_classes, self.dataset) {
            (Some(k), _) => k,
            (None, Some(d)) if space != SpaceKind::Mbv2 => d.num_classes() as i64,
            _ => space.default_num_classes(),
        }
    }

    /// The scoring flags given with a value other than their default, `--dataset` aside
    /// (it also picks the truth column): what `correlate --scores` refuses.
    pub fn scoring_flags_given(&self) -> Vec<&'static str> {
        let d = SetupArgs::default();
        [
            ("--data", self.data.is_some()),
            ("--batch-size", self.batch_size != d.batch_size),
            ("--augment", self.augment),
            ("--num-classes", self.num_classes.is_some()),
            ("--device", self.device != d.device),
            ("--photos", self.photos),
            ("--balanced", self.balanced),
        ]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(flag, _)| flag)
        .collect()
    }

    /// Where the images come from: `--data`, else the embedded CIFAR-10 images.
    pub fn source(&self) -> DataSource {
        match &self.data {
            Some(p) => DataSource::Path(p.clone()),
            None => DataSource::Embedded,
        }
    }

    /// Whether the batch is random (mbv2 without `--data`) rather than images.
    pub fn random_data(&self, space: SpaceKind) -> bool {
        space == SpaceKind::Mbv2 && self.data.is_none()
    }

    /// The provenance record of scores made with these flags on `batch` (drawn with
    /// `seed`) and optional `weights` (path and md5 of its bytes): what
    /// [`crate::io::provenance`] compares on resume. `dataset` is recorded when it is not
    /// the space's default data set (CIFAR-10 for NAS-Bench-201 and NAS-Bench-101), so
    /// `--dataset cifar10` there is the same setup as no `--dataset`.
    ///
    /// Errors: the weights file cannot be read (`--weights PATH: ...`).
    pub fn scoring_setup(
        &self,
        space: SpaceKind,
        seed: u64,
        batch: &Batch,
        weights: Option<&Path>,
    ) -> Result<ScoringSetup> {
        let data = if self.random_data(space) {
            "random".to_string()
        } else {
            self.data.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "embedded".to_string())
        };
        let device = if self.device.starts_with("cuda") { "cuda" } else { "cpu" };
        let weights_md5 = match weights {
            Some(p) => Some(ScoringSetup::file_md5(p).map_err(|e| anyhow!("--weights {e}"))?),
            None => None,
        };
        let dataset = self.dataset.filter(|d| space == SpaceKind::Mbv2 || *d != Dataset::Cifar10);
        Ok(ScoringSetup {
            augment: self.augment,
            batch_md5: ScoringSetup::batch_md5(batch),
            batch_size: batch.len(),
            data,
            dataset: dataset.map(|d| d.name().to_string()),
            device: device.to_string(),
            num_classes: self.num_classes(space),
            resolution: batch.images.size().last().copied().unwrap_or(0) as u64,
            seed,
            weights: weights.map(|p| p.display().to_string()),
            weights_md5,
        })
    }

    /// The device and the scoring batch on it, drawn with `seed`: `--data` (or the
    /// embedded CIFAR-10 images), or for mbv2 without `--data` a seeded random Gaussian
    /// batch of N×3×224×224 with random labels (a note on stderr says so). With
    /// `--photos`, an ImageNet-style folder at `resolution` (224 when `None`).
    ///
    /// Errors: batch size 0, an unknown device, unreadable or malformed data, data of
    /// another data set than `--dataset`, a label outside the head's classes, NaN or
    /// infinite pixels, a batch of identical images, and for NAS-Bench-201 images whose
    /// sides are not multiples of 4 ([`crate::net::nb201::check_input_size`]).
    pub fn batch(&self, space: SpaceKind, seed: u64) -> Result<(Device, Batch)> {
        self.batch_at(space, seed, None)
    }

    /// [`SetupArgs::batch`] with the photo resolution given (score's `--resolution`).
    pub fn batch_at(&self, space: SpaceKind, seed: u64, resolution: Option<usize>) -> Result<(Device, Batch)> {
        self.batch_with_files(space, seed, resolution).map(|(d, b, _)| (d, b))
    }

    /// [`SetupArgs::batch_at`] plus, for `--photos`, the paths of the drawn images (empty
    /// otherwise), which score lines record.
    pub fn batch_with_files(
        &self,
        space: SpaceKind,
        seed: u64,
        resolution: Option<usize>,
    ) -> Result<(Device, Batch, Vec<String>)> {
        let mut files = Vec::new();
        if self.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        let device = parse_device(&self.device)?;
        let batch = if self.random_data(space) {
            for (flag, given) in [
                ("--dataset", self.dataset.is_some()),
                ("--augment", self.augment),
                ("--photos", self.photos),
                ("--balanced", self.balanced),
            ] {
                if given {
                    bail!("{flag} needs --data with --space mbv2 (without it the batch is random Gaussian noise)");
                }
            }
            crate::note!(
                "note: no --data given for mbv2: using a random Gaussian batch of {} at 224x224 with random labels (seed {seed})",
                self.batch_size
            );
            random_batch(self.batch_size, 224, self.num_classes(space), seed)
        } else {
            if self.balanced && !self.photos {
                bail!("--balanced applies to --photos folders only");
            }
            let opts = LoadOptions {
                dataset: self.dataset,
                imagenet_folder: self
                    .photos
                    .then(|| ImageNetFolderMode { resolution: resolution.unwrap_or(224), balanced: self.balanced }),
                ..Default::default()
            };
            if self.augment && self.photos {
                bail!("--augment does not apply to --photos folders (their images are resized and centre-cropped, as ImageNet evaluation does)");
            }
            if self.augment && self.data.as_ref().is_some_and(|p| p.extension().is_some_and(|e| e == "safetensors")) {
                bail!("--augment does not apply to a prepared .safetensors batch (its images are used as they are)");
            }
            let spec = BatchSpec { batch_size: self.batch_size, seed, augment: self.augment };
            let b = match (&self.data, &opts.imagenet_folder) {
                (Some(root), Some(m)) => {
                    let (b, drawn) = load_imagenet_folder_batch(root, m.resolution, spec.batch_size, seed, m.balanced)?;
                    files = drawn.iter().map(|p| p.display().to_string()).collect();
                    b
                }
                _ => load_batch_with(&self.source(), &spec, &opts)?,
            };
            let classes = self.num_classes(space);
            let labels = Vec::<i64>::try_from(&b.labels.to_kind(tch::Kind::Int64))?;
            if let Some((i, y)) = labels.iter().enumerate().find(|(_, &y)| y < 0 || y >= classes) {
                bail!(
                    "--data {}: label {y} of batch image {i} is outside the head's {classes} classes 0..={} (give --num-classes or --dataset to match the data)",
                    self.source().describe(),
                    classes - 1
                );
            }
            if space == SpaceKind::Nb201 {
                let size = b.images.size();
                if let [_, _, h, w] = size[..] {
                    crate::net::nb201::check_input_size(h, w)
                        .map_err(|e| anyhow::anyhow!("--data {}: {e}", self.source().describe()))?;
                }
            }
            if !bool::try_from(b.images.isfinite().all())? {
                bail!("--data {}: the batch holds NaN or infinite pixel values", self.source().describe());
            }
            if b.len() >= 2 {
                let first = b.images.get(0);
                if (1..b.len() as i64).all(|i| b.images.get(i).equal(&first)) {
                    bail!(
                        "--data {}: all {} images of the batch are identical, so correlations across them are meaningless (check the data)",
                        self.source().describe(),
                        b.len()
                    );
                }
            }
            b
        };
        Ok((device, batch.to_device(device), files))
    }
}

/// The architecture-selection flags of `score` and `correlate`: explicit architectures,
/// a file, a seeded sample, or the whole space.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ArchArgs {
    /// An architecture (repeatable): NAS-Bench-201 `arch_str`, NAS-Bench-101 compact text or
    /// `{ops, adjacency}` JSON, or an mbv2 string.
    #[arg(long)]
    pub arch: Vec<String>,
    /// A file of architectures, one per line (NAS-Bench-101: also a JSON list of specs).
    #[arg(long)]
    pub archs_file: Option<PathBuf>,
    /// A seeded uniform sample of K distinct architectures (seed: --seed).
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = count)]
    pub sample: Option<usize>,
    /// Every architecture of the space (NAS-Bench-201: all 15,625 in index order); not
    /// combined with the other selections.
    #[arg(long, conflicts_with_all = ["arch", "archs_file", "sample"])]
    pub all: bool,
}

impl ArchArgs {
    /// Whether any architecture was asked for.
    pub fn any(&self) -> bool {
        !self.arch.is_empty() || self.archs_file.is_some() || self.sample.is_some() || self.all
    }

    /// The selected architectures of `space`, in the order: `--arch`, `--archs-file`,
    /// `--sample` (drawn with `seed`), `--all`. Errors: a malformed architecture (naming
    /// it), an unreadable file, a sample larger than the space, nothing selected.
    pub fn select(&self, space: SpaceKind, seed: u64) -> Result<Vec<AnyArch>> {
        let mut archs: Vec<AnyArch> = Vec::new();
        for s in &self.arch {
            archs.push(AnyArch::parse(space, s)?);
        }
        if let Some(f) = &self.archs_file {
            archs.extend(AnyArch::read_file(space, f)?);
        }
        if let Some(k) = self.sample {
            archs.extend(AnyArch::sample(space, k, seed)?);
        }
        if self.all {
            archs.extend(AnyArch::all(space, &Nb201Table::embedded()?)?);
        }
        if archs.is_empty() {
            bail!("no architecture given (use --arch, --archs-file, --sample K or --all)");
        }
        Ok(archs)
    }
}

/// The ground-truth flags of `correlate` and `search` (one spelling everywhere).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TruthArgs {
    /// Ground-truth table: a CSV file (plain or gzip), or for nb101 a JSON list like
    /// nb101_sample200.json. Default: nb201 the embedded NAS-Bench-201 table; nb101
    /// `<data dir>/nb101/nb101_sample200.json`.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Truth column (default: test_acc_200ep for nb201, valid_acc_108ep for nb101).
    #[arg(long)]
    pub truth_column: Option<String>,
    /// Join key, also the truth CSV's key column: arch_str (the architecture string),
    /// index (benchmark index) or hash (NAS-Bench-101 module hash); another name joins
    /// that column on the architecture string. Default: arch_str for nb201, hash for nb101.
    #[arg(long)]
    pub truth_key: Option<String>,
}

impl TruthArgs {
    /// The truth column: `--truth-column`, else for NAS-Bench-201 the `dataset`'s
    /// 200-epoch test accuracy (CIFAR-10 when `None`), else the space's default.
    fn column(&self, space: SpaceKind, dataset: Option<Dataset>) -> Option<String> {
        match (&self.truth_column, space, dataset) {
            (Some(c), _, _) => Some(c.clone()),
            (None, SpaceKind::Nb201, Some(d)) => Some(d.truth_column(Epochs::E200).to_string()),
            _ => None,
        }
    }

    /// The truth of `space` these flags select ([`load_truth`]); `dataset` (the setup's
    /// `--dataset`) picks the NAS-Bench-201 column.
    pub fn load(&self, space: SpaceKind, dataset: Option<Dataset>) -> Result<Truth> {
        let column = self.column(space, dataset);
        load_truth(space, self.truth.as_deref(), column.as_deref(), self.truth_key.as_deref())
    }

    /// For a search: `None` with `no_truth`; the flags' truth when `--truth` is given;
    /// else the space's default ([`default_truth`], none for mbv2).
    pub fn load_optional(&self, space: SpaceKind, dataset: Option<Dataset>, no_truth: bool) -> Result<Option<Truth>> {
        if no_truth {
            return Ok(None);
        }
        let column = self.column(space, dataset);
        if self.truth.is_some() || (space == SpaceKind::Nb201 && column.is_some()) {
            return self.load(space, dataset).map(Some);
        }
        if self.truth_column.is_some() || self.truth_key.is_some() {
            return match default_truth(space)? {
                Some(_) => self.load(space, dataset).map(Some),
                None => bail!("--truth-column/--truth-key need --truth FILE for {}", space.name()),
            };
        }
        default_truth(space)
    }
}

/// The NAS-Bench-201 scoring set-up of `bench` and `demo`: the shared setup flags plus the
/// run seed.
#[derive(clap::Args, Clone, Debug)]
pub struct Nb201SetupArgs {
    /// Data, batch size, augmentation, head, device.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Run seed: choice of the batch, weight initialisation (per architecture).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub seed: u64,
}

impl Nb201SetupArgs {
    /// The device and the batch. Errors as [`SetupArgs::batch`] (labels outside the
    /// head's `--num-classes` among them).
    pub fn batch(&self) -> Result<(Device, Batch)> {
        self.setup.batch(SpaceKind::Nb201, self.seed)
    }
}

/// The strategy settings of `search`. Each applies to one strategy; giving it with another
/// strategy is an error rather than a flag silently ignored.
#[derive(clap::Args, Clone, Debug)]
pub struct StrategyArgs {
    /// Evolution: population size [default: 64].
    #[arg(long, allow_negative_numbers = true, value_parser = count)]
    pub population: Option<usize>,
    /// Evolution: tournament size (drawn without replacement) [default: 10].
    #[arg(long, allow_negative_numbers = true, value_parser = count)]
    pub tournament: Option<usize>,
    /// REINFORCE: random architectures scored first to standardise rewards (at most half
    /// the budget) [default: 100].
    #[arg(long, allow_negative_numbers = true, value_parser = count)]
    pub warmup: Option<usize>,
}

impl StrategyArgs {
    /// Sets the strategy's settings from the flags given (the others keep the strategy's
    /// defaults). Errors: an evolution population or tournament the strategy rejects, a
    /// zero REINFORCE warm-up, a flag of another strategy.
    pub fn apply(&self, strategy: &mut Strategy) -> Result<()> {
        let not_for = |flag: &str, strategy: &str, wanted: &str| {
            anyhow!("{flag} applies to --strategy {wanted}, not to --strategy {strategy}")
        };
        match strategy {
            Strategy::Evolution(c) => {
                if self.warmup.is_some() {
                    return Err(not_for("--warmup", "evolution", "reinforce"));
                }
                c.population = self.population.unwrap_or(c.population);
                c.tournament = self.tournament.unwrap_or(c.tournament);
                c.validate()?;
            }
            Strategy::Reinforce(c) => {
                if let Some(flag) = self.evolution_flag() {
                    return Err(not_for(flag, "reinforce", "evolution"));
                }
                if self.warmup == Some(0) {
                    bail!("--warmup must be at least 1");
                }
                c.warmup = self.warmup.unwrap_or(c.warmup);
            }
            Strategy::Random => {
                if let Some(flag) = self.evolution_flag() {
                    return Err(not_for(flag, "random", "evolution"));
                }
                if self.warmup.is_some() {
                    return Err(not_for("--warmup", "random", "reinforce"));
                }
            }
        }
        Ok(())
    }

    /// The first evolution flag given, if any.
    fn evolution_flag(&self) -> Option<&'static str> {
        if self.population.is_some() {
            Some("--population")
        } else if self.tournament.is_some() {
            Some("--tournament")
        } else {
            None
        }
    }
}

/// Refuses a plot whose `<stem>.png` or `<stem>.svg` would overwrite one of `inputs` (the
/// files the command reads or appends to: a history, score files, a truth table), checked
/// before anything runs. `flag` names the plot flag in the error.
pub fn check_plot_not_input(flag: &str, stem: &std::path::Path, inputs: &[&std::path::Path]) -> Result<()> {
    for out in crate::report::plot::files_of(stem) {
        if let Some(i) = inputs.iter().find(|i| crate::io::same_file(&out, i)) {
            bail!(
                "{flag} {}: the plot would overwrite '{}', which this command reads; choose another plot path",
                stem.display(),
                i.display()
            );
        }
    }
    Ok(())
}
