//! ImageNet-style folders of photographs: `root/<class>/<image>.{jpg,jpeg,png}` with images
//! of any size and any number of classes (e.g. the 1,000 synset folders of ILSVRC-2012
//! `train/` or `val/`), read with the standard ImageNet evaluation transform.
//!
//! Only the images of the drawn batch are decoded: [`ImageNetFolder::open`] lists the file
//! names of each class (one directory listing per class, no decoding, no per-file `stat` on
//! Linux), [`ImageNetFolder::draw`] picks the batch from the names, and
//! [`ImageNetFolder::load`] decodes just those files (in parallel threads). A folder of
//! 1.28 M images is therefore never read whole.
//!
//! The transform is torchvision's evaluation pipeline for ImageNet, as in the NAS-Bench-201 /
//! xautodl `imagenet-1k` test transform (`Resize(256)`, `CenterCrop(224)`) and the
//! Zen-NAS `val.py` (resize to `crop / 0.875`, then centre crop), generalised to any
//! resolution R: the shorter side is resized to `round(R / 0.875)` (256 for R = 224; the
//! longer side to `floor(side × long / short)` as torchvision's `Resize(int)` does), with
//! bilinear, antialiased filtering (torchvision's default on PIL images; the `image` crate's
//! `Triangle` filter), then the central R×R square is cut (torchvision's `CenterCrop`
//! offsets, `round((size − R) / 2)` with Python's round-half-to-even), and each channel is
//! normalised with the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
//! (Zen-NAS rounds `R / 0.875` up and uses bicubic filtering; for R = 224 the size agrees.)

use super::batch::Batch;
pub use super::folder::decode_rgb;
use super::folder::{class_images, no_images_in_class, resolve_class_root};
use super::transform::{choose_batch, normalize_image_into};
use anyhow::{bail, Context, Result};
use image::imageops::FilterType;
use image::RgbImage;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// ImageNet per-channel mean (R, G, B) on the `[0, 1]` scale (torchvision's reference).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet per-channel standard deviation (R, G, B) on the `[0, 1]` scale.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Fraction of the resized image kept by the centre crop (224 / 256).
pub const CROP_FRACTION: f64 = 0.875;

/// The ImageNet-folder mode of [`crate::data::load::load_batch_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageNetFolderMode {
    /// Output side R in pixels (the architecture's input resolution, e.g. 224).
    pub resolution: usize,
    /// Class-balanced draw (see [`ImageNetFolder::draw`]) instead of a uniform one.
    pub balanced: bool,
}

/// The side the shorter image side is resized to before the crop: `round(R / 0.875)`
/// (256 for R = 224, 37 for R = 32).
pub fn eval_resize_side(resolution: usize) -> u32 {
    (resolution as f64 / CROP_FRACTION).round() as u32
}

/// Size `(width, height)` after torchvision's `Resize(side)` of a `width × height` image:
/// the shorter side becomes `side`, the longer one `floor(side × long / short)`.
pub fn resized_size(width: u32, height: u32, side: u32) -> (u32, u32) {
    if width <= height {
        (side, (side as u64 * height as u64 / width as u64) as u32)
    } else {
        ((side as u64 * width as u64 / height as u64) as u32, side)
    }
}

/// Python's `round(x / 2)` for a non-negative integer `x` (halves to even), as torchvision's
/// `CenterCrop` computes `int(round((size - crop) / 2.0))`.
fn half_round_even(x: u32) -> u32 {
    let q = x / 2;
    if x % 2 == 1 && q % 2 == 1 {
        q + 1
    } else {
        q
    }
}

/// Top-left corner `(left, top)` of torchvision's `CenterCrop(crop)` in a `width × height`
/// image (both sides at least `crop`).
pub fn center_crop_offsets(width: u32, height: u32, crop: u32) -> (u32, u32) {
    (half_round_even(width - crop), half_round_even(height - crop))
}

/// The evaluation transform of one decoded image (see the module doc): returns the CHW bytes
/// `3 × R × R` (R, G, B planes, row-major) before normalisation.
///
/// Errors: `resolution` 0 or an empty image.
pub fn eval_transform(img: &RgbImage, resolution: usize) -> Result<Vec<u8>> {
    let (w, h) = img.dimensions();
    if resolution == 0 || w == 0 || h == 0 {
        bail!("cannot transform a {w}x{h} image to {resolution}x{resolution}");
    }
    let r = resolution as u32;
    let side = eval_resize_side(resolution).max(r);
    let (nw, nh) = resized_size(w, h, side);
    let resized = image::imageops::resize(img, nw, nh, FilterType::Triangle);
    let (left, top) = center_crop_offsets(nw, nh, r);
    let plane = resolution * resolution;
    let mut chw = vec![0u8; 3 * plane];
    for y in 0..r {
        for x in 0..r {
            let p = resized.get_pixel(left + x, top + y).0;
            let k = (y * r + x) as usize;
            chw[k] = p[0];
            chw[plane + k] = p[1];
            chw[2 * plane + k] = p[2];
        }
    }
    Ok(chw)
}

/// The file names of an ImageNet-style folder, per class; nothing decoded.
#[derive(Clone, Debug)]
pub struct ImageNetFolder {
    /// The folder that holds the class folders (after [`resolve_class_root`]).
    pub root: PathBuf,
    /// Class names (sub-folder names) in sorted order; the label of a class is its index.
    pub class_names: Vec<String>,
    /// Per class, its image files in natural name order.
    pub files: Vec<Vec<PathBuf>>,
}

/// One drawn image: its class (label) and index in that class's file list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Drawn {
    /// Class index (label).
    pub class: usize,
    /// Index into `files[class]`.
    pub file: usize,
}

impl ImageNetFolder {
    /// Lists the classes and their image files (`.jpg`, `.jpeg`, `.png`, any case, sub-folders
    /// walked: [`class_images`]) under `root` (or its single wrapping sub-folder, see
    /// [`resolve_class_root`]). Files are listed, not opened.
    ///
    /// Errors: a missing root, no class sub-folders, a class folder without images, and
    /// those of [`class_images`] (broken links, images of formats zsnas does not decode).
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = resolve_class_root(root.as_ref())?;
        let mut classes: Vec<(String, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(&root).with_context(|| format!("cannot list {}", root.display()))? {
            let e = e.with_context(|| format!("cannot list {}", root.display()))?;
            let p = e.path();
            if p.is_dir() {
                classes.push((e.file_name().to_string_lossy().into_owned(), p));
            }
        }
        classes.sort_by(|a, b| a.0.cmp(&b.0));
        if classes.is_empty() {
            bail!("ImageNet-style folder {} has no class sub-folders", root.display());
        }
        let mut files = Vec::with_capacity(classes.len());
        for (_, dir) in &classes {
            let f = class_images(dir)?;
            if f.is_empty() {
                return Err(no_images_in_class(dir));
            }
            files.push(f);
        }
        Ok(ImageNetFolder { root, class_names: classes.into_iter().map(|c| c.0).collect(), files })
    }

    /// Total number of image files.
    pub fn len(&self) -> usize {
        self.files.iter().map(|f| f.len()).sum()
    }

    /// True when no class has an image (never the case after [`ImageNetFolder::open`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Draws `batch_size` distinct images, seeded by `seed`, in draw order.
    ///
    /// - Uniform (`balanced = false`): [`choose_batch`] over all files in class order, so
    ///   each image is equally likely and classes appear in proportion to their size.
    /// - Class-balanced (`balanced = true`): the classes that have images are shuffled
    ///   (Fisher–Yates, `ChaCha8Rng::seed_from_u64(seed)`), then visited round-robin in that
    ///   order, each visit taking one not-yet-drawn image of the class uniformly at random;
    ///   a class that runs out is skipped. So every class contributes ⌊B/C⌋ or ⌈B/C⌉ images
    ///   while it has them, and with B < C a random set of B classes one image each.
    ///
    /// Errors: `batch_size` 0 or larger than the number of images.
    pub fn draw(&self, batch_size: usize, seed: u64, balanced: bool) -> Result<Vec<Drawn>> {
        let total = self.len();
        if batch_size == 0 || batch_size > total {
            bail!("cannot draw a batch of {batch_size} from the {total} images of {}", self.root.display());
        }
        if !balanced {
            let starts: Vec<usize> = self
                .files
                .iter()
                .scan(0usize, |acc, f| {
                    let s = *acc;
                    *acc += f.len();
                    Some(s)
                })
                .collect();
            return Ok(choose_batch(total, batch_size, seed)?
                .into_iter()
                .map(|g| {
                    // The last class starting at or before g: never an empty one, since an empty
                    // class shares its start with the next class.
                    let class = starts.partition_point(|&s| s <= g) - 1;
                    Drawn { class, file: g - starts[class] }
                })
                .collect());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..self.files.len()).filter(|&c| !self.files[c].is_empty()).collect();
        for i in (1..order.len()).rev() {
            let j = rng.gen_range(0..=i);
            order.swap(i, j);
        }
        let mut left: Vec<Option<Vec<usize>>> = vec![None; self.files.len()];
        let mut out = Vec::with_capacity(batch_size);
        while out.len() < batch_size {
            for &c in &order {
                if out.len() == batch_size {
                    break;
                }
                let pool = left[c].get_or_insert_with(|| (0..self.files[c].len()).collect());
                if pool.is_empty() {
                    continue;
                }
                let j = rng.gen_range(0..pool.len());
                out.push(Drawn { class: c, file: pool.swap_remove(j) });
            }
        }
        Ok(out)
    }

    /// The path of a drawn image.
    pub fn path(&self, d: Drawn) -> &Path {
        &self.files[d.class][d.file]
    }

    /// Decodes and transforms the drawn images only (see the module doc), in parallel
    /// threads, into a [`Batch`]: images f32 [B, 3, R, R] normalised with the ImageNet
    /// mean/std, labels i64 \[B\] (class indices).
    ///
    /// Errors: `resolution` 0; an image that cannot be opened or decoded (naming it).
    pub fn load(&self, drawn: &[Drawn], resolution: usize) -> Result<Batch> {
        if resolution == 0 {
            bail!("resolution must be at least 1");
        }
        let paths: Vec<&Path> = drawn.iter().map(|&d| self.path(d)).collect();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(paths.len()).max(1);
        let chunk = paths.len().div_ceil(threads);
        let parts: Vec<Result<Vec<u8>>> = std::thread::scope(|s| {
            let handles: Vec<_> = paths
                .chunks(chunk)
                .map(|ps| {
                    s.spawn(move || -> Result<Vec<u8>> {
                        let mut out = Vec::with_capacity(ps.len() * 3 * resolution * resolution);
                        for p in ps {
                            out.extend(eval_transform(&decode_rgb(p)?, resolution)?);
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("image decoder panicked"))))
                .collect()
        });
        let mut data = Vec::with_capacity(paths.len() * 3 * resolution * resolution);
        let plane = 3 * resolution * resolution;
        for part in parts {
            for img in part?.chunks_exact(plane) {
                normalize_image_into(img, &IMAGENET_MEAN, &IMAGENET_STD, &mut data)?;
            }
        }
        let labels: Vec<i64> = drawn.iter().map(|d| d.class as i64).collect();
        let (n, r) = (drawn.len() as i64, resolution as i64);
        Ok(Batch { images: Tensor::from_slice(&data).view([n, 3, r, r]), labels: Tensor::from_slice(&labels) })
    }
}

/// Loads a batch from an ImageNet-style folder: lists the files ([`ImageNetFolder::open`]),
/// draws `batch_size` of them seeded by `seed` (class-balanced or uniform, see
/// [`ImageNetFolder::draw`]), decodes only those and applies the evaluation transform at
/// `resolution` with the ImageNet mean/std. Returns the [`Batch`] (images f32
/// [B, 3, R, R], labels i64 \[B\], the class's index among the sorted class folders) and the
/// drawn files in batch order, for the caller to record.
///
/// Errors: as [`ImageNetFolder::open`], [`ImageNetFolder::draw`] and
/// [`ImageNetFolder::load`].
pub fn load_imagenet_folder_batch(
    root: impl AsRef<Path>,
    resolution: usize,
    batch_size: usize,
    seed: u64,
    balanced: bool,
) -> Result<(Batch, Vec<PathBuf>)> {
    let folder = ImageNetFolder::open(root)?;
    let drawn = folder.draw(batch_size, seed, balanced)?;
    let batch = folder.load(&drawn, resolution)?;
    Ok((batch, drawn.iter().map(|&d| folder.path(d).to_path_buf()).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_follows_torchvision() {
        assert_eq!((eval_resize_side(224), eval_resize_side(32), eval_resize_side(192)), (256, 37, 219));
        // Resize(256) of a 500x375 photo -> 341x256 (floor(256 * 500 / 375) = 341).
        assert_eq!(resized_size(500, 375, 256), (341, 256));
        assert_eq!(resized_size(210, 320, 37), (37, 56));
        assert_eq!(resized_size(96, 96, 37), (37, 37));
        // CenterCrop: round((341 - 224) / 2) = round(58.5) = 58 (half to even); 59.5 -> 60.
        assert_eq!(center_crop_offsets(341, 256, 224), (58, 16));
        assert_eq!(center_crop_offsets(343, 224, 224), (60, 0));
        assert_eq!(center_crop_offsets(37, 56, 32), (2, 12));
    }

    #[test]
    fn transform_of_a_solid_image_is_exact() {
        let img = RgbImage::from_pixel(50, 30, image::Rgb([200, 100, 0]));
        let chw = eval_transform(&img, 8).unwrap();
        assert_eq!(chw.len(), 3 * 64);
        assert!(chw[..64].iter().all(|&v| v == 200) && chw[64..128].iter().all(|&v| v == 100));
        assert!(chw[128..].iter().all(|&v| v == 0));
        assert!(eval_transform(&img, 0).is_err());
    }
}
