//! Reader for the "image folder" layout: `root/<class name>/<file>.{png,jpg,jpeg}`.
//!
//! Class labels are the indices of the class sub-folder names in sorted
//! (byte-wise) order, as in torchvision's `ImageFolder`. Files within a class
//! are read in *natural* order of their paths below the class folder (`2.jpg` before
//! `10.jpg`), sub-folders included, as `ImageFolder` walks them ([`class_images`]).

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

/// Extensions of image formats that zsnas cannot decode (it reads PNG and JPEG): a file
/// with one of them in a class folder is an error, not skipped, so that no class silently
/// loses images. Files of other extensions (`README.txt`, `.DS_Store`) are ignored, as
/// torchvision's `ImageFolder` ignores them.
const UNREAD_IMAGE_EXTENSIONS: [&str; 10] = ["bmp", "gif", "webp", "tif", "tiff", "ppm", "pgm", "pbm", "heic", "avif"];

/// Sub-folder depth below a class folder at which [`class_images`] stops (a link loop).
const MAX_DEPTH: usize = 16;

/// The image files (`.png`, `.jpg`, `.jpeg`, any case) of one class folder `dir`, walking
/// its sub-folders (and linked folders) as torchvision's `ImageFolder` does, in natural
/// order of their paths below `dir`. Entries are typed from the directory listing, so a
/// folder of a million images costs no `stat` per file on Linux.
///
/// Errors: an unlistable folder; an image file that is a broken link; a file of an image
/// format zsnas does not decode (`.bmp`, `.webp`, `.gif`, `.tif`, ...); folders nested more
/// than 16 deep (a link loop). Each names the path.
pub fn class_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            bail!(
                "{} is nested more than {MAX_DEPTH} folders deep in class folder {} (a link loop?)",
                d.display(),
                dir.display()
            );
        }
        for e in std::fs::read_dir(&d).with_context(|| format!("cannot list directory {}", d.display()))? {
            let e = e.with_context(|| format!("cannot list directory {}", d.display()))?;
            let p = e.path();
            let ft = e.file_type().with_context(|| format!("cannot inspect {}", p.display()))?;
            // Links are followed (one stat each); plain entries are typed by the listing.
            let (is_dir, is_file) =
                if ft.is_symlink() { (p.is_dir(), p.is_file()) } else { (ft.is_dir(), ft.is_file()) };
            if is_dir {
                stack.push((p, depth + 1));
                continue;
            }
            let ext = p.extension().and_then(|x| x.to_str()).map(|x| x.to_ascii_lowercase()).unwrap_or_default();
            if is_image_file(&p) {
                if !is_file {
                    bail!("image {} is a broken link (or not a file): fix or remove it", p.display());
                }
                let rel = p.strip_prefix(dir).unwrap_or(&p).to_string_lossy().into_owned();
                found.push((rel, p));
            } else if UNREAD_IMAGE_EXTENSIONS.contains(&ext.as_str()) {
                bail!(
                    "image {} is .{ext}: zsnas reads PNG and JPEG only; convert it or move it out of the class folder",
                    p.display()
                );
            }
        }
    }
    found.sort_by(|a, b| natural_cmp(&a.0, &b.0).then_with(|| a.0.cmp(&b.0)));
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The error for a class folder without images: every sub-folder of the root is a class
/// (torchvision's `ImageFolder` refuses such a folder too).
pub fn no_images_in_class(dir: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "class folder {} holds no .png/.jpg/.jpeg images; every sub-folder is a class, so remove it or add images",
        dir.display()
    )
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
        let f = class_images(&dir)?;
        if f.is_empty() {
            return Err(no_images_in_class(&dir));
        }
        names.push(name);
        files.push(f);
    }
    Ok((names, files))
}

/// Decodes an image file (JPEG or PNG, any colour type, format guessed from the content)
/// to 8-bit RGB.
///
/// Errors: unreadable file or undecodable content, in one line naming the file (the
/// decoder's own message, whose parts may span lines, is joined into it).
pub fn decode_rgb(path: &Path) -> Result<image::RgbImage> {
    let one_line = |what: &str, e: &dyn std::fmt::Display| {
        let msg = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        anyhow::anyhow!("cannot {what} image {}: {msg}", path.display())
    };
    let reader = image::ImageReader::open(path).map_err(|e| one_line("open", &e))?;
    let reader = reader.with_guessed_format().map_err(|e| one_line("read", &e))?;
    Ok(reader.decode().map_err(|e| one_line("decode", &e))?.to_rgb8())
}

/// Decodes one image file to RGB8 ([`decode_rgb`]) and returns `(height, width, CHW
/// bytes)`.
///
/// Errors: those of [`decode_rgb`].
pub fn decode_rgb_chw(path: impl AsRef<Path>) -> Result<(usize, usize, Vec<u8>)> {
    let img = decode_rgb(path.as_ref())?;
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

    /// A class folder is walked as torchvision's `ImageFolder` walks it: images in its
    /// sub-folders count, other files are ignored; images zsnas cannot read, broken links
    /// and undecodable files are errors naming the file, in one line.
    #[test]
    fn class_folders_are_walked_and_unreadable_images_refused() {
        let root = tmpdir("walk");
        let c = root.join("c");
        std::fs::create_dir_all(c.join("sub/deeper")).unwrap();
        for (f, v) in [("10.png", 1u8), ("2.png", 2), ("sub/1.png", 3), ("sub/deeper/0.jpg", 4)] {
            solid(2, 2, [v, v, v]).save(c.join(f)).unwrap();
        }
        std::fs::write(c.join("README.txt"), "notes").unwrap();
        let names: Vec<String> =
            class_images(&c).unwrap().iter().map(|p| p.strip_prefix(&c).unwrap().display().to_string()).collect();
        assert_eq!(names, ["2.png", "10.png", "sub/1.png", "sub/deeper/0.jpg"]);
        std::fs::write(c.join("sub/x.bmp"), b"BM").unwrap();
        let e = class_images(&c).unwrap_err().to_string();
        assert!(e.contains("x.bmp is .bmp: zsnas reads PNG and JPEG only"), "{e}");
        std::fs::remove_file(c.join("sub/x.bmp")).unwrap();
        std::os::unix::fs::symlink(root.join("gone.png"), c.join("link.png")).unwrap();
        let e = class_images(&c).unwrap_err().to_string();
        assert!(e.contains("link.png is a broken link"), "{e}");
        std::fs::remove_file(c.join("link.png")).unwrap();
        // A truncated JPEG: the decoder's message, joined into one line.
        let mut jpeg = Vec::new();
        solid(16, 16, [9, 90, 200]).write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
        std::fs::write(c.join("cut.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
        let e = format!("{:#}", decode_rgb(&c.join("cut.jpg")).unwrap_err());
        assert!(e.starts_with(&format!("cannot decode image {}: ", c.join("cut.jpg").display())), "{e}");
        assert!(!e.contains('\n'), "{e}");
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
