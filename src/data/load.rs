//! Turning a `--data` argument into a [`Batch`]: CIFAR-10/100 binary or python-version files
//! or folders, ImageNet16 pickles, image folders (see [`crate::data::formats`]), ImageNet-style
//! folders of photographs ([`crate::data::imagenet_folder`], on request), prepared
//! safetensors batches, or the embedded default (the first 1,000 CIFAR-10 training images,
//! official binary format).

use super::batch::Batch;
use super::cifar10::{read_cifar10_bytes, RawImages};
use super::dataset::Dataset;
use super::formats::{read_data_path, DataFormat, ReadOptions};
use super::imagenet_folder::{load_imagenet_folder_batch, ImageNetFolderMode};
use super::transform::{choose_batch, normalize_image_into, random_crop_flip};
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use std::path::Path;
use tch::Tensor;

static EMBEDDED_CIFAR: &[u8] = include_bytes!("../../assets/cifar10_train_first1000.bin");

/// The embedded default data set: the first 1,000 images of CIFAR-10 `data_batch_1`.
pub fn embedded_cifar10() -> Result<RawImages> {
    read_cifar10_bytes(EMBEDDED_CIFAR, "embedded CIFAR-10 (first 1,000 training images)")
}

/// Where the images come from.
#[derive(Clone, Debug)]
pub enum DataSource {
    /// The embedded 1,000 CIFAR-10 training images.
    Embedded,
    /// A path: `.safetensors` batch, or any file or folder of [`crate::data::formats`].
    Path(std::path::PathBuf),
}

impl DataSource {
    /// A short human-readable name.
    pub fn describe(&self) -> String {
        match self {
            DataSource::Embedded => "embedded CIFAR-10 (first 1,000 training images)".into(),
            DataSource::Path(p) => p.display().to_string(),
        }
    }
}

/// How to draw the batch.
#[derive(Clone, Debug)]
pub struct BatchSpec {
    /// Number of images N.
    pub batch_size: usize,
    /// Seed of the choice of images (and of augmentation).
    pub seed: u64,
    /// Standard CIFAR augmentation (random crop with 4-pixel padding, horizontal flip).
    pub augment: bool,
}

fn is_safetensors(p: &Path) -> bool {
    p.extension().map(|e| e == "safetensors").unwrap_or(false)
}

/// Reads raw images from `src` (not for safetensors batches): any format of
/// [`crate::data::formats`] (CIFAR-10/100 binary or python version, ImageNet16 pickles,
/// image folders) with the default [`ReadOptions`] (CIFAR-100 fine labels, ImageNet16-120).
pub fn read_raw(src: &DataSource) -> Result<RawImages> {
    read_raw_with(src, &ReadOptions::default()).map(|(raw, _)| raw)
}

/// [`read_raw`] with explicit [`ReadOptions`], also returning the format recognised.
///
/// Errors: a missing path; a prepared `.safetensors` batch (a fixed batch of tensors for
/// scoring, not a data set of images); any error of [`read_data_path`].
pub fn read_raw_with(src: &DataSource, opts: &ReadOptions) -> Result<(RawImages, DataFormat)> {
    match src {
        DataSource::Embedded => Ok((embedded_cifar10()?, DataFormat::Embedded)),
        DataSource::Path(p) if is_safetensors(p) && p.is_file() => bail!(
            "'{}' is a prepared .safetensors batch (fixed tensors for scoring), not a data set of images: give CIFAR or ImageNet16 files or an image folder",
            p.display()
        ),
        DataSource::Path(p) => read_data_path(p, opts),
    }
}

/// Options of [`load_batch_with`] beyond the [`BatchSpec`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The data set the images must belong to (a command's `--dataset`). `None`: the one
    /// the format implies (CIFAR-10 for image folders). It selects the normalisation
    /// ([`Dataset::mean_std`]) and the augmentation padding; a file of another data set,
    /// or a label `>=` its class count, is an error.
    pub dataset: Option<Dataset>,
    /// Format choices (CIFAR-100 coarse labels, ImageNet16 class count).
    pub read: ReadOptions,
    /// Read `--data` as an ImageNet-style folder of photographs of any size (see
    /// [`crate::data::imagenet_folder`]) instead of the formats above.
    pub imagenet_folder: Option<ImageNetFolderMode>,
}

/// Loads one batch with the default [`LoadOptions`]: a prepared safetensors batch as is
/// (`images` f32 \[N,3,H,W\] already normalised, `labels` i64 \[N\]; its first `batch_size`
/// samples), otherwise a seeded choice of `batch_size` images normalised with the mean/std
/// of the data set the format implies (CIFAR-10 for the embedded set, CIFAR-10 files and
/// image folders; CIFAR-100 and ImageNet16-120 for theirs).
pub fn load_batch(src: &DataSource, spec: &BatchSpec) -> Result<Batch> {
    load_batch_with(src, spec, &LoadOptions::default())
}

/// Loads one batch (see [`load_batch`]) with explicit options: the data set (normalisation,
/// augmentation padding 4 for CIFAR and 2 for ImageNet16-120, class-count check), format
/// choices, or the ImageNet-folder mode.
///
/// Errors: unreadable data (see [`read_raw_with`]); data of another data set than
/// `opts.dataset` ("... holds CIFAR-10 ... but the data set is cifar100"); a label outside
/// the data set's classes; a batch larger than the data.
pub fn load_batch_with(src: &DataSource, spec: &BatchSpec, opts: &LoadOptions) -> Result<Batch> {
    if let DataSource::Path(p) = src {
        if is_safetensors(p) {
            return load_safetensors_batch(p, spec.batch_size);
        }
        if let Some(m) = &opts.imagenet_folder {
            return Ok(load_imagenet_folder_batch(p, m.resolution, spec.batch_size, spec.seed, m.balanced)?.0);
        }
    } else if opts.imagenet_folder.is_some() {
        bail!("an ImageNet-style folder needs a --data path (the embedded data is CIFAR-10)");
    }
    let (raw, format) = read_raw_with(src, &ReadOptions { dataset: opts.dataset, ..opts.read })?;
    if let (Some(want), Some(have)) = (opts.dataset, format.dataset()) {
        if want != have {
            let (what, how) = (src.describe(), format.describe());
            let how = if how == what { String::new() } else { format!(" ({how})") };
            bail!("{what} holds {have}{how} but the data set is {want}: give --data with {want} data");
        }
    }
    let dataset = opts.dataset.or(format.dataset()).unwrap_or(Dataset::Cifar10);
    if opts.dataset.is_some() {
        if let Some(&l) = raw.labels.iter().find(|&&l| l as usize >= dataset.num_classes()) {
            bail!("{} has label {l}, outside the {} classes of {dataset}", src.describe(), dataset.num_classes());
        }
    }
    let idx = choose_batch(raw.n, spec.batch_size, spec.seed)
        .with_context(|| format!("cannot draw a batch of {} from {}", spec.batch_size, src.describe()))?;
    let (mean, std) = dataset.mean_std();
    let pad = dataset.augment_padding();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed ^ 0xA5A5_5A5A);
    let mut data = Vec::with_capacity(idx.len() * raw.image_len());
    let mut labels = Vec::with_capacity(idx.len());
    for &i in &idx {
        let img = raw.image(i).context("image index out of range")?;
        if spec.augment {
            let a = random_crop_flip(img, raw.height, raw.width, pad, &mut rng)?;
            normalize_image_into(&a, &mean, &std, &mut data)?;
        } else {
            normalize_image_into(img, &mean, &std, &mut data)?;
        }
        labels.push(raw.labels[i] as i64);
    }
    let n = idx.len() as i64;
    let images = Tensor::from_slice(&data).view([n, 3, raw.height as i64, raw.width as i64]);
    Ok(Batch { images, labels: Tensor::from_slice(&labels) })
}

/// Reads a prepared batch (`images` f32 \[N,3,H,W\], `labels` integer \[N\]) from a
/// safetensors file and takes its first `batch_size` samples.
///
/// Errors: unreadable file; a missing tensor; images of another dtype than float32 or
/// labels of a non-integer dtype; other shapes; fewer than `batch_size` samples.
pub fn load_safetensors_batch(p: &Path, batch_size: usize) -> Result<Batch> {
    let ts = Tensor::read_safetensors(p).with_context(|| format!("cannot read '{}' as safetensors", p.display()))?;
    let m: std::collections::HashMap<String, Tensor> = ts.into_iter().collect();
    let images = m.get("images").ok_or_else(|| anyhow::anyhow!("'{}' has no tensor 'images'", p.display()))?;
    let labels = m.get("labels").ok_or_else(|| anyhow::anyhow!("'{}' has no tensor 'labels'", p.display()))?;
    // The documented format; a cast would change meaning silently (raw 0-255 bytes
    // scored as normalised values, fractional labels truncated).
    if images.kind() != tch::Kind::Float {
        bail!(
            "'{}': 'images' is {:?}, but a prepared batch holds float32 images, already normalised (convert with .float() after normalising)",
            p.display(),
            images.kind()
        );
    }
    use tch::Kind::{Int, Int16, Int64, Int8, Uint8};
    if !matches!(labels.kind(), Int64 | Int | Int16 | Int8 | Uint8) {
        bail!(
            "'{}': 'labels' is {:?}, but a prepared batch holds integer class labels (int64)",
            p.display(),
            labels.kind()
        );
    }
    if images.dim() != 4 || images.size()[1] != 3 {
        bail!("'{}': 'images' must be [N,3,H,W], found {:?}", p.display(), images.size());
    }
    let n = images.size()[0];
    if labels.size() != [n] {
        bail!("'{}': 'labels' must be [{n}], found {:?}", p.display(), labels.size());
    }
    if batch_size as i64 > n || batch_size == 0 {
        bail!("'{}' holds {n} images, cannot take a batch of {batch_size}", p.display());
    }
    let b = batch_size as i64;
    Ok(Batch {
        images: images.to_kind(tch::Kind::Float).narrow(0, 0, b),
        labels: labels.to_kind(tch::Kind::Int64).narrow(0, 0, b),
    })
}

/// A random batch for spaces without real data here (e.g. ImageNet-sized mbv2): images
/// N(0,1) [n, 3, res, res] and labels uniform in 0..classes, from libtorch's generator
/// seeded with `seed`.
pub fn random_batch(n: usize, res: i64, classes: i64, seed: u64) -> Batch {
    tch::manual_seed(seed as i64);
    let images = Tensor::randn([n as i64, 3, res, res], (tch::Kind::Float, tch::Device::Cpu));
    let labels = Tensor::randint(classes, [n as i64], (tch::Kind::Int64, tch::Device::Cpu));
    Batch { images, labels }
}
