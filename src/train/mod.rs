//! Training a found architecture: from a searched cell or network to trained weights.
//!
//! [`trainer::train`] trains any network zsnas builds (NAS-Bench-201, NAS-Bench-101,
//! MobileNetV2-like) on images read by [`crate::data`] (CIFAR-10 binaries, image folders),
//! with SGD ([`sgd`], PyTorch's update rule), a cosine learning-rate schedule
//! ([`recipe`]), augmentation and mixup ([`data`]); it evaluates on a test set after every
//! epoch, writes one JSON line per epoch, checkpoints every epoch atomically
//! ([`checkpoint`]) and resumes after a kill with the same result as an uninterrupted
//! run; at the end it exports the last and the best weights as safetensors (PyTorch
//! state-dict names) and TorchScript ([`crate::net::torchscript`]).
//!
//! # Recipes
//!
//! * `nb201` — NAS-Bench-201's (Dong & Yang, ICLR 2020; xautodl
//!   `configs/nas-benchmark/hyper-opts/200E.config`): SGD, Nesterov momentum 0.9, lr 0.1,
//!   cosine decay to 0 stepped **per epoch** (xautodl's scheduler reads only the epoch
//!   counter once warm-up, of 0 epochs here, is over), weight decay 5e-4 on every
//!   parameter (BatchNorm and biases included), batch 256, 200 epochs, random crop with
//!   4-pixel padding + horizontal flip, cross-entropy. The data loader shuffles every
//!   epoch and keeps the last partial batch.
//! * `imagenet` — the WRCor paper's ImageNet training (Jing et al., 2025, following
//!   Zen-NAS): SGD, lr 0.1 with cosine decay (per iteration here), momentum 0.9, weight
//!   decay 4e-5, label smoothing 0.1, mixup α 0.4, gradient clipping at global norm 5,
//!   480 epochs, batch 256, random resized crop + horizontal flip.
//!
//! Every field can be overridden (`--epochs`, `--batch-size`, `--lr`, `--weight-decay`,
//! `--momentum`, `--nesterov`, `--label-smoothing`, `--mixup`, `--clip-grad`, `--seed`).
//!
//! # What the paper's ImageNet recipe has and zsnas leaves out
//!
//! * **AutoAugment** (the ImageNet policy) on top of the random resized crop and flip;
//! * **knowledge distillation** from a pre-trained teacher (a ResNet-152 in Zen-NAS's
//!   recipe, whose weights zsnas does not ship and whose forward pass would dominate the
//!   cost); the loss here is the plain label-smoothed (mixup) cross-entropy;
//! * the multi-GPU data-parallel set-up, mixed precision and any learning-rate warm-up of
//!   the original scripts (the schedule here is the bare cosine from the initial rate);
//! * the evaluation transform "resize to 256, centre-crop 224": zsnas evaluates the test
//!   images as they are, and an mbv2 network resizes its input to its own resolution.
//!
//! Images are normalised with the CIFAR-10 mean and std for every data set (as the other
//! zsnas commands do). The random resized crop resizes back to the data's own image size
//! (bilinear, no antialiasing), not to the network's resolution.
//!
//! # Determinism
//!
//! All randomness of training (data order, augmentation, mixup) comes from one ChaCha8
//! generator seeded by `--seed`; the weight initialisation from libtorch's generator
//! seeded by `--seed` before the network is built. The checkpoint after each epoch holds
//! the weights and BatchNorm statistics, the momentum buffers, the step count and the
//! generator's state, so with the same number of threads on the CPU, stopping after
//! any epoch and resuming gives bit-identical weights (tested in `tests/train.rs`).

pub mod checkpoint;
pub mod data;
pub mod recipe;
pub mod sgd;
pub mod trainer;
