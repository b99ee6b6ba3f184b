//! Ground-truth tables: a key column (e.g. `arch_str`) mapped to a numeric
//! value column (e.g. `test_acc_200ep`) read from CSV, optionally gzipped.

use anyhow::{bail, Context, Result};
use flate2::read::MultiGzDecoder;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Reads a whole file, transparently decompressing it if it is gzip data
/// (detected by the magic bytes `1f 8b`, not by the file name).
///
/// Errors: the file cannot be read, or gzip data fails to decompress (both
/// naming the path).
pub fn read_maybe_gz(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    maybe_gunzip(bytes, &path.display().to_string())
}

/// Decompresses `bytes` if they start with the gzip magic `1f 8b`, else
/// returns them unchanged. `name` is used in error messages.
pub fn maybe_gunzip(bytes: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .with_context(|| format!("cannot decompress gzip data in {name}"))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

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
    pub fn from_csv_reader<R: Read>(reader: R, name: &str, key_column: &str, value_column: &str) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(reader);
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
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
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
    fn real_nb201() {
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
