//! The shared response pass: one forward with a [`Recorder`], then one backward per
//! distinct scalar (the loss; the sum of logits for JacobCor), asking autograd only for
//! the tensors the requested proxies need.

use crate::data::batch::Batch;
use crate::net::channels_last::to_channels_last;
use crate::net::model::Model;
use crate::net::recorder::{Mode, RecordSpec, Recorder};
use tch::{Device, Kind, Tensor};

/// What the response-based proxies requested together need from the pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Forward responses (ReLU inputs).
    pub relu_inputs: bool,
    /// Loss gradients w.r.t. each ReLU's own input.
    pub relu_grads: bool,
    /// Loss gradients w.r.t. conv outputs inside ReLU-Conv-BN wrappers (reference WRCor).
    pub wrapper_grads: bool,
    /// Conv/Linear outputs and their loss gradients (Fisher).
    pub layer_grads: bool,
    /// Loss gradients w.r.t. Conv/Linear weights (snip, grad_norm, plain).
    pub weight_grads: bool,
    /// Gradient of Σ logits w.r.t. the input batch (JacobCor).
    pub input_grad: bool,
}

impl Needs {
    /// Union of two sets of needs.
    pub fn union(self, o: Needs) -> Needs {
        Needs {
            relu_inputs: self.relu_inputs || o.relu_inputs,
            relu_grads: self.relu_grads || o.relu_grads,
            wrapper_grads: self.wrapper_grads || o.wrapper_grads,
            layer_grads: self.layer_grads || o.layer_grads,
            weight_grads: self.weight_grads || o.weight_grads,
            input_grad: self.input_grad || o.input_grad,
        }
    }

    /// True when nothing is needed (no pass runs).
    pub fn is_empty(&self) -> bool {
        *self == Needs::default()
    }

    /// True when the needs are ReLU responses only (inputs, their gradients, wrapper
    /// conv-output gradients): the values of the WRCor family and NASWOT.
    pub fn responses_only(&self) -> bool {
        !(self.layer_grads || self.weight_grads || self.input_grad)
    }

    fn loss_grads(&self) -> bool {
        self.relu_grads || self.wrapper_grads || self.layer_grads || self.weight_grads
    }
}

/// Everything one response pass produced.
pub struct Responses {
    /// The recorder with its ReLU sites and layer outputs.
    pub rec: Recorder,
    /// Logits [N, classes].
    pub logits: Tensor,
    /// Per ReLU site: ∂L/∂(its input), `None` if unreachable or not requested.
    pub relu_grads: Vec<Option<Tensor>>,
    /// Per ReLU site: ∂L/∂(wrapper conv output) for wrapped sites.
    pub wrapper_grads: Vec<Option<Tensor>>,
    /// Per recorded layer output: ∂L/∂output.
    pub layer_grads: Vec<Option<Tensor>>,
    /// Per model weight (order of [`Model::weights`]): ∂L/∂w.
    pub weight_grads: Vec<Option<Tensor>>,
    /// ∂(Σ logits)/∂x, [N, 3, H, W].
    pub input_grad: Option<Tensor>,
}

fn defined(t: Tensor) -> Option<Tensor> {
    if t.defined() {
        Some(t)
    } else {
        None
    }
}

/// True when [`run`] runs the pass channels-last: on CPU, float32, for a network that
/// supports it ([`Network::runs_channels_last`]: NAS-Bench-201) and needs that are
/// [`Needs::responses_only`]. Channels-last convolutions skip oneDNN's layout reorders
/// (1.27× faster per NAS-Bench-201 cell for `wrcor`, `results/speed/round4/`); passes that need
/// weight, layer or input gradients keep channels-first, the reference code's layout
/// (channels-last weight gradients move golden `fisher` by 2e-3 relative).
///
/// [`Network::runs_channels_last`]: crate::net::Network::runs_channels_last
pub fn channels_last(model: &Model, batch: &Batch, needs: Needs) -> bool {
    needs.responses_only()
        && batch.images.device() == Device::Cpu
        && batch.images.kind() == Kind::Float
        && batch.images.dim() == 4
        && model.net.runs_channels_last()
}

/// Runs the pass on `model` with `batch` (BN in training mode, mean cross-entropy
/// against the batch labels), channels-last when [`channels_last`] says so.
pub fn run(model: &Model, batch: &Batch, needs: Needs) -> Responses {
    let spec = RecordSpec {
        relu_inputs: needs.relu_inputs,
        relu_grads: needs.relu_grads,
        wrapper_outputs: needs.wrapper_grads,
        layer_outputs: needs.layer_grads,
        ..Default::default()
    };
    let mut rec = Recorder::new(spec);
    rec.mode = Mode::default();
    let cl_images;
    let batch = if channels_last(model, batch, needs) {
        cl_images = Batch { images: to_channels_last(&batch.images), labels: batch.labels.shallow_clone() };
        &cl_images
    } else {
        batch
    };
    let x = if needs.input_grad { batch.images.detach().set_requires_grad(true) } else { batch.images.shallow_clone() };
    let logits = model.net.forward(&x, &mut rec);
    let mut out = Responses {
        relu_grads: Vec::new(),
        wrapper_grads: Vec::new(),
        layer_grads: Vec::new(),
        weight_grads: Vec::new(),
        input_grad: None,
        logits: logits.shallow_clone(),
        rec: Recorder::default(),
    };
    if needs.loss_grads() {
        let loss = logits.cross_entropy_for_logits(&batch.labels);
        let mut inputs: Vec<Tensor> = Vec::new();
        let mut slots: Vec<(u8, usize)> = Vec::new();
        if needs.relu_grads {
            for (i, s) in rec.relus.iter().enumerate() {
                if s.input.requires_grad() {
                    inputs.push(s.input.shallow_clone());
                    slots.push((0, i));
                }
            }
        }
        if needs.wrapper_grads {
            for (i, s) in rec.relus.iter().enumerate() {
                if let Some(w) = s.wrapper_out.as_ref().filter(|w| w.requires_grad()) {
                    inputs.push(w.shallow_clone());
                    slots.push((1, i));
                }
            }
        }
        if needs.layer_grads {
            for (i, l) in rec.layers.iter().enumerate() {
                if l.output.requires_grad() {
                    inputs.push(l.output.shallow_clone());
                    slots.push((2, i));
                }
            }
        }
        let weights = if needs.weight_grads { model.weights() } else { Vec::new() };
        for (i, (_, w)) in weights.iter().enumerate() {
            inputs.push(w.shallow_clone());
            slots.push((3, i));
        }
        out.relu_grads = (0..rec.relus.len()).map(|_| None).collect();
        out.wrapper_grads = (0..rec.relus.len()).map(|_| None).collect();
        out.layer_grads = (0..rec.layers.len()).map(|_| None).collect();
        out.weight_grads = (0..weights.len()).map(|_| None).collect();
        if !inputs.is_empty() {
            let grads = Tensor::run_backward(&[&loss], &inputs, needs.input_grad, false);
            for ((kind, i), g) in slots.into_iter().zip(grads) {
                let g = defined(g);
                match kind {
                    0 => out.relu_grads[i] = g,
                    1 => out.wrapper_grads[i] = g,
                    2 => out.layer_grads[i] = g,
                    _ => out.weight_grads[i] = g,
                }
            }
        }
    }
    if needs.input_grad && logits.requires_grad() {
        let s = logits.sum(logits.kind());
        let g = Tensor::run_backward(&[&s], &[&x], false, false);
        out.input_grad = g.into_iter().next().and_then(defined);
    }
    out.rec = rec;
    out
}
