//! CPU-side image transforms on [`RawImages`]: torchvision-exact
//! normalisation to NCHW `f32`, the standard CIFAR training augmentation
//! (pad-4 random crop + horizontal flip) and seeded batch selection.

use super::cifar10::RawImages;
use anyhow::{bail, Result};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// CIFAR-10 per-channel mean (R, G, B) in byte units (0–255), as used by
/// NAS-Bench-201 and the reference WRCor code.
pub const CIFAR10_MEAN_BYTES: [f64; 3] = [125.3, 123.0, 113.9];
/// CIFAR-10 per-channel standard deviation (R, G, B) in byte units (0–255).
pub const CIFAR10_STD_BYTES: [f64; 3] = [63.0, 62.1, 66.7];

/// CIFAR-10 `(mean, std)` per channel on the `[0, 1]` scale as `f32`, exactly
/// as torchvision's `Normalize(mean=[x/255 for x in m], std=[x/255 for x in s])`
/// stores them: computed in `f64` and then rounded to `f32`.
pub fn cifar10_mean_std() -> ([f32; 3], [f32; 3]) {
    let mut mean = [0f32; 3];
    let mut std = [0f32; 3];
    for c in 0..3 {
        mean[c] = (CIFAR10_MEAN_BYTES[c] / 255.0_f64) as f32;
        std[c] = (CIFAR10_STD_BYTES[c] / 255.0_f64) as f32;
    }
    (mean, std)
}

/// Normalises one CHW byte image with 3 channels and appends the result to
/// `out` (length grows by `chw.len()`).
///
/// Per element, in `f32` exactly as torchvision `ToTensor` + `Normalize`:
/// `v = byte as f32 / 255.0`, then `(v - mean[c]) / std[c]`, where `mean` and
/// `std` are on the `[0, 1]` scale.
///
/// Errors: `chw.len()` not a multiple of 3 (or zero), or a non-positive /
/// non-finite `std` or non-finite `mean`.
pub fn normalize_image_into(chw: &[u8], mean: &[f32; 3], std: &[f32; 3], out: &mut Vec<f32>) -> Result<()> {
    check_mean_std(mean, std)?;
    if chw.is_empty() || !chw.len().is_multiple_of(3) {
        bail!("image buffer of {} bytes is not 3 non-empty channel planes", chw.len());
    }
    let plane = chw.len() / 3;
    out.reserve(chw.len());
    for c in 0..3 {
        let (m, s) = (mean[c], std[c]);
        out.extend(chw[c * plane..(c + 1) * plane].iter().map(|&b| ((b as f32) / 255f32 - m) / s));
    }
    Ok(())
}

fn check_mean_std(mean: &[f32; 3], std: &[f32; 3]) -> Result<()> {
    for c in 0..3 {
        if !mean[c].is_finite() {
            bail!("normalisation mean for channel {c} is not finite ({})", mean[c]);
        }
        if !(std[c].is_finite() && std[c] > 0.0) {
            bail!("normalisation std for channel {c} must be finite and > 0, got {}", std[c]);
        }
    }
    Ok(())
}

/// Normalises the images `indices` (in that order, repeats allowed) of `raw`
/// into a flat NCHW `f32` buffer of length `indices.len() * 3 * H * W`, with
/// `mean` / `std` on the `[0, 1]` scale (see [`normalize_image_into`]).
///
/// Errors: an index `>= raw.n` (naming it), `raw.pixels` shorter than
/// `n * 3 * H * W`, or invalid mean/std.
pub fn normalize(raw: &RawImages, indices: &[usize], mean: &[f32; 3], std: &[f32; 3]) -> Result<Vec<f32>> {
    check_mean_std(mean, std)?;
    if raw.pixels.len() != raw.n * raw.image_len() {
        bail!(
            "image set holds {} pixel bytes, expected n*3*H*W = {}*3*{}*{}",
            raw.pixels.len(),
            raw.n,
            raw.height,
            raw.width
        );
    }
    let mut out = Vec::with_capacity(indices.len() * raw.image_len());
    for &i in indices {
        let Some(img) = raw.image(i) else {
            bail!("image index {i} out of range for a set of {} images", raw.n);
        };
        normalize_image_into(img, mean, std, &mut out)?;
    }
    Ok(out)
}

/// [`normalize`] with the CIFAR-10 statistics of [`cifar10_mean_std`]
/// (mean (125.3, 123.0, 113.9)/255, std (63.0, 62.1, 66.7)/255): NCHW `f32`,
/// length `indices.len() * 3 * H * W`. Errors as [`normalize`].
pub fn normalize_cifar(raw: &RawImages, indices: &[usize]) -> Result<Vec<f32>> {
    let (m, s) = cifar10_mean_std();
    normalize(raw, indices, &m, &s)
}

/// Deterministic core of the crop/flip augmentation on one CHW byte image of
/// size `height × width` with 3 channels.
///
/// Conceptually zero-pads `pad` pixels on every side (value 0 in byte
/// space), takes the `height × width` window whose top-left corner is at
/// `(top, left)` in the padded image (`0 ≤ top, left ≤ 2·pad`), then mirrors
/// it left-right if `flip`. Output has the input's shape.
///
/// Errors: buffer length not `3·height·width`, or `top`/`left > 2·pad`.
pub fn crop_flip(
    chw: &[u8],
    height: usize,
    width: usize,
    pad: usize,
    top: usize,
    left: usize,
    flip: bool,
) -> Result<Vec<u8>> {
    if chw.len() != 3 * height * width || height == 0 || width == 0 {
        bail!("image buffer of {} bytes does not match 3x{}x{}", chw.len(), height, width);
    }
    if top > 2 * pad || left > 2 * pad {
        bail!("crop offset ({top}, {left}) outside 0..={} for padding {pad}", 2 * pad);
    }
    let plane = height * width;
    let mut out = vec![0u8; chw.len()];
    for c in 0..3 {
        for y in 0..height {
            // Source row in the unpadded image.
            let sy = y as isize + top as isize - pad as isize;
            if sy < 0 || sy >= height as isize {
                continue;
            }
            for x in 0..width {
                let ox = if flip { width - 1 - x } else { x };
                let sx = x as isize + left as isize - pad as isize;
                if sx < 0 || sx >= width as isize {
                    continue;
                }
                out[c * plane + y * width + ox] = chw[c * plane + sy as usize * width + sx as usize];
            }
        }
    }
    Ok(out)
}

/// Random crop with zero padding `pad`, then horizontal flip with
/// probability 0.5 (see [`crop_flip`]). Draws from `rng` in this order:
/// `top = gen_range(0..=2·pad)`, `left = gen_range(0..=2·pad)`,
/// `flip = gen_bool(0.5)`. Errors as [`crop_flip`].
pub fn random_crop_flip<R: Rng + ?Sized>(
    chw: &[u8],
    height: usize,
    width: usize,
    pad: usize,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let top = rng.gen_range(0..=2 * pad);
    let left = rng.gen_range(0..=2 * pad);
    let flip = rng.gen_bool(0.5);
    crop_flip(chw, height, width, pad, top, left, flip)
}

/// Standard CIFAR training augmentation on one CHW byte image, applied before
/// normalisation: like torchvision `RandomCrop(32, padding=4)` (zero padding)
/// followed by `RandomHorizontalFlip()`; i.e. [`random_crop_flip`] with
/// `pad = 4`. The output has the input's shape `3 × height × width`.
/// (Random streams differ from PyTorch's; only the distribution matches.)
pub fn augment<R: Rng + ?Sized>(chw: &[u8], height: usize, width: usize, rng: &mut R) -> Result<Vec<u8>> {
    random_crop_flip(chw, height, width, 4, rng)
}

/// Seeded choice of `batch_size` distinct indices from `0..n_total`, without
/// replacement, returned in the order drawn.
///
/// Algorithm (stable for a given seed): `rng = ChaCha8Rng::seed_from_u64(seed)`,
/// `perm = [0, 1, …, n_total-1]`; for `i in 0..batch_size`:
/// `j = rng.gen_range(i..n_total)`, swap `perm[i]` and `perm[j]`; the result
/// is `perm[..batch_size]` (a partial Fisher–Yates shuffle).
///
/// Errors: `batch_size == 0` or `batch_size > n_total`.
pub fn choose_batch(n_total: usize, batch_size: usize, seed: u64) -> Result<Vec<usize>> {
    if batch_size == 0 {
        bail!("batch size must be at least 1");
    }
    if batch_size > n_total {
        bail!("batch size {batch_size} exceeds the {n_total} available images");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm: Vec<usize> = (0..n_total).collect();
    for i in 0..batch_size {
        let j = rng.gen_range(i..n_total);
        perm.swap(i, j);
    }
    perm.truncate(batch_size);
    Ok(perm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cifar10::read_cifar10_bin;

    fn tiny() -> RawImages {
        // Two 2x2 images; image 1 is all 255.
        let mut pixels: Vec<u8> = (0..12).map(|v| v as u8 * 20).collect();
        pixels.extend(std::iter::repeat_n(255, 12));
        RawImages { n: 2, height: 2, width: 2, pixels, labels: vec![0, 1], class_names: vec!["a".into(), "b".into()] }
    }

    #[test]
    fn mean_std_values() {
        let (m, s) = cifar10_mean_std();
        assert_eq!(m[0], (125.3f64 / 255.0) as f32);
        assert!((m[0] - 0.491_372_55).abs() < 1e-7);
        assert!((s[2] - 0.261_568_63).abs() < 1e-7);
    }

    #[test]
    fn normalize_exact() {
        let raw = tiny();
        let out = normalize_cifar(&raw, &[1, 0]).unwrap();
        assert_eq!(out.len(), 24);
        let (m, s) = cifar10_mean_std();
        // image 1 first: all 255 -> (1 - m)/s per channel
        assert_eq!(out[0], (1.0f32 - m[0]) / s[0]);
        assert!((out[0] - 2.058_73).abs() < 1e-5, "{}", out[0]); // (255-125.3)/63
        assert_eq!(out[4], (1.0f32 - m[1]) / s[1]);
        // image 0, channel 2 (B), element 3 = byte 11*20 = 220
        assert_eq!(out[12 + 11], (220f32 / 255f32 - m[2]) / s[2]);
        // generic variant: mean 0, std 1 gives v = b/255
        let g = normalize(&raw, &[0], &[0.0; 3], &[1.0; 3]).unwrap();
        assert_eq!(g[5], 100f32 / 255f32);
        let e = normalize_cifar(&raw, &[2]).unwrap_err().to_string();
        assert!(e.contains("index 2"), "{e}");
        let e = normalize(&raw, &[0], &[0.0; 3], &[1.0, 0.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("channel 1"), "{e}");
    }

    #[test]
    fn crop_flip_geometry() {
        // 1 channel pattern replicated over 3 channels, 3x3 image, value = 10*y + x + 1.
        let plane: Vec<u8> = (0..9).map(|k| (10 * (k / 3) + k % 3 + 1) as u8).collect();
        let chw: Vec<u8> = plane.iter().chain(&plane).chain(&plane).copied().collect();
        // No shift, no flip: identity.
        assert_eq!(crop_flip(&chw, 3, 3, 1, 1, 1, false).unwrap(), chw);
        // top=0,left=0 with pad=1: shift down-right by one; zeros enter from top/left.
        let o = crop_flip(&chw, 3, 3, 1, 0, 0, false).unwrap();
        assert_eq!(&o[..9], &[0, 0, 0, 0, 1, 2, 0, 11, 12]);
        // flip only.
        let o = crop_flip(&chw, 3, 3, 1, 1, 1, true).unwrap();
        assert_eq!(&o[..9], &[3, 2, 1, 13, 12, 11, 23, 22, 21]);
        // crop at bottom-right then flip.
        let o = crop_flip(&chw, 3, 3, 1, 2, 2, true).unwrap();
        assert_eq!(&o[18..27], &[0, 13, 12, 0, 23, 22, 0, 0, 0]);
        assert!(crop_flip(&chw, 3, 3, 1, 3, 0, false).is_err());
        assert!(crop_flip(&chw[..8], 3, 3, 1, 0, 0, false).is_err());
    }

    #[test]
    fn augment_statistics() {
        let chw: Vec<u8> = vec![1; 3 * 32 * 32];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut zero_frac = 0.0;
        let trials = 400;
        for _ in 0..trials {
            let o = augment(&chw, 32, 32, &mut rng).unwrap();
            assert_eq!(o.len(), chw.len());
            zero_frac += o.iter().filter(|&&v| v == 0).count() as f64 / o.len() as f64;
        }
        zero_frac /= trials as f64;
        // E[zeros] = 1 - E[(32-|dy|)(32-|dx|)]/1024 with d uniform on -4..=4:
        // E[32-|d|] = 32 - 20/9, so expected = 1 - (268/9)^2/1024 ≈ 0.1341.
        let expected = 1.0 - (268.0f64 / 9.0).powi(2) / 1024.0;
        assert!((zero_frac - expected).abs() < 0.01, "{zero_frac} vs {expected}");
    }

    #[test]
    fn choose_batch_properties() {
        let a = choose_batch(100, 64, 7).unwrap();
        let b = choose_batch(100, 64, 7).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, choose_batch(100, 64, 8).unwrap());
        let mut s = a.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 64);
        assert!(s.iter().all(|&i| i < 100));
        let mut full = choose_batch(5, 5, 1).unwrap();
        full.sort();
        assert_eq!(full, vec![0, 1, 2, 3, 4]);
        // Prefix property: a smaller batch with the same seed is a prefix.
        assert_eq!(choose_batch(100, 10, 7).unwrap(), a[..10]);
        assert!(choose_batch(3, 4, 0).unwrap_err().to_string().contains("exceeds"));
        assert!(choose_batch(3, 0, 0).is_err());
    }

    #[test]
    fn golden_cifar_batch_shared_data() {
        let p = crate::data::shared_data_file("cifar10/train_4000.bin");
        let raw = read_cifar10_bin(&p).unwrap();
        // Golden batch: the first 64 training images in order.
        let idx: Vec<usize> = (0..64).collect();
        assert_eq!(&raw.labels[..10], &[6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
        let x = normalize_cifar(&raw, &idx).unwrap();
        assert_eq!(x.len(), 64 * 3 * 32 * 32);
        let (m, s) = cifar10_mean_std();
        // First image: R(0,0)=59, R(0,1)=43, G(0,0), B(0,0) from the raw bytes.
        assert_eq!(raw.pixels[0], 59);
        assert_eq!(x[0], (59f32 / 255f32 - m[0]) / s[0]);
        assert!((x[0] - (-1.052_381)).abs() < 1e-5, "{}", x[0]);
        assert!((x[1] - (43.0 / 255.0 - 125.3 / 255.0) / (63.0 / 255.0)).abs() < 1e-5);
        let g = raw.pixels[1024] as f32;
        assert_eq!(x[1024], (g / 255f32 - m[1]) / s[1]);
        // Image 63 starts at 63*3072.
        let b = raw.pixels[63 * 3072 + 2048 + 5] as f32;
        assert_eq!(x[63 * 3072 + 2048 + 5], (b / 255f32 - m[2]) / s[2]);

        // Channel statistics over all 4000 images (byte space).
        let mut sum = [0f64; 3];
        let mut sq = [0f64; 3];
        for i in 0..raw.n {
            let im = raw.image(i).unwrap();
            for c in 0..3 {
                for &v in &im[c * 1024..(c + 1) * 1024] {
                    sum[c] += v as f64;
                    sq[c] += (v as f64) * (v as f64);
                }
            }
        }
        let cnt = (raw.n * 1024) as f64;
        let mean0 = sum[0] / cnt;
        let std0 = (sq[0] / cnt - mean0 * mean0).sqrt();
        eprintln!("train_4000 channel means {:?}, std0 {std0}", sum.map(|v| v / cnt));
        assert!((mean0 - 125.4).abs() < 1.0, "{mean0}");
        assert!((std0 - 63.0).abs() < 2.0, "{std0}");
        // Whole-set normalisation: channel 0 then has mean ~0 and std ~1.
        let all: Vec<usize> = (0..raw.n).collect();
        let z = normalize_cifar(&raw, &all).unwrap();
        let mut zs = 0f64;
        for i in 0..raw.n {
            zs += z[i * 3072..i * 3072 + 1024].iter().map(|&v| v as f64).sum::<f64>();
        }
        assert!((zs / cnt).abs() < 0.02, "{}", zs / cnt);
    }
}
