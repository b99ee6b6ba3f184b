//! Readers for the CIFAR-10 and CIFAR-100 "python version" files
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>): `cifar-10-batches-py/data_batch_1..5`,
//! `test_batch` and `cifar-100-python/train`, `test`.
//!
//! Each file is a Python 2 `cPickle` of a dict (keys are Python 2 `str`, i.e. `b'data'` under
//! Python 3): `data`, a `uint8` numpy array [N, 3072] whose rows are 1,024 red, 1,024 green,
//! 1,024 blue bytes (row-major 32×32 planes, the same layout as the binary format);
//! `labels` (CIFAR-10, a list of N ints 0–9) or `fine_labels` (0–99) and `coarse_labels`
//! (0–19) for CIFAR-100; plus `batch_label` and `filenames`, which are not used. Pickles
//! re-saved by Python 3 (`str` keys, protocols 2–5) read the same way. The pickle container
//! is decoded by [`crate::data::pickle`] without Python.

use super::cifar10::{RawImages, CIFAR10_CLASSES, CIFAR_PIXELS, CIFAR_SIDE};
use super::cifar100::Cifar100Labels;
use super::dataset::Dataset;
use super::folder::natural_cmp;
use super::pickle::{read_pickle_dict, PickleDict};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Pixel bytes per image row of an ImageNet16 pickle (3 × 16 × 16), to recognise one.
const IMAGENET16_ROW: usize = 3 * 16 * 16;

/// What a data-set pickle holds, judged by its keys and row width: `fine_labels` →
/// CIFAR-100; `data` rows of 768 bytes (3×16×16) → ImageNet16 (downsampled ImageNet);
/// otherwise CIFAR-10 (whose reader then checks the rest).
pub fn pickle_dataset(d: &PickleDict) -> Dataset {
    if d.has("fine_labels") {
        Dataset::Cifar100
    } else if d.array_shape("data").is_some_and(|s| s.len() == 2 && s[1] == IMAGENET16_ROW) {
        Dataset::ImageNet16_120
    } else {
        Dataset::Cifar10
    }
}

/// Takes `data` as a [N, 3072] `uint8` matrix. Errors name the file and the shape found,
/// and say "looks like ImageNet16" for rows of 768 bytes.
fn take_cifar_pixels(d: &mut PickleDict, what: &str) -> Result<(usize, Vec<u8>)> {
    let name = d.name.clone();
    let (n, cols, data) = d.take_u8_matrix("data")?;
    if cols != CIFAR_PIXELS {
        if cols == IMAGENET16_ROW {
            bail!(
                "{name}: rows of {cols} bytes are 3x16x16 images: this looks like ImageNet16 (downsampled \
                 ImageNet), not {what} (3,072-byte rows)"
            );
        }
        bail!("{name}: {what} 'data' must have 3,072 bytes per row (3x32x32), found [{n}, {cols}]");
    }
    Ok((n, data))
}

/// Checks the labels of the pickle key `key` (`noun` in messages about one label).
fn check_labels(name: &str, key: &str, noun: &str, labels: &[i64], n: usize, classes: usize) -> Result<Vec<u8>> {
    if labels.len() != n {
        bail!("{name}: '{key}' has {} entries for {n} images", labels.len());
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if l < 0 || l as usize >= classes {
                bail!("{name}: image {i} has {noun} {l}, expected 0-{}", classes - 1);
            }
            Ok(l as u8)
        })
        .collect()
}

/// Interprets a parsed pickle as CIFAR-10.
///
/// Errors: a CIFAR-100 pickle ("looks like CIFAR-100 (it has fine_labels)"), an ImageNet16
/// one, a 32×32 downsampled-ImageNet one (keys `data`, `labels`, `mean`, labels above 9), a
/// missing key, a shape other than [N, 3072], labels outside 0–9 or of another count.
pub fn cifar10_from_pickle(mut d: PickleDict) -> Result<RawImages> {
    let name = d.name.clone();
    if d.has("fine_labels") {
        bail!("{name} looks like CIFAR-100 (it has fine_labels and coarse_labels), not CIFAR-10");
    }
    let (n, pixels) = take_cifar_pixels(&mut d, "CIFAR-10")?;
    let labels = d.take_ints("labels")?;
    if d.has("mean") && labels.iter().any(|&l| !(0..10).contains(&l)) {
        bail!(
            "{name} looks like a downsampled-ImageNet 32x32 batch (keys data, labels, mean; labels up to {}), not \
             CIFAR-10; of the downsampled ImageNets only the 16x16 one (ImageNet16) is supported",
            labels.iter().max().copied().unwrap_or(0)
        );
    }
    let labels = check_labels(&name, "labels", "label", &labels, n, 10)?;
    let class_names = CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect();
    Ok(RawImages { n, height: CIFAR_SIDE, width: CIFAR_SIDE, pixels, labels, class_names })
}

/// Interprets a parsed pickle as CIFAR-100 with the fine (default) or coarse labels.
///
/// Errors: a CIFAR-10 pickle ("looks like CIFAR-10 (it has labels, no fine_labels)"), an
/// ImageNet16 one, a missing key, a shape other than [N, 3072], labels out of range or of
/// another count than the images (the unused one of `fine_labels` / `coarse_labels`
/// too, when present).
pub fn cifar100_from_pickle(mut d: PickleDict, which: Cifar100Labels) -> Result<RawImages> {
    let name = d.name.clone();
    if !d.has("fine_labels") && d.has("labels") {
        let (_, cols, _) = d.take_u8_matrix("data").unwrap_or((0, 0, Vec::new()));
        if cols == IMAGENET16_ROW {
            bail!("{name} looks like ImageNet16 (rows of 768 bytes = 3x16x16), not CIFAR-100");
        }
        bail!("{name} looks like CIFAR-10 (it has labels, no fine_labels), not CIFAR-100");
    }
    let (n, pixels) = take_cifar_pixels(&mut d, "CIFAR-100")?;
    let key_of = |w: Cifar100Labels| match w {
        Cifar100Labels::Fine => ("fine_labels", "fine label"),
        Cifar100Labels::Coarse => ("coarse_labels", "coarse label"),
    };
    let (key, short) = key_of(which);
    let labels = d.take_ints(key)?;
    let labels = check_labels(&name, key, short, &labels, n, which.num_classes())?;
    // The other label list goes unused, but a count or range that does not fit the
    // images means a damaged file: refused as well.
    let other = if which == Cifar100Labels::Fine { Cifar100Labels::Coarse } else { Cifar100Labels::Fine };
    let (other_key, other_short) = key_of(other);
    if d.has(other_key) {
        let o = d.take_ints(other_key)?;
        check_labels(&name, other_key, other_short, &o, n, other.num_classes())?;
    }
    Ok(RawImages { n, height: CIFAR_SIDE, width: CIFAR_SIDE, pixels, labels, class_names: which.class_names() })
}

fn read_dict(path: &Path) -> Result<PickleDict> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_pickle_dict(&bytes, &path.display().to_string())
}

/// Reads one CIFAR-10 python-version file (`data_batch_<k>`, `test_batch`).
///
/// Errors: unreadable file; not a pickle (naming the file); see [`cifar10_from_pickle`].
pub fn read_cifar10_pickle(path: impl AsRef<Path>) -> Result<RawImages> {
    cifar10_from_pickle(read_dict(path.as_ref())?)
}

/// Reads one CIFAR-100 python-version file (`train`, `test`).
///
/// Errors: unreadable file; not a pickle (naming the file); see [`cifar100_from_pickle`].
pub fn read_cifar100_pickle(path: impl AsRef<Path>, labels: Cifar100Labels) -> Result<RawImages> {
    cifar100_from_pickle(read_dict(path.as_ref())?, labels)
}

/// The pickle files of a CIFAR python-version folder, in reading order:
/// `data_batch_<k>` in numeric order of `k` if any (the CIFAR-10 training set; `test_batch`
/// is then not included), else `test_batch` (CIFAR-10), else `train` (CIFAR-100), else
/// `test` (CIFAR-100). Returns the files and the data set they belong to, or `None` if the
/// folder holds none of these names.
pub fn cifar_pickle_dir_files(dir: impl AsRef<Path>) -> Result<Option<(Dataset, Vec<PathBuf>)>> {
    let dir = dir.as_ref();
    let mut batches: Vec<(String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let e = e.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let is_batch =
            name.strip_prefix("data_batch_").is_some_and(|k| !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()));
        if is_batch && e.path().is_file() {
            batches.push((name, e.path()));
        }
    }
    if !batches.is_empty() {
        batches.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        return Ok(Some((Dataset::Cifar10, batches.into_iter().map(|(_, p)| p).collect())));
    }
    for (file, ds) in [("test_batch", Dataset::Cifar10), ("train", Dataset::Cifar100), ("test", Dataset::Cifar100)] {
        let p = dir.join(file);
        if p.is_file() {
            return Ok(Some((ds, vec![p])));
        }
    }
    Ok(None)
}

/// Reads a CIFAR python-version folder (`cifar-10-batches-py` or `cifar-100-python`, see
/// [`cifar_pickle_dir_files`]), concatenating the files. CIFAR-100 uses `labels`.
///
/// Errors: a folder with none of the expected files; any error of the per-file readers.
pub fn read_cifar_pickle_dir(dir: impl AsRef<Path>, labels: Cifar100Labels) -> Result<(Dataset, RawImages)> {
    let dir = dir.as_ref();
    let Some((ds, files)) = cifar_pickle_dir_files(dir)? else {
        bail!("{} holds no CIFAR python-version files (data_batch_<k>, test_batch, train, test)", dir.display());
    };
    let mut out: Option<RawImages> = None;
    for f in files {
        let part = match ds {
            Dataset::Cifar100 => read_cifar100_pickle(&f, labels)?,
            _ => read_cifar10_pickle(&f)?,
        };
        match out.as_mut() {
            None => out = Some(part),
            Some(acc) => acc.extend(part)?,
        }
    }
    Ok((ds, out.expect("at least one file")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cifar10::read_cifar10_bin;

    /// A count error names the pickle's key; a range error names one label.
    #[test]
    fn label_errors_name_the_key_of_the_file() {
        let e = check_labels("f", "labels", "label", &[0, 1], 3, 10).unwrap_err().to_string();
        assert_eq!(e, "f: 'labels' has 2 entries for 3 images");
        let e = check_labels("f", "fine_labels", "fine label", &[0, 100], 2, 100).unwrap_err().to_string();
        assert_eq!(e, "f: image 1 has fine label 100, expected 0-99");
    }

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pickle").join(rel)
    }

    #[test]
    fn cifar10_python_matches_the_binary_records_shared_data() {
        // The fixtures hold the first 8 training and 3 test images of the shared binary
        // files (tests/fixtures/pickle/README.md): decoding must give the same bytes.
        let train = read_cifar10_bin(crate::data::shared_data_file("cifar10/train_4000.bin")).unwrap();
        let test = read_cifar10_bin(crate::data::shared_data_file("cifar10/test_1000.bin")).unwrap();
        let r = read_cifar10_pickle(fixture("cifar-10-batches-py/data_batch_1")).unwrap();
        assert_eq!((r.n, r.height, r.width), (5, 32, 32));
        assert_eq!(r.labels, vec![6, 9, 9, 4, 1]);
        assert_eq!(r.pixels, train.pixels[..5 * 3072]);
        assert_eq!(r.class_names[6], "frog");
        for p in ["py3/cifar10_data_batch_1_protocol4", "py3/cifar10_data_batch_1_protocol5"] {
            assert_eq!(read_cifar10_pickle(fixture(p)).unwrap(), r, "{p}");
        }
        let t = read_cifar10_pickle(fixture("cifar-10-batches-py/test_batch")).unwrap();
        assert_eq!(t.labels, vec![3, 8, 8]);
        assert_eq!(t.pixels, test.pixels[..3 * 3072]);
        // The folder: data_batch_1 then data_batch_2, not test_batch.
        let (ds, all) = read_cifar_pickle_dir(fixture("cifar-10-batches-py"), Cifar100Labels::Fine).unwrap();
        assert_eq!(ds, Dataset::Cifar10);
        assert_eq!(all.n, 8);
        assert_eq!(all.labels, train.labels[..8]);
        assert_eq!(all.pixels, train.pixels[..8 * 3072]);
    }

    /// Pixel (image i, channel c, row y, column x) of the pattern fixtures:
    /// (offset + 37 i + 11 c + 3 y + x) mod 256.
    pub(crate) fn pattern(offset: usize, i: usize, c: usize, y: usize, x: usize) -> u8 {
        ((offset + 37 * i + 11 * c + 3 * y + x) % 256) as u8
    }

    #[test]
    fn cifar100_python() {
        let r = read_cifar100_pickle(fixture("cifar-100-python/train"), Cifar100Labels::Fine).unwrap();
        assert_eq!((r.n, r.height, r.width), (4, 32, 32));
        assert_eq!(r.labels, vec![19, 29, 0, 99]);
        assert_eq!(r.class_names.len(), 100);
        for (i, c, y, x) in [(0, 0, 0, 0), (1, 2, 31, 5), (3, 1, 7, 31)] {
            assert_eq!(r.image(i).unwrap()[c * 1024 + y * 32 + x], pattern(0, i, c, y, x), "{i} {c} {y} {x}");
        }
        let c = read_cifar100_pickle(fixture("cifar-100-python/train"), Cifar100Labels::Coarse).unwrap();
        assert_eq!(c.labels, vec![11, 15, 4, 19]);
        assert_eq!(c.class_names.len(), 20);
        let (ds, t) = read_cifar_pickle_dir(fixture("cifar-100-python"), Cifar100Labels::Fine).unwrap();
        assert_eq!((ds, t.n), (Dataset::Cifar100, 4), "the folder reads train, not test");
        let t = read_cifar100_pickle(fixture("cifar-100-python/test"), Cifar100Labels::Fine).unwrap();
        assert_eq!(t.labels, vec![49, 33, 72]);
        // The unused label list is checked too: a count or a range that does not fit.
        let bytes = std::fs::read(fixture("cifar-100-python/train")).unwrap();
        for (used, other, bad, msg) in [
            (Cifar100Labels::Fine, "coarse_labels", vec![1, 2, 3], "f: 'coarse_labels' has 3 entries for 4 images"),
            (Cifar100Labels::Fine, "coarse_labels", vec![1, 2, 3, 20], "f: image 3 has coarse label 20, expected 0-19"),
            (Cifar100Labels::Coarse, "fine_labels", vec![1, 2, 3, 4, 5], "f: 'fine_labels' has 5 entries for 4 images"),
        ] {
            let mut d = read_pickle_dict(&bytes, "f").unwrap();
            d.insert(other, serde_pickle::Value::List(bad.into_iter().map(serde_pickle::Value::I64).collect()));
            assert_eq!(cifar100_from_pickle(d, used).unwrap_err().to_string(), msg);
        }
        assert_eq!(t.image(2).unwrap()[2048 + 32 + 1], pattern(100, 2, 2, 1, 1));
    }

    #[test]
    fn wrong_formats_are_named_shared_data() {
        let c100 = fixture("cifar-100-python/train");
        let e = read_cifar10_pickle(&c100).unwrap_err().to_string();
        assert!(e.contains("cifar-100-python/train") && e.contains("looks like CIFAR-100"), "{e}");
        let c10 = fixture("cifar-10-batches-py/data_batch_1");
        let e = read_cifar100_pickle(&c10, Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("data_batch_1") && e.contains("looks like CIFAR-10"), "{e}");
        let i16 = fixture("ImageNet16/val_data");
        let e = read_cifar10_pickle(&i16).unwrap_err().to_string();
        assert!(e.contains("val_data") && e.contains("looks like ImageNet16"), "{e}");
        let e = read_cifar100_pickle(&i16, Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("looks like ImageNet16"), "{e}");
        let i32 = fixture("py3/imagenet32_train_data_batch_1");
        let e = read_cifar10_pickle(&i32).unwrap_err().to_string();
        assert!(e.contains("looks like a downsampled-ImageNet 32x32 batch") && e.contains("labels up to 700"), "{e}");
        // A binary CIFAR-10 file, a CSV and a truncated pickle.
        let bin = crate::data::shared_data_file("cifar10/test_1000.bin");
        let e = read_cifar10_pickle(&bin).unwrap_err().to_string();
        assert!(e.contains("test_1000.bin is not a Python pickle"), "{e}");
        let e = read_cifar10_pickle(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap_err();
        assert!(e.to_string().contains("Cargo.toml is not a Python pickle"), "{e}");
        let bytes = std::fs::read(&c10).unwrap();
        let e = cifar10_from_pickle_bytes(&bytes[..bytes.len() / 2], "half").unwrap_err().to_string();
        assert!(e.contains("half is truncated"), "{e}");
        let e = read_cifar10_pickle("/nonexistent/data_batch_1").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/data_batch_1"), "{e}");
        let e = read_cifar_pickle_dir(fixture("ImageNet16"), Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("no CIFAR python-version files"), "{e}");
    }

    fn cifar10_from_pickle_bytes(b: &[u8], name: &str) -> Result<RawImages> {
        cifar10_from_pickle(read_pickle_dict(b, name)?)
    }

    #[test]
    fn detects_the_dataset_of_a_pickle() {
        for (rel, ds) in [
            ("cifar-10-batches-py/test_batch", Dataset::Cifar10),
            ("py3/cifar10_data_batch_1_protocol4", Dataset::Cifar10),
            ("cifar-100-python/test", Dataset::Cifar100),
            ("ImageNet16/val_data", Dataset::ImageNet16_120),
            ("ImageNet16/train_data_batch_2", Dataset::ImageNet16_120),
        ] {
            assert_eq!(pickle_dataset(&read_dict(&fixture(rel)).unwrap()), ds, "{rel}");
        }
    }
}
