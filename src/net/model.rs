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
            move_in_one_copy(&mut vs, device);
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

/// Moves every variable of `vs` to `device` with one copy per element kind instead of one
/// per variable (`VarStore::set_device`): the variables of a kind are concatenated on their
/// device, copied at once, and each variable becomes a view of its part of the copy
/// (`set_data`, so it stays the same leaf tensor, with its own `requires_grad` and
/// version counter). On a GPU this replaces some 500 small host-to-device copies of a
/// NAS-Bench-201 network with one. Same values as `set_device` (tested).
pub fn move_in_one_copy(vs: &mut VarStore, device: Device) {
    {
        let mut vars = vs.variables_.lock().unwrap();
        let mut names: Vec<String> = vars.named_variables.keys().cloned().collect();
        names.sort();
        let mut kinds: Vec<Kind> = Vec::new();
        for n in &names {
            let k = vars.named_variables[n].kind();
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        for kind in kinds {
            let part: Vec<&String> = names.iter().filter(|n| vars.named_variables[*n].kind() == kind).collect();
            let flat: Vec<Tensor> = part.iter().map(|n| vars.named_variables[*n].detach().reshape([-1])).collect();
            let sizes: Vec<i64> = flat.iter().map(|t| t.numel() as i64).collect();
            let moved = Tensor::cat(&flat, 0).to_device(device).split_with_sizes(sizes.as_slice(), 0);
            for (n, m) in part.iter().zip(moved) {
                let v = vars.named_variables.get_mut(*n).expect("a listed variable");
                let size = v.size();
                v.set_data(&m.reshape(size));
            }
        }
    }
    // Every variable is now on `device`: this only records the store's device.
    vs.set_device(device);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::nb201::Nb201Arch;
    use std::collections::HashMap;

    #[test]
    fn one_copy_moves_the_same_values_and_keeps_the_parameters_trainable() {
        let arch: Nb201Arch =
            "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|".parse().unwrap();
        let build = || crate::net::build::build_model(&AnyArch::Nb201(arch), 10, Device::Cpu, 7, None).unwrap();
        let (want, mut got) = (build(), build());
        // Onto the CPU itself: the same path as to a GPU, whose copy is then a no-op.
        move_in_one_copy(&mut got.vs, Device::Cpu);
        let (w, g) = (want.vs.variables(), got.vs.variables());
        assert_eq!(w.len(), g.len());
        assert!(g.len() > 20);
        let mut ptrs = std::collections::HashSet::new();
        for (name, t) in &w {
            let v = &g[name];
            assert!(v.equal(t), "{name}");
            assert_eq!(v.requires_grad(), t.requires_grad(), "{name}");
            assert!(v.is_contiguous(), "{name}");
            assert!(ptrs.insert(v.data_ptr() as usize), "{name} shares its first element");
        }
        // One block: the variables (all float32 here) lie end to end in one allocation.
        let mut spans: Vec<(usize, usize)> = g.values().map(|t| (t.data_ptr() as usize, t.numel() * 4)).collect();
        spans.sort();
        assert!(g.values().all(|t| t.kind() == Kind::Float));
        assert!(spans.windows(2).all(|p| p[0].0 + p[0].1 == p[1].0), "not one block");
        assert_eq!(got.named_parameters().len(), want.named_parameters().len());
        let before: HashMap<String, Tensor> = w.iter().map(|(n, t)| (n.clone(), t.copy())).collect();
        // The parameters are still the trainable leaves: one SGD step gives the same
        // values as the same step on the model moved variable by variable.
        let x = Tensor::ones([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        for m in [&want, &got] {
            let loss = m.net.forward(&x, &mut crate::net::Recorder::default()).square().sum(Kind::Float);
            loss.backward();
            tch::no_grad(|| {
                for p in m.vs.trainable_variables() {
                    let _ = p.shallow_clone().g_sub_(&(p.grad() * 0.1));
                }
            });
        }
        let after = got.vs.variables();
        let mut changed = 0;
        for (name, t) in &want.vs.variables() {
            assert!(after[name].equal(t), "{name} after a step");
            changed += usize::from(!t.equal(&before[name]));
        }
        assert!(changed > 10, "{changed} variables changed");
    }
}
