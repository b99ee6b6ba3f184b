//! HOW an architecture becomes a network: the builder of each space's network, the
//! per-architecture initialisation seed, and model construction (fresh PyTorch-default
//! initialisation or a state dict).

use super::mbv2::Mbv2Net;
use super::model::{Builder, Model};
use super::nb101::Nb101Net;
use super::nb201::Nb201Net;
use super::weights::load_state_dict;
use crate::space::AnyArch;
use anyhow::Result;
use std::path::Path;
use std::rc::Rc;
use tch::Device;

/// Seed of an architecture's weight initialisation, derived from the run seed and the
/// architecture's canonical text (FNV-1a), so that evaluation order, sharding and
/// resumption never change a score.
pub fn arch_seed(run_seed: u64, arch_text: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ run_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in arch_text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h >> 1) as i64
}

/// The builder of `arch`'s network with a head of `num_classes` outputs: NAS-Bench-201
/// `NASBench201Network(C=16, N=5)`, NAS-Bench-101's CIFAR network, or the mbv2 network.
pub fn builder(arch: &AnyArch, num_classes: i64) -> Builder {
    match arch {
        AnyArch::Nb201(a) => {
            let a = *a;
            Rc::new(move |p| Box::new(Nb201Net::new(p, &a, 16, 5, num_classes)))
        }
        AnyArch::Nb101(s) => {
            let s = s.clone();
            Rc::new(move |p| Box::new(Nb101Net::new(p, &s, num_classes)))
        }
        AnyArch::Mbv2(a) => {
            let a = a.clone();
            Rc::new(move |p| Box::new(Mbv2Net::new(p, &a, num_classes)))
        }
    }
}

/// Builds `arch`'s network on `device`: PyTorch-default initialisation drawn after
/// `manual_seed(seed)`, then the state dict `weights` (safetensors) when given. The model
/// remembers its architecture and class count (proxies such as `flops_reference` read
/// them). Errors: an unreadable or mismatching state dict.
pub fn build_model(
    arch: &AnyArch,
    num_classes: i64,
    device: Device,
    seed: i64,
    weights: Option<&Path>,
) -> Result<Model> {
    let mut m = Model::new(builder(arch, num_classes), device, seed);
    m.arch = Some(arch.clone());
    m.num_classes = num_classes;
    if let Some(w) = weights {
        load_state_dict(&mut m.vs, w)?;
    }
    Ok(m)
}
