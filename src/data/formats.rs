//! Recognising the format of a `--data` path and reading it into [`RawImages`]: the file
//! and folder layouts users keep CIFAR-10, CIFAR-100 and ImageNet16-120 in.
//!
//! | path | format |
//! |---|---|
//! | file starting with a pickle header (`80 02`..`80 05`) | CIFAR-10 / CIFAR-100 python version or ImageNet16, told apart by the dict's keys and row width ([`crate::data::cifar_python::pickle_dataset`]) |
//! | other file | CIFAR-10 binary (3,073-byte records) or CIFAR-100 binary (3,074-byte records), by size (a file that fits both is read as `--dataset` says, else as CIFAR-100 only when named `train.bin`/`test.bin`) |
//! | folder with `*.bin` files | CIFAR-10 binary (`data_batch_<k>.bin`, or all `.bin`), or CIFAR-100 binary when it has a `train.bin`/`test.bin` of 3,074-byte records (by the rule of a single file) |
//! | folder with `data_batch_<k>` / `test_batch` / `train` / `test` | CIFAR-10 or CIFAR-100 python version ([`crate::data::cifar_python::cifar_pickle_dir_files`]) |
//! | folder with `train_data_batch_<k>` / `val_data` | ImageNet16 ([`crate::data::imagenet16::imagenet16_dir_files`]) |
//! | any other folder | image folder of same-size images (`root/<class>/<image>`, [`crate::data::folder`]) |
//!
//! ImageNet-style folders of photographs of any size are a separate, explicit mode:
//! [`crate::data::imagenet_folder`].

use super::cifar10::{read_cifar10_bytes, read_cifar10_path, RawImages, CIFAR100_RECORD, CIFAR_RECORD};
use super::cifar100::{read_cifar100_bytes, read_cifar100_path, Cifar100Labels};
use super::cifar_python::{
    cifar100_from_pickle, cifar10_from_pickle, cifar_pickle_dir_files, pickle_dataset, read_cifar_pickle_dir,
};
use super::dataset::Dataset;
use super::folder::{is_image_file, read_image_folder};
use super::imagenet16::{imagenet16_dir_files, imagenet16_from_pickle, read_imagenet16_path, IMAGENET16_120_CLASSES};
use super::pickle::{is_pickle, read_pickle_dict};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The format a path was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// The embedded first 1,000 CIFAR-10 training images (binary format).
    Embedded,
    /// CIFAR-10 binary version (3,073-byte records).
    Cifar10Bin,
    /// CIFAR-100 binary version (3,074-byte records).
    Cifar100Bin,
    /// CIFAR-10 python version (pickles).
    Cifar10Pickle,
    /// CIFAR-100 python version (pickles).
    Cifar100Pickle,
    /// ImageNet16 (downsampled ImageNet 16×16 pickles).
    ImageNet16Pickle,
    /// A folder of same-size images, one sub-folder per class.
    ImageFolder,
}

impl DataFormat {
    /// The NAS-Bench-201 data set the format belongs to; `None` for an image folder.
    pub fn dataset(self) -> Option<Dataset> {
        match self {
            DataFormat::Embedded | DataFormat::Cifar10Bin | DataFormat::Cifar10Pickle => Some(Dataset::Cifar10),
            DataFormat::Cifar100Bin | DataFormat::Cifar100Pickle => Some(Dataset::Cifar100),
            DataFormat::ImageNet16Pickle => Some(Dataset::ImageNet16_120),
            DataFormat::ImageFolder => None,
        }
    }

    /// A short description, e.g. "CIFAR-100 binary (3,074-byte records)".
    pub fn describe(self) -> &'static str {
        match self {
            DataFormat::Embedded => "embedded CIFAR-10 (first 1,000 training images)",
            DataFormat::Cifar10Bin => "CIFAR-10 binary (3,073-byte records)",
            DataFormat::Cifar100Bin => "CIFAR-100 binary (3,074-byte records)",
            DataFormat::Cifar10Pickle => "CIFAR-10 python version (pickle)",
            DataFormat::Cifar100Pickle => "CIFAR-100 python version (pickle)",
            DataFormat::ImageNet16Pickle => "ImageNet16 (downsampled ImageNet pickle)",
            DataFormat::ImageFolder => "image folder",
        }
    }
}

/// Choices that some formats need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// CIFAR-100: fine (default) or coarse labels.
    pub cifar100_labels: Cifar100Labels,
    /// ImageNet16: keep the images of the 1-based classes `1..=imagenet16_classes`
    /// (default 120, ImageNet16-120).
    pub imagenet16_classes: usize,
    /// The data set expected (a command's `--dataset`), if any: it settles a CIFAR binary
    /// whose size fits both record sizes (a multiple of 3,073 × 3,074 bytes).
    pub dataset: Option<Dataset>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { cifar100_labels: Cifar100Labels::Fine, imagenet16_classes: IMAGENET16_120_CLASSES, dataset: None }
    }
}

fn is_named(p: &Path, names: &[&str]) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| names.contains(&n))
}

/// How a CIFAR binary file `p` whose size fits both record sizes is read: as the data set
/// expected when one is (`--dataset`), else as CIFAR-100 when named `train.bin`/`test.bin`
/// (CIFAR-100's file names), as CIFAR-10 otherwise.
fn ambiguous_size_is_cifar100(p: &Path, expected: Option<Dataset>) -> bool {
    match expected {
        Some(d) => d == Dataset::Cifar100,
        None => is_named(p, &["train.bin", "test.bin"]),
    }
}

/// Reads one data file of any supported format (see the module table).
///
/// Errors: unreadable file; a single image (give its folder); any error of the reader
/// chosen, which names the file and, for a file of the wrong kind, what it looks like.
pub fn read_data_file(p: &Path, opts: &ReadOptions) -> Result<(RawImages, DataFormat)> {
    if is_image_file(p) {
        bail!("data path {} is a single image; give the folder of class sub-folders instead", p.display());
    }
    let bytes = std::fs::read(p).with_context(|| format!("cannot read data file {}", p.display()))?;
    let name = p.display().to_string();
    if is_pickle(&bytes) {
        let d = read_pickle_dict(&bytes, &name)?;
        drop(bytes);
        return Ok(match pickle_dataset(&d) {
            Dataset::Cifar100 => (cifar100_from_pickle(d, opts.cifar100_labels)?, DataFormat::Cifar100Pickle),
            Dataset::ImageNet16_120 => {
                (imagenet16_from_pickle(d, opts.imagenet16_classes)?, DataFormat::ImageNet16Pickle)
            }
            Dataset::Cifar10 => (cifar10_from_pickle(d)?, DataFormat::Cifar10Pickle),
        });
    }
    let len = bytes.len();
    let c10 = len > 0 && len.is_multiple_of(CIFAR_RECORD);
    let c100 = len > 0 && len.is_multiple_of(CIFAR100_RECORD);
    if len > 0 && !c10 && !c100 {
        bail!(
            "data file {name}: {len} bytes fit neither CIFAR-10's 3,073-byte nor CIFAR-100's 3,074-byte records (truncated, or not a CIFAR binary file)"
        );
    }
    if c100 && (!c10 || ambiguous_size_is_cifar100(p, opts.dataset)) {
        Ok((read_cifar100_bytes(&bytes, &name, opts.cifar100_labels)?, DataFormat::Cifar100Bin))
    } else {
        Ok((read_cifar10_bytes(&bytes, &name)?, DataFormat::Cifar10Bin))
    }
}

/// Reads a data folder of any supported layout (see the module table).
///
/// Errors: unlistable folder; any error of the reader chosen.
pub fn read_data_dir(p: &Path, opts: &ReadOptions) -> Result<(RawImages, DataFormat)> {
    let mut bins = Vec::new();
    for e in std::fs::read_dir(p).with_context(|| format!("cannot list data folder '{}'", p.display()))? {
        let path = e.with_context(|| format!("cannot list data folder '{}'", p.display()))?.path();
        if path.extension().is_some_and(|x| x == "bin") {
            bins.push(path);
        }
    }
    if !bins.is_empty() {
        let has_batches =
            bins.iter().any(|b| b.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("data_batch_")));
        // The rule of a single file (read_data_file) for its train.bin/test.bin.
        let c100 = !has_batches
            && ["train.bin", "test.bin"].iter().any(|f| {
                let f = p.join(f);
                std::fs::metadata(&f).is_ok_and(|m| {
                    let l = m.len() as usize;
                    m.is_file()
                        && l > 0
                        && l.is_multiple_of(CIFAR100_RECORD)
                        && (!l.is_multiple_of(CIFAR_RECORD) || ambiguous_size_is_cifar100(&f, opts.dataset))
                })
            });
        return if c100 {
            Ok((read_cifar100_path(p, opts.cifar100_labels)?, DataFormat::Cifar100Bin))
        } else {
            Ok((read_cifar10_path(p)?, DataFormat::Cifar10Bin))
        };
    }
    if cifar_pickle_dir_files(p)?.is_some() {
        let (ds, raw) = read_cifar_pickle_dir(p, opts.cifar100_labels)?;
        let f = if ds == Dataset::Cifar100 { DataFormat::Cifar100Pickle } else { DataFormat::Cifar10Pickle };
        return Ok((raw, f));
    }
    if imagenet16_dir_files(p)?.is_some() {
        return Ok((read_imagenet16_path(p, opts.imagenet16_classes)?, DataFormat::ImageNet16Pickle));
    }
    Ok((read_image_folder(p, None)?, DataFormat::ImageFolder))
}

/// Reads a data file or folder of any supported format.
///
/// Errors: a path that does not exist, or that is neither a regular file nor a folder
/// (naming it); see [`read_data_file`] and [`read_data_dir`].
pub fn read_data_path(p: &Path, opts: &ReadOptions) -> Result<(RawImages, DataFormat)> {
    if !p.exists() {
        bail!("data path '{}' does not exist", p.display());
    }
    if p.is_file() {
        read_data_file(p, opts)
    } else if p.is_dir() {
        read_data_dir(p, opts)
    } else {
        // A device, FIFO or socket: reading it could block or never end.
        bail!("data path '{}' is neither a regular file nor a folder", p.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
    }

    #[test]
    fn every_format_is_recognised_shared_data() {
        let o = ReadOptions::default();
        let cases = [
            ("pickle/cifar-10-batches-py/data_batch_1", DataFormat::Cifar10Pickle, 5),
            ("pickle/cifar-10-batches-py", DataFormat::Cifar10Pickle, 8),
            ("pickle/py3/cifar10_data_batch_1_protocol5", DataFormat::Cifar10Pickle, 5),
            ("pickle/cifar-100-python/test", DataFormat::Cifar100Pickle, 3),
            ("pickle/cifar-100-python", DataFormat::Cifar100Pickle, 4),
            ("pickle/ImageNet16/val_data", DataFormat::ImageNet16Pickle, 3),
            ("pickle/ImageNet16", DataFormat::ImageNet16Pickle, 5),
        ];
        for (rel, f, n) in cases {
            let (r, got) = read_data_path(&fixture(rel), &o).unwrap();
            assert_eq!((got, r.n), (f, n), "{rel}");
        }
        let (r, f) = read_data_path(&crate::data::shared_data_file("cifar10/test_1000.bin"), &o).unwrap();
        assert_eq!((f, r.n, f.dataset()), (DataFormat::Cifar10Bin, 1000, Some(Dataset::Cifar10)));
        // CIFAR-100 binary, as a file and as the official folder.
        let d = std::env::temp_dir().join(format!("zsnas_formats_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let mut b = Vec::new();
        for (c, fi) in [(4u8, 30u8), (17, 80)] {
            b.extend([c, fi]);
            b.extend(vec![fi; 3072]);
        }
        std::fs::write(d.join("train.bin"), &b).unwrap();
        std::fs::write(d.join("fine_label_names.txt"), "apple\n").unwrap();
        for p in [d.join("train.bin"), d.clone()] {
            let (r, f) = read_data_path(&p, &o).unwrap();
            assert_eq!((f, r.labels.clone()), (DataFormat::Cifar100Bin, vec![30, 80]), "{}", p.display());
        }
        let coarse = ReadOptions { cifar100_labels: Cifar100Labels::Coarse, ..o };
        assert_eq!(read_data_path(&d, &coarse).unwrap().0.labels, vec![4, 17]);
        let e = read_data_path(&fixture("imagenet_like/photos/cat/chelsea.jpg"), &o).unwrap_err().to_string();
        assert!(e.contains("single image"), "{e}");
        let e = read_data_path(&d.join("none"), &o).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A CIFAR-100 binary of 3,073 records has a size that also fits 3,074 CIFAR-10
    /// records: `--dataset` settles it, as a file and as a folder; a size that fits neither
    /// is named as such.
    #[test]
    fn a_size_that_fits_both_record_sizes_is_read_as_the_dataset_says() {
        let d = tempfile::tempdir().unwrap();
        let mut b = Vec::with_capacity(CIFAR_RECORD * CIFAR100_RECORD);
        for i in 0..CIFAR_RECORD {
            b.extend([3u8, 72 + (i % 20) as u8]);
            b.extend(std::iter::repeat_n((i % 251) as u8, 3072));
        }
        let file = d.path().join("sub.bin");
        std::fs::write(&file, &b).unwrap();
        let dir = d.path().join("c100");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("train.bin"), &b).unwrap();
        let c100 = ReadOptions { dataset: Some(Dataset::Cifar100), ..ReadOptions::default() };
        for p in [&file, &dir] {
            let (r, f) = read_data_path(p, &c100).unwrap();
            assert_eq!((f, r.n, r.labels[0]), (DataFormat::Cifar100Bin, CIFAR_RECORD, 72), "{}", p.display());
        }
        // Without --dataset the folder's train.bin follows the single file's naming rule,
        // and another name is read as CIFAR-10 (here failing on its label bytes).
        assert_eq!(read_data_path(&dir, &ReadOptions::default()).unwrap().1, DataFormat::Cifar100Bin);
        let e = read_data_path(&file, &ReadOptions::default()).unwrap_err().to_string();
        assert!(e.starts_with("CIFAR-10 input") && e.contains("expected 0-9"), "{e}");
        std::fs::write(&file, &b[..CIFAR100_RECORD * 2 - 5]).unwrap();
        for o in [c100, ReadOptions::default()] {
            let e = read_data_path(&file, &o).unwrap_err().to_string();
            assert!(
                e.contains("6143 bytes fit neither CIFAR-10's 3,073-byte nor CIFAR-100's 3,074-byte records"),
                "{e}"
            );
        }
    }
}
