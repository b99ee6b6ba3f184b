//! Reader for ImageNet16-120 as NAS-Bench-201 uses it: the 16×16 downsampled ImageNet of
//! Chrabaszcz, Loshchilov & Hutter ("A Downsampled Variant of ImageNet as an Alternative to
//! the CIFAR datasets", 2017), files `train_data_batch_1..10` and `val_data`.
//!
//! Each file is a Python pickle of a dict: `data`, a `uint8` numpy array [N, 768] whose rows
//! are 256 red, 256 green, 256 blue bytes (row-major 16×16 planes); `labels`, N ints,
//! 1-based over the 1,000 ImageNet classes; training batches also hold `mean` (unused).
//! Like NAS-Bench-201's `ImageNet16(root, train, transform, 120)` (xautodl
//! `datasets/DownsampledImageNet.py`), only the images with label 1..=120 are kept, and
//! labels become 0-based (0..=119); the full sets give 151,700 training and 6,000
//! validation images. The pickle container is decoded by [`crate::data::pickle`] without
//! Python.

use super::cifar10::RawImages;
use super::folder::natural_cmp;
use super::pickle::{read_pickle_dict, PickleDict};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Image side of ImageNet16 (pixels).
pub const IMAGENET16_SIDE: usize = 16;
/// Pixel bytes per ImageNet16 image (3 × 16 × 16).
pub const IMAGENET16_PIXELS: usize = 3 * IMAGENET16_SIDE * IMAGENET16_SIDE;
/// Classes kept by ImageNet16-120.
pub const IMAGENET16_120_CLASSES: usize = 120;

/// Interprets a parsed pickle as an ImageNet16 batch, keeping the images whose 1-based label
/// is in `1..=classes` (120 for ImageNet16-120; at most 255 so that labels fit a byte) and
/// returning them with 0-based labels. Class names are the original 1-based label numbers
/// (`"1"`, ..., `"120"`), since the files carry no names.
///
/// Errors: `classes` outside 1..=255; a CIFAR pickle ("looks like CIFAR-100 (it has
/// fine_labels)", or rows of 3,072 bytes: "looks like CIFAR-10 (or the 32x32 downsampled
/// ImageNet)"); `data` not [N, 768]
/// `uint8`; `labels` missing, of another length, or outside 1..=1000.
pub fn imagenet16_from_pickle(mut d: PickleDict, classes: usize) -> Result<RawImages> {
    let name = d.name.clone();
    if classes == 0 || classes > 255 {
        bail!("ImageNet16: keeping {classes} classes is not supported (1-255)");
    }
    if d.has("fine_labels") {
        bail!("{name} looks like CIFAR-100 (it has fine_labels), not ImageNet16");
    }
    let (n, cols, data) = d.take_u8_matrix("data")?;
    if cols != IMAGENET16_PIXELS {
        if cols == 3 * 32 * 32 {
            bail!(
                "{name}: rows of 3,072 bytes are 3x32x32 images: this looks like CIFAR-10 (or the 32x32 downsampled \
                 ImageNet), not ImageNet16 (768-byte rows)"
            );
        }
        bail!("{name}: ImageNet16 'data' must have 768 bytes per row (3x16x16), found [{n}, {cols}]");
    }
    let labels = d.take_ints("labels")?;
    if labels.len() != n {
        bail!("{name}: 'labels' has {} entries for {n} images", labels.len());
    }
    let mut pixels = Vec::new();
    let mut out = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        if !(1..=1000).contains(&l) {
            bail!("{name}: image {i} has label {l}, expected 1-1000 (1-based ImageNet classes)");
        }
        if l as usize <= classes {
            out.push((l - 1) as u8);
            pixels.extend_from_slice(&data[i * cols..(i + 1) * cols]);
        }
    }
    Ok(RawImages {
        n: out.len(),
        height: IMAGENET16_SIDE,
        width: IMAGENET16_SIDE,
        pixels,
        labels: out,
        class_names: (1..=classes).map(|k| k.to_string()).collect(),
    })
}

/// Reads one ImageNet16 pickle (`train_data_batch_<k>` or `val_data`), keeping `classes`
/// classes (see [`imagenet16_from_pickle`]).
///
/// Errors: unreadable file, not a pickle or truncated (naming the file), or any error of
/// [`imagenet16_from_pickle`].
pub fn read_imagenet16_pickle(path: impl AsRef<Path>, classes: usize) -> Result<RawImages> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    imagenet16_from_pickle(read_pickle_dict(&bytes, &path.display().to_string())?, classes)
}

/// The files a folder read uses: `train_data_batch_<k>` in numeric order of `k` if any
/// (the training set; `val_data` is then not included), else `val_data`; `None` if the
/// folder has neither.
pub fn imagenet16_dir_files(dir: impl AsRef<Path>) -> Result<Option<Vec<PathBuf>>> {
    let dir = dir.as_ref();
    let mut batches: Vec<(String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let e = e.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let ok = name
            .strip_prefix("train_data_batch_")
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()));
        if ok && e.path().is_file() {
            batches.push((name, e.path()));
        }
    }
    if !batches.is_empty() {
        batches.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        return Ok(Some(batches.into_iter().map(|(_, p)| p).collect()));
    }
    let val = dir.join("val_data");
    Ok(val.is_file().then(|| vec![val]))
}

/// Reads ImageNet16 from one pickle file or a folder (see [`imagenet16_dir_files`]),
/// keeping `classes` classes (120 for ImageNet16-120).
///
/// Errors: a missing path; a folder with neither `train_data_batch_<k>` nor `val_data`;
/// any error of [`read_imagenet16_pickle`].
pub fn read_imagenet16_path(path: impl AsRef<Path>, classes: usize) -> Result<RawImages> {
    let path = path.as_ref();
    if !path.exists() {
        bail!("ImageNet16 path {} does not exist", path.display());
    }
    if !path.is_dir() {
        return read_imagenet16_pickle(path, classes);
    }
    let Some(files) = imagenet16_dir_files(path)? else {
        bail!("ImageNet16 folder {} has neither train_data_batch_<k> nor val_data", path.display());
    };
    let mut out: Option<RawImages> = None;
    for f in files {
        let part = read_imagenet16_pickle(&f, classes)?;
        match out.as_mut() {
            None => out = Some(part),
            Some(acc) => acc.extend(part)?,
        }
    }
    Ok(out.expect("at least one file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pickle").join(rel)
    }

    /// Pixel of the pattern fixtures (tests/fixtures/pickle/README.md).
    fn pattern(offset: usize, i: usize, c: usize, y: usize, x: usize) -> u8 {
        ((offset + 37 * i + 11 * c + 3 * y + x) % 256) as u8
    }

    #[test]
    fn keeps_classes_1_to_120_zero_based() {
        // train_data_batch_1 labels [1, 120, 121, 500, 7, 1000]: images 0, 1, 4 are kept.
        let r = read_imagenet16_pickle(fixture("ImageNet16/train_data_batch_1"), 120).unwrap();
        assert_eq!((r.n, r.height, r.width), (3, 16, 16));
        assert_eq!(r.labels, vec![0, 119, 6]);
        assert_eq!(r.class_names.len(), 120);
        assert_eq!((r.class_names[0].as_str(), r.class_names[119].as_str()), ("1", "120"));
        for (k, src) in [(0usize, 0usize), (1, 1), (2, 4)] {
            let im = r.image(k).unwrap();
            for (c, y, x) in [(0, 0, 0), (1, 15, 3), (2, 7, 15)] {
                assert_eq!(im[c * 256 + y * 16 + x], pattern(7, src, c, y, x), "image {k} ({c},{y},{x})");
            }
        }
        // The folder: train_data_batch_1 then _2 (labels [60, 999, 2] -> 59, 1), not val_data.
        let all = read_imagenet16_path(fixture("ImageNet16"), 120).unwrap();
        assert_eq!(all.labels, vec![0, 119, 6, 59, 1]);
        assert_eq!(all.image(4).unwrap()[0], pattern(50, 2, 0, 0, 0));
        let v = read_imagenet16_pickle(fixture("ImageNet16/val_data"), 120).unwrap();
        assert_eq!(v.labels, vec![119, 2, 0]);
        // ImageNet16-200 would keep 121 as well.
        let r200 = read_imagenet16_pickle(fixture("ImageNet16/train_data_batch_1"), 200).unwrap();
        assert_eq!(r200.labels, vec![0, 119, 120, 6]);
    }

    #[test]
    fn wrong_formats_are_named() {
        let e = read_imagenet16_pickle(fixture("cifar-100-python/test"), 120).unwrap_err().to_string();
        assert!(e.contains("cifar-100-python/test looks like CIFAR-100"), "{e}");
        let e = read_imagenet16_pickle(fixture("cifar-10-batches-py/test_batch"), 120).unwrap_err().to_string();
        assert!(e.contains("test_batch") && e.contains("looks like CIFAR-10"), "{e}");
        let e = read_imagenet16_pickle(fixture("py3/imagenet32_train_data_batch_1"), 120).unwrap_err().to_string();
        assert!(e.contains("3x32x32") && e.contains("not ImageNet16"), "{e}");
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/nb201.csv.gz");
        let e = read_imagenet16_pickle(&p, 120).unwrap_err().to_string();
        assert!(e.contains("nb201.csv.gz is not a Python pickle") && e.contains("1f 8b"), "{e}");
        let bytes = std::fs::read(fixture("ImageNet16/val_data")).unwrap();
        let d = std::env::temp_dir().join(format!("zsnas_in16_{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("val_data"), &bytes[..bytes.len() - 100]).unwrap();
        let e = read_imagenet16_path(&d, 120).unwrap_err().to_string();
        assert!(e.contains("val_data is truncated"), "{e}");
        std::fs::remove_file(d.join("val_data")).unwrap();
        let e = read_imagenet16_path(&d, 120).unwrap_err().to_string();
        assert!(e.contains("neither train_data_batch_<k> nor val_data"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
        assert!(read_imagenet16_pickle(fixture("ImageNet16/val_data"), 0).is_err());
    }
}
