//! Training recipes: NAS-Bench-201's and the WRCor paper's ImageNet recipe, every field
//! overridable, and the cosine learning-rate schedule.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// When the cosine schedule moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrStep {
    /// Once per epoch: epoch `e` (0-based) of `E` trains at `lr · (1 + cos(π e / E)) / 2`.
    /// This is NAS-Bench-201's schedule: xautodl's `CosineAnnealingLR.get_lr` uses only
    /// the epoch counter (`scheduler.update(epoch, 0.0)` at each epoch; the per-iteration
    /// `update(None, i/len)` only matters during warm-up, which NAS-Bench-201 does not
    /// use), with `T_max` = epochs and `eta_min` = 0.
    Epoch,
    /// Every iteration: step `t` of `T = E · iterations per epoch` trains at
    /// `lr · (1 + cos(π t / T)) / 2`.
    Iteration,
}

/// The training-time augmentation of the images (on the raw bytes, before normalisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Augment {
    /// None (the images as they are).
    None,
    /// Random crop with 4-pixel zero padding, then a horizontal flip with probability ½
    /// (torchvision `RandomCrop(32, padding=4)` + `RandomHorizontalFlip()`, as NAS-Bench-201).
    CropFlip,
    /// Random resized crop (scale 0.08–1, aspect ratio 3/4–4/3, bilinear resize back to
    /// the image's size) then a horizontal flip with probability ½ (torchvision
    /// `RandomResizedCrop` + `RandomHorizontalFlip()`).
    ResizedCropFlip,
}

/// Everything that decides a training run apart from the architecture and the data.
/// All fields are checked when a run resumes from a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// The preset the recipe started from (`nb201` or `imagenet`).
    pub name: String,
    /// Number of epochs (also the length of the cosine schedule).
    pub epochs: usize,
    /// Images per training batch (the test set is evaluated in batches of this size).
    pub batch_size: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// SGD momentum μ (0: plain SGD).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay, added to every parameter's gradient (BatchNorm γ/β and biases too,
    /// as NAS-Bench-201 does).
    pub weight_decay: f64,
    /// Label smoothing ε of the cross-entropy (PyTorch's definition).
    pub label_smoothing: f64,
    /// mixup α: λ ~ Beta(α, α) per batch (0: off).
    pub mixup: f64,
    /// Gradient clipping: the largest global L2 norm of all gradients (0: off).
    pub clip_grad: f64,
    /// When the cosine schedule moves.
    pub lr_step: LrStep,
    /// Training augmentation.
    pub augment: Augment,
    /// Seed of the weight initialisation, the data order, augmentation and mixup.
    pub seed: u64,
}

impl Recipe {
    /// NAS-Bench-201's CIFAR recipe (xautodl `configs/nas-benchmark/hyper-opts/200E.config`
    /// with `CIFAR.config`): SGD with Nesterov momentum 0.9, lr 0.1, cosine decay to 0
    /// per epoch over 200 epochs, weight decay 5e-4 on all parameters, batch 256, random
    /// crop with 4-pixel padding and horizontal flip, plain cross-entropy.
    pub fn nb201() -> Recipe {
        Recipe {
            name: "nb201".into(),
            epochs: 200,
            batch_size: 256,
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            label_smoothing: 0.0,
            mixup: 0.0,
            clip_grad: 0.0,
            lr_step: LrStep::Epoch,
            augment: Augment::CropFlip,
            seed: 0,
        }
    }

    /// The WRCor paper's ImageNet recipe (the Zen-NAS recipe it adopts), without what zsnas
    /// leaves out (see [`crate::train`]): SGD, momentum 0.9 (not Nesterov), lr 0.1 with
    /// cosine decay to 0 per iteration, weight decay 4e-5, label smoothing 0.1, mixup
    /// α 0.4, gradient clipping at norm 5, 480 epochs, batch 256, random resized crop and
    /// horizontal flip.
    pub fn imagenet() -> Recipe {
        Recipe {
            name: "imagenet".into(),
            epochs: 480,
            batch_size: 256,
            lr: 0.1,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 4e-5,
            label_smoothing: 0.1,
            mixup: 0.4,
            clip_grad: 5.0,
            lr_step: LrStep::Iteration,
            augment: Augment::ResizedCropFlip,
            seed: 0,
        }
    }

    /// The preset called `name` (`nb201` or `imagenet`).
    pub fn preset(name: &str) -> Result<Recipe> {
        match name {
            "nb201" => Ok(Recipe::nb201()),
            "imagenet" => Ok(Recipe::imagenet()),
            _ => bail!("unknown recipe '{name}' (known: nb201, imagenet)"),
        }
    }

    /// Checks the values: epochs and batch size ≥ 1, lr > 0 and finite, momentum in
    /// [0, 1), Nesterov only with momentum, non-negative finite weight decay, label
    /// smoothing in [0, 1), mixup and clipping ≥ 0. Errors name the flag.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            bail!("--epochs must be at least 1");
        }
        if self.batch_size < 2 {
            bail!(
                "--batch-size must be at least 2 (BatchNorm in training mode needs 2 images), got {}",
                self.batch_size
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr must be positive and finite, got {}", self.lr);
        }
        if !(0.0..1.0).contains(&self.momentum) {
            bail!("--momentum must be in [0, 1), got {}", self.momentum);
        }
        if self.nesterov && self.momentum == 0.0 {
            bail!("--nesterov needs a momentum above 0");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            bail!("--weight-decay must be non-negative and finite, got {}", self.weight_decay);
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            bail!("--label-smoothing must be in [0, 1), got {}", self.label_smoothing);
        }
        if !(self.mixup.is_finite() && self.mixup >= 0.0) {
            bail!("--mixup must be non-negative and finite (0: off), got {}", self.mixup);
        }
        if !(self.clip_grad.is_finite() && self.clip_grad >= 0.0) {
            bail!("--clip-grad must be non-negative and finite (0: off), got {}", self.clip_grad);
        }
        Ok(())
    }

    /// The learning rate of iteration `iter` (0-based) of epoch `epoch` (0-based), with
    /// `iters` iterations per epoch: cosine decay from `lr` towards 0 (see [`LrStep`]).
    pub fn lr_at(&self, epoch: usize, iter: usize, iters: usize) -> f64 {
        let frac = match self.lr_step {
            LrStep::Epoch => epoch as f64 / self.epochs as f64,
            LrStep::Iteration => {
                let t = (epoch * iters + iter) as f64;
                t / (self.epochs * iters.max(1)) as f64
            }
        };
        0.5 * self.lr * (1.0 + (std::f64::consts::PI * frac).cos())
    }

    /// The recipe's fields as (name, JSON value) pairs, in a fixed order: what a checkpoint
    /// records and compares on resumption.
    pub fn fields(&self) -> Vec<(String, serde_json::Value)> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nb201_schedule_is_per_epoch_cosine() {
        let mut r = Recipe::nb201();
        r.epochs = 5;
        let lrs: Vec<f64> = (0..5).map(|e| r.lr_at(e, 7, 63)).collect();
        // 0.05·(1 + cos(π e/5)).
        let want = [0.1, 0.09045084971874738, 0.06545084971874737, 0.03454915028125264, 0.009549150281252633];
        for (a, b) in lrs.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
        assert_eq!(r.lr_at(2, 0, 63), r.lr_at(2, 62, 63));
        // 200 epochs: the last epoch still trains at a small positive rate.
        let r = Recipe::nb201();
        assert!((r.lr_at(199, 0, 1) - 0.05 * (1.0 + (std::f64::consts::PI * 199.0 / 200.0).cos())).abs() < 1e-18);
        assert!(r.lr_at(199, 0, 1) > 0.0);
    }

    #[test]
    fn imagenet_schedule_is_per_iteration() {
        let mut r = Recipe::imagenet();
        r.epochs = 2;
        assert_eq!(r.lr_at(0, 0, 10), 0.1);
        assert!((r.lr_at(1, 0, 10) - 0.05).abs() < 1e-15); // half way
        assert!(r.lr_at(0, 1, 10) < 0.1 && r.lr_at(0, 1, 10) > r.lr_at(0, 2, 10));
        assert!((r.lr_at(1, 9, 10) - 0.05 * (1.0 + (std::f64::consts::PI * 19.0 / 20.0).cos())).abs() < 1e-15);
    }

    #[test]
    fn presets_and_validation() {
        assert_eq!(Recipe::preset("nb201").unwrap(), Recipe::nb201());
        assert!(Recipe::preset("cifar").unwrap_err().to_string().contains("unknown recipe"));
        Recipe::nb201().validate().unwrap();
        Recipe::imagenet().validate().unwrap();
        let mut r = Recipe::nb201();
        r.momentum = 0.0;
        assert!(r.validate().unwrap_err().to_string().contains("--nesterov"));
        let mut r = Recipe::imagenet();
        r.label_smoothing = 1.0;
        assert!(r.validate().unwrap_err().to_string().contains("--label-smoothing"));
        let mut r = Recipe::imagenet();
        r.batch_size = 1;
        assert!(r.validate().unwrap_err().to_string().contains("--batch-size"));
        let names: Vec<String> = Recipe::nb201().fields().into_iter().map(|f| f.0).collect();
        assert!(names.contains(&"weight_decay".to_string()) && names.contains(&"lr_step".to_string()));
    }
}
