//! `zsnas bench`: median seconds per architecture for a proxy set on NAS-Bench-201 at a
//! given batch, on CPU or GPU. Each timed unit builds the network (PyTorch default init)
//! and computes the proxies, as the reference timings include their deep copy.

use super::setup::Nb201SetupArgs;
use crate::data::batch::Batch;
use crate::net::build::{arch_seed, build_model};
use crate::net::recorder::{Mode, Recorder};
use crate::proxy::pass::{self, Needs};
use crate::proxy::spec::{parse_list, proxies_needed};
use crate::proxy::wrcor::{self, CorrCache, Variant};
use crate::proxy::{compute, Proxy, ProxyOptions};
use crate::space::nb201::Nb201Arch;
use crate::space::{AnyArch, SpaceKind};
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
/// seeded uniform sample of `sample` architectures (left out when `sample` is 0).
pub fn standard_cases(sample: usize, seed: u64) -> Vec<Case> {
    let all = |s: &str| Nb201Arch::parse(&format!("|{s}~0|+|{s}~0|{s}~1|+|{s}~0|{s}~1|{s}~2|")).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut cases = vec![
        Case { name: "all nor_conv_3x3".into(), archs: vec![all("nor_conv_3x3")] },
        Case { name: "all skip_connect".into(), archs: vec![all("skip_connect")] },
        Case { name: "all avg_pool_3x3".into(), archs: vec![all("avg_pool_3x3")] },
    ];
    if sample > 0 {
        cases.push(Case {
            name: format!("sample of {sample}"),
            archs: (0..sample).map(|_| Nb201Arch::sample(&mut rng)).collect(),
        });
    }
    cases
}

/// Times `proxies` on each case, networks with a `classes`-way head: returns (case name, median seconds per architecture,
/// number of timings).
pub fn time_cases(
    cases: &[Case],
    batch: &Batch,
    proxies: &[Proxy],
    repeats: usize,
    device: Device,
    classes: i64,
) -> Result<Vec<(String, f64, usize)>> {
    let opts = ProxyOptions::default();
    let mut out = Vec::new();
    // Warm-up (first libtorch calls allocate and pick kernels).
    let m = build_model(&AnyArch::Nb201(cases[0].archs[0]), classes, device, 0, None)?;
    compute(&m, batch, proxies, &opts)?;
    for c in cases {
        let mut ts = Vec::new();
        for _ in 0..repeats {
            for a in &c.archs {
                let t = Instant::now();
                let m = build_model(&AnyArch::Nb201(*a), classes, device, arch_seed(0, &a.arch_str()), None)?;
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

fn ensure_sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// `wrcor` timed against the anchor, in alternation so that both see the same machine
/// speed (this 2-core VM's speed moves by up to ×2 within a day), with the time of each
/// stage of `wrcor` (medians, seconds).
#[derive(Debug, Clone, Copy)]
pub struct SpeedCheck {
    /// One `wrcor` evaluation: build + pass + correlations.
    pub wrcor: f64,
    /// Building the network with its default initialisation.
    pub build: f64,
    /// Forward pass plus gradients w.r.t. every ReLU input.
    pub pass: f64,
    /// The f64 correlation matrices, K and its log-determinant.
    pub correlations: f64,
    /// A bare forward + backward of the same network: BN in training mode, mean
    /// cross-entropy, `loss.backward()` into every parameter's gradient (what a forward
    /// and backward pass costs in any PyTorch training step); built outside the timer.
    pub bare: f64,
    /// Median over rounds of `wrcor / bare` (each round times both, back to back).
    pub ratio: f64,
}

/// Times `wrcor` on `arch` stage by stage and the bare forward + backward, alternating,
/// `rounds` times after one warm-up round.
pub fn speed_check(arch: Nb201Arch, batch: &Batch, rounds: usize, device: Device, classes: i64) -> Result<SpeedCheck> {
    let bare_model = build_model(&AnyArch::Nb201(arch), classes, device, 0, None)?;
    let mut rows: Vec<[f64; 5]> = Vec::new(); // build, pass, correlations, wrcor, bare
    for r in 0..rounds + 1 {
        let t = Instant::now();
        let logits = bare_model.net.forward(&batch.images, &mut Recorder::plain(Mode::default()));
        logits.cross_entropy_for_logits(&batch.labels).backward();
        ensure_sync(device);
        let bare = t.elapsed().as_secs_f64();
        for v in bare_model.vs.trainable_variables() {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        // What `compute` does for `wrcor` alone, with a timer between the stages.
        let t0 = Instant::now();
        let m = build_model(&AnyArch::Nb201(arch), classes, device, arch_seed(0, &arch.arch_str()), None)?;
        let t1 = Instant::now();
        let resp = pass::run(&m, batch, Needs { relu_inputs: true, relu_grads: true, ..Default::default() });
        ensure_sync(device);
        let t2 = Instant::now();
        let _ = tch::no_grad(|| wrcor::score(&resp, Variant::Wrcor, &mut CorrCache::default()));
        let t3 = Instant::now();
        if r > 0 {
            let w = (t3 - t0).as_secs_f64();
            rows.push([(t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64(), (t3 - t2).as_secs_f64(), w, bare]);
        }
    }
    let col = |k: usize| median(&rows.iter().map(|r| r[k]).collect::<Vec<_>>());
    let ratios: Vec<f64> = rows.iter().map(|r| r[3] / r[4]).collect();
    Ok(SpeedCheck {
        build: col(0),
        pass: col(1),
        correlations: col(2),
        wrcor: col(3),
        bare: col(4),
        ratio: median(&ratios),
    })
}

/// Flags of `zsnas bench`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Data, batch size, augmentation, device, and the run seed.
    #[command(flatten)]
    pub data: Nb201SetupArgs,
    /// Comma-separated proxies (votes add their members).
    #[arg(long, default_value = "wrcor")]
    pub proxies: String,
    /// Size of the seeded random sample case (0: no sample case).
    #[arg(long, default_value_t = 50)]
    pub sample: usize,
    /// Repeats of each case (at least 1).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: u32,
}

/// Runs `zsnas bench`: median seconds per architecture of each case, then for `wrcor`
/// alone at batch 64 the stage breakdown on the all-`nor_conv_3x3` cell and the ratio to a
/// bare forward + backward of the same network timed in alternation (the on-machine
/// anchor: compare ratios, not seconds measured on different machines).
pub fn run(a: BenchArgs) -> Result<()> {
    let repeats = a.repeats as usize;
    let (dev, batch) = a.data.batch()?;
    let proxies = proxies_needed(&parse_list(&a.proxies, "--proxies", SpaceKind::Nb201)?);
    let cases = standard_cases(a.sample, a.data.seed);
    let names: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
    println!(
        "zsnas bench: {} at batch {} on {} ({}), network build + scoring per architecture",
        names.join(","),
        batch.len(),
        a.data.setup.device,
        match tch::get_num_threads() {
            1 => "1 thread".to_string(),
            t => format!("{t} threads"),
        }
    );
    let classes = a.data.setup.num_classes(SpaceKind::Nb201);
    let results = time_cases(&cases, &batch, &proxies, repeats, dev, classes)?;
    for (name, med, n) in &results {
        println!("{name:20} median {med:.4} s/arch over {n} timings");
    }
    if names == ["wrcor"] && batch.len() == 64 {
        let arch = cases[0].archs[0];
        let sc = speed_check(arch, &batch, repeats.max(5), dev, classes)?;
        println!(
            "all nor_conv_3x3 breakdown: build {:.4} s, forward + ReLU-input gradients {:.4} s, correlations + log-det {:.4} s",
            sc.build, sc.pass, sc.correlations
        );
        println!(
            "anchor, timed in alternation with wrcor: bare forward + loss.backward() {:.4} s, wrcor {:.4} s (medians); wrcor/bare {:.3} (median of the per-round ratios)",
            sc.bare, sc.wrcor, sc.ratio
        );
    } else {
        println!("(the breakdown and the bare-pass anchor need --proxies wrcor and --batch-size 64)");
    }
    Ok(())
}
