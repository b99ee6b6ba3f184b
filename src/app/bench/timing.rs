//! The measurement of `zsnas bench`: one timing loop for every row (a proxy alone, or the
//! whole set), each timed unit preceded by a bare forward + backward of the same
//! architecture, so that each ratio compares two timings taken back to back.

use crate::app::scoring::guarded;
use crate::data::batch::Batch;
use crate::net::build::build_seeded;
use crate::net::model::Model;
use crate::net::recorder::{Mode, Recorder};
use crate::proxy::pass::{self, Needs};
use crate::proxy::wrcor::{self, CorrCache, Variant};
use crate::proxy::{compute, Proxy, ProxyOptions};
use crate::space::nb201::Nb201Arch;
use crate::space::AnyArch;
use anyhow::{bail, Result};
use rand::SeedableRng;
use std::time::Instant;
use tch::Device;

/// Median of a slice (mean of the two middle values for even length; NaN when empty).
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

/// One row of the bench: what is timed per architecture.
#[derive(Clone, Debug)]
pub struct Row {
    /// The proxy's name, or `set` for the whole set computed together.
    pub label: String,
    /// The proxies computed (in one [`compute`] call, sharing passes).
    pub proxies: Vec<Proxy>,
    /// Time `wrcor` stage by stage ([`Stages`]); only for a row that is `wrcor` alone.
    pub stages: bool,
}

impl Row {
    /// The rows for `proxies`: each proxy alone, then the whole set when it has more than
    /// one proxy. `stages` asks for the stage breakdown of the `wrcor`-alone row.
    pub fn for_proxies(proxies: &[Proxy], stages: bool) -> Vec<Row> {
        let mut rows: Vec<Row> = proxies
            .iter()
            .map(|&p| Row { label: p.name().to_string(), proxies: vec![p], stages: stages && p == Proxy::Wrcor })
            .collect();
        if proxies.len() > 1 {
            rows.push(Row { label: "set".into(), proxies: proxies.to_vec(), stages: false });
        }
        rows
    }
}

/// The stages of one `wrcor` evaluation (seconds; medians in a [`Measured`]).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stages {
    /// Building the network with its default initialisation.
    pub build: f64,
    /// Forward pass plus gradients w.r.t. every ReLU input.
    pub pass: f64,
    /// The f64 correlation matrices, K and its log-determinant.
    pub correlations: f64,
}

/// The result of one row on one case. Seconds are wall-clock seconds per architecture.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Case name.
    pub case: String,
    /// Row label: a proxy name or `set`.
    pub proxy: String,
    /// Median seconds per architecture: network build + scoring.
    pub seconds_median: f64,
    /// Median seconds of the bare forward + `loss.backward()` timed before each scoring.
    pub bare_median: f64,
    /// Median over the timings of (scoring seconds / bare seconds), each pair back to back.
    pub ratio_median: f64,
    /// Number of timings (architectures × repeats).
    pub timings: usize,
    /// Medians of the `wrcor` stages, for a row timed with [`Row::stages`].
    pub stages: Option<Stages>,
}

/// One timing: the scoring unit, the bare pass timed just before it, the stages if any.
#[derive(Clone, Copy)]
struct Timing {
    secs: f64,
    bare: f64,
    stages: Option<Stages>,
}

/// Waits for the device's queued work, so that a timer reads finished work.
fn ensure_sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// What the units of one bench share.
struct Bench<'a> {
    batch: &'a Batch,
    device: Device,
    classes: i64,
    seed: u64,
    opts: ProxyOptions,
}

impl Bench<'_> {
    fn build(&self, arch: Nb201Arch) -> Result<Model> {
        build_seeded(&AnyArch::Nb201(arch), self.classes, self.device, self.seed, None)
    }

    /// The anchor: a bare forward + backward of `arch` (BN in training mode, mean
    /// cross-entropy, `loss.backward()` into every parameter's gradient, as in any PyTorch
    /// training step). The network is built outside the timer, with no gradients yet.
    fn bare(&self, arch: Nb201Arch) -> Result<f64> {
        let m = self.build(arch)?;
        let t = Instant::now();
        let logits = m.net.forward(&self.batch.images, &mut Recorder::plain(Mode::default()));
        logits.cross_entropy_for_logits(&self.batch.labels).backward();
        ensure_sync(self.device);
        Ok(t.elapsed().as_secs_f64())
    }

    /// One timed unit of `row` on `arch`: network build + scoring, seconds; with the
    /// stages when the row asks for them (what [`compute`] does for `wrcor` alone, with a
    /// timer between the stages).
    fn unit(&self, row: &Row, arch: Nb201Arch) -> Result<(f64, Option<Stages>)> {
        let t0 = Instant::now();
        let m = self.build(arch)?;
        if !row.stages {
            let s = compute(&m, self.batch, &row.proxies, &self.opts)?;
            ensure_sync(self.device);
            drop(s);
            return Ok((t0.elapsed().as_secs_f64(), None));
        }
        let t1 = Instant::now();
        let resp = pass::run(&m, self.batch, Needs { relu_inputs: true, relu_grads: true, ..Default::default() });
        ensure_sync(self.device);
        let t2 = Instant::now();
        let _ = tch::no_grad(|| wrcor::score(&resp, Variant::Wrcor, &mut CorrCache::default()));
        let t3 = Instant::now();
        let stages = Stages {
            build: (t1 - t0).as_secs_f64(),
            pass: (t2 - t1).as_secs_f64(),
            correlations: (t3 - t2).as_secs_f64(),
        };
        Ok(((t3 - t0).as_secs_f64(), Some(stages)))
    }
}

/// Times every row on every case, networks with a `classes`-way head initialised from
/// `arch_seed(seed, arch)`: for each repeat, each architecture and each row, the bare
/// forward + backward then the row's unit, back to back (bare, proxy, bare, proxy, ...),
/// after one untimed warm-up of each on the first architecture (libtorch allocates and
/// picks kernels on its first calls). Returns one [`Measured`] per case × row, in case
/// then row order.
///
/// Errors: no case or row, an empty case, a failed build or scoring (a libtorch panic,
/// e.g. out of memory, is reported as an error naming the architecture).
pub fn measure(
    cases: &[Case],
    rows: &[Row],
    batch: &Batch,
    repeats: usize,
    device: Device,
    classes: i64,
    seed: u64,
) -> Result<Vec<Measured>> {
    let Some(first) = cases.first().and_then(|c| c.archs.first()) else { bail!("nothing to time: no architecture") };
    if rows.is_empty() || cases.iter().any(|c| c.archs.is_empty()) {
        bail!("nothing to time: no proxy or an empty case");
    }
    let b = Bench { batch, device, classes, seed, opts: ProxyOptions::default() };
    let any = |a: Nb201Arch| AnyArch::Nb201(a);
    guarded(&any(*first), batch, || {
        for row in rows {
            b.bare(*first)?;
            b.unit(row, *first)?;
        }
        Ok(())
    })?;
    let mut out = Vec::new();
    for c in cases {
        let mut acc: Vec<Vec<Timing>> = vec![Vec::new(); rows.len()];
        for _ in 0..repeats {
            for &a in &c.archs {
                guarded(&any(a), batch, || {
                    for (row, acc) in rows.iter().zip(acc.iter_mut()) {
                        let bare = b.bare(a)?;
                        let (secs, stages) = b.unit(row, a)?;
                        acc.push(Timing { secs, bare, stages });
                    }
                    Ok(())
                })?;
            }
        }
        for (row, ts) in rows.iter().zip(acc) {
            let col = |f: &dyn Fn(&Timing) -> Option<f64>| median(&ts.iter().filter_map(f).collect::<Vec<_>>());
            let stages = row.stages.then(|| Stages {
                build: col(&|t| t.stages.map(|s| s.build)),
                pass: col(&|t| t.stages.map(|s| s.pass)),
                correlations: col(&|t| t.stages.map(|s| s.correlations)),
            });
            out.push(Measured {
                case: c.name.clone(),
                proxy: row.label.clone(),
                seconds_median: col(&|t| Some(t.secs)),
                bare_median: col(&|t| Some(t.bare)),
                ratio_median: col(&|t| Some(t.secs / t.bare)),
                timings: ts.len(),
                stages,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn rows_are_each_proxy_then_the_set() {
        let one = Row::for_proxies(&[Proxy::Wrcor], true);
        assert_eq!(one.len(), 1, "one proxy: no set row");
        assert!(one[0].stages);
        let three = Row::for_proxies(&[Proxy::Synflow, Proxy::Wrcor, Proxy::Params], false);
        let labels: Vec<&str> = three.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["synflow", "wrcor", "params", "set"]);
        assert_eq!(three[3].proxies.len(), 3);
        assert!(three.iter().all(|r| !r.stages), "stages only when asked");
        let staged = Row::for_proxies(&[Proxy::Synflow, Proxy::Wrcor], true);
        assert_eq!(staged.iter().map(|r| r.stages).collect::<Vec<_>>(), [false, true, false]);
    }
}
