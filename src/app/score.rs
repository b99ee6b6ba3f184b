//! Scoring architectures: building the network for a space, loading or initialising its
//! weights, computing the requested proxies.

use crate::data::batch::Batch;
use crate::data::load::{load_batch, random_batch, BatchSpec, DataSource};
use crate::net::model::{Builder, Model};
use crate::net::nb201::Nb201Net;
use crate::net::weights::load_state_dict;
use crate::proxy::{compute, Proxy, ProxyOptions, Scores};
use crate::space::nb201::Nb201Arch;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use tch::Device;

/// The search spaces zsnas knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceKind {
    /// NAS-Bench-201 (CIFAR network, C=16, N=5).
    Nb201,
    /// NAS-Bench-101.
    Nb101,
    /// The MobileNetV2-like space.
    Mbv2,
}

impl SpaceKind {
    /// Parses `nb201`, `nb101` or `mbv2`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "nb201" | "nasbench201" | "nas-bench-201" => Ok(SpaceKind::Nb201),
            "nb101" | "nasbench101" | "nas-bench-101" => Ok(SpaceKind::Nb101),
            "mbv2" => Ok(SpaceKind::Mbv2),
            _ => bail!("unknown search space '{s}' (known: nb201, nb101, mbv2)"),
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            SpaceKind::Nb201 => "nb201",
            SpaceKind::Nb101 => "nb101",
            SpaceKind::Mbv2 => "mbv2",
        }
    }
}

/// Seed of an architecture's weight initialisation, derived from the run seed and the
/// architecture's canonical text (FNV-1a), so that evaluation order, sharding and
/// resumption never change a score.
pub fn arch_seed(run_seed: u64, arch_text: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ run_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in arch_text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h >> 1) as i64
}

/// Builder of the NAS-Bench-201 network of `arch` with `num_classes` outputs.
pub fn nb201_builder(arch: Nb201Arch, num_classes: i64) -> Builder {
    Rc::new(move |p| Box::new(Nb201Net::new(p, &arch, 16, 5, num_classes)))
}

/// Builds a model (fresh PyTorch-default init from `seed`, or weights from `weights`).
pub fn build_model(builder: Builder, device: Device, seed: i64, weights: Option<&Path>) -> Result<Model> {
    let mut m = Model::new(builder, device, seed);
    if let Some(w) = weights {
        load_state_dict(&mut m.vs, w)?;
    }
    Ok(m)
}

/// Scores one model on `batch`.
pub fn score_model(m: &Model, batch: &Batch, proxies: &[Proxy], opts: &ProxyOptions) -> Result<Scores> {
    compute(m, batch, proxies, opts)
}

/// Parses a device name: `cpu`, `cuda` or `cuda:N`. For CUDA, loads libtorch's CUDA
/// library (not linked by default, so that CPU-only installs work) and checks that a GPU
/// is visible.
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        _ if s == "cuda" || s.starts_with("cuda:") => {
            let idx: usize =
                if s == "cuda" { 0 } else { s[5..].parse().map_err(|_| anyhow::anyhow!("bad device '{s}'"))? };
            load_cuda();
            if !tch::Cuda::is_available() {
                bail!("--device {s}: no CUDA device is available (a CPU-only libtorch, or no GPU)");
            }
            Ok(Device::Cuda(idx))
        }
        _ => bail!("unknown device '{s}' (cpu, cuda, cuda:N)"),
    }
}

fn load_cuda() {
    // libtorch_cuda.so is dropped by the linker's --as-needed; load it at run time.
    let c = std::ffi::CString::new("libtorch_cuda.so").expect("no NUL in the name");
    // SAFETY: dlopen with a valid NUL-terminated name; a failure returns null, which the
    // CUDA availability check that follows reports as "no CUDA device".
    unsafe {
        libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
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
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Standard CIFAR augmentation of the batch (random crop with 4-pixel padding,
    /// horizontal flip).
    #[arg(long)]
    pub augment: bool,
    /// Number of classes of the network head (default: 10; 1,000 for mbv2).
    #[arg(long)]
    pub num_classes: Option<i64>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl Default for SetupArgs {
    fn default() -> Self {
        SetupArgs { data: None, batch_size: 64, augment: false, num_classes: None, device: "cpu".into() }
    }
}

impl SetupArgs {
    /// The head's class count for `space`: `--num-classes`, else 10 (1,000 for mbv2).
    pub fn num_classes(&self, space: SpaceKind) -> i64 {
        self.num_classes.unwrap_or(if space == SpaceKind::Mbv2 { 1000 } else { 10 })
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

    /// The device and the scoring batch on it, drawn with `seed`: `--data` (or the
    /// embedded CIFAR-10 images), or for mbv2 without `--data` a seeded random Gaussian
    /// batch of N×3×224×224 with random labels (a note on stderr says so).
    ///
    /// Errors: batch size 0, an unknown device, unreadable or malformed data.
    pub fn batch(&self, space: SpaceKind, seed: u64) -> Result<(Device, Batch)> {
        if self.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        let device = parse_device(&self.device)?;
        let batch = if self.random_data(space) {
            eprintln!(
                "note: no --data given for mbv2: using a random Gaussian batch of {} at 224x224 with random labels (seed {seed})",
                self.batch_size
            );
            random_batch(self.batch_size, 224, self.num_classes(space), seed)
        } else {
            load_batch(&self.source(), &BatchSpec { batch_size: self.batch_size, seed, augment: self.augment })?
        };
        Ok((device, batch.to_device(device)))
    }
}
