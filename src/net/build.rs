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
///
/// libtorch's CPU generator (a 32-bit Mersenne Twister) keeps only the low 32 bits of its
/// seed, and the low bits of the hash depend only on the low bits of `run_seed`, so run
/// seeds that differ by a multiple of 2^33 would give the same weights: the high 32 bits
/// of `run_seed` are therefore mixed into the low bits (nothing changes for run seeds
/// below 2^32). Distinct (seed, architecture) pairs can still meet by chance in 32 bits.
pub fn arch_seed(run_seed: u64, arch_text: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ run_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in arch_text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let high = (run_seed >> 32).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    ((h >> 1) ^ high) as i64
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

/// Checks that `arch`'s network for `batch` images fits in the memory this machine has
/// available (`MemAvailable` of `/proc/meminfo`; no check where it cannot be read): its
/// float32 parameters plus one float32 copy of every convolution's output for each image
/// ([`crate::space::mbv2::Mbv2Arch::conv_output_values`]), a lower bound on what a pass
/// needs. Only mbv2 architectures, whose widths and resolution are free, are checked; the
/// NAS-Bench networks are a few MB.
///
/// Errors: the bound exceeds the available memory, naming both in GB, e.g. "the network
/// of --arch ... needs at least 52,776 GB (parameters and one copy of the activations at
/// batch 3), more than the 18 GB of memory available".
pub fn check_fits_memory(arch: &AnyArch, num_classes: i64, batch: usize) -> Result<()> {
    let AnyArch::Mbv2(m) = arch else { return Ok(()) };
    let values = (m.params(num_classes.max(0) as usize) as u128)
        .saturating_add((m.conv_output_values() as u128).saturating_mul(batch.max(1) as u128));
    let need = values.saturating_mul(4);
    let Some(available) = available_memory_bytes() else { return Ok(()) };
    if need > available as u128 {
        anyhow::bail!(
            "the network of --arch {} needs at least {:.0} GB (parameters and one copy of the activations at batch {}), more than the {:.0} GB of memory available",
            crate::report::cut(&arch.text(), 120),
            need as f64 / 1e9,
            batch.max(1),
            available as f64 / 1e9
        );
    }
    Ok(())
}

/// `MemAvailable` of `/proc/meminfo` in bytes, where it can be read.
fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Builds `arch`'s network on `device`: PyTorch-default initialisation drawn after
/// `manual_seed(seed)`, then the state dict `weights` (safetensors) when given. The model
/// remembers its architecture and class count (proxies such as `flops_reference` read
/// them).
///
/// Errors: a network that cannot fit in memory even for one image
/// ([`check_fits_memory`]); an unreadable or mismatching state dict.
pub fn build_model(
    arch: &AnyArch,
    num_classes: i64,
    device: Device,
    seed: i64,
    weights: Option<&Path>,
) -> Result<Model> {
    check_fits_memory(arch, num_classes, 1)?;
    let mut m = Model::new(builder(arch, num_classes), device, seed);
    m.arch = Some(arch.clone());
    m.num_classes = num_classes;
    if let Some(w) = weights {
        load_state_dict(&mut m.vs, w)?;
    }
    Ok(m)
}

/// [`build_model`] seeded by the project's rule: `arch_seed(run_seed, arch.text())`, so a
/// given architecture gets the same weights in `score`, `search`, `demo`, `export` and
/// `bench` whatever the order, sharding or resumption.
///
/// Errors: those of [`build_model`].
pub fn build_seeded(
    arch: &AnyArch,
    num_classes: i64,
    device: Device,
    run_seed: u64,
    weights: Option<&Path>,
) -> Result<Model> {
    build_model(arch, num_classes, device, arch_seed(run_seed, &arch.text()), weights)
}

#[cfg(test)]
mod tests {
    use super::arch_seed;

    /// Run seeds differing by multiples of 2^33 no longer give the same 32 bits to
    /// libtorch's generator; seeds below 2^32 keep their values (recorded scores stand).
    #[test]
    fn high_seed_bits_reach_the_generator() {
        let t = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        let low32 = |s: u64| arch_seed(s, t) as u64 & 0xffff_ffff;
        // The value of seed 0 before the change (FNV-1a of the text, shifted).
        assert_eq!(low32(0), 1_368_771_029);
        let seeds = [0u64, 1 << 33, 1 << 34, 1 << 63, 12345, 12345 + (1 << 33)];
        for (i, &a) in seeds.iter().enumerate() {
            for &b in &seeds[i + 1..] {
                assert_ne!(low32(a), low32(b), "seeds {a} and {b}");
            }
        }
        assert!(seeds.iter().all(|&s| arch_seed(s, t) >= 0));
    }
}
