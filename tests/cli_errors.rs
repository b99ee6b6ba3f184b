//! Bad input gives a clear error and a non-zero exit code, never a panic.

mod common;
use common::{assert_error, zsnas};

const A: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

#[test]
fn malformed_arch_str() {
    assert_error(&["score", "--arch", "|nor_conv_3x3~0|+|nor_conv_3x3~0|"], "expected 3 nodes");
    assert_error(
        &["score", "--arch", "|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
        "unknown NAS-Bench-201 op 'conv_5x5'",
    );
}

#[test]
fn unknown_proxy_and_empty_vote() {
    assert_error(&["score", "--arch", A, "--proxies", "wrcor,magic"], "unknown proxy 'magic'");
    assert_error(&["score", "--arch", A, "--proxies", "vote:"], "no proxies");
    assert_error(&["score", "--arch", A, "--proxies", "vote:synflow,nope"], "unknown proxy 'nope'");
}

#[test]
fn missing_and_truncated_data() {
    assert_error(&["score", "--arch", A, "--data", "/nonexistent/cifar.bin"], "does not exist");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data_batch_1.bin");
    std::fs::write(&p, vec![0u8; 3073 * 2 + 100]).unwrap();
    assert_error(&["score", "--arch", A, "--data", p.to_str().unwrap()], "truncated");
    let q = dir.path().join("bad.safetensors");
    std::fs::write(&q, b"not a safetensors file").unwrap();
    assert_error(&["score", "--arch", A, "--data", q.to_str().unwrap()], "safetensors");
}

#[test]
fn weights_with_a_missing_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.safetensors");
    let t = tch::Tensor::zeros([3], (tch::Kind::Float, tch::Device::Cpu));
    tch::Tensor::write_safetensors(&[("stem.0.weight", &t)], &p).unwrap();
    assert_error(&["score", "--arch", A, "--weights", p.to_str().unwrap()], "has no tensor");
    assert_error(&["score", "--arch", A, "--weights", "/nonexistent/w.safetensors"], "does not exist");
}

#[test]
fn unknown_space_and_device() {
    assert_error(&["score", "--space", "nb999", "--arch", A], "unknown search space 'nb999'");
    assert_error(&["score", "--arch", A, "--device", "tpu"], "unknown device 'tpu'");
}

#[test]
fn degenerate_network_scores_are_values_not_errors() {
    let (code, out, err) = zsnas(&[
        "score",
        "--arch",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "--proxies",
        "wrcor,jacob_cov,synflow",
        "--batch-size",
        "16",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["scores"]["wrcor"], "-inf");
    assert_eq!(v["scores"]["jacob_cov"], "nan");
    assert_eq!(v["scores"]["synflow"], 0.0);
    assert_eq!(v["index"], 1651);
}

#[test]
fn same_seed_same_scores_whatever_the_thread_count() {
    let args = ["score", "--sample", "3", "--seed", "7", "--batch-size", "16", "--proxies", "wrcor,naswot,jacob_cov"];
    let with_threads = |t: &'static str| [&["--threads", t][..], &args[..]].concat();
    let (c1, o1, _) = zsnas(&with_threads("1"));
    let (c2, o2, _) = zsnas(&with_threads("2"));
    assert_eq!((c1, c2), (0, 0));
    let strip = |o: &str| -> Vec<serde_json::Value> {
        o.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("seconds");
                v
            })
            .collect()
    };
    assert_eq!(strip(&o1), strip(&o2));
    assert_eq!(strip(&o1).len(), 3);
}

#[test]
fn bench_rejects_zero_repeats_and_unknown_proxies() {
    assert_error(&["bench", "--repeats", "0"], "--repeats");
    assert_error(&["--threads", "0", "bench"], "--threads");
    assert_error(&["score", "--threads", "100000", "--arch", A], "--threads");
    assert_error(&["bench", "--proxies", "nope"], "unknown proxy 'nope'");
}

/// `zsnas bench --proxies wrcor` prints the three fixed cases, the breakdown of the
/// all-`nor_conv_3x3` cell and the anchor comparison, all finite and positive, and no
/// comparison with a figure measured on another machine.
#[test]
fn bench_reports_the_breakdown_and_the_anchor() {
    let (code, out, err) = zsnas(&["--threads", "2", "bench", "--proxies", "wrcor", "--sample", "0", "--repeats", "1"]);
    assert_eq!(code, 0, "{err}");
    let number_after = |line: &str, key: &str| -> f64 {
        let rest = &line[line.find(key).unwrap_or_else(|| panic!("'{key}' in {line}")) + key.len()..];
        rest.trim_start().split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap().parse().unwrap()
    };
    let line = |start: &str| {
        out.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no '{start}' line in:\n{out}"))
    };
    for case in ["all nor_conv_3x3 ", "all skip_connect ", "all avg_pool_3x3 "] {
        assert!(number_after(line(case), "median") > 0.0);
    }
    assert!(!out.contains("sample of"), "--sample 0 leaves the sample case out");
    let br = line("all nor_conv_3x3 breakdown");
    for key in ["build", "gradients", "log-det"] {
        assert!(number_after(br, key) > 0.0, "{br}");
    }
    let anchor = line("anchor");
    let (bare, wrcor, ratio) =
        (number_after(anchor, "backward()"), number_after(anchor, "s, wrcor"), number_after(anchor, "wrcor/bare"));
    assert!(bare > 0.0 && wrcor > 0.0);
    assert!((ratio - wrcor / bare).abs() < 0.01 + 0.5 * ratio, "{anchor}");
    assert!(!out.contains("speed-up"), "no figure measured on another machine is compiled in (issue 15)");
}
