//! What a person sees (issue 16): `score --format csv` as data-frame tools read it,
//! `zsnas table`, `zsnas proxies`, and a clean terminal under a pseudo-terminal.

mod common;
use common::{assert_error, zsnas};
use std::process::Command;

const CONV: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
const SKIP: &str = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
const NONE: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

/// pandas' C parser reads a cell as a float when it is a decimal/exponent number, empty
/// (NaN) or one of its NaN/infinity spellings; zsnas writes `nan`, `inf`, `-inf`.
fn pandas_float(cell: &str) -> bool {
    cell.is_empty() || ["nan", "inf", "-inf"].contains(&cell) || cell.parse::<f64>().is_ok_and(f64::is_finite)
}

#[test]
fn score_csv_is_flat_with_float_columns_votes_and_truth() {
    let (code, out, err) = zsnas(&[
        "score",
        "--arch",
        CONV,
        "--arch",
        SKIP,
        "--arch",
        NONE,
        "--batch-size",
        "8",
        "--proxies",
        "naswot,params,rank",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: votes and aggregates (rank) rank the scored set as a whole"), "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&h[..6], ["arch", "canonical", "index", "hash", "arch_resolution", "space"]);
    for c in ["batch_size", "batch_md5", "data", "seed", "version", "naswot", "params", "jacob_cov", "params_live"] {
        assert!(h.contains(&c.to_string()), "no column {c} in {h:?}");
    }
    let tail: Vec<&str> = h.iter().rev().take(4).rev().map(String::as_str).collect();
    assert_eq!(tail, ["rank", "test_acc_200ep", "cifar100_test_200", "imagenet16_test_200"]);
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let col = |r: usize, name: &str| rows[r][h.iter().position(|x| x == name).unwrap()].to_string();
    // The all-none cell: NaN jacob_cov, -inf naswot, 0 live parameters; it ranks last.
    assert_eq!(col(2, "naswot"), "-inf");
    assert_eq!(col(2, "jacob_cov"), "nan");
    assert_eq!(col(0, "batch_size"), "8");
    assert_eq!(col(0, "index"), "6111");
    let first = h.iter().position(|x| x == "version").unwrap() + 1;
    for (r, row) in rows.iter().enumerate() {
        for c in first..h.len() {
            assert!(pandas_float(&row[c]), "row {r} column {}: '{}' is not a float for pandas", h[c], &row[c]);
        }
    }
    let rank: Vec<f64> = (0..3).map(|r| col(r, "rank").parse().unwrap()).collect();
    assert!(rank[2] < rank[0] && rank[2] < rank[1], "{rank:?}");
    // Truth (%) from the embedded table: cell 6111 (the best) trains to 94.37 % on CIFAR-10 after
    // 200 epochs; the all-none cell to chance (10 %).
    let acc: f64 = col(0, "test_acc_200ep").parse().unwrap();
    assert!((acc - 94.373333).abs() < 1e-9, "{acc}");
    let acc: f64 = col(2, "test_acc_200ep").parse().unwrap();
    assert!((acc - 10.0).abs() < 0.5, "{acc}");
}

/// The shipped 1,000-cell evaluation file (zsnas 0.1 lines, with −inf and NaN scores)
/// converted with `score --from ... --format csv`: every proxy column holds floats as
/// pandas reads them, with the file's non-finite counts (17 −inf wrcor, 31 NaN jacob_cov).
#[test]
fn shipped_1000_cell_file_converts_to_float_columns() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/results/nb201_eval/scores_1000.jsonl");
    let (code, out, err) = zsnas(&["score", "--from", file, "--format", "csv", "--proxies", "sjw"]);
    assert_eq!(code, 0, "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1000);
    let proxies = ["wrcor", "rcor", "naswot", "jacob_cov", "synflow", "snip", "grad_norm", "params", "flops", "sjw"];
    for p in proxies {
        let c = h.iter().position(|x| x == p).unwrap_or_else(|| panic!("no column {p} in {h:?}"));
        assert!(rows.iter().all(|r| pandas_float(&r[c]) && !r[c].is_empty()), "{p}: a cell is not a float");
    }
    let count = |p: &str, v: &str| {
        let c = h.iter().position(|x| x == p).unwrap();
        rows.iter().filter(|r| &r[c] == v).count()
    };
    assert_eq!(count("wrcor", "-inf"), 17);
    assert_eq!(count("jacob_cov", "nan"), 31);
    assert_eq!(count("sjw", "nan"), 0);
    let t = h.iter().position(|x| x == "test_acc_200ep").unwrap();
    assert!(rows.iter().all(|r| r[t].parse::<f64>().is_ok_and(|v| (10.0..95.0).contains(&v))));
    // The same file twice: its lines are kept once (the votes rank the same population).
    let (code, twice, err) = zsnas(&["score", "--from", file, file, "--format", "csv", "--proxies", "sjw"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(twice, out);
    assert_error(&["score", "--from", file, "--arch", CONV], "cannot be used with");
    // The lines were scored on CIFAR-10: --dataset cannot relabel them.
    assert_error(&["score", "--from", file, "--dataset", "cifar100"], "cannot be used with '--dataset");
    assert_error(&["score", "--from", "/nonexistent.jsonl"], "/nonexistent.jsonl");
}

/// `score --from` with files holding different proxies of the same cells merges them (one
/// line per cell with the union of the proxies, as `correlate` does), so `rank`, whose
/// members are spread over the shipped 1,000-cell files, converts: its top 5 % (50 cells)
/// are the second stage's, valued above every first-stage value.
#[test]
fn score_from_merges_the_proxies_of_several_files() {
    let f = |p: &str| format!("{}/results/{p}", env!("CARGO_MANIFEST_DIR"));
    let files = [
        f("nb201_eval/scores_1000.jsonl"),
        f("ranker/live_1000.jsonl"),
        f("sota/sota_1000.jsonl"),
        f("ranker/zen_nas_1000.jsonl"),
    ];
    let mut args = vec!["score", "--from"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--format", "csv", "--proxies", "rank,logrank:jacob_cov,params_live,meco"]);
    let (code, out, err) = zsnas(&args);
    assert_eq!(code, 0, "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1000);
    let col = |p: &str| h.iter().position(|x| x == p).unwrap_or_else(|| panic!("no column {p} in {h:?}"));
    for p in ["jacob_cov", "params_live", "meco", "zen_nas", "wrcor", "az_trainability"] {
        let c = col(p);
        assert!(rows.iter().all(|r| pandas_float(&r[c]) && !r[c].is_empty()), "{p}: a cell is not a float");
    }
    let values = |c: &str| -> Vec<f64> { rows.iter().map(|r| r[col(c)].parse().unwrap()).collect() };
    let (rank, first) = (values("rank"), values("logrank:jacob_cov,params_live,meco"));
    assert!(rank.iter().chain(&first).all(|v| v.is_finite()));
    // Two stages: 50 cells (5 % of 1,000) re-valued above the first stage's maximum, the
    // other 950 keep their first-stage value.
    let max = first.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let moved: Vec<usize> = (0..1000).filter(|&i| rank[i] != first[i]).collect();
    assert_eq!(moved.len(), 50);
    assert!(moved.iter().all(|&i| rank[i] > max));
}

/// `score --from` over files of different setups: other proxies merge into lines that
/// record no setup (a note says so), one proxy from two setups is refused.
#[test]
fn score_from_does_not_give_merged_lines_one_of_two_setups() {
    let dir = tempfile::tempdir().unwrap();
    let scored = |name: &str, proxy: &str, batch: &str| {
        let out = dir.path().join(name);
        let (code, _, err) = zsnas(&[
            "--threads",
            "1",
            "score",
            "--sample",
            "3",
            "--batch-size",
            batch,
            "--proxies",
            proxy,
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        out.to_str().unwrap().to_string()
    };
    let (a, b, c) =
        (scored("a.jsonl", "naswot", "8"), scored("b.jsonl", "synflow", "16"), scored("c.jsonl", "naswot", "16"));
    let (code, out, err) = zsnas(&["score", "--from", &a, &b]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: 3 architectures merge lines of different scoring setups"), "{err}");
    assert!(err.contains("a.jsonl:1 has batch_size 8") && err.contains("b.jsonl:1 has batch_size 16"), "{err}");
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v.get("setup").is_none(), "{l}");
        assert!(v["scores"].get("naswot").is_some() && v["scores"].get("synflow").is_some(), "{l}");
    }
    assert_error(&["score", "--from", &a, &c], "'naswot' is scored with two setups");
    // Scoring flags do not apply to a conversion, and an asked proxy must be in the files.
    assert_error(&["score", "--from", &a, "--batch-size", "16"], "cannot be used with '--batch-size");
    assert_error(
        &["score", "--from", &a, "--proxies", "wrcor"],
        "--proxies wrcor: it is in none of the --from files (they hold naswot)",
    );
    let (code, _, err) = zsnas(&["score", "--from", &a, "--proxies", "naswot"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn table_dumps_the_embedded_benchmark() {
    let (code, out, err) = zsnas(&["table", "--space", "nb201"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 15_626);
    assert!(lines[0].starts_with("index,arch_str,canonical,test_acc_200ep,"), "{}", lines[0]);
    // Index 0 of NAS-Bench-201 (85.86 % CIFAR-10 test accuracy after 200 epochs).
    assert!(lines[1].starts_with("0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"), "{}", lines[1]);
    assert!(lines[1].contains(",85.863333,"), "{}", lines[1]);
    let canon: std::collections::HashSet<&str> = lines[1..].iter().map(|l| l.split(',').nth(2).unwrap()).collect();
    assert_eq!(canon.len(), 9_445);
    let (code, out, _) = zsnas(&["table", "--format", "jsonl"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["index"], 0);
    assert_eq!(v["test_acc_200ep"], 85.863333);
    assert_error(&["table", "--space", "nb101"], "only nb201 has an embedded benchmark table");
}

#[test]
fn proxies_lists_direction_pass_and_cost() {
    let (code, out, _) = zsnas(&["proxies"]);
    assert_eq!(code, 0);
    assert!(out.contains("higher-is-better"), "{out}");
    let row = out.lines().find(|l| l.starts_with("jacob_cov ")).unwrap();
    assert!(row.contains("higher") && row.contains("shared forward") && row.contains("Mellor"), "{row}");
    assert!(out.lines().any(|l| l.starts_with("rank ") && l.contains("aggregate")), "{out}");
}

/// Strips ANSI escape sequences (CSI `ESC [ ... letter`, and other `ESC x`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if it.peek() == Some(&'[') {
            it.next();
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            it.next();
        }
    }
    out
}

/// Under a pseudo-terminal (util-linux `script`), stdout and the progress bar share the
/// terminal: every JSON line must stand alone on its terminal line (after the bar's
/// carriage returns and escape codes), with no bar fragment before or after it.
#[test]
fn json_lines_and_the_bar_do_not_interleave_in_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: util-linux `script` is not installed; the pseudo-terminal test needs it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tty.log");
    let cmd = format!("'{}' score --sample 8 --seed 3 --batch-size 8 --proxies naswot", env!("CARGO_BIN_EXE_zsnas"));
    let st = Command::new("script")
        .args(["-qfec", &cmd, log.to_str().unwrap()])
        .env("ZSNAS_PROGRESS", "bar")
        .env("COLUMNS", "100")
        .output()
        .expect("run script");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let raw = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let mut json = 0;
    let mut bar_seen = false;
    for line in raw.split('\n') {
        let clean = strip_ansi(line);
        // What stays visible on the terminal line: the text after the last '\r'.
        let visible = clean.rsplit('\r').find(|s| !s.trim().is_empty()).unwrap_or("").trim_end();
        bar_seen |= clean.contains("arch/s");
        if clean.contains("{\"arch\"") {
            json += 1;
            assert!(
                visible.starts_with("{\"arch\"") && visible.ends_with('}'),
                "bar fragment around a JSON line: {clean:?}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(visible).is_ok(), "not one JSON line: {visible:?}");
        }
    }
    assert_eq!(json, 8, "{raw}");
    assert!(bar_seen, "the bar (with its arch/s rate) was never drawn: {raw}");
}

/// The README's example score line is what `zsnas score` writes for that architecture
/// (all but the seconds, which depend on the machine).
#[test]
fn the_readme_example_score_line_is_real() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let line = readme.lines().find(|l| l.starts_with("{\"arch\":")).expect("an example score line in the README");
    let mut want: serde_json::Value = serde_json::from_str(line).unwrap();
    let arch = want["arch"].as_str().unwrap().to_string();
    let (code, out, err) = zsnas(&["score", "--arch", &arch, "--proxies", "wrcor"]);
    assert_eq!(code, 0, "{err}");
    let mut got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    // The score within 1e-9 relative (other CPUs take other oneDNN kernels), the rest exactly.
    let (w, g) = (want["scores"]["wrcor"].as_f64().unwrap(), got["scores"]["wrcor"].as_f64().unwrap());
    assert!((w - g).abs() <= 1e-9 * w.abs(), "wrcor {g}, the README says {w}");
    for v in [&mut want, &mut got] {
        let o = v.as_object_mut().unwrap();
        o.remove("seconds");
        o.remove("scores");
    }
    assert_eq!(got, want);
}
