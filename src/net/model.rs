//! A network together with its parameters ([`VarStore`]) and the recipe to rebuild it,
//! so that proxies needing a transformed copy (SynFlow's |θ| in f64, Zen's fresh BN
//! statistics) can make one.

use super::Network;
use crate::space::AnyArch;
use anyhow::Result;
use std::rc::Rc;
use tch::{nn, nn::VarStore, Device, Kind, Tensor};

/// Builds a network's modules under a VarStore path.
pub type Builder = Rc<dyn Fn(&nn::Path) -> Box<dyn Network>>;

/// A built network with its parameters.
pub struct Model {
    /// Parameters and buffers, under PyTorch's state-dict names.
    pub vs: VarStore,
    /// The modules.
    pub net: Box<dyn Network>,
    /// The architecture, when the model was built from one (`net::build::build_model`).
    pub arch: Option<AnyArch>,
    /// Outputs of the head (0 when unknown).
    pub num_classes: i64,
    builder: Builder,
}

impl Model {
    /// Builds a model on `device` with PyTorch default initialisation drawn from
    /// libtorch's CPU generator seeded with `seed` (as `torch.manual_seed(seed)` before the
    /// PyTorch constructor), then moves it to `device`: the same seed gives the same
    /// weights on every device.
    pub fn new(builder: Builder, device: Device, seed: i64) -> Self {
        tch::manual_seed(seed);
        let mut vs = VarStore::new(Device::Cpu);
        let net = builder(&vs.root());
        if device != Device::Cpu {
            vs.set_device(device);
        }
        Model { vs, net, arch: None, num_classes: 0, builder }
    }

    /// A copy with the same values, converted to `kind`, each tensor passed through `f`
    /// (e.g. `abs` for SynFlow).
    pub fn transformed_copy(&self, kind: Kind, f: impl Fn(&Tensor) -> Tensor) -> Result<Model> {
        let mut vs = VarStore::new(self.vs.device());
        let net = (self.builder)(&vs.root());
        vs.copy(&self.vs)?;
        if kind == Kind::Double {
            vs.double();
        }
        tch::no_grad(|| {
            for (_, v) in vs.variables() {
                let mut v = v;
                let t = f(&v);
                v.copy_(&t);
            }
        });
        Ok(Model { vs, net, arch: self.arch.clone(), num_classes: self.num_classes, builder: self.builder.clone() })
    }

    /// A plain copy (same kind, same values).
    pub fn copy(&self) -> Result<Model> {
        self.transformed_copy(Kind::Float, |t| t.shallow_clone())
    }

    /// The Conv2d and Linear weights (every variable named `*.weight` with ≥ 2 dims),
    /// sorted by name. The zero-cost proxies (snip, grad_norm, synflow, ...) sum over these.
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        let mut w: Vec<(String, Tensor)> =
            self.vs.variables().into_iter().filter(|(n, t)| n.ends_with("weight") && t.dim() >= 2).collect();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w
    }

    /// The trainable parameters with their names, in creation order. zsnas's networks create
    /// parameters in PyTorch's registration order, so this is the order of PyTorch's
    /// `named_parameters()` (and of `named_modules()` for the modules holding them).
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let vars = self.vs.variables_.lock().unwrap();
        let by_ptr: std::collections::HashMap<usize, &String> =
            vars.named_variables.iter().map(|(n, t)| (t.data_ptr() as usize, n)).collect();
        vars.trainable_variables
            .iter()
            .filter_map(|v| {
                by_ptr.get(&(v.tensor.data_ptr() as usize)).map(|n| ((*n).clone(), v.tensor.shallow_clone()))
            })
            .collect()
    }

    /// The Conv2d and Linear weights (`*.weight` with ≥ 2 dims) in module order (see
    /// [`Model::named_parameters`]).
    pub fn weights_in_module_order(&self) -> Vec<(String, Tensor)> {
        self.named_parameters().into_iter().filter(|(n, t)| n.ends_with("weight") && t.dim() >= 2).collect()
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }
}
