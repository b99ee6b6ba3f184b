//! Training data: the epoch's shuffled batches, augmentation on the raw bytes
//! (pad-and-crop + flip from [`crate::data::transform`], random resized crop here),
//! normalisation with the CIFAR-10 statistics, and mixup's Beta draws. All randomness
//! comes from one [`ChaCha8Rng`] that the checkpoint saves, so a resumed run draws the
//! same numbers as an uninterrupted one.

use super::recipe::Augment;
use crate::data::cifar10::RawImages;
use crate::data::transform::{augment, cifar10_mean_std, normalize_image_into};
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// A batch ready for the network: normalised images `[B, 3, H, W]` f32 and labels `[B]` i64,
/// on `device`.
pub struct TrainBatch {
    /// Images.
    pub images: Tensor,
    /// Labels.
    pub labels: Tensor,
}

/// The batches of one epoch: a uniform shuffle of `0..n` (rand's `SliceRandom::shuffle`
/// with `rng`) cut into runs of `batch_size`; the last, shorter batch is kept (PyTorch's
/// `DataLoader(shuffle=True, drop_last=False)`, as NAS-Bench-201) unless it holds a
/// single image, which training-mode BatchNorm cannot normalise; it is then dropped.
pub fn epoch_batches(n: usize, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    idx.chunks(batch_size.max(1)).filter(|c| c.len() >= 2).map(|c| c.to_vec()).collect()
}

/// Number of batches per epoch of [`epoch_batches`] (without drawing).
pub fn batches_per_epoch(n: usize, batch_size: usize) -> usize {
    let b = batch_size.max(1);
    n / b + usize::from(n % b >= 2)
}

/// Assembles images `idx` of `raw` into a batch: each image augmented with `aug` (draws
/// from `rng` in image order), normalised with the CIFAR-10 mean and std, moved to
/// `device`.
pub fn make_batch(
    raw: &RawImages,
    idx: &[usize],
    aug: Augment,
    rng: &mut ChaCha8Rng,
    device: Device,
) -> Result<TrainBatch> {
    let (mean, std) = cifar10_mean_std();
    let (h, w) = (raw.height, raw.width);
    let mut data = Vec::with_capacity(idx.len() * raw.image_len());
    let mut labels = Vec::with_capacity(idx.len());
    for &i in idx {
        let Some(img) = raw.image(i) else { bail!("image index {i} out of range for a set of {} images", raw.n) };
        match aug {
            Augment::None => normalize_image_into(img, &mean, &std, &mut data)?,
            Augment::CropFlip => normalize_image_into(&augment(img, h, w, rng)?, &mean, &std, &mut data)?,
            Augment::ResizedCropFlip => {
                normalize_image_into(&random_resized_crop_flip(img, h, w, rng)?, &mean, &std, &mut data)?
            }
        }
        labels.push(raw.labels[i] as i64);
    }
    let b = idx.len() as i64;
    Ok(TrainBatch {
        images: Tensor::from_slice(&data).view([b, 3, h as i64, w as i64]).to_device(device),
        labels: Tensor::from_slice(&labels).to_device(device),
    })
}

/// The crop window (top, left, height, width) of torchvision's
/// `RandomResizedCrop.get_params(img, scale=(0.08, 1), ratio=(3/4, 4/3))` for an
/// `h × w` image: up to 10 tries of a random area fraction and log-uniform aspect
/// ratio, else the central crop clamped to the ratio range.
pub fn resized_crop_window<R: Rng + ?Sized>(h: usize, w: usize, rng: &mut R) -> (usize, usize, usize, usize) {
    let area = (h * w) as f64;
    let (lr0, lr1) = ((3.0f64 / 4.0).ln(), (4.0f64 / 3.0).ln());
    for _ in 0..10 {
        let target = area * rng.gen_range(0.08..1.0);
        let aspect = rng.gen_range(lr0..lr1).exp();
        let cw = (target * aspect).sqrt().round() as usize;
        let ch = (target / aspect).sqrt().round() as usize;
        if cw > 0 && cw <= w && ch > 0 && ch <= h {
            let top = rng.gen_range(0..=h - ch);
            let left = rng.gen_range(0..=w - cw);
            return (top, left, ch, cw);
        }
    }
    let in_ratio = w as f64 / h as f64;
    let (cw, ch) = if in_ratio < 3.0 / 4.0 {
        (w, ((w as f64) / (3.0 / 4.0)).round() as usize)
    } else if in_ratio > 4.0 / 3.0 {
        ((h as f64 * 4.0 / 3.0).round() as usize, h)
    } else {
        (w, h)
    };
    ((h - ch.min(h)) / 2, (w - cw.min(w)) / 2, ch.min(h), cw.min(w))
}

/// Bilinear resize (half-pixel centres, PyTorch's `align_corners=False`, no antialiasing)
/// of the `top, left, ch × cw` window of a CHW byte image of width `w` to `oh × ow`,
/// rounded to bytes.
pub fn resize_window(
    chw: &[u8],
    h: usize,
    w: usize,
    (top, left, ch, cw): (usize, usize, usize, usize),
    oh: usize,
    ow: usize,
) -> Vec<u8> {
    let plane = h * w;
    let mut out = vec![0u8; 3 * oh * ow];
    let src = |c: usize, y: usize, x: usize| chw[c * plane + (top + y) * w + left + x] as f32;
    let coord = |o: usize, scale: f32, n: usize| -> (usize, usize, f32) {
        let s = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (s.floor() as usize).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, s - i0 as f32)
    };
    let (sy, sx) = (ch as f32 / oh as f32, cw as f32 / ow as f32);
    for c in 0..3 {
        for y in 0..oh {
            let (y0, y1, fy) = coord(y, sy, ch);
            for x in 0..ow {
                let (x0, x1, fx) = coord(x, sx, cw);
                let top_v = src(c, y0, x0) * (1.0 - fx) + src(c, y0, x1) * fx;
                let bot_v = src(c, y1, x0) * (1.0 - fx) + src(c, y1, x1) * fx;
                let v = top_v * (1.0 - fy) + bot_v * fy;
                out[c * oh * ow + y * ow + x] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// Random resized crop back to `h × w` ([`resized_crop_window`], [`resize_window`]), then
/// a horizontal flip with probability ½. Errors when the buffer is not 3·h·w bytes.
pub fn random_resized_crop_flip<R: Rng + ?Sized>(chw: &[u8], h: usize, w: usize, rng: &mut R) -> Result<Vec<u8>> {
    if chw.len() != 3 * h * w || h == 0 || w == 0 {
        bail!("image buffer of {} bytes does not match 3x{h}x{w}", chw.len());
    }
    let win = resized_crop_window(h, w, rng);
    let mut out = resize_window(chw, h, w, win, h, w);
    if rng.gen_bool(0.5) {
        for row in out.chunks_mut(w) {
            row.reverse();
        }
    }
    Ok(out)
}

/// A standard normal draw (Box–Muller on two uniforms).
fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A Gamma(`a`, 1) draw, `a` > 0: Marsaglia and Tsang's method (2000), with
/// Gamma(a) = Gamma(a + 1) · U^{1/a} for `a` < 1.
pub fn gamma<R: Rng + ?Sized>(a: f64, rng: &mut R) -> f64 {
    if a < 1.0 {
        let u: f64 = 1.0 - rng.gen::<f64>();
        return gamma(a + 1.0, rng) * u.powf(1.0 / a);
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = 1.0 - rng.gen::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A Beta(`a`, `a`) draw (mixup's λ), `a` > 0: X/(X+Y) with X, Y ~ Gamma(a).
pub fn beta_symmetric<R: Rng + ?Sized>(a: f64, rng: &mut R) -> f64 {
    let x = gamma(a, rng);
    let y = gamma(a, rng);
    if x + y == 0.0 {
        0.5
    } else {
        x / (x + y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn batches_cover_the_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let b = epoch_batches(10, 4, &mut rng);
        assert_eq!(b.iter().map(|x| x.len()).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = b.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(batches_per_epoch(10, 4), 3);
        // A last batch of one image is dropped.
        let b = epoch_batches(9, 4, &mut rng);
        assert_eq!(b.len(), 2);
        assert_eq!(batches_per_epoch(9, 4), 2);
        assert_eq!(batches_per_epoch(4000, 64), 63);
    }

    #[test]
    fn beta_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40_000;
        let xs: Vec<f64> = (0..n).map(|_| beta_symmetric(0.4, &mut rng)).collect();
        assert!(xs.iter().all(|&x| (0.0..=1.0).contains(&x)));
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        // Beta(α, α): mean ½, variance 1 / (4 (2α + 1)) = 0.13889 for α = 0.4.
        assert!((m - 0.5).abs() < 0.01, "{m}");
        assert!((v - 1.0 / (4.0 * 1.8)).abs() < 0.005, "{v}");
        // Gamma(2.5) has mean 2.5 and variance 2.5.
        let gs: Vec<f64> = (0..n).map(|_| gamma(2.5, &mut rng)).collect();
        let gm = gs.iter().sum::<f64>() / n as f64;
        let gv = gs.iter().map(|x| (x - gm) * (x - gm)).sum::<f64>() / n as f64;
        assert!((gm - 2.5).abs() < 0.05 && (gv - 2.5).abs() < 0.1, "{gm} {gv}");
    }

    #[test]
    fn resized_crop_geometry() {
        // The full window at the same size is the identity.
        let img: Vec<u8> = (0..3 * 4 * 6).map(|v| (v * 3) as u8).collect();
        assert_eq!(resize_window(&img, 4, 6, (0, 0, 4, 6), 4, 6), img);
        // A 2×2 window blown up to 4×4: corners keep the window's corner values.
        let up = resize_window(&img, 4, 6, (1, 2, 2, 2), 4, 4);
        assert_eq!(up[0], img[6 + 2]);
        assert_eq!(up[15], img[2 * 6 + 3]);
        // Windows stay inside the image and keep at least 8% of a 32×32 image's area
        // (up to rounding), with aspect ratios inside [3/4, 4/3] (up to rounding).
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..500 {
            let (t, l, h, w) = resized_crop_window(32, 32, &mut rng);
            assert!(t + h <= 32 && l + w <= 32 && h >= 1 && w >= 1);
            assert!((h * w) as f64 >= 0.08 * 1024.0 * 0.8, "{h}x{w}");
            let r = w as f64 / h as f64;
            assert!(r > 0.6 && r < 1.67, "{r}");
        }
        let out = random_resized_crop_flip(&vec![9u8; 3 * 32 * 32], 32, 32, &mut rng).unwrap();
        assert!(out.iter().all(|&v| v == 9));
        assert!(random_resized_crop_flip(&[0u8; 5], 32, 32, &mut rng).is_err());
    }
}
