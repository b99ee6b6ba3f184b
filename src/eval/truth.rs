//! Ground truth, one type for every command ([`Truth`]: join key → value, with one set of
//! defaults per space), loaded from the embedded NAS-Bench-201 table, a NAS-Bench-101
//! records JSON, or any CSV table ([`TruthTable`]: a key column such as `arch_str`
//! mapped to a numeric column such as `test_acc_200ep`, optionally gzipped).

use crate::io::gz::read_maybe_gz;
use crate::space::nb101::parse_records;
use crate::space::nb201_table::Nb201Table;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{anyhow, bail, Context, Result};
use flate2::read::MultiGzDecoder;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A mapping from the string in `key_column` to the number in
/// `value_column` of a CSV table with a header row; rows keep file order.
///
/// Values are parsed with Rust's `f64` parser (so `nan`/`inf` are accepted
/// and stored as such; callers filter non-finite values).
#[derive(Debug, Clone)]
pub struct TruthTable {
    /// Header name of the key column.
    pub key_column: String,
    /// Header name of the value column.
    pub value_column: String,
    map: HashMap<String, f64>,
    keys: Vec<String>,
}

impl TruthTable {
    /// Loads a CSV file (plain or gzip-compressed, detected by content) and
    /// maps `key_column` to `value_column`.
    ///
    /// Errors: missing/unreadable file; see [`TruthTable::from_csv_reader`].
    pub fn load_csv(path: impl AsRef<Path>, key_column: &str, value_column: &str) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_maybe_gz(path)?;
        Self::from_csv_reader(&bytes[..], &path.display().to_string(), key_column, value_column)
    }

    /// Loads a gzip-compressed CSV file (e.g. an embedded `*.csv.gz` written to
    /// disk). Errors: unreadable file, data that is not gzip (naming the
    /// path), or any error of [`TruthTable::from_csv_reader`].
    pub fn load_csv_gz(path: impl AsRef<Path>, key_column: &str, value_column: &str) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_csv_gz_bytes(&bytes, &path.display().to_string(), key_column, value_column)
    }

    /// Parses gzip-compressed CSV bytes (e.g. from `include_bytes!`). `name`
    /// is used in error messages. Errors: not gzip data, corrupt gzip, or any
    /// error of [`TruthTable::from_csv_reader`].
    pub fn from_csv_gz_bytes(bytes: &[u8], name: &str, key_column: &str, value_column: &str) -> Result<Self> {
        if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
            bail!("{name} is not gzip data (missing 1f 8b magic bytes)");
        }
        let mut out = Vec::new();
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .with_context(|| format!("cannot decompress gzip data in {name}"))?;
        Self::from_csv_reader(&out[..], name, key_column, value_column)
    }

    /// Parses CSV (comma-separated, header row, fields trimmed) from any
    /// reader. `name` identifies the input in error messages.
    ///
    /// Errors: malformed CSV; `key_column` or `value_column` absent from the
    /// header (listing the available columns); an empty or unparsable value
    /// (naming the 1-based data row, the line and the column); a duplicate key
    /// (naming both rows); a table without data rows.
    pub fn from_csv_reader<R: Read>(mut reader: R, name: &str, key_column: &str, value_column: &str) -> Result<Self> {
        // Read whole (a truth table is small) so that an error's line number is counted
        // from the record's byte offset: the csv crate's own line count is short in files
        // with CRLF line ends.
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).with_context(|| format!("cannot read {name}"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            bail!("{name} is empty: expected a CSV table with a header row");
        }
        let line_at = |byte: u64| {
            // With CRLF the crate's record offset can fall on the previous line's '\n'.
            let mut at = (byte as usize).min(bytes.len());
            while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                at += 1;
            }
            // Line ends: "\n", "\r\n" and a lone "\r" (old Mac files), as the csv crate reads them.
            let before = &bytes[..at];
            let lone_cr = |i: usize| before[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
            1 + (0..before.len()).filter(|&i| before[i] == b'\n' || lone_cr(i)).count()
        };
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(&bytes[..]);
        let headers = rdr.headers().with_context(|| format!("cannot read CSV header of {name}"))?.clone();
        let find = |col: &str| -> Result<usize> {
            headers.iter().position(|h| h == col).with_context(|| {
                format!(
                    "{name} has no column {col:?}; available columns: {}",
                    headers.iter().collect::<Vec<_>>().join(", ")
                )
            })
        };
        let ki = find(key_column)?;
        let vi = find(value_column)?;
        let mut map = HashMap::new();
        let mut keys = Vec::new();
        let mut first_row: HashMap<String, usize> = HashMap::new();
        for (r, rec) in rdr.records().enumerate() {
            let row = r + 1;
            let rec = rec.with_context(|| format!("malformed CSV in {name} at data row {row}"))?;
            let line = rec.position().map(|p| line_at(p.byte())).unwrap_or(0);
            let key = rec.get(ki).with_context(|| {
                format!("{name}: data row {row} (line {line}) has no field for column {key_column:?}")
            })?;
            let raw = rec.get(vi).with_context(|| {
                format!("{name}: data row {row} (line {line}) has no field for column {value_column:?}")
            })?;
            let value: f64 = raw.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{name}: data row {row} (line {line}), column {value_column:?}: cannot parse {raw:?} as a number"
                )
            })?;
            if let Some(prev) = first_row.insert(key.to_string(), row) {
                bail!("{name}: duplicate key {key:?} in column {key_column:?} at data rows {prev} and {row}");
            }
            map.insert(key.to_string(), value);
            keys.push(key.to_string());
        }
        if keys.is_empty() {
            bail!("{name} has a header but no data rows");
        }
        Ok(TruthTable { key_column: key_column.to_string(), value_column: value_column.to_string(), map, keys })
    }

    /// The value for `key`, or `None` if the key is absent.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.map.get(key).copied()
    }

    /// Number of rows (distinct keys).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if the table has no rows (never the case for a loaded table).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys in file order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// `(key, value)` pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.keys.iter().map(move |k| (k.as_str(), self.map[k]))
    }

    /// The key with the largest value (first in file order on ties; NaN
    /// values are skipped), or `None` if no value is comparable.
    pub fn argmax(&self) -> Option<(&str, f64)> {
        let mut best: Option<(&str, f64)> = None;
        for (k, v) in self.iter() {
            if v.is_nan() {
                continue;
            }
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((k, v));
            }
        }
        best
    }
}

/// A ground-truth mapping from join key to value.
#[derive(Clone, Debug)]
pub struct Truth {
    /// Human-readable source (file name or "embedded NAS-Bench-201 table").
    pub source: String,
    /// The value column.
    pub column: String,
    /// The join key: `arch_str` (or another architecture-text column), `index` or `hash`.
    pub key: String,
    /// Key → value.
    pub map: HashMap<String, f64>,
}

/// [`Truth::source`] of the embedded NAS-Bench-201 table.
pub const EMBEDDED_SOURCE: &str = "embedded NAS-Bench-201 table";

/// Columns of a NAS-Bench-101 records JSON usable as truth.
const NB101_COLUMNS: [&str; 4] = ["valid_acc_108ep", "valid_acc_12ep", "trainable_parameters", "train_time_s"];

/// Loads the ground truth for `space`: `path` (CSV, or NAS-Bench-101 JSON), or the
/// space's default (nb201: the embedded table; nb101: `<data dir>/nb101/nb101_sample200.json`), with the column and key defaults of
/// the space.
pub fn load_truth(space: SpaceKind, path: Option<&Path>, column: Option<&str>, key: Option<&str>) -> Result<Truth> {
    let default_col = match space {
        SpaceKind::Nb101 => "valid_acc_108ep",
        _ => "test_acc_200ep",
    };
    let default_key = match space {
        SpaceKind::Nb101 => "hash",
        _ => "arch_str",
    };
    let column = column.unwrap_or(default_col).to_string();
    let key = key.unwrap_or(default_key).to_string();
    let path: Option<PathBuf> = match (path, space) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, SpaceKind::Nb201) => None,
        (None, SpaceKind::Nb101) => {
            let p = crate::data::data_dir().map(|d| d.join("nb101/nb101_sample200.json"));
            match p {
                Some(p) if p.exists() => Some(p),
                _ => bail!("nb101 has no built-in truth table: give --truth nb101_sample200.json (or a CSV with --truth-key hash)"),
            }
        }
        (None, SpaceKind::Mbv2) => {
            bail!("mbv2 has no benchmark table: give --truth FILE.csv --truth-column NAME --truth-key NAME")
        }
    };
    let Some(path) = path else {
        // Embedded NAS-Bench-201 table.
        let t = Nb201Table::embedded()?;
        if !t.has_column(&column) {
            bail!(
                "the embedded NAS-Bench-201 table has no column '{column}' (available: {}); use --truth FILE.csv for others",
                t.columns().join(", ")
            );
        }
        let mut map = HashMap::new();
        for r in t.rows() {
            let k = match key.as_str() {
                "index" => r.index.to_string(),
                "arch_str" | "arch" => r.arch.arch_str(),
                other => bail!("the embedded NAS-Bench-201 table is keyed by arch_str or index, not '{other}'"),
            };
            if let Some(v) = r.value(&column) {
                map.insert(k, v);
            }
        }
        return Ok(Truth { source: EMBEDDED_SOURCE.into(), column, key, map });
    };
    // A device would never end (`/dev/zero`); a pipe (`--truth <(zcat t.csv.gz)`) is read
    // to its end.
    if let Some(kind) = crate::space::arch::not_a_text_source(&path) {
        bail!("truth file '{}' is {kind}, not a file or pipe", path.display());
    }
    // Read once: a pipe (`--truth <(zcat t.csv.gz)`) cannot be read twice.
    let bytes = read_maybe_gz(&path)?;
    let is_json =
        path.extension().is_some_and(|e| e == "json") || bytes.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'[');
    if is_json {
        if key != "hash" {
            bail!("'{}' is a NAS-Bench-101 records JSON, keyed by hash, not '{key}'", path.display());
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow!("reading NAS-Bench-101 records from {}: not UTF-8 text", path.display()))?;
        let recs = parse_records(&text).with_context(|| format!("in {}", path.display()))?;
        let col = NB101_COLUMNS.iter().position(|c| *c == column).ok_or_else(|| {
            anyhow!("'{}' has no column '{column}' (available: {})", path.display(), NB101_COLUMNS.join(", "))
        })?;
        let mut map = HashMap::new();
        for r in recs {
            let v = match col {
                0 => r.valid_acc_108ep,
                1 => r.valid_acc_12ep,
                2 => r.trainable_parameters.map(|x| x as f64),
                _ => r.train_time_s,
            };
            if let Some(v) = v {
                map.insert(r.hash, v);
            }
        }
        if map.is_empty() {
            bail!("'{}' has no record with a '{column}' value", path.display());
        }
        return Ok(Truth { source: path.display().to_string(), column, key, map });
    }
    let t = TruthTable::from_csv_reader(&bytes[..], &path.display().to_string(), &key, &column)?;
    let map = t.iter().map(|(k, v)| (k.to_string(), v)).collect();
    Ok(Truth { source: path.display().to_string(), column, key, map })
}

impl Truth {
    /// The value of `arch` (benchmark index `index` when known): looked up by index when
    /// the key is `index`, else by [`AnyArch::key`] (the `arch_str` of NAS-Bench-201, the
    /// module hash of NAS-Bench-101, the canonical text otherwise).
    pub fn value(&self, arch: &AnyArch, index: Option<usize>) -> Option<f64> {
        match self.key.as_str() {
            "index" => index.and_then(|i| self.map.get(&i.to_string()).copied()),
            _ => self.map.get(&arch.key()).copied(),
        }
    }

    /// The 1-based rank of `value` among the table's finite values (1 = highest) and the
    /// number of finite values.
    pub fn rank(&self, value: f64) -> (usize, usize) {
        let finite = self.map.values().filter(|v| v.is_finite());
        let n = finite.clone().count();
        (1 + finite.filter(|&&x| x > value).count(), n)
    }
}

/// What a truth column holds, for an axis label: `(description, unit)` of the columns
/// zsnas knows (the embedded NAS-Bench-201 table's and NAS-Bench-101's), `None` for
/// another column. Accuracies are given in %, whatever the file stores (see
/// [`Truth::axis_label`]).
pub fn column_description(column: &str) -> Option<(&'static str, &'static str)> {
    Some(match column {
        "test_acc_200ep" => ("CIFAR-10 test accuracy after 200 epochs", "%"),
        "valid_acc_200ep" => ("CIFAR-10 validation accuracy after 200 epochs", "%"),
        "valid_split_test_acc_200ep" => ("CIFAR-10 test-split accuracy (valid protocol) after 200 epochs", "%"),
        "test_acc_12ep" => ("CIFAR-10 test accuracy after 12 epochs", "%"),
        "valid_acc_12ep" => ("CIFAR-10 validation accuracy after 12 epochs", "%"),
        "params_m" => ("parameters", "millions"),
        "cifar100_test_200" => ("CIFAR-100 test accuracy after 200 epochs", "%"),
        "imagenet16_test_200" => ("ImageNet16-120 test accuracy after 200 epochs", "%"),
        "cifar100_test_12" => ("CIFAR-100 test accuracy after 12 epochs", "%"),
        "cifar100_valid_12" => ("CIFAR-100 validation accuracy after 12 epochs", "%"),
        "imagenet16_test_12" => ("ImageNet16-120 test accuracy after 12 epochs", "%"),
        "imagenet16_valid_12" => ("ImageNet16-120 validation accuracy after 12 epochs", "%"),
        "valid_acc_108ep" => ("CIFAR-10 validation accuracy after 108 epochs", "%"),
        "trainable_parameters" => ("trainable parameters", "count"),
        "train_time_s" => ("training time", "s"),
        _ => return None,
    })
}

/// An axis label for a truth column and the factor that converts its values to the
/// label's unit.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisLabel {
    /// E.g. "CIFAR-10 test accuracy after 200 epochs (%)".
    pub text: String,
    /// Multiply values by this to plot them in the label's unit (100 for accuracies
    /// stored as fractions, as NAS-Bench-101's; else 1).
    pub scale: f64,
}

/// [`AxisLabel`] of `column` given its values: a known accuracy column (unit %) whose
/// finite values all lie in 0..=1 is a fraction and gets `scale` 100; an unknown column
/// is labelled by its name.
pub fn axis_label(column: &str, values: impl Iterator<Item = f64>) -> AxisLabel {
    match column_description(column) {
        Some((what, "%")) => {
            let mut finite = values.filter(|v| v.is_finite()).peekable();
            let fraction = finite.peek().is_some() && finite.all(|v| (0.0..=1.0).contains(&v));
            AxisLabel { text: format!("{what} (%)"), scale: if fraction { 100.0 } else { 1.0 } }
        }
        Some((what, unit)) => AxisLabel { text: format!("{what} ({unit})"), scale: 1.0 },
        None => AxisLabel { text: column.to_string(), scale: 1.0 },
    }
}

impl Truth {
    /// The axis label of this truth's column ([`axis_label`] over its values).
    pub fn axis_label(&self) -> AxisLabel {
        axis_label(&self.column, self.map.values().copied())
    }
}

/// The truth a search reports by default: the embedded NAS-Bench-201 CIFAR-10 table, the
/// NAS-Bench-101 sample records when `../shared` (or `$ZSNAS_DATA`) has them, none for
/// mbv2. Errors: `$ZSNAS_DATA` is set but holds no NAS-Bench-101 sample (a wrong setting
/// is not taken for "no truth").
pub fn default_truth(space: SpaceKind) -> Result<Option<Truth>> {
    match space {
        SpaceKind::Nb201 => load_truth(space, None, None, None).map(Some),
        SpaceKind::Nb101 => match crate::data::data_dir().map(|d| d.join("nb101/nb101_sample200.json")) {
            Some(p) if p.exists() => load_truth(space, Some(&p), None, None).map(Some),
            Some(p) if std::env::var_os("ZSNAS_DATA").is_some_and(|v| !v.is_empty()) => bail!(
                "ZSNAS_DATA: {} does not exist, so there is no NAS-Bench-101 truth; fix or unset ZSNAS_DATA, or give --truth FILE or --no-truth",
                p.display()
            ),
            _ => Ok(None),
        },
        SpaceKind::Mbv2 => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    const CSV: &str = "index,arch,acc\n0,a,1.5\n1, b ,2\n2,c,nan\n";

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn axis_labels_carry_units_and_convert_fractions() {
        let l = axis_label("test_acc_200ep", [93.1, 10.0].into_iter());
        assert_eq!(l, AxisLabel { text: "CIFAR-10 test accuracy after 200 epochs (%)".into(), scale: 1.0 });
        let l = axis_label("valid_acc_108ep", [0.93, 0.1, f64::NAN].into_iter());
        assert_eq!(l, AxisLabel { text: "CIFAR-10 validation accuracy after 108 epochs (%)".into(), scale: 100.0 });
        assert_eq!(axis_label("params_m", [1.2].into_iter()).text, "parameters (millions)");
        assert_eq!(axis_label("my_col", [1.2].into_iter()), AxisLabel { text: "my_col".into(), scale: 1.0 });
    }

    #[test]
    fn parse_and_lookup() {
        let t = TruthTable::from_csv_reader(CSV.as_bytes(), "mem.csv", "arch", "acc").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.get("a"), Some(1.5));
        assert_eq!(t.get("b"), Some(2.0));
        assert!(t.get("c").unwrap().is_nan());
        assert_eq!(t.get("zz"), None);
        assert_eq!(t.keys(), &["a", "b", "c"]);
        assert_eq!(t.argmax(), Some(("b", 2.0)));
        let by_index = TruthTable::from_csv_reader(CSV.as_bytes(), "mem.csv", "index", "acc").unwrap();
        assert_eq!(by_index.get("1"), Some(2.0));
    }

    #[test]
    fn errors_are_descriptive() {
        let e = TruthTable::from_csv_reader(CSV.as_bytes(), "mem.csv", "arch", "accuracy").unwrap_err().to_string();
        assert!(e.contains("no column \"accuracy\"") && e.contains("index, arch, acc"), "{e}");
        let bad = "arch,acc\na,1\nb,x9\n";
        let e = TruthTable::from_csv_reader(bad.as_bytes(), "bad.csv", "arch", "acc").unwrap_err().to_string();
        assert!(
            e.contains("bad.csv")
                && e.contains("data row 2")
                && e.contains("line 3")
                && e.contains("\"acc\"")
                && e.contains("x9"),
            "{e}"
        );
        // CRLF line ends (Python's csv module, Excel): the same line number.
        for (text, line) in [
            ("arch,acc\r\na,1\r\nb,2\r\nc,x9\r\n", 4),
            ("arch,acc\r\n\"a\r\nb\",1\r\nc,x9\r\n", 4),
            // Lone CR line ends (classic Mac OS).
            ("arch,acc\ra,1\rb,2\rc,x9\r", 4),
            ("arch,acc\ra,1\r\rb,2\rc,x9\r", 5),
        ] {
            let e = TruthTable::from_csv_reader(text.as_bytes(), "crlf.csv", "arch", "acc").unwrap_err().to_string();
            assert!(e.contains(&format!("(line {line})")), "{e}");
        }
        let dup = "arch,acc\na,1\na,2\n";
        let e = TruthTable::from_csv_reader(dup.as_bytes(), "dup.csv", "arch", "acc").unwrap_err().to_string();
        assert!(e.contains("duplicate key") && e.contains("rows 1 and 2"), "{e}");
        let e = TruthTable::from_csv_reader("arch,acc\n".as_bytes(), "h.csv", "arch", "acc").unwrap_err().to_string();
        assert!(e.contains("no data rows"), "{e}");
        let e = format!("{:#}", TruthTable::load_csv("/nonexistent/t.csv", "a", "b").unwrap_err());
        assert!(e.contains("/nonexistent/t.csv"), "{e}");
        let e = TruthTable::from_csv_gz_bytes(CSV.as_bytes(), "plain.csv", "arch", "acc").unwrap_err().to_string();
        assert!(e.contains("not gzip"), "{e}");
    }

    #[test]
    fn gzip_roundtrip() {
        let dir = std::env::temp_dir().join(format!("zsnas_truth_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.csv.gz");
        std::fs::write(&p, gz(CSV.as_bytes())).unwrap();
        assert_eq!(read_maybe_gz(&p).unwrap(), CSV.as_bytes());
        let t = TruthTable::load_csv_gz(&p, "arch", "acc").unwrap();
        assert_eq!(t.get("a"), Some(1.5));
        // load_csv also detects gzip by content.
        assert_eq!(TruthTable::load_csv(&p, "arch", "acc").unwrap().len(), 3);
        let plain = dir.join("t.csv");
        std::fs::write(&plain, CSV).unwrap();
        assert_eq!(read_maybe_gz(&plain).unwrap(), CSV.as_bytes());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn real_nb201_shared_data() {
        let p = crate::data::shared_data_file("nb201/nb201_cifar10.csv");
        let t = TruthTable::load_csv(&p, "arch_str", "test_acc_200ep").unwrap();
        assert_eq!(t.len(), 15_625);
        let (best, acc) = t.argmax().unwrap();
        assert_eq!(
            best,
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
        );
        assert!((acc - 94.373333).abs() < 1e-9, "{acc}");
        let by_index = TruthTable::load_csv(&p, "index", "test_acc_200ep").unwrap();
        assert_eq!(by_index.get("6111"), Some(acc));
        let v = TruthTable::load_csv(&p, "arch_str", "valid_acc_200ep").unwrap();
        let (_, vbest) = v.argmax().unwrap();
        assert!((vbest - 91.61).abs() < 0.005, "{vbest}");
        // Gzip path on the real table.
        let tmp = std::env::temp_dir().join(format!("zsnas_nb201_{}.csv.gz", std::process::id()));
        std::fs::write(&tmp, gz(&std::fs::read(&p).unwrap())).unwrap();
        let g = TruthTable::load_csv_gz(&tmp, "arch_str", "test_acc_200ep").unwrap();
        assert_eq!(g.len(), 15_625);
        assert_eq!(g.get(best), Some(acc));
        let _ = std::fs::remove_file(&tmp);
    }
}
