//! `zsnas correlate` on small synthetic score files with hand-computed statistics.

use serde_json::Value;
use std::path::Path;

mod common;
use common::zsnas;

fn ok(args: &[&str]) -> (String, String) {
    let (code, out, err) = zsnas(args);
    assert_eq!(code, 0, "{args:?} failed: {err}");
    (out, err)
}

fn assert_error(args: &[&str], needle: &str) {
    let (code, _out, err) = zsnas(args);
    assert_ne!(code, 0, "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(err.contains(needle), "{args:?}: expected '{needle}' in stderr, got: {err}");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn line(arch: &str, synflow: &str, wrcor: &str) -> String {
    format!(
        r#"{{"space":"nb201","arch":"{arch}","index":null,"scores":{{"synflow":{synflow},"wrcor":{wrcor}}},"seconds":{{}}}}"#
    )
}

/// Seven architectures with truth; synflow has ties, a NaN and a -inf; `h` has no truth.
///
/// finite synflow: a..e = [5, 6, 7, 8, 7] against truth [1, 2, 3, 4, 5]:
/// ranks [1, 2, 3.5, 5, 3.5] vs [1, 2, 3, 4, 5] -> ρ = 8/sqrt(95); τ-b: n0 = 10,
/// one tied pair in x, one discordant pair (d, e) -> (8 - 1)/sqrt(9·10) = 7/sqrt(90).
fn small_case(dir: &Path) -> (String, String) {
    let scores = dir.join("small.jsonl");
    let lines = [
        line("a", "5", "1"),
        line("b", "6", "2"),
        line("c", "7", "3"),
        line("d", "8", "4"),
        line("e", "7", "5"),
        line("f", "\"nan\"", "6"),
        line("g", "\"-inf\"", "0"),
        line("h", "1", "1"),
    ];
    std::fs::write(&scores, lines.join("\n") + "\n").unwrap();
    let truth = dir.join("truth.csv");
    std::fs::write(&truth, "arch_str,acc,other\na,1,0\nb,2,0\nc,3,0\nd,4,0\ne,5,0\nf,6,0\ng,0.5,0\nz,9,0\n").unwrap();
    (scores.to_str().unwrap().to_string(), truth.to_str().unwrap().to_string())
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}"))).collect()
}

fn by_proxy<'a>(v: &'a [Value], name: &str) -> &'a Value {
    v.iter().find(|x| x["proxy"] == name).unwrap_or_else(|| panic!("no {name} in {v:?}"))
}

#[test]
fn hand_computed_ties_nan_and_missing_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (scores, truth) = small_case(dir.path());
    let plots = dir.path().join("plots");
    let (out, err) = ok(&[
        "correlate",
        "--scores",
        &scores,
        "--truth",
        &truth,
        "--truth-column",
        "acc",
        "--proxies",
        "synflow,wrcor,vote:synflow",
        "--nonfinite",
        "drop",
        "--format",
        "json",
        "--bootstrap",
        "200",
        "--plot",
        plots.to_str().unwrap(),
    ]);
    // Missing from the truth table: reported with the count and the name.
    assert!(err.contains("1 of 8 scored architectures are not in the truth table"), "{err}");
    assert!(err.contains("first 1: h"), "{err}");
    let v = json_lines(&out);
    assert_eq!(v.len(), 3, "{out}");
    // Documented key order: proxy first.
    assert!(out.starts_with(r#"{"proxy":"synflow","n":5,"n_nonfinite":2,"#), "{out}");

    let s = by_proxy(&v, "synflow");
    assert_eq!(s["n"], 5);
    assert_eq!(s["n_nonfinite"], 2);
    assert!(close(s["spearman"].as_f64().unwrap(), 8.0 / 95f64.sqrt()), "{s}");
    assert!(close(s["kendall"].as_f64().unwrap(), 7.0 / 90f64.sqrt()), "{s}");
    // Population of 7: k = 1 at every fraction. True best f has a NaN score (ranks
    // last), the proxy's best is d -> 0.
    for k in ["1%", "5%", "10%"] {
        assert_eq!(s[format!("precision_at_{k}")], 0.0, "{k}: {s}");
        assert!(s[format!("precision_at_{k}_lo")].is_number() && s[format!("precision_at_{k}_hi")].is_number());
    }
    let (lo, hi) = (s["spearman_lo"].as_f64().unwrap(), s["spearman_hi"].as_f64().unwrap());
    assert!((-1.0..=1.0).contains(&lo) && lo <= hi && hi <= 1.0, "{lo} {hi}");

    // wrcor equals the truth order on a..f and g: perfect.
    let w = by_proxy(&v, "wrcor");
    assert_eq!((w["n"].as_u64(), w["n_nonfinite"].as_u64()), (Some(7), Some(0)));
    assert!(close(w["spearman"].as_f64().unwrap(), 1.0) && close(w["kendall"].as_f64().unwrap(), 1.0));
    assert_eq!(w["precision_at_10%"], 1.0);
    // Pearson r of the raw values over the finite pairs: wrcor [1..6, 0] against truth
    // [1..6, 0.5]: Sxy = 26.5, Sxx = 28, Syy = 25.2142857 (= 176.5/7); synflow a..e
    // [5, 6, 7, 8, 7] against [1..5]: 6/sqrt(5.2·10).
    assert!(close(w["pearson"].as_f64().unwrap(), 26.5 / (28.0f64 * 176.5 / 7.0).sqrt()), "{w}");
    assert!(close(s["pearson"].as_f64().unwrap(), 6.0 / 52f64.sqrt()), "{s}");

    // vote:synflow, Copeland over a..g: d > e > c > b > a > g > f (c/e tie broken by
    // the mean-rank tie-break, stable sort: e after c), NaN below -inf. Rank
    // differences to the truth ranks: 1,1,1,2,0,-6,1 -> Σd² = 44, ρ = 1 - 6·44/(7·48).
    let vt = by_proxy(&v, "vote:synflow");
    assert_eq!((vt["n"].as_u64(), vt["n_nonfinite"].as_u64()), (Some(7), Some(0)));
    assert!(close(vt["spearman"].as_f64().unwrap(), 1.0 - 264.0 / 336.0), "{vt}");

    // Plots: PNG + SVG per proxy and vote, non-empty, ':'/',' made file-name safe.
    for stem in ["synflow", "wrcor", "vote_synflow"] {
        for ext in ["png", "svg"] {
            let p = plots.join(format!("{stem}.{ext}"));
            let len = std::fs::metadata(&p).unwrap_or_else(|_| panic!("{} missing", p.display())).len();
            assert!(len > 1000, "{} has {len} bytes", p.display());
        }
    }
    let svg = std::fs::read_to_string(plots.join("synflow.svg")).unwrap();
    assert!(svg.contains("0.821") && svg.contains("0.738"), "title lacks ρ/τ");

    // --per-arch: every joined architecture with its truth, scores and ranks (1 = best,
    // ties averaged, non-finite last and tied), floats pandas reads as floats.
    let per = dir.path().join("per.csv");
    let per_s = per.to_str().unwrap();
    let args = ["correlate", "--scores", &scores, "--truth", &truth, "--truth-column", "acc", "--bootstrap", "0"];
    ok(&[&args[..], &["--proxies", "synflow,wrcor", "--per-arch", per_s]].concat());
    let mut rdr = csv::Reader::from_path(&per).unwrap();
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(h, ["arch", "acc", "truth_rank", "synflow", "synflow_rank", "wrcor", "wrcor_rank"]);
    let rows: Vec<Vec<String>> = rdr.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    let row = |a: &str| rows.iter().find(|r| r[0] == a).unwrap_or_else(|| panic!("no {a}")).clone();
    assert_eq!(rows.len(), 7, "h has no truth");
    // synflow a..g = 5, 6, 7, 8, 7, nan, -inf: d best (1), c and e tied (2.5), f and g
    // last, tied (6.5); truth ranks: f (6) best, g (0.5) last.
    assert_eq!(row("d")[3..5], ["8", "1"]);
    assert_eq!(row("c")[4], "2.5");
    assert_eq!(row("e")[4], "2.5");
    assert_eq!(row("f")[3..5], ["nan", "6.5"]);
    assert_eq!(row("g")[3..5], ["-inf", "6.5"]);
    assert_eq!(row("f")[1..3], ["6", "1"]);
    assert_eq!(row("g")[1..3], ["0.5", "7"]);
    assert_eq!(row("g")[5..7], ["0", "7"]);
    for r in &rows {
        for v in &r[1..] {
            assert!(v.parse::<f64>().is_ok(), "{v} is not a float");
        }
    }
}

/// Thirty architectures, truth t_i = i, score s_i = i except s_0 = 100 (the worst
/// architecture ranked first). ρ: d = 29 for arch 0 and -1 for the others, Σd² = 870 ->
/// 1 - 6·870/(30·899). τ: arch 0 is discordant with all 29 others, the other 406 pairs
/// concordant -> 377/435. k = 1, 2, 3: true top {29}, {29,28}, {29,28,27}; proxy top
/// {0}, {0,29}, {0,29,28} -> 0, 1/2, 2/3.
fn precision_case(dir: &Path) -> String {
    let p = dir.join("thirty.jsonl");
    let mut s = String::new();
    for i in 0..30 {
        let score = if i == 0 { 100 } else { i };
        s += &format!(
            "{{\"space\":\"nb201\",\"arch\":\"x{i}\",\"index\":{i},\"scores\":{{\"params\":{score}}},\"seconds\":{{}}}}\n"
        );
    }
    std::fs::write(&p, s).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn precision_at_k_and_csv_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let scores = precision_case(dir.path());
    let truth = dir.path().join("t.csv");
    let mut t = String::from("index,acc\n");
    for i in 0..30 {
        t += &format!("{i},{i}\n");
    }
    std::fs::write(&truth, t).unwrap();
    let truth = truth.to_str().unwrap();
    let base = ["correlate", "--scores", &scores, "--truth", truth, "--truth-key", "index", "--truth-column", "acc"];

    let (out, err) = ok(&[&base[..], &["--format", "json"]].concat());
    assert!(!err.contains("not in the truth table"), "{err}");
    let v = json_lines(&out);
    let p = by_proxy(&v, "params");
    assert_eq!(p["n"], 30);
    assert!(close(p["spearman"].as_f64().unwrap(), 1.0 - 6.0 * 870.0 / (30.0 * 899.0)), "{p}");
    assert!(close(p["kendall"].as_f64().unwrap(), 377.0 / 435.0), "{p}");
    assert_eq!(p["precision_at_1%"], 0.0);
    assert_eq!(p["precision_at_5%"], 0.5);
    assert!(close(p["precision_at_10%"].as_f64().unwrap(), 2.0 / 3.0));
    for key in ["spearman", "kendall", "pearson", "precision_at_1%", "precision_at_5%", "precision_at_10%"] {
        let lo = p[format!("{key}_lo")].as_f64().unwrap_or_else(|| panic!("no {key}_lo"));
        let hi = p[format!("{key}_hi")].as_f64().unwrap_or_else(|| panic!("no {key}_hi"));
        assert!(lo <= hi, "{key}: {lo} {hi}");
    }
    let (lo, hi) = (p["spearman_lo"].as_f64().unwrap(), p["spearman_hi"].as_f64().unwrap());
    assert!(lo <= p["spearman"].as_f64().unwrap() && p["spearman"].as_f64().unwrap() <= hi);
    // Seeded: same seed -> same output; another seed -> other intervals.
    assert_eq!(ok(&[&base[..], &["--format", "json"]].concat()).0, out);
    assert_ne!(ok(&[&base[..], &["--format", "json", "--seed", "7"]].concat()).0, out);

    // CSV parses, with the same numbers.
    let (csv_out, _) = ok(&[&base[..], &["--format", "csv"]].concat());
    let mut rdr = csv::Reader::from_reader(csv_out.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&h[..4], &["proxy", "n", "n_nonfinite", "spearman"]);
    assert!(h.contains(&"precision_at_10%_hi".to_string()), "{h:?}");
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let col = |name: &str| rows[0][h.iter().position(|x| x == name).unwrap()].to_string();
    assert_eq!(col("proxy"), "params");
    assert_eq!(col("n"), "30");
    assert!(close(col("kendall").parse().unwrap(), 377.0 / 435.0));
    assert_eq!(col("precision_at_5%").parse::<f64>().unwrap(), 0.5);
    assert!(col("spearman_lo").parse::<f64>().is_ok());

    // The same lines in reverse order (another file order, shards merged in another
    // order): the same statistics and intervals, to the byte.
    let text = std::fs::read_to_string(&scores).unwrap();
    let reversed = dir.path().join("reversed.jsonl");
    std::fs::write(&reversed, text.lines().rev().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let rev_base = [&["correlate", "--scores", reversed.to_str().unwrap()][..], &base[3..]].concat();
    assert_eq!(ok(&[&rev_base[..], &["--format", "json"]].concat()).0, out);
    // Tied top scores: which one precision@k counts first follows the architectures, not
    // the lines (P@1% was 1 in one order and 0 in the other).
    let tied = dir.path().join("tied.jsonl");
    let tied_text = text.replace("\"params\":100}", "\"params\":29}");
    std::fs::write(&tied, &tied_text).unwrap();
    let tied_rev = dir.path().join("tied_rev.jsonl");
    std::fs::write(&tied_rev, tied_text.lines().rev().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let p_tied = |f: &Path| {
        let a = [&["correlate", "--scores", f.to_str().unwrap()][..], &base[3..], &["--format", "json"]].concat();
        ok(&a).0
    };
    assert_eq!(p_tied(&tied), p_tied(&tied_rev));
    // A +inf score ranks last in precision@k too, as in ρ and τ: the worst architecture
    // scored +inf is no top pick (P@1% was 0).
    let inf = dir.path().join("inf.jsonl");
    std::fs::write(&inf, text.replace("\"params\":100}", "\"params\":\"inf\"}")).unwrap();
    let a = [&["correlate", "--scores", inf.to_str().unwrap()][..], &base[3..], &["--format", "json"]].concat();
    let v = json_lines(&ok(&a).0);
    let p = by_proxy(&v, "params");
    assert_eq!(p["n_nonfinite"], 1);
    assert_eq!((p["precision_at_1%"].as_f64(), p["precision_at_10%"].as_f64()), (Some(1.0), Some(1.0)), "{p}");
    assert!(close(p["spearman"].as_f64().unwrap(), 1.0), "{p}");

    // Table: a header and one row; without bootstrap no intervals.
    let (tab, _) = ok(&[&base[..], &["--bootstrap", "0"]].concat());
    assert!(tab.contains("Spearman ρ") && tab.contains("P@10%"), "{tab}");
    let row = tab.lines().find(|l| l.starts_with("params")).unwrap();
    assert!(row.contains("0.806") && row.contains("0.867") && !row.contains('['), "{row}");
}

#[test]
fn merging_duplicates_and_torn_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (scores, truth) = small_case(dir.path());
    // A second file repeating two lines exactly, plus a torn last line.
    let b = dir.path().join("b.jsonl");
    std::fs::write(&b, format!("{}\n{}\n{{\"space\":\"nb201\",\"arch\":\"q", line("a", "5", "1"), line("c", "7", "3")))
        .unwrap();
    let b = b.to_str().unwrap();
    let (out, err) = ok(&[
        "correlate",
        "--scores",
        &scores,
        "--scores",
        b,
        "--truth",
        &truth,
        "--truth-column",
        "acc",
        "--nonfinite",
        "drop",
        "--format",
        "json",
        "--bootstrap",
        "0",
    ]);
    assert!(err.contains("torn last line"), "{err}");
    assert!(err.contains("2 duplicate score lines"), "{err}");
    let v = json_lines(&out);
    assert_eq!(by_proxy(&v, "synflow")["n"], 5);
    assert!(v.iter().all(|x| x["spearman_lo"].is_null() && x["spearman_hi"].is_null()));
    // Default: every proxy in the scores, sorted.
    let names: Vec<&str> = v.iter().map(|x| x["proxy"].as_str().unwrap()).collect();
    assert_eq!(names, ["synflow", "wrcor"]);

    // The same architecture with a different score is an error.
    let c = dir.path().join("c.jsonl");
    std::fs::write(&c, line("b", "6.5", "2") + "\n").unwrap();
    assert_error(
        &[
            "correlate",
            "--scores",
            &scores,
            "--scores",
            c.to_str().unwrap(),
            "--truth",
            &truth,
            "--truth-column",
            "acc",
        ],
        "scored twice with different 'synflow' scores",
    );
}

#[test]
fn bad_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (scores, truth) = small_case(dir.path());
    assert_error(&["correlate", "--scores", "/nonexistent/s.jsonl"], "cannot read scores file '/nonexistent/s.jsonl'");
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    assert_error(&["correlate", "--scores", empty.to_str().unwrap()], "is empty");
    let junk = dir.path().join("junk.jsonl");
    std::fs::write(&junk, "not json\n{\"a\":1}\n").unwrap();
    assert_error(&["correlate", "--scores", junk.to_str().unwrap()], "junk.jsonl:1: corrupt JSON line");
    // A complete (newline-terminated) bad last line is corrupt, not a torn write.
    let tail = dir.path().join("tail.jsonl");
    std::fs::write(&tail, format!("{}garbage\n", std::fs::read_to_string(&scores).unwrap())).unwrap();
    assert_error(
        &["correlate", "--scores", tail.to_str().unwrap()],
        "tail.jsonl:9: corrupt JSON line (a complete line",
    );
    // --per-arch never overwrites an input, and names a missing directory.
    assert_error(&["correlate", "--scores", &scores, "--per-arch", &scores], "is one of the --scores inputs");
    // Nor the truth, the archs file, or the scores this run writes; --plot is checked
    // before any scoring.
    let t = dir.path().join("t.csv");
    std::fs::copy(&truth, &t).unwrap();
    let t = t.to_str().unwrap();
    assert_error(
        &["correlate", "--scores", &scores, "--truth", t, "--truth-column", "acc", "--per-arch", t],
        "is also the --truth file",
    );
    assert_eq!(std::fs::read_to_string(t).unwrap(), std::fs::read_to_string(&truth).unwrap());
    let o = dir.path().join("o.jsonl");
    let o = o.to_str().unwrap();
    assert_error(
        &[
            "correlate",
            "--arch",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "--proxies",
            "params",
            "--output",
            o,
            "--per-arch",
            o,
        ],
        "is also the --output file",
    );
    let (code, out, err) = zsnas(&["correlate", "--scores", &scores, "--plot", "/proc/zsnas_no_such_dir"]);
    assert_ne!(code, 0);
    assert!(out.is_empty() && err.contains("--plot: cannot create directory"), "{out}{err}");
    let hard = dir.path().join("hard.csv");
    std::fs::hard_link(&scores, &hard).unwrap();
    assert_error(
        &["correlate", "--scores", &scores, "--per-arch", hard.to_str().unwrap()],
        "is one of the --scores inputs",
    );
    let nodir = dir.path().join("nodir/x.csv");
    assert_error(&["correlate", "--scores", &scores, "--per-arch", nodir.to_str().unwrap()], "does not exist");
    let t = ["--truth", truth.as_str(), "--truth-column", "acc"];
    assert_error(
        &[&["correlate", "--scores", &scores, "--proxies", "synflow,magic"][..], &t[..]].concat(),
        "unknown proxy 'magic'",
    );
    assert_error(
        &[&["correlate", "--scores", &scores, "--proxies", "zen"][..], &t[..]].concat(),
        "proxy 'zen' is not in the scores",
    );
    assert_error(
        &[&["correlate", "--scores", &scores, "--proxies", "sjw"][..], &t[..]].concat(),
        "member 'jacob_cov' is not in the scores",
    );
    assert_error(
        &["correlate", "--scores", &scores, "--truth", &truth, "--truth-column", "accuracy"],
        "no column \"accuracy\"",
    );
    assert_error(
        &["correlate", "--scores", &scores, "--truth-column", "foo"],
        "embedded NAS-Bench-201 table has no column 'foo'",
    );
    // Nothing joins (arch names are not NAS-Bench-201 cells).
    assert_error(&["correlate", "--scores", &scores], "none of the 8 scored architectures is in the truth table");
    assert_error(&["correlate"], "nothing to correlate");
    assert_error(&["correlate", "--scores", &scores, "--sample", "3"], "not both");
    assert_error(&["correlate", "--scores", &scores, "--space", "nb101"], "but --space nb101");
}

#[test]
fn scores_on_the_fly_like_zsnas_score() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept.jsonl");
    let (out, _) = ok(&[
        "--threads",
        "1",
        "correlate",
        "--sample",
        "6",
        "--batch-size",
        "8",
        "--proxies",
        "params,wrcor,vote:params,wrcor",
        "--bootstrap",
        "50",
        "--format",
        "json",
        "--output",
        keep.to_str().unwrap(),
    ]);
    let v = json_lines(&out);
    let names: Vec<&str> = v.iter().map(|x| x["proxy"].as_str().unwrap()).collect();
    assert_eq!(names, ["params", "wrcor", "vote:params,wrcor"]);
    assert!(v.iter().all(|x| x["n"] == 6 && x["spearman"].as_f64().is_some()), "{out}");
    // The kept scores are what `zsnas score` writes, and correlate reads them back alike.
    assert_eq!(std::fs::read_to_string(&keep).unwrap().lines().count(), 6);
    let (again, _) = ok(&[
        "correlate",
        "--scores",
        keep.to_str().unwrap(),
        "--proxies",
        "params,wrcor,vote:params,wrcor",
        "--bootstrap",
        "50",
        "--format",
        "json",
    ]);
    assert_eq!(again, out);
}

/// `--proxies` limits what must agree across the files: two files whose `naswot` was
/// scored at two batch sizes still correlate `params_live`, which does not depend on the
/// batch, while `naswot` (or all proxies) is refused; a misspelt proxy is named first.
#[test]
fn proxies_limit_the_setup_checks_to_the_asked_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for (f, seed, batch) in [(&a, "1", "8"), (&b, "2", "16")] {
        let (code, _, err) = zsnas(&[
            "--threads",
            "1",
            "score",
            "--sample",
            "6",
            "--seed",
            seed,
            "--proxies",
            "naswot,params_live",
            "--batch-size",
            batch,
            "--output",
            f.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let files = ["correlate", "--scores", a.to_str().unwrap(), b.to_str().unwrap(), "--bootstrap", "0"];
    let with = |extra: &[&'static str]| -> Vec<String> { files.iter().chain(extra).map(|x| x.to_string()).collect() };
    let run = |extra: &[&'static str]| {
        let v = with(extra);
        zsnas(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, out, err) = run(&["--proxies", "params_live"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with("params_live  12")), "{out}");
    for (extra, needle) in [
        (&[][..], "'naswot' is scored with two setups"),
        (&["--proxies", "naswot"][..], "'naswot' is scored with two setups"),
        (&["--proxies", "params_livex"][..], "unknown proxy 'params_livex'"),
    ] {
        let (code, _, err) = run(extra);
        assert_ne!(code, 0);
        assert!(err.contains(needle) && !err.contains("panicked"), "{extra:?}: {err}");
    }
}
