//! The NAS-Bench-201 ground-truth table of all three data sets (Dong & Yang 2020; data from
//! NATS-Bench's topology search space, Dong et al. 2021; MIT licence), shipped
//! gzip-compressed in `assets/nb201.csv.gz` so that benchmark look-ups work on a fresh
//! clone: one row per architecture, in the benchmark's index order (0..15624).
//!
//! Columns (accuracies in %, mean over seeds; `params_m` in millions), see
//! [`NB201_TRUTH_COLUMNS`]: the CIFAR-10 ones `test_acc_200ep`, `valid_acc_200ep`,
//! `valid_split_test_acc_200ep`, `test_acc_12ep`, `valid_acc_12ep`, `params_m`, then
//! `cifar100_test_200`, `imagenet16_test_200`, `cifar100_test_12`, `cifar100_valid_12`,
//! `imagenet16_test_12`, `imagenet16_valid_12`. [`crate::data::dataset::Dataset`] names the
//! column of each data set and schedule. `scripts/build_nb201_table.py` builds the file from
//! the two tables of the shared data folder, checking that index and `arch_str` agree row by
//! row; [`Nb201Table::join_csv`] does the same join in Rust.

use super::nb201::Nb201Arch;
use crate::data::dataset::{Dataset, Epochs};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::Read;

static EMBEDDED: &[u8] = include_bytes!("../../assets/nb201.csv.gz");

/// The value columns of the embedded table, in file order (after `index`, `arch_str`).
pub const NB201_TRUTH_COLUMNS: [&str; 12] = [
    "test_acc_200ep",
    "valid_acc_200ep",
    "valid_split_test_acc_200ep",
    "test_acc_12ep",
    "valid_acc_12ep",
    "params_m",
    "cifar100_test_200",
    "imagenet16_test_200",
    "cifar100_test_12",
    "cifar100_valid_12",
    "imagenet16_test_12",
    "imagenet16_valid_12",
];

/// Columns every table must have (the original CIFAR-10 table's); the others are optional
/// in [`Nb201Table::from_csv`] (NaN and reported absent by [`Nb201Table::has_column`]).
const REQUIRED: [&str; 3] = ["test_acc_200ep", "valid_acc_200ep", "params_m"];

/// One row of the table. Accuracies in %, mean over seeds; NaN where the table read lacks
/// that column.
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
    /// cifar10-valid test accuracy (%), 200 epochs (trained on the train split only).
    pub valid_split_test_acc_200ep: f64,
    /// CIFAR-10 test accuracy (%) after the 12-epoch schedule.
    pub test_acc_12ep: f64,
    /// cifar10-valid validation accuracy (%) after 12 epochs.
    pub valid_acc_12ep: f64,
    /// CIFAR-100 test accuracy (%) after 200 epochs.
    pub cifar100_test_200: f64,
    /// ImageNet16-120 test accuracy (%) after 200 epochs.
    pub imagenet16_test_200: f64,
    /// CIFAR-100 test accuracy (%) after 12 epochs.
    pub cifar100_test_12: f64,
    /// CIFAR-100 validation accuracy (%) after 12 epochs.
    pub cifar100_valid_12: f64,
    /// ImageNet16-120 test accuracy (%) after 12 epochs.
    pub imagenet16_test_12: f64,
    /// ImageNet16-120 validation accuracy (%) after 12 epochs.
    pub imagenet16_valid_12: f64,
}

impl Nb201Row {
    /// The value of `column` (one of [`NB201_TRUTH_COLUMNS`]), or `None` for another name.
    pub fn value(&self, column: &str) -> Option<f64> {
        Some(match column {
            "test_acc_200ep" => self.test_acc_200ep,
            "valid_acc_200ep" => self.valid_acc_200ep,
            "valid_split_test_acc_200ep" => self.valid_split_test_acc_200ep,
            "test_acc_12ep" => self.test_acc_12ep,
            "valid_acc_12ep" => self.valid_acc_12ep,
            "params_m" => self.params_m,
            "cifar100_test_200" => self.cifar100_test_200,
            "imagenet16_test_200" => self.imagenet16_test_200,
            "cifar100_test_12" => self.cifar100_test_12,
            "cifar100_valid_12" => self.cifar100_valid_12,
            "imagenet16_test_12" => self.imagenet16_test_12,
            "imagenet16_valid_12" => self.imagenet16_valid_12,
            _ => return None,
        })
    }

    /// Test accuracy (%) of this cell on `dataset` after `epochs` (see
    /// [`Dataset::truth_column`]).
    pub fn test_acc(&self, dataset: Dataset, epochs: Epochs) -> f64 {
        self.value(dataset.truth_column(epochs)).unwrap_or(f64::NAN)
    }
}

/// The table with look-ups by index and by architecture.
#[derive(Clone, Debug)]
pub struct Nb201Table {
    rows: Vec<Nb201Row>,
    by_arch: HashMap<Nb201Arch, usize>,
    present: Vec<&'static str>,
}

fn gunzip(bytes: &[u8], name: &str) -> Result<String> {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut s).with_context(|| format!("{name} is corrupt"))?;
    Ok(s)
}

impl Nb201Table {
    /// The embedded table (all 15,625 rows, all columns of [`NB201_TRUTH_COLUMNS`]).
    pub fn embedded() -> Result<Self> {
        Self::from_csv(&gunzip(EMBEDDED, "embedded NAS-Bench-201 table")?, "embedded nb201.csv")
    }

    /// Parses a table with columns `index, arch_str, test_acc_200ep, valid_acc_200ep,
    /// params_m` and any of the other [`NB201_TRUTH_COLUMNS`] (in any order; unknown
    /// columns are ignored). `name` is used in error messages.
    ///
    /// Errors: a required column missing, bad CSV, a value that is not a number, an index
    /// out of sequence (rows must be 0, 1, 2, ...), or a bad `arch_str` (naming the row).
    pub fn from_csv(text: &str, name: &str) -> Result<Self> {
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        let hdr = rd.headers()?.clone();
        let pos = |c: &str| hdr.iter().position(|h| h == c);
        let col = |c: &str| {
            pos(c).ok_or_else(|| {
                anyhow::anyhow!("{name}: no column '{c}' (columns: {})", hdr.iter().collect::<Vec<_>>().join(", "))
            })
        };
        let (ci, ca) = (col("index")?, col("arch_str")?);
        for c in REQUIRED {
            col(c)?;
        }
        let cols: Vec<Option<usize>> = NB201_TRUTH_COLUMNS.iter().map(|c| pos(c)).collect();
        let present: Vec<&'static str> =
            NB201_TRUTH_COLUMNS.iter().zip(&cols).filter(|(_, p)| p.is_some()).map(|(c, _)| *c).collect();
        let mut rows = Vec::new();
        let mut by_arch = HashMap::new();
        for (line, rec) in rd.records().enumerate() {
            let rec = rec.with_context(|| format!("{name}: bad CSV at row {}", line + 2))?;
            let mut v = [f64::NAN; NB201_TRUTH_COLUMNS.len()];
            for (k, c) in cols.iter().enumerate() {
                if let Some(c) = *c {
                    let s = rec.get(c).unwrap_or("");
                    v[k] = s.parse::<f64>().with_context(|| {
                        format!("{name}: row {}, column {}: '{s}' is not a number", line + 2, NB201_TRUTH_COLUMNS[k])
                    })?;
                }
            }
            let arch = Nb201Arch::parse(&rec[ca]).with_context(|| format!("{name}: row {}", line + 2))?;
            let index: usize = rec[ci].parse().with_context(|| format!("{name}: row {}: bad index", line + 2))?;
            if index != rows.len() {
                bail!("{name}: row {} has index {index}, expected {}", line + 2, rows.len());
            }
            by_arch.insert(arch, index);
            rows.push(Nb201Row {
                index,
                arch,
                test_acc_200ep: v[0],
                valid_acc_200ep: v[1],
                valid_split_test_acc_200ep: v[2],
                test_acc_12ep: v[3],
                valid_acc_12ep: v[4],
                params_m: v[5],
                cifar100_test_200: v[6],
                imagenet16_test_200: v[7],
                cifar100_test_12: v[8],
                cifar100_valid_12: v[9],
                imagenet16_test_12: v[10],
                imagenet16_valid_12: v[11],
            });
        }
        Ok(Nb201Table { rows, by_arch, present })
    }

    /// Joins the CIFAR-10 table (`nb201_cifar10.csv` of the shared data folder: `index,
    /// arch_str, test_acc_200ep, ...`) with the CIFAR-100 / ImageNet16-120 one
    /// (`nb201_cifar100_imagenet16.csv`: `index, arch_str, cifar100_test_200, ...`) and
    /// parses the result as [`Nb201Table::from_csv`] does: the same join as
    /// `scripts/build_nb201_table.py`, which made the embedded table.
    ///
    /// Errors: a different number of rows, or a row whose `index` or `arch_str` differs
    /// between the two (naming the row and both values); any error of `from_csv`.
    pub fn join_csv(cifar10: &str, others: &str, name: &str) -> Result<Self> {
        let read = |t: &str, which: &str| -> Result<(csv::StringRecord, Vec<csv::StringRecord>)> {
            let mut rd = csv::Reader::from_reader(t.as_bytes());
            let h = rd.headers().with_context(|| format!("{name}: {which} table has no header"))?.clone();
            if h.get(0) != Some("index") || h.get(1) != Some("arch_str") {
                bail!("{name}: {which} table must start with columns index, arch_str");
            }
            let recs = rd.records().collect::<std::result::Result<Vec<_>, _>>();
            Ok((h, recs.with_context(|| format!("{name}: bad CSV in the {which} table"))?))
        };
        let (ha, ra) = read(cifar10, "CIFAR-10")?;
        let (hb, rb) = read(others, "CIFAR-100/ImageNet16")?;
        if ra.len() != rb.len() {
            bail!("{name}: the CIFAR-10 table has {} rows, the CIFAR-100/ImageNet16 one {}", ra.len(), rb.len());
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(ha.iter().chain(hb.iter().skip(2)))?;
        for (k, (a, b)) in ra.iter().zip(&rb).enumerate() {
            if a.get(0) != b.get(0) || a.get(1) != b.get(1) {
                bail!(
                    "{name}: data row {k} disagrees: CIFAR-10 has index {} arch_str {}, CIFAR-100/ImageNet16 has index \
                     {} arch_str {}",
                    a.get(0).unwrap_or(""),
                    a.get(1).unwrap_or(""),
                    b.get(0).unwrap_or(""),
                    b.get(1).unwrap_or("")
                );
            }
            w.write_record(a.iter().chain(b.iter().skip(2)))?;
        }
        let text = String::from_utf8(w.into_inner().context("CSV join")?)?;
        Self::from_csv(&text, name)
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

    /// The value columns this table holds (all of [`NB201_TRUTH_COLUMNS`] for the embedded
    /// one), in that constant's order.
    pub fn columns(&self) -> &[&'static str] {
        &self.present
    }

    /// True if the table holds `column`.
    pub fn has_column(&self, column: &str) -> bool {
        self.present.contains(&column)
    }

    /// All values of `column`, in index order (length = number of rows).
    ///
    /// Errors: a column this table does not hold, listing those it does.
    pub fn column(&self, column: &str) -> Result<Vec<f64>> {
        if !self.has_column(column) {
            bail!("NAS-Bench-201 table has no column '{column}' (columns: {})", self.present.join(", "));
        }
        Ok(self.rows.iter().map(|r| r.value(column).unwrap_or(f64::NAN)).collect())
    }

    /// Test accuracy (%) of every cell on `dataset` after `epochs`, in index order: the
    /// column [`Dataset::truth_column`]. Errors as [`Nb201Table::column`].
    pub fn truth(&self, dataset: Dataset, epochs: Epochs) -> Result<Vec<f64>> {
        self.column(dataset.truth_column(epochs))
    }

    /// The value of `column` for `arch`; `None` if `arch` is not in the table or the table
    /// lacks the column.
    pub fn value_of(&self, arch: &Nb201Arch, column: &str) -> Option<f64> {
        if !self.has_column(column) {
            return None;
        }
        self.row_of(arch)?.value(column)
    }

    /// The best row by `column` (largest value; the lowest index on ties; NaN skipped) as
    /// `(index, value)`. Errors as [`Nb201Table::column`]; `Ok(None)` for an empty table.
    pub fn best(&self, column: &str) -> Result<Option<(usize, f64)>> {
        let v = self.column(column)?;
        let mut best: Option<(usize, f64)> = None;
        for (i, x) in v.into_iter().enumerate() {
            if !x.is_nan() && best.is_none_or(|(_, b)| x > b) {
                best = Some((i, x));
            }
        }
        Ok(best)
    }

    /// 1-based rank of `arch` by `column` among all rows (1 = best; ties share the better
    /// rank). `None` if `arch` is absent, the column is absent or its value is NaN.
    pub fn rank_by(&self, arch: &Nb201Arch, column: &str) -> Option<usize> {
        let x = self.value_of(arch, column)?;
        if x.is_nan() {
            return None;
        }
        Some(1 + self.rows.iter().filter(|r| r.value(column).is_some_and(|v| v > x)).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCH0: &str =
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";
    const ARCH1: &str =
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

    #[test]
    fn embedded_has_all_columns_and_known_bests_shared_data() {
        let t = Nb201Table::embedded().unwrap();
        assert_eq!(t.rows().len(), 15_625);
        assert_eq!(t.columns(), &NB201_TRUTH_COLUMNS[..]);
        // Best 200-epoch test accuracies (shared/data/README.md): CIFAR-10 94.37 at 6111,
        // CIFAR-100 73.51 at 9930, ImageNet16-120 47.31 at 857.
        let (i, v) = t.best("test_acc_200ep").unwrap().unwrap();
        assert_eq!(i, 6111);
        assert!((v - 94.373333).abs() < 1e-9, "{v}");
        let (i, v) = t.best(Dataset::Cifar100.truth_column(Epochs::E200)).unwrap().unwrap();
        assert_eq!(i, 9930);
        assert!((v - 73.51).abs() < 0.005, "{v}");
        let (i, v) = t.best(Dataset::ImageNet16_120.truth_column(Epochs::E200)).unwrap().unwrap();
        assert_eq!(i, 857);
        assert!((v - 47.31).abs() < 0.005, "{v}");
        // Row 0 and 1, every column, against the source CSVs' first data rows.
        let r = t.get(0).unwrap();
        assert_eq!(r.arch.to_string(), ARCH0);
        let want0 =
            [85.863333, 81.982667, 81.52, 69.55, 63.364, 0.129306, 52.913333, 26.633333, 31.26, 31.84, 17.0, 18.466667];
        for (c, w) in NB201_TRUTH_COLUMNS.iter().zip(want0) {
            assert_eq!(r.value(c), Some(w), "{c}");
        }
        let r1 = t.get(1).unwrap();
        assert_eq!(r1.arch.to_string(), ARCH1);
        assert_eq!((r1.cifar100_test_200, r1.imagenet16_valid_12), (70.293333, 35.433333));
        assert_eq!(r1.test_acc(Dataset::ImageNet16_120, Epochs::E200), 44.033333);
        assert_eq!(r1.test_acc(Dataset::Cifar10, Epochs::E12), 88.22);
        assert_eq!(r1.value("nope"), None);
        // Ranks: the CIFAR-100 best is rank 1 by its column.
        let a = t.get(9930).unwrap().arch;
        assert_eq!(t.rank_by(&a, "cifar100_test_200"), Some(1));
        assert_eq!(t.value_of(&a, "cifar100_test_200"), Some(t.get(9930).unwrap().cifar100_test_200));
        assert_eq!(t.truth(Dataset::Cifar100, Epochs::E12).unwrap().len(), 15_625);
        let e = t.column("top5").unwrap_err().to_string();
        assert!(e.contains("'top5'") && e.contains("imagenet16_valid_12"), "{e}");
    }

    #[test]
    fn embedded_equals_the_join_of_the_shared_tables_shared_data() {
        let dir = crate::data::shared_data_file("nb201");
        let a = std::fs::read_to_string(dir.join("nb201_cifar10.csv")).unwrap();
        let b = std::fs::read_to_string(dir.join("nb201_cifar100_imagenet16.csv")).unwrap();
        let joined = Nb201Table::join_csv(&a, &b, "shared join").unwrap();
        let emb = Nb201Table::embedded().unwrap();
        assert_eq!(joined.rows().len(), 15_625);
        assert_eq!(joined.columns(), emb.columns());
        // Row by row: same index, same cell, bit-identical values in every column.
        assert_eq!(joined.rows(), emb.rows());
        // And each source's own arch_str column agrees with the embedded arch of that index.
        for (k, line) in b.lines().skip(1).enumerate() {
            let mut f = line.split(',');
            assert_eq!(f.next(), Some(k.to_string().as_str()));
            assert_eq!(f.next().unwrap(), emb.get(k).unwrap().arch.to_string(), "row {k}");
        }
    }

    #[test]
    fn join_rejects_mismatched_rows() {
        let a = format!("index,arch_str,test_acc_200ep,valid_acc_200ep,params_m\n0,{ARCH0},1,2,3\n1,{ARCH1},4,5,6\n");
        let b_ok = format!("index,arch_str,cifar100_test_200\n0,{ARCH0},7\n1,{ARCH1},8\n");
        let t = Nb201Table::join_csv(&a, &b_ok, "mini").unwrap();
        assert_eq!(t.get(1).unwrap().cifar100_test_200, 8.0);
        assert!(t.has_column("cifar100_test_200") && !t.has_column("imagenet16_test_200"));
        assert!(t.get(0).unwrap().imagenet16_test_200.is_nan());
        let e = t.truth(Dataset::ImageNet16_120, Epochs::E200).unwrap_err().to_string();
        assert!(e.contains("imagenet16_test_200"), "{e}");
        let swapped = format!("index,arch_str,cifar100_test_200\n0,{ARCH1},7\n1,{ARCH0},8\n");
        let e = Nb201Table::join_csv(&a, &swapped, "mini").unwrap_err().to_string();
        assert!(e.contains("data row 0 disagrees") && e.contains(ARCH0) && e.contains(ARCH1), "{e}");
        let short = format!("index,arch_str,cifar100_test_200\n0,{ARCH0},7\n");
        let e = Nb201Table::join_csv(&a, &short, "mini").unwrap_err().to_string();
        assert!(e.contains("2 rows") && e.contains("1"), "{e}");
        let e = Nb201Table::from_csv("index,arch_str,test_acc_200ep\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("no column 'valid_acc_200ep'"), "{e}");
    }
}
