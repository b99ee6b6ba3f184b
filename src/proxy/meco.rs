//! MeCo (Jiang et al., NeurIPS 2023), written from the definition in the golden `sota`
//! README (`../shared/golden/nb201/sota/README.md`, section MeCo), not from any official
//! code.
//!
//! One forward pass (no-grad, BatchNorm in training mode) records the output of every
//! module in the order MeCo's forward hooks fire, containers included
//! ([`crate::net::recorder::Recorder::module`]). Per entry: T = the first sample of the
//! output reshaped to [rows, −1] (C rows of H·W values, or D rows of one value); R =
//! `corrcoef(T)` in float32 with NaN/±inf set to 0; v = the smallest real part of R's
//! eigenvalues (general `linalg.eig`, float32). The score is the float32 sum of the finite
//! v. An all-zero output (a `none` op) contributes 0.
//!
//! Only NAS-Bench-201 records its module outputs in MeCo's order (yet); other networks are
//! an error.
//!
//! Official NB201 recipe (setting B): one training image, batch 1, the network's default
//! initialisation. The "measures" variant replaces the input with `torch.randn(1,3,64,64)`
//! ([`Input::Gaussian`], `resolution` 64).

use crate::data::batch::Batch;
use crate::net::model::Model;
use crate::net::recorder::{Mode, RecordSpec, Recorder};
use crate::proxy::init::{input_tensor, Input};
use anyhow::{bail, Result};
use std::collections::HashMap;
use tch::{Kind, Tensor};

/// MeCo's protocol options.
#[derive(Clone, Debug, PartialEq)]
pub struct MecoOptions {
    /// Seed of libtorch's generator before the Gaussian input is drawn.
    pub seed: i64,
    /// Input (official: real).
    pub input: Input,
    /// Samples: the first `batch_size` images (or Gaussian noise of that batch size);
    /// `None`: the whole batch. Official: 1. Only sample 0 is read, but BatchNorm uses all.
    pub batch_size: Option<i64>,
    /// Spatial size of Gaussian input; `None`: the batch's.
    pub resolution: Option<i64>,
}

impl Default for MecoOptions {
    fn default() -> Self {
        MecoOptions { seed: 0, input: Input::Real, batch_size: Some(1), resolution: None }
    }
}

/// v for one module output `y` [N, …]: the smallest real part of the eigenvalues of the
/// correlation matrix of sample 0's rows.
pub fn entry_value(y: &Tensor) -> f64 {
    let t = y.get(0);
    let rows = t.size().first().copied().unwrap_or(1);
    let t = t.reshape([rows, -1]);
    if t.size()[1] < 2 {
        // One value per row: corrcoef divides by L − 1 = 0, every entry is NaN, becomes 0,
        // and the eigenvalues of the zero matrix are 0 (computed directly, without
        // libtorch's degrees-of-freedom warning).
        return 0.0;
    }
    // The small matrix's eigenvalues on the CPU: libtorch's general `eig` on CUDA runs
    // its iterations on the host anyway, with a synchronisation per call.
    let r = t.corrcoef().nan_to_num(0.0, 0.0, 0.0).to_device(tch::Device::Cpu);
    let (eig, _) = r.linalg_eig();
    eig.real().min().double_value(&[])
}

/// The labelled entries (label, v) of `model` on input `x`, in hook order.
pub fn entries_for_input(model: &Model, x: &Tensor) -> Result<Vec<(String, f64)>> {
    if !model.net.records_module_outputs() {
        bail!("proxy meco is only defined for nb201 (yet)");
    }
    tch::no_grad(|| {
        let mut rec = Recorder::new(RecordSpec { module_outputs: true, ..Default::default() });
        rec.mode = Mode::default();
        let _ = model.net.forward(x, &mut rec);
        // Wrapper modules return their child's tensor: compute each distinct tensor once.
        let mut cache: HashMap<(usize, Vec<i64>, Vec<i64>), f64> = HashMap::new();
        Ok(rec
            .modules
            .iter()
            .map(|m| {
                let v = match &m.output {
                    None => 0.0,
                    Some(t) => {
                        *cache.entry((t.data_ptr() as usize, t.size(), t.stride())).or_insert_with(|| entry_value(t))
                    }
                };
                (m.label.clone(), v)
            })
            .collect())
    })
}

/// The labelled entries for `batch` and the options (draws the Gaussian input, if any,
/// after seeding).
pub fn entries(model: &Model, batch: &Batch, opts: &MecoOptions) -> Result<Vec<(String, f64)>> {
    if opts.input == Input::Gaussian {
        tch::manual_seed(opts.seed);
    }
    let x = input_tensor(batch, opts.input, opts.batch_size, opts.resolution)?;
    entries_for_input(model, &x)
}

/// MeCo of `model` (see the module docs).
pub fn score(model: &Model, batch: &Batch, opts: &MecoOptions) -> Result<f64> {
    let e = entries(model, batch, opts)?;
    let v: Vec<f32> = e.iter().map(|(_, v)| *v as f32).filter(|v| v.is_finite()).collect();
    Ok(Tensor::from_slice(&v).sum(Kind::Float).double_value(&[]))
}
