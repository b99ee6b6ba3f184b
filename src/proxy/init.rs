//! Protocol pieces shared by the proxies that run passes of their own: the input (real
//! images or Gaussian noise), and the re-initialisations that official proxy protocols
//! apply before scoring, drawing from libtorch's generator in PyTorch's order (so that
//! after `tch::manual_seed(s)` the weights equal PyTorch's after `torch.manual_seed(s)`).
//!
//! Parameters are visited in module order ([`Model::named_parameters`]); only the
//! Conv2d/Linear weights draw. Module paths come from the parameter names (PyTorch's
//! state-dict names: `cells.3.layers.2.op.1.weight` lives in module `cells.3.layers.2.op.1`).

use crate::data::batch::Batch;
use crate::net::model::Model;
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Input of a proxy's forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// The batch's images.
    Real,
    /// `torch.randn` noise of the batch's shape (or the options' batch size / resolution),
    /// drawn after the re-initialisation.
    Gaussian,
}

impl Input {
    /// Parses `real` or `gaussian`.
    pub fn parse(s: &str) -> Result<Input> {
        match s {
            "real" | "data" => Ok(Input::Real),
            "gaussian" | "randn" | "noise" => Ok(Input::Gaussian),
            _ => bail!("unknown input '{s}' (known: real, gaussian)"),
        }
    }
}

/// The proxy's input `x` for `batch` and the options (draws Gaussian noise when asked).
pub fn input_tensor(batch: &Batch, input: Input, batch_size: Option<i64>, resolution: Option<i64>) -> Result<Tensor> {
    let s = batch.images.size();
    let n = batch_size.unwrap_or(s[0]);
    match input {
        Input::Real => {
            if n < 1 || n > s[0] {
                bail!("{n} samples requested, the batch has {}", s[0]);
            }
            if resolution.is_some_and(|r| r != s[2] || r != s[3]) {
                bail!("a resolution other than the batch's needs Gaussian input");
            }
            Ok(batch.images.narrow(0, 0, n))
        }
        Input::Gaussian => {
            let (h, w) = resolution.map_or((s[2], s[3]), |r| (r, r));
            Ok(Tensor::randn([n, s[1], h, w], (Kind::Float, batch.images.device())))
        }
    }
}

/// Weight initialisation applied before a proxy runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Keep the model's weights (PyTorch's default initialisation, or loaded weights).
    Keep,
    /// Kaiming-normal, fan-in (AZ-NAS's `kaiming_norm_fanin`): every Conv2d/Linear weight
    /// `normal_(0, √2/√fan_in)` in module order, biases 0, BatchNorm γ = 1, β = 0.
    KaimingFanIn,
    /// N(0, 1) as SWAP's `network.apply(network_weight_gaussian_init)` does it: every
    /// Conv2d/Linear weight `normal_(0, 1)`, biases 0, BatchNorm γ = 1, β = 0, with the
    /// official draw order, in which a weight at module depth d is drawn d + 1 times (see
    /// [`gaussian_draw_order`]).
    Gaussian,
    /// N(0, 1) as Zen-NAS's `network_weight_gaussian_init(net)` does it (one pass over
    /// `net.modules()`): every Conv2d/Linear weight `normal_(0, 1)` once, in module order,
    /// biases 0, BatchNorm γ = 1, β = 0.
    GaussianOnce,
}

impl Init {
    /// Parses `keep` (`default`), `kaiming_fan_in`, `gaussian` or `gaussian_once`.
    pub fn parse(s: &str) -> Result<Init> {
        match s {
            "keep" | "default" | "none" => Ok(Init::Keep),
            "kaiming_fan_in" | "kaiming-fan-in" | "kaiming_norm_fanin" => Ok(Init::KaimingFanIn),
            "gaussian" | "normal" => Ok(Init::Gaussian),
            "gaussian_once" | "gaussian-once" => Ok(Init::GaussianOnce),
            _ => bail!("unknown initialisation '{s}' (known: keep, kaiming_fan_in, gaussian, gaussian_once)"),
        }
    }
}

/// The copy of `model` that `init` will overwrite (`None` for [`Init::Keep`]: the model is
/// used as it is). Building a copy draws from libtorch's generator (default
/// initialisation), so call this **before** seeding.
pub fn prepare(model: &Model, init: Init) -> Result<Option<Model>> {
    match init {
        Init::Keep => Ok(None),
        _ => Ok(Some(model.copy()?)),
    }
}

/// Module path (the name without the parameter's own name), split at the dots.
fn module_path(name: &str) -> Vec<&str> {
    let mut p: Vec<&str> = name.split('.').collect();
    p.pop();
    p
}

/// Input elements per output of a Conv2d weight [out, in/groups, kh, kw] or a Linear weight
/// [out, in].
fn fan_in(w: &Tensor) -> i64 {
    w.size()[1..].iter().product()
}

fn fill_non_drawing(params: &[(String, Tensor)]) {
    for (name, t) in params {
        let mut t = t.shallow_clone();
        if name.ends_with("bias") {
            let _ = t.zero_();
        } else if name.ends_with("weight") && t.dim() == 1 {
            let _ = t.fill_(1.0);
        }
    }
}

/// Indices into `names` (the Conv2d/Linear weights in module order) in the order SWAP's
/// `network.apply(fn)` draws them: `apply` calls `fn` on every module in post-order
/// (children, in registration order, before their parent), and `fn(m)` draws every weight
/// in `m`'s subtree, in pre-order. A weight at depth d (the root has depth 0) appears d + 1
/// times; its last draw is the one made for the root.
pub fn gaussian_draw_order(names: &[String]) -> Vec<usize> {
    let paths: Vec<Vec<&str>> = names.iter().map(|n| module_path(n)).collect();
    fn visit(paths: &[Vec<&str>], depth: usize, under: &[usize], out: &mut Vec<usize>) {
        let mut children: Vec<(&str, Vec<usize>)> = Vec::new();
        for &i in under {
            if let Some(&key) = paths[i].get(depth) {
                match children.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.push(i),
                    None => children.push((key, vec![i])),
                }
            }
        }
        for (_, c) in &children {
            visit(paths, depth + 1, c, out);
        }
        out.extend_from_slice(under);
    }
    let all: Vec<usize> = (0..names.len()).collect();
    let mut out = Vec::new();
    visit(&paths, 0, &all, &mut out);
    out
}

/// Applies `init` to `model` in place, drawing from libtorch's generator.
pub fn apply(model: &Model, init: Init) {
    if init == Init::Keep {
        return;
    }
    tch::no_grad(|| {
        let params = model.named_parameters();
        let weights: Vec<(String, Tensor)> = params
            .iter()
            .filter(|(n, t)| n.ends_with("weight") && t.dim() >= 2)
            .map(|(n, t)| (n.clone(), t.shallow_clone()))
            .collect();
        match init {
            Init::Keep => {}
            Init::KaimingFanIn => {
                for (_, w) in &weights {
                    let std = 2f64.sqrt() / (fan_in(w) as f64).sqrt();
                    let _ = w.shallow_clone().normal_(0.0, std);
                }
            }
            Init::GaussianOnce => {
                for (_, w) in &weights {
                    let _ = w.shallow_clone().normal_(0.0, 1.0);
                }
            }
            Init::Gaussian => {
                let names: Vec<String> = weights.iter().map(|(n, _)| n.clone()).collect();
                for i in gaussian_draw_order(&names) {
                    let _ = weights[i].1.shallow_clone().normal_(0.0, 1.0);
                }
            }
        }
        fill_non_drawing(&params);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_order_counts_depth_plus_one() {
        let names: Vec<String> =
            ["stem.0.weight", "cells.0.layers.0.op.1.weight", "cells.5.downsample.1.weight", "classifier.weight"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let order = gaussian_draw_order(&names);
        let count = |i: usize| order.iter().filter(|&&j| j == i).count();
        assert_eq!((count(0), count(1), count(2), count(3)), (3, 7, 5, 2));
        // post-order: the stem's subtree first (stem.0, then stem), …, the root last.
        assert_eq!(&order[..2], &[0, 0]);
        assert_eq!(&order[order.len() - 4..], &[0, 1, 2, 3]);
    }
}
