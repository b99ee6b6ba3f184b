//! Training checkpoints: one safetensors file, written atomically (temporary file, fsync,
//! rename), holding everything a resumed run needs to continue as if never stopped:
//!
//! * tensors `model.<name>`: every parameter and BatchNorm buffer (state-dict names);
//! * tensors `momentum.<name>`: the SGD momentum buffers that exist;
//! * the safetensors metadata entry `zsnas_checkpoint`: JSON with the format version, the
//!   number of finished epochs, the global step count (the scheduler's position), the
//!   data generator's state (ChaCha8 seed, stream and word position), the best test
//!   accuracy so far with its epoch, and the settings (recipe and run fields) that a
//!   resumed run must match.

use anyhow::{anyhow, bail, Context, Result};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Format version of [`CheckpointMeta`].
pub const CHECKPOINT_VERSION: u32 = 1;

/// The state of a ChaCha8 generator: seed, stream and position (in 32-bit words).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, hex.
    pub seed: String,
    /// The stream id.
    pub stream: u64,
    /// The word position (a u128, as a decimal string).
    pub word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &ChaCha8Rng) -> RngState {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator in this state. Errors on a malformed seed or position.
    pub fn restore(&self) -> Result<ChaCha8Rng> {
        use rand::SeedableRng;
        if self.seed.len() != 64 {
            bail!("checkpoint: generator seed must be 64 hex digits");
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16)
                .map_err(|_| anyhow!("checkpoint: generator seed is not hex"))?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse::<u128>().map_err(|_| anyhow!("checkpoint: bad generator position"))?);
        Ok(rng)
    }
}

/// The checkpoint's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// Epochs finished (1-based count; the next epoch to run is `epoch + 1`).
    pub epoch: usize,
    /// SGD steps taken so far.
    pub step: u64,
    /// The data generator after the last finished epoch.
    pub rng: RngState,
    /// Best test accuracy (%) so far and its epoch, when a test set is evaluated.
    pub best: Option<(f64, usize)>,
    /// The settings the run must keep (field name → value).
    pub settings: BTreeMap<String, serde_json::Value>,
}

impl CheckpointMeta {
    /// Errors naming the first setting whose value differs between this checkpoint and
    /// `current` (or that only one of them has); a differing `train_md5`/`test_md5` is
    /// named as other training/test images.
    pub fn check_settings(&self, current: &BTreeMap<String, serde_json::Value>) -> Result<()> {
        for (k, v) in current {
            match self.settings.get(k) {
                None => bail!("the checkpoint was made without setting '{k}' (now {v}); use another --output folder"),
                Some(old) if old != v && k.ends_with("_md5") => bail!(
                    "cannot resume: the {} images are not the checkpoint's (md5 {v} now, {old} then); give the original {} or use another --output folder",
                    k.trim_end_matches("_md5"),
                    if k.starts_with("test") { "--test-data" } else { "--data" }
                ),
                Some(old) if old != v => bail!(
                    "cannot resume: setting '{k}' is {v} now but was {old} in the checkpoint; run with the original value or use another --output folder"
                ),
                _ => {}
            }
        }
        if let Some(k) = self.settings.keys().find(|k| !current.contains_key(*k)) {
            bail!("cannot resume: the checkpoint has setting '{k}', which this run does not");
        }
        Ok(())
    }
}

/// A tensor copied to the CPU for safetensors serialisation.
struct CpuTensor {
    dtype: safetensors::Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl CpuTensor {
    fn new(t: &Tensor) -> Result<CpuTensor> {
        let t = t.detach().to_device(Device::Cpu).contiguous();
        let (dtype, size) = match t.kind() {
            Kind::Float => (safetensors::Dtype::F32, 4),
            Kind::Double => (safetensors::Dtype::F64, 8),
            Kind::Int64 => (safetensors::Dtype::I64, 8),
            k => bail!("checkpoint: unsupported dtype {k:?}"),
        };
        let n = t.numel();
        let mut data = vec![0u8; n * size];
        t.copy_data_u8(&mut data, n);
        Ok(CpuTensor { dtype, shape: t.size().iter().map(|&d| d as usize).collect(), data })
    }
}

impl safetensors::View for &CpuTensor {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Writes `bytes` to `path` atomically: `<path>.tmp`, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot create '{}'", tmp.display()))?;
        f.write_all(bytes).with_context(|| format!("cannot write '{}'", tmp.display()))?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move '{}' to '{}'", tmp.display(), path.display()))?;
    Ok(())
}

/// Serialises named tensors (with optional string metadata) to safetensors bytes.
pub fn safetensors_bytes(tensors: &[(String, Tensor)], meta: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    let cpu: Vec<(String, CpuTensor)> =
        tensors.iter().map(|(k, t)| CpuTensor::new(t).map(|c| (k.clone(), c))).collect::<Result<_>>()?;
    let views: Vec<(&str, &CpuTensor)> = cpu.iter().map(|(k, c)| (k.as_str(), c)).collect();
    safetensors::serialize(views, &meta).map_err(|e| anyhow!("safetensors: {e}"))
}

/// Saves a checkpoint: `model` (parameters and buffers), the momentum `buffers` (named as
/// their parameters), and `meta`, atomically to `path`.
pub fn save(
    path: &Path,
    model: &[(String, Tensor)],
    buffers: &[(String, Tensor)],
    meta: &CheckpointMeta,
) -> Result<()> {
    let mut all: Vec<(String, Tensor)> = model.iter().map(|(k, t)| (format!("model.{k}"), t.shallow_clone())).collect();
    all.extend(buffers.iter().map(|(k, t)| (format!("momentum.{k}"), t.shallow_clone())));
    let mut m = HashMap::new();
    m.insert("zsnas_checkpoint".to_string(), serde_json::to_string(meta)?);
    write_atomic(path, &safetensors_bytes(&all, Some(m))?)
}

/// A loaded checkpoint.
pub struct Checkpoint {
    /// Its metadata.
    pub meta: CheckpointMeta,
    /// `model.*` tensors without the prefix (CPU).
    pub model: HashMap<String, Tensor>,
    /// `momentum.*` tensors without the prefix (CPU).
    pub momentum: HashMap<String, Tensor>,
}

/// Reads a checkpoint written by [`save`]. Errors: unreadable file, not safetensors, no
/// or malformed `zsnas_checkpoint` metadata, another format version.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint '{}'", path.display()))?;
    let (_, md) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow!("checkpoint '{}' is not a safetensors file: {e}", path.display()))?;
    let text = md.metadata().as_ref().and_then(|m| m.get("zsnas_checkpoint")).ok_or_else(|| {
        anyhow!("'{}' is not a zsnas training checkpoint (no zsnas_checkpoint metadata)", path.display())
    })?;
    let meta: CheckpointMeta =
        serde_json::from_str(text).with_context(|| format!("checkpoint '{}': malformed metadata", path.display()))?;
    if meta.version != CHECKPOINT_VERSION {
        bail!(
            "checkpoint '{}' has format version {}, this zsnas reads {CHECKPOINT_VERSION}",
            path.display(),
            meta.version
        );
    }
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow!("checkpoint '{}' is not a safetensors file: {e}", path.display()))?;
    let mut model = HashMap::new();
    let mut momentum = HashMap::new();
    for (name, view) in st.tensors() {
        let kind = match view.dtype() {
            safetensors::Dtype::F32 => Kind::Float,
            safetensors::Dtype::F64 => Kind::Double,
            safetensors::Dtype::I64 => Kind::Int64,
            d => bail!("checkpoint '{}': tensor '{name}' has unsupported dtype {d:?}", path.display()),
        };
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind)?;
        if let Some(k) = name.strip_prefix("model.") {
            model.insert(k.to_string(), t);
        } else if let Some(k) = name.strip_prefix("momentum.") {
            momentum.insert(k.to_string(), t);
        }
    }
    Ok(Checkpoint { meta, model, momentum })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};

    #[test]
    fn rng_state_round_trip() {
        let mut a = ChaCha8Rng::seed_from_u64(42);
        for _ in 0..37 {
            a.next_u32();
        }
        let s = RngState::of(&a);
        let mut b = s.restore().unwrap();
        assert_eq!(
            (0..10).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..10).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
        let bad = RngState { seed: "zz".repeat(32), ..s };
        assert!(bad.restore().is_err());
    }

    #[test]
    fn save_load_and_settings() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let w = Tensor::from_slice(&[1.5f32, -2.0, 3.25]).view([3, 1]);
        let mut settings = BTreeMap::new();
        settings.insert("lr".to_string(), serde_json::json!(0.1));
        settings.insert("arch".to_string(), serde_json::json!("x"));
        let meta = CheckpointMeta {
            version: CHECKPOINT_VERSION,
            epoch: 2,
            step: 126,
            rng: RngState::of(&ChaCha8Rng::seed_from_u64(1)),
            best: Some((41.5, 2)),
            settings: settings.clone(),
        };
        save(&p, &[("a.weight".into(), w.shallow_clone())], &[("a.weight".into(), &w * 2.0)], &meta).unwrap();
        assert!(!dir.path().join("c.safetensors.tmp").exists());
        let c = load(&p).unwrap();
        assert_eq!(c.meta, meta);
        assert!(c.model["a.weight"].equal(&w));
        assert!(c.momentum["a.weight"].equal(&(&w * 2.0)));
        c.meta.check_settings(&settings).unwrap();
        let mut other = settings.clone();
        other.insert("lr".into(), serde_json::json!(0.2));
        let e = c.meta.check_settings(&other).unwrap_err().to_string();
        assert!(e.contains("'lr'") && e.contains("0.2") && e.contains("0.1"), "{e}");
        let mut fewer = settings.clone();
        fewer.remove("arch");
        assert!(c.meta.check_settings(&fewer).unwrap_err().to_string().contains("'arch'"));
        // A plain weights file is not a checkpoint.
        let q = dir.path().join("w.safetensors");
        std::fs::write(&q, safetensors_bytes(&[("w".into(), w)], None).unwrap()).unwrap();
        assert!(load(&q).err().unwrap().to_string().contains("not a zsnas training checkpoint"));
    }
}
