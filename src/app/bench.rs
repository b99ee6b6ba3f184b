//! `zsnas bench`: median seconds per architecture for a proxy set on NAS-Bench-201 at a
//! given batch, on CPU or GPU. Each timed unit builds the network (PyTorch default init)
//! and computes the proxies, as the reference timings include their deep copy.

use super::score::{arch_seed, build_model, nb201_builder};
use crate::data::batch::Batch;
use crate::proxy::{compute, Proxy, ProxyOptions};
use crate::space::nb201::Nb201Arch;
use anyhow::Result;
use rand::SeedableRng;
use std::time::Instant;
use tch::Device;

/// Median of a non-empty slice (mean of the two middle values for even length).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// One benchmark case: a name and its architectures.
pub struct Case {
    /// Case name.
    pub name: String,
    /// Architectures timed (each once per repeat).
    pub archs: Vec<Nb201Arch>,
}

/// The standard cases: all-`nor_conv_3x3`, all-`skip_connect`, all-`avg_pool_3x3`, and a
/// seeded uniform sample of `sample` architectures.
pub fn standard_cases(sample: usize, seed: u64) -> Vec<Case> {
    let all = |s: &str| Nb201Arch::parse(&format!("|{s}~0|+|{s}~0|{s}~1|+|{s}~0|{s}~1|{s}~2|")).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    vec![
        Case { name: "all nor_conv_3x3".into(), archs: vec![all("nor_conv_3x3")] },
        Case { name: "all skip_connect".into(), archs: vec![all("skip_connect")] },
        Case { name: "all avg_pool_3x3".into(), archs: vec![all("avg_pool_3x3")] },
        Case { name: format!("sample of {sample}"), archs: (0..sample).map(|_| Nb201Arch::sample(&mut rng)).collect() },
    ]
}

/// Times `proxies` on each case: returns (case name, median seconds per architecture,
/// number of timings).
pub fn run(
    cases: &[Case],
    batch: &Batch,
    proxies: &[Proxy],
    repeats: usize,
    device: Device,
) -> Result<Vec<(String, f64, usize)>> {
    let opts = ProxyOptions::default();
    let mut out = Vec::new();
    // Warm-up (first libtorch calls allocate and pick kernels).
    let m = build_model(nb201_builder(cases[0].archs[0], 10), device, 0, None)?;
    compute(&m, batch, proxies, &opts)?;
    for c in cases {
        let mut ts = Vec::new();
        for _ in 0..repeats {
            for a in &c.archs {
                let t = Instant::now();
                let m = build_model(nb201_builder(*a, 10), device, arch_seed(0, &a.arch_str()), None)?;
                let s = compute(&m, batch, proxies, &opts)?;
                if device != Device::Cpu {
                    tch::Cuda::synchronize(0);
                }
                let _ = s;
                ts.push(t.elapsed().as_secs_f64());
            }
        }
        out.push((c.name.clone(), median(&ts), ts.len()));
    }
    Ok(out)
}
