//! Reader for the official CIFAR-100 binary format
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>, "CIFAR-100 binary version":
//! `cifar-100-binary/train.bin` with 50,000 records, `test.bin` with 10,000).
//!
//! Each record is 3,074 bytes: the coarse label byte (0–19), the fine label byte (0–99),
//! then 1,024 red, 1,024 green and 1,024 blue bytes, each plane row-major 32×32. Files are a
//! plain concatenation of records with no header. The CIFAR-10 binary format differs only by
//! having one label byte (3,073-byte records); each reader recognises the other's files.

use super::cifar10::{RawImages, CIFAR100_RECORD, CIFAR_PIXELS, CIFAR_RECORD, CIFAR_SIDE};
use super::pickle::is_pickle;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The 100 fine class names, in label order 0..=99 (the `fine_label_names` of the
/// official `meta` file / `fine_label_names.txt`).
pub const CIFAR100_FINE_CLASSES: [&str; 100] = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
];

/// The 20 coarse class (superclass) names, in label order 0..=19.
pub const CIFAR100_COARSE_CLASSES: [&str; 20] = [
    "aquatic_mammals",
    "fish",
    "flowers",
    "food_containers",
    "fruit_and_vegetables",
    "household_electrical_devices",
    "household_furniture",
    "insects",
    "large_carnivores",
    "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores",
    "medium_mammals",
    "non-insect_invertebrates",
    "people",
    "reptiles",
    "small_mammals",
    "trees",
    "vehicles_1",
    "vehicles_2",
];

/// Which CIFAR-100 label to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Cifar100Labels {
    /// The 100 fine classes (default; what NAS-Bench-201 trains on).
    #[default]
    Fine,
    /// The 20 coarse superclasses.
    Coarse,
}

impl Cifar100Labels {
    /// Number of classes: 100 or 20.
    pub fn num_classes(self) -> usize {
        match self {
            Cifar100Labels::Fine => 100,
            Cifar100Labels::Coarse => 20,
        }
    }

    /// The class names in label order.
    pub fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            Cifar100Labels::Fine => &CIFAR100_FINE_CLASSES,
            Cifar100Labels::Coarse => &CIFAR100_COARSE_CLASSES,
        };
        names.iter().map(|s| s.to_string()).collect()
    }
}

/// Parses CIFAR-100 binary records from memory; `name` is used only in error messages.
/// Returns 32×32 images labelled with the fine (or coarse) classes and their names.
///
/// Errors: empty input; a Python pickle ("looks like the CIFAR-100 python version");
/// a length that is not a multiple of 3,074 — with "looks like CIFAR-10 (3,073-byte
/// records)" when it is a multiple of 3,073, else "truncated"; a coarse label byte above
/// 19 or a fine one above 99 (naming the record).
pub fn read_cifar100_bytes(bytes: &[u8], name: &str, labels: Cifar100Labels) -> Result<RawImages> {
    if bytes.is_empty() {
        bail!("CIFAR-100 input {name} is empty (0 bytes)");
    }
    if is_pickle(bytes) {
        bail!(
            "CIFAR-100 input {name} is a Python pickle, not the binary format: it looks like the CIFAR-100 \
             \"python version\" (read it as such)"
        );
    }
    if !bytes.len().is_multiple_of(CIFAR100_RECORD) {
        if bytes.len().is_multiple_of(CIFAR_RECORD) {
            bail!(
                "CIFAR-100 input {name} looks like CIFAR-10 (3,073-byte records): {} bytes is {} records of 3,073 \
                 bytes, not a multiple of the 3,074-byte CIFAR-100 record",
                bytes.len(),
                bytes.len() / CIFAR_RECORD
            );
        }
        bail!(
            "CIFAR-100 input {name} is truncated: {} bytes is not a multiple of the {}-byte record",
            bytes.len(),
            CIFAR100_RECORD
        );
    }
    let n = bytes.len() / CIFAR100_RECORD;
    let mut pixels = Vec::with_capacity(n * CIFAR_PIXELS);
    let mut out = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(CIFAR100_RECORD).enumerate() {
        let (coarse, fine) = (rec[0], rec[1]);
        if coarse > 19 || fine > 99 {
            bail!(
                "CIFAR-100 input {name}: record {i} (byte offset {}) has label bytes coarse {coarse}, fine {fine}; \
                 expected 0-19 and 0-99",
                i * CIFAR100_RECORD
            );
        }
        out.push(match labels {
            Cifar100Labels::Fine => fine,
            Cifar100Labels::Coarse => coarse,
        });
        pixels.extend_from_slice(&rec[2..]);
    }
    Ok(RawImages { n, height: CIFAR_SIDE, width: CIFAR_SIDE, pixels, labels: out, class_names: labels.class_names() })
}

/// Reads one CIFAR-100 binary file (`train.bin`, `test.bin`).
///
/// Errors: the file cannot be read (naming it), or any error of [`read_cifar100_bytes`].
pub fn read_cifar100_bin(path: impl AsRef<Path>, labels: Cifar100Labels) -> Result<RawImages> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read CIFAR-100 binary file {}", path.display()))?;
    read_cifar100_bytes(&bytes, &path.display().to_string(), labels)
}

/// The files a directory read uses: `train.bin` if present, else every `*.bin` in sorted
/// name order (e.g. a folder with only `test.bin`).
///
/// Errors: the folder cannot be listed or has no `.bin` file.
pub fn cifar100_dir_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let train = dir.join("train.bin");
    if train.is_file() {
        return Ok(vec![train]);
    }
    let mut bins: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list CIFAR-100 directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("bin")))
        .collect();
    bins.sort();
    if bins.is_empty() {
        bail!("CIFAR-100 directory {} contains no .bin files", dir.display());
    }
    Ok(bins)
}

/// Reads CIFAR-100 from a binary file or from a directory such as the official
/// `cifar-100-binary` (see [`cifar100_dir_files`]; images concatenated in that order).
///
/// Errors: path missing, or any error of [`read_cifar100_bin`].
pub fn read_cifar100_path(path: impl AsRef<Path>, labels: Cifar100Labels) -> Result<RawImages> {
    let path = path.as_ref();
    if !path.exists() {
        bail!("CIFAR-100 path {} does not exist", path.display());
    }
    if !path.is_dir() {
        return read_cifar100_bin(path, labels);
    }
    let mut out: Option<RawImages> = None;
    for f in cifar100_dir_files(path)? {
        let part = read_cifar100_bin(&f, labels)?;
        match out.as_mut() {
            None => out = Some(part),
            Some(acc) => acc.extend(part)?,
        }
    }
    out.with_context(|| format!("CIFAR-100 directory {} contains no .bin files", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cifar10::read_cifar10_bytes;

    /// A CIFAR-100 record with pixel value `(k + 7 * fine) % 256` at pixel byte `k`.
    pub(crate) fn record(coarse: u8, fine: u8) -> Vec<u8> {
        let mut r = vec![coarse, fine];
        r.extend((0..CIFAR_PIXELS).map(|k| ((k + 7 * fine as usize) % 256) as u8));
        r
    }

    #[test]
    fn class_names() {
        assert_eq!(CIFAR100_FINE_CLASSES.len(), 100);
        let mut sorted = CIFAR100_FINE_CLASSES.to_vec();
        sorted.sort();
        assert_eq!(sorted, CIFAR100_FINE_CLASSES.to_vec(), "fine names are in alphabetical (label) order");
        assert_eq!((CIFAR100_FINE_CLASSES[19], CIFAR100_FINE_CLASSES[99]), ("cattle", "worm"));
        assert_eq!(CIFAR100_COARSE_CLASSES[11], "large_omnivores_and_herbivores");
    }

    #[test]
    fn parses_records_fine_and_coarse() {
        let mut b = record(11, 19);
        b.extend(record(19, 99));
        b.extend(record(4, 0));
        let r = read_cifar100_bytes(&b, "mem", Cifar100Labels::default()).unwrap();
        assert_eq!((r.n, r.height, r.width), (3, 32, 32));
        assert_eq!(r.labels, vec![19, 99, 0]);
        assert_eq!(r.class_names.len(), 100);
        assert_eq!(r.class_names[19], "cattle");
        // Pixels: record 1's byte k is (k + 693) % 256; check R, G and B planes.
        let im = r.image(1).unwrap();
        assert_eq!(
            (im[0], im[1024], im[2048 + 5]),
            ((693 % 256) as u8, ((1024 + 693) % 256) as u8, ((2053 + 693) % 256) as u8)
        );
        let c = read_cifar100_bytes(&b, "mem", Cifar100Labels::Coarse).unwrap();
        assert_eq!(c.labels, vec![11, 19, 4]);
        assert_eq!(c.class_names.len(), 20);
        assert_eq!(c.pixels, r.pixels);
    }

    #[test]
    fn recognises_the_other_format() {
        // Three CIFAR-100 records given to the CIFAR-10 reader, and vice versa.
        let mut c100 = record(1, 2);
        c100.extend(record(3, 4));
        c100.extend(record(5, 6));
        let e = read_cifar10_bytes(&c100, "train.bin").unwrap_err().to_string();
        assert!(e.contains("train.bin") && e.contains("looks like CIFAR-100 (3,074-byte records)"), "{e}");
        let mut c10 = vec![3u8];
        c10.extend(vec![0u8; CIFAR_PIXELS]);
        let e = read_cifar100_bytes(&c10, "data_batch_1.bin", Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("data_batch_1.bin") && e.contains("looks like CIFAR-10 (3,073-byte records)"), "{e}");
        let e = read_cifar100_bytes(&c100[..c100.len() - 1], "cut.bin", Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("cut.bin is truncated"), "{e}");
        let mut bad = record(20, 1);
        bad.extend(record(1, 100));
        let e = read_cifar100_bytes(&bad, "bad.bin", Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("record 0") && e.contains("coarse 20"), "{e}");
        let e = read_cifar100_bytes(&bad[CIFAR100_RECORD..], "bad.bin", Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("fine 100"), "{e}");
        let e = read_cifar100_bytes(b"\x80\x02}q\x00.", "p", Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("Python pickle"), "{e}");
        assert!(read_cifar100_bytes(&[], "e", Cifar100Labels::Fine).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn directory_reads_train_bin() {
        let d = std::env::temp_dir().join(format!("zsnas_c100_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("test.bin"), record(0, 50)).unwrap();
        let r = read_cifar100_path(&d, Cifar100Labels::Fine).unwrap();
        assert_eq!(r.labels, vec![50]);
        let mut t = record(1, 7);
        t.extend(record(2, 8));
        std::fs::write(d.join("train.bin"), t).unwrap();
        assert_eq!(read_cifar100_path(&d, Cifar100Labels::Fine).unwrap().labels, vec![7, 8]);
        assert_eq!(cifar100_dir_files(&d).unwrap(), vec![d.join("train.bin")]);
        let e = read_cifar100_path(d.join("nope"), Cifar100Labels::Fine).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
