//! Reader for the "image folder" layout: `root/<class name>/<file>.{png,jpg,jpeg}`.
//!
//! Class labels are the indices of the class sub-folder names in sorted
//! (byte-wise) order, as in torchvision's `ImageFolder`. Files within a class
//! are read in *natural* order of their names (`2.jpg` before `10.jpg`).

use super::cifar10::RawImages;
use anyhow::{bail, Context, Result};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// True if `path` has a `.png`, `.jpg` or `.jpeg` extension (case-insensitive).
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        .unwrap_or(false)
}

/// Natural ("human") ordering of two names: runs of ASCII digits compare by
/// numeric value (leading zeros ignored; ties broken by shorter run first),
/// everything else byte-wise. E.g. `2.jpg < 10.jpg`, `img9 < img10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (ra, rb) = (&a[si..i], &b[sj..j]);
            let ta = trim_zeros(ra);
            let tb = trim_zeros(rb);
            let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| ra.len().cmp(&rb.len()));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            let ord = a[i].cmp(&b[j]);
            if ord != Ordering::Equal {
                return ord;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let k = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    &s[k..]
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list directory {}", dir.display()))? {
        let e = e.with_context(|| format!("cannot list directory {}", dir.display()))?;
        out.push(e.path());
    }
    Ok(out)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut d: Vec<PathBuf> = list_dir(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    d.sort();
    Ok(d)
}

/// Resolves the directory that directly holds the class folders.
///
/// If `root` contains exactly one sub-directory, no image files, and that
/// sub-directory itself contains sub-directories (e.g. an unpacked archive
/// `root/train/<class>/…`, possibly next to a README), that sub-directory is
/// used; otherwise `root` itself.
pub fn resolve_class_root(root: impl AsRef<Path>) -> Result<PathBuf> {
    let root = root.as_ref();
    if !root.is_dir() {
        bail!("image folder root {} does not exist or is not a directory", root.display());
    }
    let entries = list_dir(root)?;
    let dirs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir()).collect();
    let has_images = entries.iter().any(|p| p.is_file() && is_image_file(p));
    if dirs.len() == 1 && !has_images && !subdirs(dirs[0])?.is_empty() {
        return Ok(dirs[0].clone());
    }
    Ok(root.to_path_buf())
}

/// Lists the class names and, per class, the image files in reading order
/// (natural order of file names), after [`resolve_class_root`].
///
/// Errors: root missing, no class sub-folders, more than 256, a class sub-folder without
/// images (as torchvision's `ImageFolder` refuses it).
pub fn list_image_folder(root: impl AsRef<Path>) -> Result<(Vec<String>, Vec<Vec<PathBuf>>)> {
    let root = root.as_ref();
    let class_root = resolve_class_root(root)?;
    let mut classes: Vec<(String, PathBuf)> = subdirs(&class_root)?
        .into_iter()
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    classes.sort_by(|a, b| a.0.cmp(&b.0));
    if classes.is_empty() {
        bail!("image folder {} has no class sub-folders", class_root.display());
    }
    if classes.len() > 256 {
        bail!(
            "image folder {} has {} class sub-folders; at most 256 are supported (u8 labels)",
            class_root.display(),
            classes.len()
        );
    }
    let mut names = Vec::with_capacity(classes.len());
    let mut files = Vec::with_capacity(classes.len());
    for (name, dir) in classes {
        let mut f: Vec<(String, PathBuf)> = list_dir(&dir)?
            .into_iter()
            .filter(|p| p.is_file() && is_image_file(p))
            .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), p))
            .collect();
        f.sort_by(|a, b| natural_cmp(&a.0, &b.0).then_with(|| a.0.cmp(&b.0)));
        if f.is_empty() {
            bail!(
                "class folder {} holds no .png/.jpg/.jpeg images; every sub-folder is a class, so remove it or add images",
                dir.display()
            );
        }
        names.push(name);
        files.push(f.into_iter().map(|(_, p)| p).collect());
    }
    Ok((names, files))
}

/// Decodes one image file to RGB8 and returns `(height, width, CHW bytes)`.
///
/// Errors: unreadable file or undecodable content, naming the file.
pub fn decode_rgb_chw(path: impl AsRef<Path>) -> Result<(usize, usize, Vec<u8>)> {
    let path = path.as_ref();
    let img = image::ImageReader::open(path)
        .with_context(|| format!("cannot open image {}", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("cannot read image {}", path.display()))?
        .decode()
        .with_context(|| format!("cannot decode image {}", path.display()))?
        .to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let plane = h * w;
    let mut chw = vec![0u8; 3 * plane];
    for (k, px) in img.pixels().enumerate() {
        chw[k] = px.0[0];
        chw[plane + k] = px.0[1];
        chw[2 * plane + k] = px.0[2];
    }
    Ok((h, w, chw))
}

/// Reads an image folder into memory as [`RawImages`].
///
/// Images are ordered class by class (label 0 first), and within a class in
/// natural file-name order; `limit_per_class = Some(k)` keeps only the first
/// `k` files of each class. Every image is converted to RGB8; all must have
/// the same height and width as the first one read.
///
/// Errors: missing root, no class folders, no images at all, an undecodable
/// file, or an image whose size differs from the first (naming that file and
/// both sizes).
pub fn read_image_folder(root: impl AsRef<Path>, limit_per_class: Option<usize>) -> Result<RawImages> {
    let root = root.as_ref();
    let (class_names, files) = list_image_folder(root)?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut size: Option<(usize, usize, PathBuf)> = None;
    for (label, class_files) in files.iter().enumerate() {
        let take = limit_per_class.unwrap_or(usize::MAX);
        for f in class_files.iter().take(take) {
            let (h, w, chw) = decode_rgb_chw(f)?;
            match &size {
                None => size = Some((h, w, f.clone())),
                Some((h0, w0, first)) => {
                    if (h, w) != (*h0, *w0) {
                        bail!(
                            "image {} is {}x{} (HxW) but {} is {}x{}; all images must have the same size",
                            f.display(),
                            h,
                            w,
                            first.display(),
                            h0,
                            w0
                        );
                    }
                }
            }
            pixels.extend_from_slice(&chw);
            labels.push(label as u8);
        }
    }
    let Some((height, width, _)) = size else {
        bail!("image folder {} contains no .png/.jpg/.jpeg images", root.display());
    };
    Ok(RawImages { n: labels.len(), height, width, pixels, labels, class_names })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cifar10::read_cifar10_bin;
    use image::{Rgb, RgbImage};

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zsnas_folder_{tag}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn solid(w: u32, h: u32, c: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb(c))
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["10.jpg", "2.jpg", "1.jpg", "a10", "a9", "0002.jpg", "b"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["1.jpg", "2.jpg", "0002.jpg", "10.jpg", "a9", "a10", "b"]);
        assert!(is_image_file(Path::new("x.JPeG")) && is_image_file(Path::new("y.PNG")));
        assert!(!is_image_file(Path::new("README.md")));
    }

    #[test]
    fn reads_synthetic_folder() {
        let root = tmpdir("syn");
        let wrap = root.join("train");
        for c in ["dog", "cat"] {
            std::fs::create_dir_all(wrap.join(c)).unwrap();
        }
        std::fs::write(root.join("README.md"), "x").unwrap();
        // cat (label 0): files 10.png, 2.PNG; dog (label 1): 1.png
        let mut im = solid(3, 2, [1, 2, 3]);
        im.put_pixel(1, 0, Rgb([100, 150, 200]));
        im.save(wrap.join("cat/2.PNG")).unwrap();
        solid(3, 2, [10, 20, 30]).save(wrap.join("cat/10.png")).unwrap();
        solid(3, 2, [7, 8, 9]).save(wrap.join("dog/1.png")).unwrap();
        std::fs::write(wrap.join("dog/notes.txt"), "ignored").unwrap();

        let r = read_image_folder(&root, None).unwrap();
        assert_eq!(r.class_names, vec!["cat", "dog"]);
        assert_eq!((r.n, r.height, r.width), (3, 2, 3));
        assert_eq!(r.labels, vec![0, 0, 1]);
        let im0 = r.image(0).unwrap();
        // CHW: R plane, then G, then B; pixel (y=0, x=1) is index 1.
        assert_eq!(&im0[0..3], &[1, 100, 1]);
        assert_eq!(&im0[6..9], &[2, 150, 2]);
        assert_eq!(&im0[12..15], &[3, 200, 3]);
        assert_eq!(r.image(1).unwrap()[0], 10);
        assert_eq!(r.image(2).unwrap()[12], 9);

        let r1 = read_image_folder(&wrap, Some(1)).unwrap();
        assert_eq!(r1.labels, vec![0, 1]);
        assert_eq!(r1.image(0).unwrap()[1], 100);

        // Odd size is an error naming the file.
        solid(4, 2, [0, 0, 0]).save(wrap.join("dog/5.png")).unwrap();
        let e = read_image_folder(&root, None).unwrap_err().to_string();
        assert!(e.contains("5.png") && e.contains("2x4"), "{e}");

        // Undecodable file.
        std::fs::write(wrap.join("dog/0.jpg"), b"not a jpeg").unwrap();
        let e = format!("{:#}", read_image_folder(&root, None).unwrap_err());
        assert!(e.contains("0.jpg"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn errors_on_empty_or_missing() {
        let e = read_image_folder("/nonexistent/imgs", None).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/imgs"), "{e}");
        let root = tmpdir("empty");
        let e = read_image_folder(&root, None).unwrap_err().to_string();
        assert!(e.contains("no class sub-folders"), "{e}");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        let e = read_image_folder(&root, None).unwrap_err().to_string();
        assert!(e.contains("no .png/.jpg/.jpeg images"), "{e}");
        // One class with images, one without: the empty one is named, not counted.
        solid(4, 4, [1, 2, 3]).save(root.join("b").join("x.png")).unwrap();
        let e = read_image_folder(&root, None).unwrap_err().to_string();
        assert!(e.contains(&format!("class folder {} holds no", root.join("a").display())), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn real_test_jpeg_subset_shared_data() {
        let tgz = crate::data::shared_data_file("cifar10/cifar10_test_jpeg.tar.gz");
        let out = tmpdir("real");
        let status = std::process::Command::new("tar")
            .arg("-xzf")
            .arg(&tgz)
            .arg("-C")
            .arg(&out)
            .arg("--wildcards")
            .arg("test/cat/000*.jpg")
            .arg("test/ship/000*.jpg")
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => {
                eprintln!("note: could not run tar ({other:?}); skipping");
                let _ = std::fs::remove_dir_all(&out);
                return;
            }
        }
        let r = read_image_folder(&out, Some(5)).unwrap();
        assert_eq!(r.class_names, vec!["cat", "ship"]);
        assert_eq!((r.n, r.height, r.width), (10, 32, 32));
        assert_eq!(r.labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        let all = read_image_folder(out.join("test"), None).unwrap();
        assert_eq!(all.n, 20);
        // The first official test image is a cat and the second a ship: the JPEGs
        // (quality 75) must be close to the lossless bytes.
        let bin = crate::data::shared_data_file("cifar10/test_1000.bin");
        if bin.exists() {
            let t = read_cifar10_bin(&bin).unwrap();
            for (folder_idx, bin_idx) in [(0usize, 0usize), (5, 1)] {
                let a = r.image(folder_idx).unwrap();
                let b = t.image(bin_idx).unwrap();
                let mad: f64 =
                    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.len() as f64;
                eprintln!("mean abs diff jpeg vs bin (image {bin_idx}): {mad:.3}");
                assert!(mad < 10.0, "JPEG image {folder_idx} differs from bin {bin_idx}: {mad}");
            }
            // Control: a mismatched pair differs far more.
            let (a, b) = (r.image(0).unwrap(), t.image(1).unwrap());
            let mad: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.len() as f64;
            eprintln!("mean abs diff of a mismatched pair: {mad:.3}");
            assert!(mad > 20.0, "{mad}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
