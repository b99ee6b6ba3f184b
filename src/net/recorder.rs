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
//!
//! Two more record kinds serve AZ-NAS and MeCo:
//! - **block features** ([`RecordSpec::features`]): the network calls [`Recorder::feature`]
//!   on the stem output and on every block's (cell's) output, `F_0, F_1, …`; with
//!   [`RecordSpec::feature_leaves`] each feature is handed to the next block as a fresh
//!   leaf that requires grad, so the vector-Jacobian product through one block is one
//!   small backward from `F_{i+1}` to that leaf (AZ-NAS's trainability);
//! - **module outputs** ([`RecordSpec::module_outputs`]): a labelled entry for the output of
//!   every module, containers included, in the order PyTorch forward hooks would fire
//!   (MeCo). Wrapper modules that return their child's tensor give duplicate entries.

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
    /// Keep the block features `F_0, F_1, …` (stem output, each block's output).
    pub features: bool,
    /// With `features`: feed each feature to the next block as a detached leaf that
    /// requires grad (see the module docs). Breaks the graph between blocks.
    pub feature_leaves: bool,
    /// Keep a labelled entry for every module output (see [`ModuleOut`]).
    pub module_outputs: bool,
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
    /// The layer adds a bias.
    pub bias: bool,
}

/// One module output, as a forward hook on that module would see it.
#[derive(Debug)]
pub struct ModuleOut {
    /// Where the module sits, e.g. `c3.e1.bn` (see the network's docs).
    pub label: String,
    /// The output; `None` for the all-zero output of a `none` (`x·0`) op, which the
    /// network does not compute.
    pub output: Option<Tensor>,
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
    /// Block features `F_0, F_1, …` in execution order (with `features`).
    pub features: Vec<Tensor>,
    /// With `feature_leaves`: the leaf fed onwards in place of `features[i]`.
    pub feature_leaves: Vec<Tensor>,
    /// Module outputs in hook-firing order (with `module_outputs`).
    pub modules: Vec<ModuleOut>,
    /// Label prefix of the module being run (set by the network, read by shared ops such
    /// as [`crate::net::ops::ReluConvBn`]); only maintained with `module_outputs`.
    pub scope: String,
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
        self.layer_out_with_bias(y, fan_in, false)
    }

    /// [`Recorder::layer_out`] for a layer with a bias.
    pub fn layer_out_with_bias(&mut self, y: Tensor, fan_in: i64, bias: bool) -> Tensor {
        let mut y = y;
        if let Some(i) = self.pending_wrapper.take() {
            let a = alias(&y);
            self.relus[i].wrapper_out = Some(a.shallow_clone());
            y = a;
        }
        if self.spec.layer_outputs {
            let a = alias(&y);
            self.layers.push(LayerOut { output: a.shallow_clone(), fan_in, bias });
            y = a;
        }
        y
    }

    /// A block boundary: `h` is the stem output (first call) or a block's output. Records it
    /// with `features`; returns what the next block should consume (a fresh leaf with
    /// `feature_leaves`, else `h` itself).
    pub fn feature(&mut self, h: Tensor) -> Tensor {
        if !self.spec.features {
            return h;
        }
        let next = if self.spec.feature_leaves { h.detach().set_requires_grad(true) } else { h.shallow_clone() };
        if self.spec.feature_leaves {
            self.feature_leaves.push(next.shallow_clone());
        }
        self.features.push(h);
        next
    }

    /// True when module outputs are recorded (the network then maintains [`Recorder::scope`]).
    pub fn wants_modules(&self) -> bool {
        self.spec.module_outputs
    }

    /// Records the output `t` of the module `label` (relative to [`Recorder::scope`] when
    /// `scoped`), or an all-zero output when `t` is `None`.
    pub fn module(&mut self, label: &str, scoped: bool, t: Option<&Tensor>) {
        if !self.spec.module_outputs {
            return;
        }
        let label =
            if scoped && !self.scope.is_empty() { format!("{}.{label}", self.scope) } else { label.to_string() };
        self.modules.push(ModuleOut { label, output: t.map(|t| t.shallow_clone()) });
    }

    /// Sets the label prefix (only when module outputs are recorded).
    pub fn set_scope(&mut self, f: impl FnOnce() -> String) {
        if self.spec.module_outputs {
            self.scope = f();
        }
    }
}
