//! Flat tables of score lines for data-frame tools (`zsnas score --format csv`): one row
//! per architecture, one column per field, proxy, vote/aggregate and truth value.
//!
//! Numbers are written so that `pandas.read_csv` (and R's `read.csv`) parse every score
//! column as floats: finite values in Rust's shortest round-trip form (exponent form
//! outside 1e-6 ≤ |v| < 1e16), non-finite ones as `nan`, `inf` and `-inf`, which pandas'
//! default parser reads as NaN and ±infinity. A missing value is an empty cell (NaN in
//! pandas). JSON lines keep the exact values and spell non-finite ones as the strings
//! `"nan"`, `"inf"`, `"-inf"` ([`crate::io::record::encode`]).

use super::record::ScoreLine;
use crate::proxy::spec::Target;
use crate::proxy::ScoreMap;
use anyhow::Result;
use std::io::Write;

/// A float as a CSV cell that pandas parses as a float (see the [module docs](self)).
pub fn csv_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v != 0.0 && (v.abs() >= 1e16 || v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A truth column of the flat table: its header and each line's value (`None`: unknown).
pub struct TruthColumn {
    /// Column header, e.g. `test_acc_200ep` (NAS-Bench-201 CIFAR-10 test accuracy, %).
    pub name: String,
    /// One value per line, in line order.
    pub values: Vec<Option<f64>>,
}

/// Writes `lines` as CSV to `out`: `arch`, `canonical`, `index` (NAS-Bench-201), `hash`
/// (NAS-Bench-101's module hash), `arch_resolution` (an mbv2 architecture's input side in
/// pixels, which its FLOPs count), `space`, the setup's fields (`augment`, `batch_md5`,
/// `batch_size`, `data`, `dataset`, `device`, `num_classes`, `resolution` (the batch's),
/// `seed`, `weights`, `weights_md5`), `version`, then one column per
/// proxy of `proxies` (its score in each line), one per vote/aggregate of `combos`
/// (computed over all `lines` together, [`Target::values`]; NaN when fewer than 2 lines,
/// which give no ranking) and one per truth column.
/// Errors: those of writing.
pub fn write_score_csv(
    out: &mut impl Write,
    lines: &[ScoreLine],
    proxies: &[String],
    combos: &[Target],
    truth: &[TruthColumn],
) -> Result<()> {
    const SETUP: [&str; 11] = [
        "augment",
        "batch_md5",
        "batch_size",
        "data",
        "dataset",
        "device",
        "num_classes",
        "resolution",
        "seed",
        "weights",
        "weights_md5",
    ];
    let mut w = csv::Writer::from_writer(out);
    let mut head: Vec<String> =
        ["arch", "canonical", "index", "hash", "arch_resolution", "space"].iter().map(|s| s.to_string()).collect();
    head.extend(SETUP.iter().map(|s| s.to_string()));
    head.push("version".into());
    head.extend(proxies.iter().cloned());
    head.extend(combos.iter().map(Target::name));
    head.extend(truth.iter().map(|t| t.name.clone()));
    w.write_record(&head)?;
    let population: Vec<ScoreMap> = lines.iter().map(|l| l.scores.clone()).collect();
    let combo_values: Vec<Vec<f64>> = combos
        .iter()
        .map(|t| if lines.len() < 2 { vec![f64::NAN; lines.len()] } else { t.values(&population) })
        .collect();
    for (i, l) in lines.iter().enumerate() {
        let mut row: Vec<String> = vec![
            l.arch.clone(),
            l.canonical.clone().unwrap_or_default(),
            l.index.map(|x| x.to_string()).unwrap_or_default(),
            l.hash.clone().unwrap_or_default(),
            l.resolution.map(|x| x.to_string()).unwrap_or_default(),
            l.space.clone().unwrap_or_default(),
        ];
        let setup = l.setup.as_ref().map(serde_json::to_value).transpose()?;
        for k in SETUP {
            let cell = match setup.as_ref().map(|s| &s[k]) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            };
            row.push(cell);
        }
        row.push(l.version.clone().unwrap_or_default());
        row.extend(proxies.iter().map(|p| l.scores.get(p).map(|v| csv_float(*v)).unwrap_or_default()));
        row.extend(combo_values.iter().map(|v| csv_float(v[i])));
        row.extend(truth.iter().map(|t| t.values[i].map(csv_float).unwrap_or_default()));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_spelled_as_pandas_reads_them() {
        assert_eq!(csv_float(f64::NAN), "nan");
        assert_eq!(csv_float(f64::INFINITY), "inf");
        assert_eq!(csv_float(f64::NEG_INFINITY), "-inf");
        assert_eq!(csv_float(871.4054384105733), "871.4054384105733");
        assert_eq!(csv_float(2.8169583671371736e35), "2.8169583671371736e35");
        assert_eq!(csv_float(0.0), "0");
        assert_eq!(csv_float(-1.5e-9), "-1.5e-9");
        for v in [871.4054384105733, 2.8169583671371736e35, -1.5e-9, 0.1 + 0.2] {
            assert_eq!(csv_float(v).parse::<f64>().unwrap(), v, "round trip of {v}");
        }
    }

    #[test]
    fn score_csv_has_one_float_column_per_proxy_vote_and_truth() {
        let line = |arch: &str, w: f64, s: f64| ScoreLine {
            arch: arch.into(),
            canonical: None,
            drawn: vec![],
            hash: None,
            index: Some(7),
            resolution: None,
            scores: [("wrcor".to_string(), w), ("synflow".to_string(), s)].into_iter().collect(),
            seconds: Default::default(),
            setup: Some(crate::io::provenance::ScoringSetup::example()),
            space: Some("nb201".into()),
            version: Some("0.2.0".into()),
        };
        let mut lines = vec![line("a", f64::NEG_INFINITY, 1.0), line("b", 2.0, f64::NAN), line("c", 3.0, 5.0)];
        (lines[2].hash, lines[2].resolution) = (Some("9d2f".into()), Some(160));
        let t = crate::proxy::spec::parse_target("logrank:wrcor,synflow", crate::space::SpaceKind::Nb201).unwrap();
        let truth = TruthColumn { name: "test_acc_200ep".into(), values: vec![Some(90.5), None, Some(93.25)] };
        let mut out = Vec::new();
        write_score_csv(&mut out, &lines, &["wrcor".into(), "synflow".into()], &[t], &[truth]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[0],
            "arch,canonical,index,hash,arch_resolution,space,augment,batch_md5,batch_size,data,dataset,device,num_classes,resolution,seed,weights,weights_md5,version,wrcor,synflow,\"logrank:wrcor,synflow\",test_acc_200ep"
        );
        let cells: Vec<Vec<&str>> = rows[1..].iter().map(|r| r.split(',').collect()).collect();
        assert_eq!(&cells[0][18..], ["-inf", "1", cells[0][20], "90.5"]);
        assert_eq!(cells[1][19], "nan");
        assert_eq!(cells[1][21], "");
        // logrank (rank 1 = worst, ln(rank/3)): c is best on both members → 0.
        assert_eq!(cells[2][20], "0");
        // NAS-Bench-101's hash and an mbv2 architecture's own resolution have columns.
        assert_eq!((cells[2][3], cells[2][4], cells[0][3], cells[0][4]), ("9d2f", "160", "", ""));
        for c in &cells {
            for v in &c[18..21] {
                assert!(v.parse::<f64>().is_ok(), "{v} is not a float");
            }
        }
    }
}
