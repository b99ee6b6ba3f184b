//! ReLU sites: what a network's forward pass records for the response-based proxies.
//!
//! Every network in zsnas routes each ReLU through [`Recorder::relu`] with the index of
//! the layer (cell / block) that holds it, and each Conv2d/Linear output through
//! [`Recorder::layer_out`]. The recorder keeps what was asked for in its [`RecordSpec`]
//! (nothing by default), so one network code path serves plain inference, WRCor,
//! NASWOT, Fisher and the reference-code ("official") WRCor.
//!
//! Backward responses: when `backward` is requested each ReLU input is replaced by an
//! identity alias (`view_as`) before the ReLU, so the gradient w.r.t. that alias is the
//! share of the loss gradient that flows through this ReLU only (the paper's definition;
//! golden README quirk 4), not the node's total gradient.

use tch::Tensor;

/// How BN and autograd behave in one forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// BatchNorm active (`false`: every BN is the identity, as SynFlow's reference does).
    pub bn: bool,
    /// BatchNorm uses batch statistics and updates running stats (training mode).
    pub train: bool,
}

impl Default for Mode {
    fn default() -> Self {
        Mode { bn: true, train: true }
    }
}

/// What to keep during a forward pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordSpec {
    /// Keep ReLU inputs (forward responses).
    pub relu_inputs: bool,
    /// Alias ReLU inputs so their gradients can be taken (backward responses).
    pub relu_grads: bool,
    /// Keep Conv2d outputs inside ReLU-Conv-BN wrappers (aliased, for their gradients):
    /// the reference WRCor code's wrapper backward response (golden README quirk 3).
    pub wrapper_outputs: bool,
    /// Keep every Conv2d/Linear output (aliased), as Fisher needs.
    pub layer_outputs: bool,
}

/// One recorded ReLU.
#[derive(Debug)]
pub struct ReluSite {
    /// Index of the layer (cell/block) holding the site; WRCor weights it 2^layer.
    pub layer: usize,
    /// The ReLU input [N, ...] (an alias when gradients are recorded).
    pub input: Tensor,
    /// Identity of the underlying storage: sites reading the same tensor share it, so a
    /// forward correlation matrix is computed once per distinct tensor.
    pub key: usize,
    /// True when the ReLU is the first op of a ReLU-Conv-BN wrapper (the reference code
    /// hooks the wrapper too, counting this site twice).
    pub wrapped: bool,
    /// True for the final BN+ReLU (`lastact`), whose ReLU is in-place in the reference
    /// code, so the reference forward hook sees post-ReLU values.
    pub is_final: bool,
    /// For wrapped sites with `wrapper_outputs`: the conv output (alias), [N, C_out, H, W].
    pub wrapper_out: Option<Tensor>,
}

/// One recorded Conv2d or Linear output (for Fisher).
#[derive(Debug)]
pub struct LayerOut {
    /// The layer's output before BN, aliased: [N, C_out, H, W] or [N, out].
    pub output: Tensor,
    /// Number of weights feeding each output channel (C_in/groups · kh · kw, or in_features).
    pub fan_in: i64,
}

/// Collects sites during a forward pass. See the module docs.
#[derive(Debug, Default)]
pub struct Recorder {
    /// BN behaviour for this pass.
    pub mode: Mode,
    /// What is kept.
    pub spec: RecordSpec,
    /// ReLU sites in execution order.
    pub relus: Vec<ReluSite>,
    /// Conv/Linear outputs in execution order.
    pub layers: Vec<LayerOut>,
    pending_wrapper: Option<usize>,
}

fn alias(x: &Tensor) -> Tensor {
    x.view_as(x)
}

impl Recorder {
    /// A recorder that keeps nothing (plain inference), with the given mode.
    pub fn plain(mode: Mode) -> Self {
        Recorder { mode, ..Default::default() }
    }

    /// A recorder keeping what `spec` asks for, BN in training mode.
    pub fn new(spec: RecordSpec) -> Self {
        Recorder { spec, ..Default::default() }
    }

    fn any_relu(&self) -> bool {
        self.spec.relu_inputs || self.spec.relu_grads
    }

    fn relu_impl(&mut self, x: &Tensor, layer: usize, wrapped: bool, is_final: bool) -> Tensor {
        if !self.any_relu() {
            return x.relu();
        }
        let key = x.data_ptr() as usize;
        let input = if self.spec.relu_grads { alias(x) } else { x.shallow_clone() };
        let out = input.relu();
        self.relus.push(ReluSite { layer, input, key, wrapped, is_final, wrapper_out: None });
        if wrapped && self.spec.wrapper_outputs {
            self.pending_wrapper = Some(self.relus.len() - 1);
        }
        out
    }

    /// A ReLU at layer `layer`: records its input when asked, returns `relu(x)`.
    pub fn relu(&mut self, x: &Tensor, layer: usize) -> Tensor {
        self.relu_impl(x, layer, false, false)
    }

    /// The ReLU at the start of a ReLU-Conv-BN wrapper.
    pub fn wrapped_relu(&mut self, x: &Tensor, layer: usize) -> Tensor {
        self.relu_impl(x, layer, true, false)
    }

    /// The final BN+ReLU of the network.
    pub fn final_relu(&mut self, x: &Tensor, layer: usize) -> Tensor {
        self.relu_impl(x, layer, false, true)
    }

    /// A Conv2d or Linear output `y` whose weight has `fan_in` inputs per output channel.
    /// Returns `y` (or an alias of it, when its gradient is needed).
    pub fn layer_out(&mut self, y: Tensor, fan_in: i64) -> Tensor {
        let mut y = y;
        if let Some(i) = self.pending_wrapper.take() {
            let a = alias(&y);
            self.relus[i].wrapper_out = Some(a.shallow_clone());
            y = a;
        }
        if self.spec.layer_outputs {
            let a = alias(&y);
            self.layers.push(LayerOut { output: a.shallow_clone(), fan_in });
            y = a;
        }
        y
    }
}
