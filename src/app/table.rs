//! `zsnas table --space nb201`: dumps the embedded NAS-Bench-201 table (all 15,625 cells:
//! index, `arch_str`, the canonical cell and every accuracy column, %) as CSV or JSON lines,
//! so that the benchmark's truth can be read without zsnas or a download.

use crate::io::flat::csv_float;
use crate::report::progress::stdout_line;
use crate::space::nb201_table::Nb201Table;
use crate::space::SpaceKind;
use anyhow::{bail, Result};

/// Output format of `zsnas table`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row (nan for a missing value).
    Csv,
    /// One JSON object per cell (null for a missing value).
    Jsonl,
}

/// Flags of `zsnas table`.
#[derive(clap::Args, Clone, Debug)]
pub struct TableArgs {
    /// The benchmark: nb201 (NAS-Bench-201, embedded; NAS-Bench-101 and mbv2 have no
    /// embedded table).
    #[arg(long, default_value = "nb201")]
    pub space: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

/// Writes the table to stdout. Columns: `index`, `arch_str`, `canonical` (the cell with
/// every dead edge set to `none`; equal to `arch_str` for most cells), then
/// [`crate::space::nb201_table::NB201_TRUTH_COLUMNS`] (accuracies in %, `params_m` in
/// millions). Errors: a space without an embedded table.
pub fn run(a: TableArgs) -> Result<()> {
    let space = SpaceKind::parse(&a.space)?;
    if space != SpaceKind::Nb201 {
        bail!("--space {}: only nb201 has an embedded benchmark table", space.name());
    }
    let t = Nb201Table::embedded()?;
    let cols = t.columns().to_vec();
    match a.format {
        Format::Csv => {
            let mut head = vec!["index", "arch_str", "canonical"];
            head.extend(cols.iter().copied());
            stdout_line(&head.join(","))?;
            for r in t.rows() {
                let mut cells = vec![r.index.to_string(), r.arch.to_string(), r.arch.canonical().to_string()];
                cells.extend(cols.iter().map(|c| csv_float(r.value(c).unwrap_or(f64::NAN))));
                stdout_line(&cells.join(","))?;
            }
        }
        Format::Jsonl => {
            for r in t.rows() {
                let mut m = serde_json::Map::new();
                m.insert("index".into(), r.index.into());
                m.insert("arch_str".into(), r.arch.to_string().into());
                m.insert("canonical".into(), r.arch.canonical().to_string().into());
                for c in &cols {
                    let v = r.value(c).filter(|v| v.is_finite());
                    m.insert(c.to_string(), v.map(serde_json::Value::from).unwrap_or(serde_json::Value::Null));
                }
                stdout_line(&serde_json::Value::Object(m).to_string())?;
            }
        }
    }
    Ok(())
}
