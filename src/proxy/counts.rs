//! Size proxies: `params` (trainable parameters) and `flops` (multiply-accumulates of one
//! forward pass of one image at the data's resolution, over Conv2d and Linear layers:
//! Σ output elements × inputs per output; BN, pooling and additions are not counted).

use crate::net::build::build_model;
use crate::net::model::Model;
use crate::net::recorder::{Mode, RecordSpec, Recorder};
use crate::space::AnyArch;
use anyhow::Result;
use tch::{Kind, Tensor};

/// Trainable parameter count.
pub fn params(model: &Model) -> f64 {
    model.param_count() as f64
}

/// MACs of one image of spatial size `hw` (counted from the layer outputs of a forward).
pub fn flops(model: &Model, hw: (i64, i64)) -> f64 {
    tch::no_grad(|| {
        let x = Tensor::zeros([1, 3, hw.0, hw.1], (Kind::Float, model.vs.device()));
        let mut rec = Recorder::new(RecordSpec { layer_outputs: true, ..Default::default() });
        rec.mode = Mode { bn: true, train: false };
        let _ = model.net.forward(&x, &mut rec);
        rec.layers.iter().map(|l| l.output.numel() as f64 * l.fan_in as f64).sum()
    })
}

/// The model of the modules on an input→output path: for a NAS-Bench-201 cell with dead
/// edges, the network of its canonical cell (`Nb201Arch::canonical`); `None` when `model`
/// has no dead module (NAS-Bench-101 specs are pruned on parsing; mbv2 has none).
/// Errors: the canonical network cannot be built.
pub fn live_model(model: &Model) -> Result<Option<Model>> {
    match &model.arch {
        Some(AnyArch::Nb201(a)) if a.canonical() != *a => {
            build_model(&AnyArch::Nb201(a.canonical()), model.num_classes, model.vs.device(), 0, None).map(Some)
        }
        _ => Ok(None),
    }
}
