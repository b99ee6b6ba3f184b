//! Provenance of a result line: the scoring setup an architecture's scores depend on,
//! besides the architecture itself, and the zsnas version that wrote the line.
//!
//! Every line of `zsnas score --output` and `zsnas search --history` carries a
//! [`ScoringSetup`] under `"setup"` and the version under `"version"`. Resuming a file,
//! completing it, or reusing it as `search --scores` compares the setup of each line with
//! the run's own ([`ScoringSetup::check_same`]); a difference is an error naming the field
//! and both values. Scores of one architecture depend on exactly these fields (and on the
//! thread count only within the per-proxy tolerances of [`crate::proxy::Proxy::thread_rtol`]).

use crate::data::batch::Batch;
use anyhow::{bail, Result};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The zsnas version that writes the lines (`CARGO_PKG_VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What an architecture's scores depend on besides the architecture: the batch (where it
/// came from and a hash of its content as used), the network head, the initialisation
/// seed, loaded weights and the device type. Keys are written in alphabetical order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringSetup {
    /// `--augment`: the batch was augmented (random crop with padding 4, flip).
    pub augment: bool,
    /// md5 (hex, 32 digits) of the batch as the networks saw it: the f32 images (NCHW,
    /// after normalisation and augmentation, little-endian) followed by the i64 labels.
    pub batch_md5: String,
    /// Batch size N (images per batch).
    pub batch_size: usize,
    /// Where the images came from: the `--data` path as given, `"embedded"` (the embedded
    /// CIFAR-10 images) or `"random"` (a seeded Gaussian batch, mbv2 without `--data`).
    /// Setups that differ only here, with equal `batch_md5`, are the same setup.
    pub data: String,
    /// `--dataset` (`cifar10`, `cifar100`, `imagenet16-120`) when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// Device type: `"cpu"` or `"cuda"`.
    pub device: String,
    /// Classes of the network head.
    pub num_classes: i64,
    /// Side of the batch's images in pixels (32 for CIFAR, 16 for ImageNet16, 224 for
    /// photos unless `--resolution`).
    pub resolution: u64,
    /// Seed of the batch choice and of each architecture's initialisation (`score
    /// --seed`, `search --score-seed`).
    pub seed: u64,
    /// The safetensors weights loaded instead of a fresh initialisation, when given (the
    /// path as given; with equal `weights_md5`, another path is the same setup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// md5 (32 hex digits) of the weights file's bytes, with `weights`: other weights
    /// written to the same path are another setup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_md5: Option<String>,
}

impl ScoringSetup {
    /// md5 (32 hex digits) of a batch's content: images as f32 then labels as i64, both
    /// contiguous, little-endian, copied to the CPU.
    pub fn batch_md5(batch: &Batch) -> String {
        let mut h = Md5::new();
        let images = batch.images.to_device(tch::Device::Cpu).to_kind(tch::Kind::Float).contiguous().flatten(0, -1);
        let labels = batch.labels.to_device(tch::Device::Cpu).to_kind(tch::Kind::Int64).contiguous();
        let xs: Vec<f32> = Vec::<f32>::try_from(&images).unwrap_or_default();
        let ys: Vec<i64> = Vec::<i64>::try_from(&labels).unwrap_or_default();
        h.update(xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>());
        h.update(ys.iter().flat_map(|y| y.to_le_bytes()).collect::<Vec<u8>>());
        hex(&h.finalize())
    }

    /// md5 (32 hex digits) of a file's bytes. Errors: the file does not exist or cannot be
    /// read (naming the path).
    pub fn file_md5(path: &std::path::Path) -> Result<String> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!("{} does not exist", path.display()),
            _ => anyhow::anyhow!("{}: cannot read it: {e}", path.display()),
        })?;
        Ok(hex(&Md5::digest(&bytes)))
    }

    /// A fixed setup for unit tests (CIFAR-10 embedded batch of 64, seed 0).
    #[cfg(test)]
    pub(crate) fn example() -> ScoringSetup {
        ScoringSetup {
            augment: false,
            batch_md5: "00".repeat(16),
            batch_size: 64,
            data: "embedded".into(),
            dataset: None,
            device: "cpu".into(),
            num_classes: 10,
            resolution: 32,
            seed: 0,
            weights: None,
            weights_md5: None,
        }
    }

    /// Checks that a line written with setup `old` (at `origin`, `file:line`) may be
    /// reused by a run whose setup is `self`. Errors: the first field that differs (in
    /// alphabetical order, `batch_md5` last: same flags, other images),
    /// naming it and both values, e.g. `f.jsonl:3: scored with batch_size 8, but this run
    /// has batch_size 16: use the same flags, or another output file`.
    pub fn check_same(&self, old: &ScoringSetup, origin: &str, remedy: &str) -> Result<()> {
        match old.first_difference(self) {
            Some((k, x, y)) => bail!("{origin}: scored with {k} {x}, but this run has {k} {y}: {remedy}"),
            None => Ok(()),
        }
    }

    /// The first field in which `self` and `other` differ, as `(field, value in self, value
    /// in other)` for messages (absent values as "(none)"), in [`ScoringSetup::check_same`]'s
    /// order; `None` when they are equal.
    pub fn first_difference(&self, other: &ScoringSetup) -> Option<(String, String, String)> {
        let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (serde_json::to_value(self), serde_json::to_value(other))
        else {
            unreachable!("a struct of strings and numbers serialises to an object")
        };
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        // The flags first, the batch hash (which every flag changes) last.
        keys.sort_by_key(|k| (k.as_str() == "batch_md5", k.as_str()));
        keys.dedup();
        // A path is only where the content came from: the same batch (weights) read
        // through another spelling of the path (relative, absolute, another node's mount)
        // is the same setup when the md5s of the content agree.
        let same_content = |md5: &str| a.get(md5).is_some_and(|x| !x.is_null() && Some(x) == b.get(md5));
        keys.into_iter().filter(|k| !(k.as_str() == "data" && same_content("batch_md5"))).find_map(|k| {
            if k.as_str() == "weights" && same_content("weights_md5") {
                return None;
            }
            let (x, y) = (a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null));
            (x != y).then(|| (k.clone(), show(x), show(y)))
        })
    }

    /// Whether scores made with `self` and with `other` are the same scores: no field
    /// differs ([`ScoringSetup::first_difference`]), the paths `data` and `weights` aside
    /// when the md5s of their content agree.
    pub fn same_as(&self, other: &ScoringSetup) -> bool {
        self.first_difference(other).is_none()
    }
}

/// Lower-case hex digits of `bytes` (an md5 digest: 32 digits).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A setup value for messages: strings unquoted, absent as "(none)".
fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> ScoringSetup {
        ScoringSetup::example()
    }

    #[test]
    fn a_difference_names_the_field_and_both_values() {
        let a = setup();
        assert!(a.check_same(&a.clone(), "f:1", "r").is_ok());
        let b = ScoringSetup { batch_size: 8, ..setup() };
        let e = a.check_same(&b, "f.jsonl:3", "use the same flags").unwrap_err().to_string();
        assert_eq!(e, "f.jsonl:3: scored with batch_size 8, but this run has batch_size 64: use the same flags");
        let c = ScoringSetup { dataset: Some("cifar100".into()), ..setup() };
        let e = a.check_same(&c, "f:1", "r").unwrap_err().to_string();
        assert!(e.contains("dataset cifar100, but this run has dataset (none)"), "{e}");
    }

    #[test]
    fn another_spelling_of_a_path_with_the_same_content_is_the_same_setup() {
        let a = ScoringSetup { data: "bin/h100.bin".into(), ..setup() };
        let b = ScoringSetup { data: "/abs/bin/h100.bin".into(), ..setup() };
        assert!(a.same_as(&b) && a.check_same(&b, "f:1", "r").is_ok());
        // Other content under another path: the path is named first.
        let c = ScoringSetup { batch_md5: "11".repeat(16), ..b.clone() };
        assert_eq!(a.first_difference(&c).unwrap(), ("data".into(), "bin/h100.bin".into(), "/abs/bin/h100.bin".into()));
        let w = |path: &str, md5: &str| ScoringSetup {
            weights: Some(path.into()),
            weights_md5: Some(md5.into()),
            ..setup()
        };
        assert!(w("w.safetensors", "ab").same_as(&w("./w.safetensors", "ab")));
        assert_eq!(w("w.safetensors", "ab").first_difference(&w("./w.safetensors", "cd")).unwrap().0, "weights");
        assert_eq!(w("w.safetensors", "ab").first_difference(&w("w.safetensors", "cd")).unwrap().0, "weights_md5");
    }

    #[test]
    fn keys_are_alphabetical_and_round_trip() {
        let s = serde_json::to_string(&setup()).unwrap();
        assert!(s.starts_with("{\"augment\":false,\"batch_md5\":"), "{s}");
        let back: ScoringSetup = serde_json::from_str(&s).unwrap();
        assert_eq!(back, setup());
    }

    #[test]
    fn the_hash_sees_every_pixel_and_label() {
        let b = Batch {
            images: tch::Tensor::zeros([2, 3, 4, 4], (tch::Kind::Float, tch::Device::Cpu)),
            labels: tch::Tensor::from_slice(&[0i64, 1]),
        };
        let h = ScoringSetup::batch_md5(&b);
        assert_eq!(h.len(), 32);
        let c = Batch { images: b.images.copy(), labels: tch::Tensor::from_slice(&[1i64, 0]) };
        assert_ne!(h, ScoringSetup::batch_md5(&c));
        let d = Batch { images: b.images.copy() + 1e-7, labels: b.labels.copy() };
        assert_ne!(h, ScoringSetup::batch_md5(&d));
    }
}
