//! Turning a `--data` argument into a [`Batch`]: CIFAR-10 binary files or folders, image
//! folders, prepared safetensors batches, or the embedded default (the first 1,000
//! CIFAR-10 training images, official binary format).

use super::batch::Batch;
use super::cifar10::{read_cifar10_bytes, read_cifar10_path, RawImages};
use super::folder::read_image_folder;
use super::transform::{augment, choose_batch, cifar10_mean_std, normalize_image_into};
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
    /// A path: `.safetensors` batch, CIFAR-10 `.bin` file or folder of them, or image folder.
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

/// Reads raw images from `src` (not for safetensors batches).
pub fn read_raw(src: &DataSource) -> Result<RawImages> {
    match src {
        DataSource::Embedded => embedded_cifar10(),
        DataSource::Path(p) => {
            if !p.exists() {
                bail!("data path '{}' does not exist", p.display());
            }
            if p.is_file() {
                return read_cifar10_path(p);
            }
            let has_bin = std::fs::read_dir(p)
                .with_context(|| format!("cannot list data folder '{}'", p.display()))?
                .filter_map(|e| e.ok())
                .any(|e| e.path().extension().map(|x| x == "bin").unwrap_or(false));
            if has_bin {
                read_cifar10_path(p)
            } else {
                read_image_folder(p, None)
            }
        }
    }
}

/// Loads one batch: a prepared safetensors batch as is (`images` f32 [N,3,H,W] already
/// normalised, `labels` i64 [N]; its first `batch_size` samples), otherwise a seeded
/// choice of `batch_size` images normalised with the CIFAR-10 mean/std.
pub fn load_batch(src: &DataSource, spec: &BatchSpec) -> Result<Batch> {
    if let DataSource::Path(p) = src {
        if is_safetensors(p) {
            return load_safetensors_batch(p, spec.batch_size);
        }
    }
    let raw = read_raw(src)?;
    let idx = choose_batch(raw.n, spec.batch_size, spec.seed)
        .with_context(|| format!("cannot draw a batch of {} from {}", spec.batch_size, src.describe()))?;
    let (mean, std) = cifar10_mean_std();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed ^ 0xA5A5_5A5A);
    let mut data = Vec::with_capacity(idx.len() * raw.image_len());
    let mut labels = Vec::with_capacity(idx.len());
    for &i in &idx {
        let img = raw.image(i).context("image index out of range")?;
        if spec.augment {
            let a = augment(img, raw.height, raw.width, &mut rng)?;
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

/// Reads a prepared batch (`images`, `labels`) from a safetensors file.
pub fn load_safetensors_batch(p: &Path, batch_size: usize) -> Result<Batch> {
    let ts = Tensor::read_safetensors(p).with_context(|| format!("cannot read '{}' as safetensors", p.display()))?;
    let m: std::collections::HashMap<String, Tensor> = ts.into_iter().collect();
    let images = m.get("images").ok_or_else(|| anyhow::anyhow!("'{}' has no tensor 'images'", p.display()))?;
    let labels = m.get("labels").ok_or_else(|| anyhow::anyhow!("'{}' has no tensor 'labels'", p.display()))?;
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
