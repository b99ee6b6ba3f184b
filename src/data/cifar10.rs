//! Reader for the official CIFAR-10 binary format
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>, "binary version").
//!
//! Each record is 3,073 bytes: one label byte (0–9), then 1,024 red, 1,024
//! green and 1,024 blue bytes, each plane row-major 32×32. Files are a plain
//! concatenation of records with no header.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Image side length of CIFAR-10 (pixels).
pub const CIFAR_SIDE: usize = 32;
/// Bytes of pixel data per CIFAR-10 image (3 × 32 × 32).
pub const CIFAR_PIXELS: usize = 3 * CIFAR_SIDE * CIFAR_SIDE;
/// Bytes per record in the binary format (1 label byte + 3,072 pixel bytes).
pub const CIFAR_RECORD: usize = 1 + CIFAR_PIXELS;
/// Bytes per record in the CIFAR-100 binary format (coarse and fine label bytes + 3,072
/// pixel bytes). Here with CIFAR-10's layout, which it extends; CIFAR-10's reader uses it
/// to name a CIFAR-100 file given as CIFAR-10.
pub const CIFAR100_RECORD: usize = 2 + CIFAR_PIXELS;
/// The ten CIFAR-10 class names, in label order 0..=9.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// A batch of 8-bit RGB images with integer labels, held in memory.
///
/// Layout: `pixels` has `n * 3 * height * width` bytes; image `i` occupies
/// `pixels[i*3*H*W .. (i+1)*3*H*W]` as three planes (R, G, B) in that order,
/// each row-major `H × W` (i.e. CHW per image, NCHW overall). `labels[i]` is
/// the class index of image `i`, an index into `class_names`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawImages {
    /// Number of images N.
    pub n: usize,
    /// Image height H in pixels.
    pub height: usize,
    /// Image width W in pixels.
    pub width: usize,
    /// Pixel bytes, length N·3·H·W, CHW planes per image (0–255).
    pub pixels: Vec<u8>,
    /// Labels, length N, each `< class_names.len()`.
    pub labels: Vec<u8>,
    /// Class names indexed by label.
    pub class_names: Vec<String>,
}

impl RawImages {
    /// Bytes per image: 3 · H · W.
    pub fn image_len(&self) -> usize {
        3 * self.height * self.width
    }

    /// md5 (32 hex digits) of the images' content: the pixel bytes then the label bytes,
    /// as held (after any class subsetting or reading order of the source).
    pub fn md5(&self) -> String {
        use md5::{Digest, Md5};
        let mut h = Md5::new();
        h.update(&self.pixels);
        h.update(&self.labels);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Renumbers the labels by class name so that they index `classes` (a training set's
    /// class names), as a test set must be labelled for the network trained on that set.
    /// Errors: a class of these images is not in `classes`, naming it.
    pub fn relabel_like(&mut self, classes: &[String]) -> Result<()> {
        if self.class_names == classes {
            return Ok(());
        }
        let mut to = Vec::with_capacity(self.class_names.len());
        for name in &self.class_names {
            match classes.iter().position(|c| c == name) {
                Some(i) if i <= u8::MAX as usize => to.push(i as u8),
                _ => bail!("class '{name}' is not among the {} training classes", classes.len()),
            }
        }
        for y in &mut self.labels {
            *y = to[*y as usize];
        }
        self.class_names = classes.to_vec();
        Ok(())
    }

    /// The CHW bytes of image `i` (length 3·H·W), or `None` if `i >= n`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let len = self.image_len();
        if i >= self.n {
            return None;
        }
        self.pixels.get(i * len..(i + 1) * len)
    }

    /// Appends all images of `other`, which must have the same size and class
    /// names. Errors (naming both shapes) otherwise.
    pub fn extend(&mut self, other: RawImages) -> Result<()> {
        if other.height != self.height || other.width != self.width {
            bail!(
                "cannot concatenate images of size {}x{} with images of size {}x{}",
                other.height,
                other.width,
                self.height,
                self.width
            );
        }
        if other.class_names != self.class_names {
            bail!("cannot concatenate image sets with different class names");
        }
        self.n += other.n;
        self.pixels.extend_from_slice(&other.pixels);
        self.labels.extend_from_slice(&other.labels);
        Ok(())
    }
}

fn cifar_class_names() -> Vec<String> {
    CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect()
}

/// Parses CIFAR-10 binary records from memory (e.g. an embedded copy made
/// with `include_bytes!`). `name` is used only in error messages.
///
/// Returns 32×32 images with the ten CIFAR-10 class names.
///
/// Errors: empty input; a Python pickle (the "python version" of CIFAR); a
/// length that is not a multiple of 3,073 ("looks like CIFAR-100 (3,074-byte
/// records)" when it is a multiple of 3,074, else "truncated: N bytes is not a
/// multiple of the 3073-byte record"); a label byte greater than 9 (naming the
/// record index).
pub fn read_cifar10_bytes(bytes: &[u8], name: &str) -> Result<RawImages> {
    if bytes.is_empty() {
        bail!("CIFAR-10 input {name} is empty (0 bytes)");
    }
    if super::pickle::is_pickle(bytes) {
        bail!(
            "CIFAR-10 input {name} is a Python pickle, not the binary format: it looks like the CIFAR \"python \
             version\" (data_batch_1..5, test_batch)"
        );
    }
    if !bytes.len().is_multiple_of(CIFAR_RECORD) {
        if bytes.len().is_multiple_of(CIFAR100_RECORD) {
            bail!(
                "CIFAR-10 input {name} looks like CIFAR-100 (3,074-byte records): {} bytes is not a multiple of \
                 the {}-byte CIFAR-10 record but is {} records of a coarse and a fine label byte and 3,072 pixels",
                bytes.len(),
                CIFAR_RECORD,
                bytes.len() / CIFAR100_RECORD
            );
        }
        bail!(
            "CIFAR-10 input {name} is truncated: {} bytes is not a multiple of the {}-byte record",
            bytes.len(),
            CIFAR_RECORD
        );
    }
    let n = bytes.len() / CIFAR_RECORD;
    let mut pixels = Vec::with_capacity(n * CIFAR_PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(CIFAR_RECORD).enumerate() {
        let label = rec[0];
        if label > 9 {
            bail!(
                "CIFAR-10 input {name}: record {i} (byte offset {}) has label byte {label}, expected 0-9",
                i * CIFAR_RECORD
            );
        }
        labels.push(label);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok(RawImages { n, height: CIFAR_SIDE, width: CIFAR_SIDE, pixels, labels, class_names: cifar_class_names() })
}

/// Reads one CIFAR-10 binary file (e.g. `data_batch_1.bin`,
/// `test_batch.bin`, or the shared `train_4000.bin`).
///
/// Errors: the file cannot be read (naming the path), or any error of
/// [`read_cifar10_bytes`].
pub fn read_cifar10_bin(path: impl AsRef<Path>) -> Result<RawImages> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read CIFAR-10 binary file {}", path.display()))?;
    read_cifar10_bytes(&bytes, &path.display().to_string())
}

/// Numeric suffix of `data_batch_<k>.bin`, if the name has that form.
fn data_batch_number(name: &str) -> Option<u32> {
    name.strip_prefix("data_batch_")?.strip_suffix(".bin")?.parse().ok()
}

/// The `.bin` files a directory read would use, in reading order (see
/// [`read_cifar10_path`]).
pub fn cifar10_dir_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let mut batches: Vec<(u32, PathBuf)> = Vec::new();
    let mut bins: Vec<(String, PathBuf)> = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list CIFAR-10 directory {}", dir.display()))?;
    for e in entries {
        let e = e.with_context(|| format!("cannot list CIFAR-10 directory {}", dir.display()))?;
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(k) = data_batch_number(&name) {
            batches.push((k, p.clone()));
        }
        if name.to_ascii_lowercase().ends_with(".bin") {
            bins.push((name, p));
        }
    }
    let files: Vec<PathBuf> = if !batches.is_empty() {
        batches.sort();
        batches.into_iter().map(|(_, p)| p).collect()
    } else {
        bins.sort();
        bins.into_iter().map(|(_, p)| p).collect()
    };
    if files.is_empty() {
        bail!("CIFAR-10 directory {} contains no .bin files", dir.display());
    }
    Ok(files)
}

/// Reads CIFAR-10 from a single binary file or from a directory.
///
/// For a directory (e.g. the official `cifar-10-batches-bin`): if it holds
/// any `data_batch_<k>.bin` files, those are read in numeric order of `k`
/// (1..5 for the official training set; `test_batch.bin` is then *not*
/// included); otherwise every `*.bin` file is read in sorted file-name order
/// (e.g. a directory with only `test_batch.bin`). Images are concatenated.
///
/// Errors: path missing, directory without `.bin` files, or any error of
/// [`read_cifar10_bin`] for one of the files.
pub fn read_cifar10_path(path: impl AsRef<Path>) -> Result<RawImages> {
    let path = path.as_ref();
    if !path.exists() {
        bail!("CIFAR-10 path {} does not exist", path.display());
    }
    if !path.is_dir() {
        return read_cifar10_bin(path);
    }
    let mut out: Option<RawImages> = None;
    for f in cifar10_dir_files(path)? {
        let part = read_cifar10_bin(&f)?;
        match out.as_mut() {
            None => out = Some(part),
            Some(acc) => acc.extend(part)?,
        }
    }
    out.with_context(|| format!("CIFAR-10 directory {} contains no .bin files", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relabel_like_maps_labels_by_class_name() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        let mut t = RawImages {
            n: 3,
            height: 1,
            width: 1,
            pixels: vec![0; 9],
            labels: vec![0, 1, 1],
            class_names: names(&["cat", "dog"]),
        };
        t.relabel_like(&names(&["airplane", "cat", "dog"])).unwrap();
        assert_eq!(t.labels, [1, 2, 2]);
        assert_eq!(t.class_names, names(&["airplane", "cat", "dog"]));
        let mut z = RawImages { class_names: names(&["cat", "zebra"]), ..t.clone() };
        z.labels = vec![0, 1, 1];
        let e = z.relabel_like(&names(&["airplane", "cat", "dog"])).unwrap_err().to_string();
        assert_eq!(e, "class 'zebra' is not among the 3 training classes");
    }

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(fill, CIFAR_PIXELS));
        r
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zsnas_cifar_{tag}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn parses_synthetic_records() {
        let mut bytes = record(3, 7);
        bytes.extend(record(9, 200));
        // Mark R/G/B first pixels of image 0 distinctly.
        bytes[1] = 11;
        bytes[1 + 1024] = 22;
        bytes[1 + 2048] = 33;
        let r = read_cifar10_bytes(&bytes, "mem").unwrap();
        assert_eq!(r.n, 2);
        assert_eq!((r.height, r.width), (32, 32));
        assert_eq!(r.labels, vec![3, 9]);
        assert_eq!(r.pixels.len(), 2 * 3072);
        let im0 = r.image(0).unwrap();
        assert_eq!((im0[0], im0[1024], im0[2048], im0[1]), (11, 22, 33, 7));
        assert_eq!(r.image(1).unwrap()[5], 200);
        assert!(r.image(2).is_none());
        assert_eq!(r.class_names[3], "cat");
        assert_eq!(r.class_names.len(), 10);
    }

    #[test]
    fn rejects_bad_input() {
        let e = read_cifar10_bytes(&[], "empty.bin").unwrap_err().to_string();
        assert!(e.contains("empty.bin") && e.contains("empty"), "{e}");

        let mut b = record(1, 0);
        b.pop();
        let e = read_cifar10_bytes(&b, "short.bin").unwrap_err().to_string();
        assert!(e.contains("truncated: 3072 bytes is not a multiple of the 3073-byte record"), "{e}");

        let mut b = record(1, 0);
        b.extend(record(10, 0));
        let e = read_cifar10_bytes(&b, "lbl.bin").unwrap_err().to_string();
        assert!(e.contains("record 1") && e.contains("label byte 10"), "{e}");

        let e = format!("{:#}", read_cifar10_bin("/nonexistent/zz.bin").unwrap_err());
        assert!(e.contains("/nonexistent/zz.bin"), "{e}");
        let e = format!("{:#}", read_cifar10_path("/nonexistent/dir").unwrap_err());
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn directory_order() {
        let d = tmpdir("dir");
        // data_batch_10 must come after data_batch_2 (numeric order).
        std::fs::write(d.join("data_batch_2.bin"), record(2, 0)).unwrap();
        std::fs::write(d.join("data_batch_1.bin"), record(1, 0)).unwrap();
        std::fs::write(d.join("data_batch_10.bin"), record(0, 0)).unwrap();
        std::fs::write(d.join("test_batch.bin"), record(5, 0)).unwrap();
        let r = read_cifar10_path(&d).unwrap();
        assert_eq!(r.labels, vec![1, 2, 0]);

        let d2 = tmpdir("dir2");
        std::fs::write(d2.join("test_batch.bin"), record(5, 0)).unwrap();
        std::fs::write(d2.join("a.bin"), record(4, 0)).unwrap();
        assert_eq!(read_cifar10_path(&d2).unwrap().labels, vec![4, 5]);

        let d3 = tmpdir("dir3");
        let e = read_cifar10_path(&d3).unwrap_err().to_string();
        assert!(e.contains("no .bin files"), "{e}");
        for x in [d, d2, d3] {
            let _ = std::fs::remove_dir_all(x);
        }
    }

    #[test]
    fn real_train_4000_shared_data() {
        let p = crate::data::shared_data_file("cifar10/train_4000.bin");
        let r = read_cifar10_path(&p).unwrap();
        assert_eq!(r.n, 4000);
        assert_eq!(&r.labels[..10], &[6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
        // First bytes of the first record: label 6, R = 0x3b 0x2b 0x32 ...
        assert_eq!(&r.pixels[..4], &[0x3b, 0x2b, 0x32, 0x44]);
        let t = read_cifar10_bin(crate::data::shared_data_file("cifar10/test_1000.bin")).unwrap();
        assert_eq!(t.n, 1000);
        // Official test set begins cat, ship, ship, airplane, frog.
        assert_eq!(&t.labels[..5], &[3, 8, 8, 0, 6]);
    }
}
