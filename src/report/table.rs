//! A small plain-text table formatter for ranked lists and correlation
//! tables.
//!
//! Columns are separated by two spaces, the header is underlined with `-`,
//! lines carry no trailing spaces, and widths are counted in `char`s (so `ρ`
//! and `τ` count as one).  By default a column is right-aligned when every
//! non-empty cell in it is a number (see [`looks_numeric`]) and left-aligned
//! otherwise; [`Table::set_align`] overrides this.
//!
//! ```
//! use zsnas::report::table::Table;
//! let mut t = Table::new(["rank", "arch", "score"]);
//! t.add_row(["1", "cell-a", "12.50"]);
//! t.add_row(["10", "cell-bb", "-3.25"]);
//! assert_eq!(
//!     t.render(),
//!     "rank  arch     score\n\
//!      ----  -------  -----\n   \
//!         1  cell-a   12.50\n  \
//!        10  cell-bb  -3.25\n"
//! );
//! ```

use std::fmt;

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left-aligned (text).
    Left,
    /// Right-aligned (numbers).
    Right,
    /// Right if every non-empty cell is numeric, else left (the default).
    Auto,
}

/// A plain-text table (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    aligns: Vec<Align>,
}

/// `true` when `cell` reads as a number: anything `f64` parses (including
/// `nan` and `inf`), optionally followed by `%`.  (Placeholder cells such as
/// `-`, `—`, `n/a`, `NA` or empty ones are ignored by the automatic alignment
/// rule, so they do not turn a numeric column left-aligned.)
pub fn looks_numeric(cell: &str) -> bool {
    let c = cell.trim();
    let c = c.strip_suffix('%').unwrap_or(c);
    !c.is_empty() && c.parse::<f64>().is_ok()
}

fn is_placeholder(cell: &str) -> bool {
    matches!(cell.trim(), "" | "-" | "—" | "n/a" | "NA")
}

/// Formats a float with `decimals` digits after the point; NaN gives `nan`
/// and infinities `inf`/`-inf`.  `-0.00` is printed as `0.00`.
pub fn fmt_f64(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

impl Table {
    /// A table with the given header row.
    pub fn new<I, S>(headers: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        Table { aligns: vec![Align::Auto; headers.len()], headers, rows: Vec::new() }
    }

    /// Appends a row.  Rows shorter than the header are padded with empty
    /// cells; longer rows add columns with empty headers.
    pub fn add_row<I, S>(&mut self, row: I) -> &mut Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(row.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the alignment of column `col` (0-based); out-of-range columns are
    /// remembered for when such a column appears.
    pub fn set_align(&mut self, col: usize, align: Align) -> &mut Table {
        if self.aligns.len() <= col {
            self.aligns.resize(col + 1, Align::Auto);
        }
        self.aligns[col] = align;
        self
    }

    /// Number of data rows (not counting the header).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// `true` when there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn ncols(&self) -> usize {
        self.rows.iter().map(Vec::len).chain([self.headers.len()]).max().unwrap_or(0)
    }

    fn cell(row: &[String], col: usize) -> &str {
        row.get(col).map(String::as_str).unwrap_or("")
    }

    fn resolved_align(&self, col: usize) -> Align {
        match self.aligns.get(col).copied().unwrap_or(Align::Auto) {
            Align::Auto => {
                let mut any = false;
                for r in &self.rows {
                    let c = Self::cell(r, col);
                    if is_placeholder(c) {
                        continue;
                    }
                    if !looks_numeric(c) {
                        return Align::Left;
                    }
                    any = true;
                }
                if any {
                    Align::Right
                } else {
                    Align::Left
                }
            }
            a => a,
        }
    }

    /// Renders the table; every line ends with `'\n'`.  A table with no
    /// columns renders as an empty string.
    pub fn render(&self) -> String {
        let n = self.ncols();
        if n == 0 {
            return String::new();
        }
        let width = |s: &str| s.chars().count();
        let widths: Vec<usize> = (0..n)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| width(Self::cell(r, c)))
                    .chain([width(Self::cell(&self.headers, c))])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let aligns: Vec<Align> = (0..n).map(|c| self.resolved_align(c)).collect();
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = String>| {
            let mut l = String::new();
            for (c, text) in cells.enumerate() {
                if c > 0 {
                    l.push_str("  ");
                }
                let pad = widths[c].saturating_sub(width(&text));
                if aligns[c] == Align::Right {
                    l.extend(std::iter::repeat_n(' ', pad));
                    l.push_str(&text);
                } else {
                    l.push_str(&text);
                    l.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(&mut (0..n).map(|c| Self::cell(&self.headers, c).to_string()));
        line(&mut widths.iter().map(|&w| "-".repeat(w)));
        for r in &self.rows {
            line(&mut (0..n).map(|c| Self::cell(r, c).to_string()));
        }
        out
    }
}

impl fmt::Display for Table {
    /// Same as [`Table::render`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_table_exact() {
        let mut t = Table::new(["rank", "arch", "score", "acc (%)"]);
        t.add_row(["1", "|nor_conv_3x3~0|", "1234.5", "93.10"]);
        t.add_row(["2", "|skip|", "-7.25", "nan"]);
        t.add_row(["10", "x", "0.5", "-"]);
        let expected = "\
rank  arch               score  acc (%)
----  ----------------  ------  -------
   1  |nor_conv_3x3~0|  1234.5    93.10
   2  |skip|             -7.25      nan
  10  x                    0.5        -
";
        assert_eq!(t.render(), expected);
        assert_eq!(t.to_string(), expected);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn correlation_table_with_unicode_and_ragged_rows() {
        let mut t = Table::new(["proxy", "ρ", "τ"]);
        t.add_row(["wrcor", "0.81", "0.62"]);
        t.add_row(["synflow", "0.7"]);
        t.add_row(["naswot", "0.79", "0.60", "extra"]);
        let expected = "\
proxy       ρ     τ
-------  ----  ----  -----
wrcor    0.81  0.62
synflow   0.7
naswot   0.79  0.60  extra
";
        assert_eq!(t.render(), expected);
    }

    #[test]
    fn alignment_override_and_empty() {
        let mut t = Table::new(["id", "name"]);
        t.add_row(["7", "12"]);
        t.set_align(1, Align::Left).set_align(0, Align::Left);
        assert_eq!(t.render(), "id  name\n--  ----\n7   12\n");
        assert_eq!(Table::new(Vec::<String>::new()).render(), "");
        let only_header = Table::new(["a", "bb"]);
        assert!(only_header.is_empty());
        assert_eq!(only_header.render(), "a  bb\n-  --\n");
        let mut t = Table::default();
        t.set_align(5, Align::Right);
        t.add_row(["x"]);
        assert_eq!(t.render(), "\n-\nx\n");
    }

    #[test]
    fn numbers() {
        assert!(looks_numeric("1e-3"));
        assert!(looks_numeric(" 12.5% "));
        assert!(looks_numeric("-inf"));
        assert!(!looks_numeric("abc"));
        assert!(!looks_numeric("%"));
        assert_eq!(fmt_f64(0.123456, 3), "0.123");
        assert_eq!(fmt_f64(-0.0001, 2), "0.00");
        assert_eq!(fmt_f64(-1.5, 1), "-1.5");
        assert_eq!(fmt_f64(f64::NAN, 2), "nan");
        assert_eq!(fmt_f64(f64::NEG_INFINITY, 2), "-inf");
    }
}
