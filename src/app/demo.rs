//! The main job of the first release: score a seeded sample of NAS-Bench-201
//! architectures with one proxy, print the top 10 with their benchmark accuracy and the
//! Spearman ρ of the proxy against the test accuracy of the data set (`--dataset`,
//! default CIFAR-10).

use super::setup::Nb201SetupArgs;
use crate::data::batch::Batch;
use crate::data::dataset::{Dataset, Epochs};
use crate::eval::stats::{finite_pairs, kendall_tau_b, spearman};
use crate::net::build::build_seeded;
use crate::proxy::{check_batch_size, compute, rank_key, Proxy, ProxyOptions};
use crate::report::progress::{stdout_line, Progress};
use crate::report::table::{fmt_f64, Table};
use crate::space::nb201::{Nb201Arch, NB201_SIZE};
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{Context, Result};
use rand::SeedableRng;
use std::time::Instant;
use tch::Device;

/// Scores the sample of `a` (`--sample` cells drawn with `--seed`) with `proxy` on
/// `batch`, networks with the head of `--num-classes`/`--dataset`, and prints the table;
/// see the module docs.
pub fn score_and_print(args: &DemoArgs, batch: &Batch, proxy: Proxy, device: Device) -> Result<()> {
    let data_name = args.data.setup.source().describe();
    let dataset = args.data.setup.dataset.unwrap_or(Dataset::Cifar10);
    let (sample, seed) = (args.sample, args.data.seed);
    let classes = args.data.setup.num_classes(SpaceKind::Nb201);
    let column = dataset.truth_column(Epochs::E200);
    let table = Nb201Table::embedded()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut seen = std::collections::HashSet::new();
    let mut archs = Vec::new();
    while archs.len() < sample.min(NB201_SIZE) {
        let a = Nb201Arch::sample(&mut rng);
        if seen.insert(a) {
            archs.push(a);
        }
    }
    stdout_line(&format!(
        "zsnas: {} on {} NAS-Bench-201 architectures (seed {seed}), batch of {} from {data_name}, {}",
        proxy.name(),
        archs.len(),
        batch.len(),
        match tch::get_num_threads() {
            1 => "1 thread".to_string(),
            t => format!("{t} threads"),
        }
    ))?;
    let progress = Progress::new(archs.len() as u64, proxy.name());
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for a in &archs {
        // As `zsnas score` does: the canonical cell (dead edges set to `none`), seeded by its
        // text, so a cell gets the same score here as there.
        let scored = AnyArch::Nb201(*a).canonical();
        let m = build_seeded(&scored, classes, device, seed, None)?;
        let s = compute(&m, batch, &[proxy], &ProxyOptions::default())?;
        let row = table.row_of(a).ok_or_else(|| anyhow::anyhow!("{} is not in the table", a.arch_str()))?;
        let acc = row.value(column).unwrap_or(f64::NAN);
        rows.push((s.values[proxy.name()], acc, row.index, *a));
        progress.inc(1);
    }
    progress.finish();
    let secs = t0.elapsed().as_secs_f64();
    // Best first; a NaN or ±inf score (a degenerate cell) ranks last and never wins.
    let key = |x: f64| rank_key(Some(x), true).unwrap_or(f64::NEG_INFINITY);
    rows.sort_by(|x, y| key(y.0).total_cmp(&key(x.0)));
    let mut t = Table::new(["rank", proxy.name(), "test acc %", "index", "arch_str"]);
    for (i, (s, acc, idx, a)) in rows.iter().take(10).enumerate() {
        t.add_row([format!("{}", i + 1), fmt_f64(*s, 3), fmt_f64(*acc, 2), idx.to_string(), a.arch_str()]);
    }
    stdout_line(&t.to_string())?;
    let xs: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let ys: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let (fx, fy) = finite_pairs(&xs, &ys);
    let best = rows.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
    stdout_line(&format!(
        "Spearman rho = {:.4}, Kendall tau = {:.4} over {} architectures ({} with non-finite scores left out)",
        spearman(&fx, &fy),
        kendall_tau_b(&fx, &fy),
        fx.len(),
        xs.len() - fx.len()
    ))?;
    stdout_line(&format!(
        "top-1 by {}: {:.2}% (best in sample {:.2}%, best in NAS-Bench-201 {:.2}%); {:.1} s total, {:.3} s/arch",
        proxy.name(),
        rows[0].1,
        best,
        table.best(column)?.map(|b| b.1).unwrap_or(f64::NAN),
        secs,
        secs / rows.len() as f64
    ))?;
    Ok(())
}

/// Flags of `zsnas demo`.
#[derive(clap::Args, Clone, Debug)]
pub struct DemoArgs {
    /// Data, batch size, augmentation, device, and the run seed.
    #[command(flatten)]
    pub data: Nb201SetupArgs,
    /// Number of architectures (1 to 15,625, NAS-Bench-201's size).
    #[arg(long, default_value_t = 200, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub sample: usize,
    /// Proxy to rank by (one proxy, not a vote or aggregate: `zsnas proxies` lists them).
    #[arg(long, allow_hyphen_values = true, default_value = "wrcor")]
    pub proxy: String,
}

/// Runs `zsnas demo`.
pub fn run(a: DemoArgs) -> Result<()> {
    if a.sample == 0 || a.sample > NB201_SIZE {
        anyhow::bail!("--sample must be 1 to 15,625 architectures (NAS-Bench-201's size), got {}", a.sample);
    }
    let p = match Proxy::from_name(&a.proxy) {
        Ok(p) => p,
        Err(e) => match crate::proxy::spec::parse_list(&a.proxy, "--proxy", SpaceKind::Nb201) {
            Ok(t) if t.iter().any(|t| t.is_combination()) => anyhow::bail!(
                "--proxy takes one proxy; '{}' is a vote or aggregate (`zsnas score --format csv` or `zsnas correlate` rank by it)",
                a.proxy
            ),
            _ => return Err(e),
        },
    };
    if p == Proxy::FlopsReference {
        anyhow::bail!("--proxy flops_reference is only defined for the mbv2 space; the demo scores NAS-Bench-201");
    }
    let (dev, batch) = a.data.batch().context("loading the batch")?;
    check_batch_size(&[p], batch.len())?;
    score_and_print(&a, &batch, p, dev)
}
