//! Training faithfulness against PyTorch: three SGD steps of a small NAS-Bench-201
//! network (C=4, N=1) from the PyTorch golden file `tests/fixtures/sgd_golden/` (how it
//! was made: its README): losses, updated weights, momentum buffers, BatchNorm running
//! statistics (momentum 0.1, unbiased variance), label smoothing and gradient clipping;
//! plus BatchNorm's running-statistics update derived by hand.

use std::collections::HashMap;
use std::path::PathBuf;
use tch::{nn, Device, Reduction, Tensor};
use zsnas::net::nb201::Nb201Net;
use zsnas::net::ops::BatchNorm;
use zsnas::net::recorder::{Mode, Recorder};
use zsnas::net::Network;
use zsnas::space::nb201::Nb201Arch;
use zsnas::train::sgd::{Sgd, SgdConfig};

const ARCH: &str = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|";

fn golden() -> HashMap<String, Tensor> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sgd_golden/sgd_golden.safetensors");
    Tensor::read_safetensors(&p).unwrap().into_iter().collect()
}

/// Largest |a − b| over a tensor relative to max(the tensor's largest |b|, 0.05). The
/// floor keeps rounding noise meaningful: a BatchNorm bias whose channel feeds another
/// training-mode BatchNorm has an analytically zero gradient, and its values (±1e-9)
/// are float32 noise in PyTorch and zsnas alike.
fn rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a - b).abs().max().double_value(&[]);
    d / b.abs().max().double_value(&[]).max(0.05)
}

#[test]
fn three_sgd_steps_match_pytorch() {
    tch::set_num_threads(1);
    let g = golden();
    let arch = Nb201Arch::parse(ARCH).unwrap();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = Nb201Net::new(&vs.root(), &arch, 4, 1, 10);
    let vars = vs.variables();
    // zsnas's default initialisation after manual_seed(0) is PyTorch's, bit for bit.
    for (k, v) in &vars {
        assert!(v.equal(&g[&format!("init.{k}")]), "init of {k} differs from PyTorch's");
    }
    let n_golden = g.keys().filter(|k| k.starts_with("init.")).count();
    assert_eq!(vars.len(), n_golden, "the golden state dict has another set of tensors");

    let params: Vec<(String, Tensor)> =
        vars.iter().filter(|(_, t)| t.requires_grad()).map(|(k, t)| (k.clone(), t.shallow_clone())).collect();
    let mut sgd = Sgd::new(params, SgdConfig { momentum: 0.9, nesterov: true, weight_decay: 5e-4 });
    let steps = [(0.1, 0.0, 0.0), (0.1, 0.0, 0.0), (0.05, 0.1, 0.5)];
    for (s, &(lr, ls, clip)) in steps.iter().enumerate().map(|(i, v)| (i + 1, v)) {
        let x = &g[&format!("x{s}")];
        let y = &g[&format!("y{s}")];
        let logits = net.forward(x, &mut Recorder::plain(Mode { bn: true, train: true }));
        let loss = logits.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, ls);
        let want = g[&format!("loss{s}")].double_value(&[0]);
        assert!((loss.double_value(&[]) - want).abs() <= 1e-6 * want.abs(), "step {s}: loss {loss} vs {want}");
        sgd.zero_grad();
        loss.backward();
        if clip > 0.0 {
            let norm = sgd.clip_grad_norm(clip).unwrap().unwrap();
            let want = g[&format!("gradnorm{s}")].double_value(&[0]);
            assert!((norm - want).abs() <= 1e-6 * want, "step {s}: gradient norm {norm} vs {want}");
            assert!(norm > clip, "step {s} should clip (norm {norm})");
        }
        sgd.step(lr);
        // Weights and BN running statistics after the step.
        let mut worst = (0.0, String::new());
        for (k, v) in &vars {
            let d = rel_diff(v, &g[&format!("step{s}.{k}")]);
            if d > worst.0 {
                worst = (d, k.clone());
            }
        }
        // float32 rounding: PyTorch fuses a + α·b, zsnas rounds α·b first.
        assert!(worst.0 < 2e-5, "step {s}: {} differs from PyTorch by {:e} (relative)", worst.1, worst.0);
        let mut worst_b = (0.0, String::new());
        for ((k, _), b) in sgd.params.iter().zip(&sgd.buffers) {
            let d = rel_diff(b.as_ref().unwrap(), &g[&format!("momentum{s}.{k}")]);
            if d > worst_b.0 {
                worst_b = (d, k.clone());
            }
        }
        eprintln!(
            "step {s}: worst relative difference: weights {:e} ({}), momentum {:e} ({})",
            worst.0, worst.1, worst_b.0, worst_b.1
        );
        assert!(worst_b.0 < 2e-5, "step {s}: momentum buffer of {} differs by {:e}", worst_b.1, worst_b.0);
        // The step really moved the weights (the comparison is not vacuous).
        let prev = if s == 1 { "init".to_string() } else { format!("step{}", s - 1) };
        let w = "cells.0.layers.0.op.1.weight";
        let moved = (&g[&format!("step{s}.{w}")] - &g[&format!("{prev}.{w}")]).abs().max().double_value(&[]);
        assert!(moved > 1e-4, "step {s}: golden weights barely moved ({moved})");
    }
}

#[test]
fn batchnorm_running_stats_by_hand() {
    // One channel, N=2, H=W=2: values 1..8. Batch mean 4.5, biased variance 5.25,
    // unbiased (n = 8) 6.0. PyTorch: running_mean = 0.9·0 + 0.1·4.5 = 0.45,
    // running_var = 0.9·1 + 0.1·6.0 = 1.5.
    let vs = nn::VarStore::new(Device::Cpu);
    let bn = BatchNorm::new(&vs.root(), 1, 1e-5);
    let x = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6., 7., 8.]).view([2, 1, 2, 2]);
    let y = tch::no_grad(|| bn.forward(&x, &Recorder::plain(Mode { bn: true, train: true })));
    assert!((bn.running_mean.double_value(&[0]) - 0.45).abs() < 1e-7);
    assert!((bn.running_var.double_value(&[0]) - 1.5).abs() < 1e-6);
    // Output normalised with the biased batch variance.
    assert!((y.double_value(&[0, 0, 0, 0]) - (1.0 - 4.5) / (5.25f64 + 1e-5).sqrt()).abs() < 1e-5);
    // A second pass: 0.9·0.45 + 0.1·4.5 = 0.855; 0.9·1.5 + 0.1·6 = 1.95.
    let _ = tch::no_grad(|| bn.forward(&x, &Recorder::plain(Mode { bn: true, train: true })));
    assert!((bn.running_mean.double_value(&[0]) - 0.855).abs() < 1e-6);
    assert!((bn.running_var.double_value(&[0]) - 1.95).abs() < 1e-6);
    // Evaluation mode uses and keeps the running statistics.
    let y = tch::no_grad(|| bn.forward(&x, &Recorder::plain(Mode { bn: true, train: false })));
    assert!((y.double_value(&[0, 0, 0, 0]) - (1.0 - 0.855) / (1.95f64 + 1e-5).sqrt()).abs() < 1e-5);
    assert!((bn.running_mean.double_value(&[0]) - 0.855).abs() < 1e-6);
}
