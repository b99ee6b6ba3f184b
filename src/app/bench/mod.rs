//! `zsnas bench`: on NAS-Bench-201 at a given batch, on CPU or GPU, the median seconds per
//! architecture of each proxy alone and of the whole set (when it has more than one
//! proxy), each against the on-machine anchor: a bare forward + `loss.backward()` of the
//! same network timed back to back with every scoring, reported as a ratio. Each timed
//! unit builds the network (PyTorch default init) and computes the proxies, as the
//! reference timings include their deep copy. No figure measured elsewhere is compiled in.
//!
//! The measurement lives in [`timing`]; this file holds the flags and the output.

pub mod timing;

use super::setup::Nb201SetupArgs;
use crate::proxy::check_batch_size;
use crate::proxy::spec::{parse_list, proxies_needed};
use crate::proxy::Proxy;
use crate::space::nb201::NB201_SIZE;
use crate::space::SpaceKind;
use anyhow::{Context, Result};
use std::io::Write;
use timing::{measure, standard_cases, Measured, Row, Stages};

/// Output format of `zsnas bench`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An aligned plain-text table, with the `wrcor` stage breakdown when measured.
    Table,
    /// One flat JSON object per case × row, one per line: case, proxy, seconds_median,
    /// bare_median, ratio_median, timings, threads, batch, device (and `stages`: build,
    /// pass, correlations in seconds, for a `wrcor` row at batch 64).
    Json,
}

/// Flags of `zsnas bench`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Data, batch size, augmentation, device, and the run seed.
    #[command(flatten)]
    pub data: Nb201SetupArgs,
    /// Comma-separated proxies (votes and aggregates add their members); each is timed
    /// alone, and the whole set together when it has more than one proxy.
    #[arg(long, default_value = "wrcor")]
    pub proxies: String,
    /// Size of the seeded random sample case (0: no sample case; at most 15,625,
    /// NAS-Bench-201's size).
    #[arg(long, default_value_t = 20, allow_negative_numbers = true)]
    pub sample: usize,
    /// Repeats of each case (1 to 1,000).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeats: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// One JSON line of `--format json`.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    case: &'a str,
    proxy: &'a str,
    seconds_median: f64,
    bare_median: f64,
    ratio_median: f64,
    timings: usize,
    threads: i32,
    batch: usize,
    device: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stages: Option<Stages>,
}

/// Seconds (or a ratio) with four decimals, or in exponent form below 0.001 so that a
/// positive value never prints as zero.
fn num(x: f64, decimals: usize) -> String {
    if x.abs() >= 1e-3 || x == 0.0 || !x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

/// The aligned table: case, proxy, s/arch, bare s/arch, ratio, timings.
pub fn render_table(rows: &[Measured]) -> String {
    let head = ["case", "proxy", "s/arch", "bare s/arch", "ratio", "timings"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|m| {
            [
                m.case.clone(),
                m.proxy.clone(),
                num(m.seconds_median, 4),
                num(m.bare_median, 4),
                num(m.ratio_median, 3),
                m.timings.to_string(),
            ]
        })
        .collect();
    let width = |k: usize| cells.iter().map(|c| c[k].chars().count()).chain([head[k].len()]).max().unwrap_or(0);
    let w: Vec<usize> = (0..6).map(width).collect();
    let line = |c: [&str; 6]| {
        let mut s = format!("{:<w0$}  {:<w1$}", c[0], c[1], w0 = w[0], w1 = w[1]);
        for k in 2..6 {
            s.push_str(&format!("  {:>wk$}", c[k], wk = w[k]));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]));
    }
    out
}

/// Runs `zsnas bench`: the table of medians per case × proxy (and `set`), each with its
/// ratio to the bare forward + backward timed in alternation (compare ratios, not seconds
/// measured on different machines); for `wrcor` at batch 64 also the stage breakdown on
/// the all-`nor_conv_3x3` cell. Errors: a `--sample` above 15,625, an unknown proxy, a
/// batch the proxies cannot use, unreadable data, a failed scoring.
pub fn run(a: BenchArgs) -> Result<()> {
    if a.sample > NB201_SIZE {
        anyhow::bail!(
            "--sample must be 0 to 15,625 architectures (NAS-Bench-201's size; 0: no sample case), got {}",
            a.sample
        );
    }
    let repeats = a.repeats as usize;
    let targets = parse_list(&a.proxies, "--proxies", SpaceKind::Nb201).map_err(|e| {
        // The space check's message suggests --space, which bench does not have.
        let names_it = a.proxies.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|t| t == "flops_reference");
        if names_it {
            anyhow::anyhow!(
                "--proxies flops_reference: only defined for the mbv2 space, and bench times NAS-Bench-201 cells (`zsnas score --space mbv2` computes it)"
            )
        } else {
            e
        }
    })?;
    let proxies = proxies_needed(&targets);
    let (dev, batch) = a.data.batch()?;
    check_batch_size(&proxies, batch.len())?;
    let cases = standard_cases(a.sample, a.data.seed);
    let stages = batch.len() == 64;
    let rows = Row::for_proxies(&proxies, stages);
    let classes = a.data.setup.num_classes(SpaceKind::Nb201);
    let threads = tch::get_num_threads();
    let device = a.data.setup.device.as_str();
    let results = measure(&cases, &rows, &batch, repeats, dev, classes, a.data.seed)?;
    let write = || -> std::io::Result<()> {
        let stdout = std::io::stdout();
        let mut o = stdout.lock();
        match a.format {
            Format::Json => {
                for m in &results {
                    let j = JsonRow {
                        case: &m.case,
                        proxy: &m.proxy,
                        seconds_median: m.seconds_median,
                        bare_median: m.bare_median,
                        ratio_median: m.ratio_median,
                        timings: m.timings,
                        threads,
                        batch: batch.len(),
                        device,
                        stages: m.stages,
                    };
                    writeln!(o, "{}", serde_json::to_string(&j)?)?;
                }
            }
            Format::Table => {
                let names: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
                writeln!(
                    o,
                    "zsnas bench: {} at batch {} on {} ({}), NAS-Bench-201, {} repeat(s)",
                    names.join(","),
                    batch.len(),
                    device,
                    match threads {
                        1 => "1 thread".to_string(),
                        t => format!("{t} threads"),
                    },
                    repeats
                )?;
                writeln!(
                    o,
                    "s/arch: median seconds per architecture, network build + scoring; bare s/arch: median seconds of a bare forward + loss.backward() of the same network, timed just before each scoring; ratio: median of the per-pair ratios (compare ratios across machines, not seconds)"
                )?;
                write!(o, "{}", render_table(&results))?;
                if let Some(s) = results.iter().find(|m| m.case == cases[0].name && m.stages.is_some()) {
                    let st = s.stages.unwrap_or_default();
                    writeln!(
                        o,
                        "{} breakdown: build {:.4} s, forward + ReLU-input gradients {:.4} s, correlations + log-det {:.4} s",
                        s.case, st.build, st.pass, st.correlations
                    )?;
                } else if proxies.contains(&Proxy::Wrcor) {
                    writeln!(o, "(the wrcor stage breakdown needs --batch-size 64)")?;
                }
            }
        }
        o.flush()
    };
    write().context("writing to standard output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positive_value_never_prints_as_zero() {
        assert_eq!(num(0.56123, 4), "0.5612");
        assert_eq!(num(0.00002, 4), "2.00e-5");
        assert!(num(0.00002, 4).parse::<f64>().unwrap() > 0.0);
        assert_eq!(num(0.978, 3), "0.978");
    }

    #[test]
    fn the_table_is_aligned() {
        let m = |case: &str, proxy: &str, s: f64| Measured {
            case: case.into(),
            proxy: proxy.into(),
            seconds_median: s,
            bare_median: 0.5,
            ratio_median: s / 0.5,
            timings: 3,
            stages: None,
        };
        let t = render_table(&[m("all skip_connect", "wrcor", 0.04), m("sample of 5", "set", 1.25)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("case "));
        let col = |l: &str| l.find("s/arch").or_else(|| l.find("0.0400")).or_else(|| l.find("1.2500"));
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{t}");
        assert!(col(lines[1]).is_some() && col(lines[2]).is_some());
    }
}
