//! `zsnas bench`: one row per case × proxy (plus the `set` row when several proxies are
//! asked), every median and ratio finite and positive, the JSON form, the `wrcor` stage
//! breakdown, and a clean error for an unknown proxy. Never asserts a speed.

mod common;
use common::zsnas;

const CASES: [&str; 4] = ["all nor_conv_3x3", "all skip_connect", "all avg_pool_3x3", "sample of 2"];

/// The table rows of `out`: (case, proxy, s/arch, bare s/arch, ratio, timings).
fn table_rows(out: &str) -> Vec<(String, String, f64, f64, f64, usize)> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with("case "));
    let head = lines.next().unwrap_or_else(|| panic!("no table header in:\n{out}"));
    assert!(head.contains("s/arch") && head.contains("bare s/arch") && head.contains("ratio"), "{head}");
    lines
        .take_while(|l| CASES.iter().any(|c| l.starts_with(c)) && !l.contains(" breakdown: "))
        .map(|l| {
            let case = CASES.iter().find(|c| l.starts_with(*c)).unwrap();
            let f: Vec<&str> = l[case.len()..].split_whitespace().collect();
            assert_eq!(f.len(), 5, "{l}");
            let x = |k: usize| f[k].parse::<f64>().unwrap_or_else(|e| panic!("{l}: {e}"));
            (case.to_string(), f[0].to_string(), x(1), x(2), x(3), f[4].parse().unwrap())
        })
        .collect()
}

#[test]
fn bench_times_each_proxy_and_the_set_against_the_bare_pass() {
    // Cheap proxies, a small batch and one thread: the test checks the form, not speed.
    let args = ["--threads", "1", "bench", "--proxies", "synflow,params", "--sample", "2", "--repeats", "1"];
    let small = ["--batch-size", "16"];
    let (code, out, err) = zsnas(&[&args[..], &small[..]].concat());
    assert_eq!(code, 0, "{err}");
    let rows = table_rows(&out);
    let want: Vec<(String, String)> =
        CASES.iter().flat_map(|c| ["synflow", "params", "set"].map(|p| (c.to_string(), p.to_string()))).collect();
    assert_eq!(rows.iter().map(|r| (r.0.clone(), r.1.clone())).collect::<Vec<_>>(), want, "{out}");
    for r in &rows {
        for v in [r.2, r.3, r.4] {
            assert!(v.is_finite() && v > 0.0, "{r:?}");
        }
        assert_eq!(r.5, if r.0 == "sample of 2" { 2 } else { 1 }, "{r:?}");
    }
    assert!(!out.contains("breakdown"), "no wrcor, no breakdown");

    let (code, out, err) = zsnas(&[&args[..], &small[..], &["--format", "json"][..]].concat());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    assert_eq!(lines.len(), want.len(), "{out}");
    for (v, (case, proxy)) in lines.iter().zip(&want) {
        assert_eq!(v["case"], case.as_str());
        assert_eq!(v["proxy"], proxy.as_str());
        for k in ["seconds_median", "bare_median", "ratio_median"] {
            let x = v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
            assert!(x.is_finite() && x > 0.0, "{k} in {v}");
        }
        assert!(v["timings"].as_u64().unwrap() >= 1, "{v}");
        assert_eq!(v["threads"], 1);
        assert_eq!(v["batch"], 16);
        assert_eq!(v["device"], "cpu");
    }
}

#[test]
fn bench_rejects_an_unknown_proxy_in_one_line() {
    let (code, out, err) = zsnas(&["bench", "--proxies", "nope"]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: unknown proxy 'nope'"), "{err}");
    // A proxy of another space: the message points to the command that computes it, not to
    // a --space flag bench does not have.
    for list in ["wrcor,flops_reference", "flops_reference,meco", "logrank:meco,flops_reference"] {
        let (code, _, err) = zsnas(&["bench", "--proxies", list]);
        assert_ne!(code, 0);
        assert!(err.contains("--proxies flops_reference: only defined for the mbv2 space"), "{list}: {err}");
        assert!(!err.contains("--space mbv2)"), "{list}: {err}");
    }
}

/// A second `--threads` after the command name is refused, as two before it are: clap
/// takes the global flag at either level and the later one silently won.
#[test]
fn threads_given_twice_is_refused() {
    for args in [
        &["--threads", "1", "bench", "--threads", "2", "--sample", "0", "--repeats", "1", "--proxies", "params"][..],
        &["--threads=1", "bench", "--threads=2", "--sample", "0", "--repeats", "1", "--proxies", "params"][..],
    ] {
        let (code, out, err) = zsnas(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("'--threads' given more than once"), "{err}");
    }
}

/// A failed write to standard output names it (`> /dev/full`).
#[test]
fn bench_names_standard_output_when_it_cannot_write() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full on this system
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zsnas"))
        .args(["--threads", "1", "bench", "--sample", "0", "--repeats", "1", "--proxies", "params"])
        .env("ZSNAS_PROGRESS", "off")
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error: writing to standard output: "), "{err}");
}

/// `zsnas bench --proxies wrcor` at batch 64: the three fixed cases, each with its ratio to
/// the bare pass, and the stage breakdown of the all-`nor_conv_3x3` cell, all finite and
/// positive; no comparison with a figure measured on another machine.
#[test]
fn bench_reports_the_wrcor_breakdown_and_the_anchor() {
    let (code, out, err) = zsnas(&["--threads", "1", "bench", "--proxies", "wrcor", "--sample", "0", "--repeats", "1"]);
    assert_eq!(code, 0, "{err}");
    let rows = table_rows(&out);
    assert_eq!(rows.len(), 3, "--sample 0 leaves the sample case out; one row per case:\n{out}");
    for (r, case) in rows.iter().zip(CASES) {
        assert_eq!((r.0.as_str(), r.1.as_str()), (case, "wrcor"));
        assert!(r.2 > 0.0 && r.3 > 0.0 && r.4 > 0.0, "{r:?}");
    }
    let number_after = |line: &str, key: &str| -> f64 {
        let rest = &line[line.find(key).unwrap_or_else(|| panic!("'{key}' in {line}")) + key.len()..];
        rest.trim_start().split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap().parse().unwrap()
    };
    let br = out.lines().find(|l| l.starts_with("all nor_conv_3x3 breakdown")).unwrap_or_else(|| panic!("{out}"));
    for key in ["build", "gradients", "log-det"] {
        assert!(number_after(br, key) > 0.0, "{br}");
    }
    assert!(!out.contains("speed-up"), "no figure measured on another machine is compiled in (issue 15)");
}
