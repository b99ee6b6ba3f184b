//! The NAS-Bench-201 CIFAR-10 ground-truth table (Dong & Yang 2020, MIT licence), shipped
//! gzip-compressed in `assets/nb201_cifar10.csv.gz` so that benchmark look-ups work on a
//! fresh clone: one row per architecture, in the benchmark's index order (0..15624).
//! Accuracies are in %, `params_m` in millions.

use super::nb201::Nb201Arch;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::Read;

static EMBEDDED: &[u8] = include_bytes!("../../assets/nb201_cifar10.csv.gz");

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Nb201Row {
    /// Benchmark index.
    pub index: usize,
    /// The cell.
    pub arch: Nb201Arch,
    /// CIFAR-10 test accuracy (%) after 200 epochs (train+valid), mean over seeds.
    pub test_acc_200ep: f64,
    /// cifar10-valid validation accuracy (%), 200 epochs.
    pub valid_acc_200ep: f64,
    /// Parameters of the CIFAR-10 network, millions.
    pub params_m: f64,
}

/// The table with look-ups by index and by architecture.
#[derive(Clone, Debug)]
pub struct Nb201Table {
    rows: Vec<Nb201Row>,
    by_arch: HashMap<Nb201Arch, usize>,
}

impl Nb201Table {
    /// The embedded table (all 15,625 rows).
    pub fn embedded() -> Result<Self> {
        let mut s = String::new();
        flate2::read::GzDecoder::new(EMBEDDED)
            .read_to_string(&mut s)
            .context("embedded NAS-Bench-201 table is corrupt")?;
        Self::from_csv(&s, "embedded nb201_cifar10.csv")
    }

    /// Parses a table with columns `index, arch_str, test_acc_200ep, valid_acc_200ep, ..., params_m`.
    pub fn from_csv(text: &str, name: &str) -> Result<Self> {
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        let hdr = rd.headers()?.clone();
        let col = |c: &str| hdr.iter().position(|h| h == c).ok_or_else(|| anyhow::anyhow!("{name}: no column '{c}'"));
        let (ci, ca, ct, cv, cp) =
            (col("index")?, col("arch_str")?, col("test_acc_200ep")?, col("valid_acc_200ep")?, col("params_m")?);
        let mut rows = Vec::new();
        let mut by_arch = HashMap::new();
        for (line, rec) in rd.records().enumerate() {
            let rec = rec.with_context(|| format!("{name}: bad CSV at row {}", line + 2))?;
            let f = |c: usize| -> Result<f64> {
                rec[c]
                    .parse::<f64>()
                    .with_context(|| format!("{name}: row {}: '{}' is not a number", line + 2, &rec[c]))
            };
            let arch = Nb201Arch::parse(&rec[ca])?;
            let index: usize = rec[ci].parse().with_context(|| format!("{name}: row {}: bad index", line + 2))?;
            if index != rows.len() {
                bail!("{name}: row {} has index {index}, expected {}", line + 2, rows.len());
            }
            by_arch.insert(arch, index);
            rows.push(Nb201Row { index, arch, test_acc_200ep: f(ct)?, valid_acc_200ep: f(cv)?, params_m: f(cp)? });
        }
        Ok(Nb201Table { rows, by_arch })
    }

    /// All rows in index order.
    pub fn rows(&self) -> &[Nb201Row] {
        &self.rows
    }

    /// The row of benchmark index `i`.
    pub fn get(&self, i: usize) -> Option<&Nb201Row> {
        self.rows.get(i)
    }

    /// The benchmark index of `arch`.
    pub fn index_of(&self, arch: &Nb201Arch) -> Option<usize> {
        self.by_arch.get(arch).copied()
    }

    /// The row of `arch`.
    pub fn row_of(&self, arch: &Nb201Arch) -> Option<&Nb201Row> {
        self.index_of(arch).map(|i| &self.rows[i])
    }

    /// 1-based rank of `arch` by `test_acc_200ep` among all rows (1 = best).
    pub fn rank_of(&self, arch: &Nb201Arch) -> Option<usize> {
        let acc = self.row_of(arch)?.test_acc_200ep;
        Some(1 + self.rows.iter().filter(|r| r.test_acc_200ep > acc).count())
    }
}
