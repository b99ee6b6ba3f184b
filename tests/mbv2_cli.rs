//! The MobileNetV2-like space from the command line: counters, errors, export, a small
//! CPU search.

const MBV2: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
const PAPER600: &str = "SuperConvK3BNRELU(3,48,2,1)SuperResIDWE2K7(48,32,2,40,2)SuperResIDWE2K7(32,32,2,48,3)SuperResIDWE6K7(32,64,1,40,3)SuperResIDWE6K7(64,88,2,40,4)SuperResIDWE6K7(88,104,1,56,6)SuperResIDWE6K5(104,152,2,192,6)SuperResIDWE6K5(152,240,1,136,2)SuperConvK1BNRELU(240,1264,1,1)";

mod common;
use common::zsnas;

#[test]
fn reference_counters_from_the_command_line() {
    for (arch, params, flops_ref) in [(MBV2, 4_465_880.0, 277_036_312.0), (PAPER600, 10_807_432.0, 591_710_478.0)] {
        let (code, out, err) = zsnas(&[
            "score",
            "--space",
            "mbv2",
            "--arch",
            arch,
            "--resolution",
            "224",
            "--proxies",
            "params,flops,flops_reference",
            "--batch-size",
            "2",
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("random Gaussian batch"), "random-input note missing: {err}");
        let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(v["scores"]["params"], params);
        assert_eq!(v["scores"]["flops_reference"], flops_ref);
        assert_eq!(v["setup"]["data"], "random");
    }
}

#[test]
fn malformed_and_over_limit_strings_are_clear_errors() {
    let (code, _, err) =
        zsnas(&["score", "--space", "mbv2", "--arch", "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE9K3(32,16,1,32,1)"]);
    assert_ne!(code, 0);
    assert!(!err.contains("panicked") && err.contains("error:"), "{err}");
    let bad_chain = MBV2.replace("SuperResIDWE6K3(16,24,2,16,2)", "SuperResIDWE6K3(17,24,2,16,2)");
    let (code, _, err) = zsnas(&["score", "--space", "mbv2", "--arch", &bad_chain]);
    assert_ne!(code, 0);
    assert!(err.contains("does not match the previous block's out_channels"), "{err}");
    let (code, _, err) =
        zsnas(&["score", "--space", "mbv2", "--arch", PAPER600, "--flops-limit", "300e6", "--proxies", "params"]);
    assert_ne!(code, 0);
    assert!(err.contains("above the limit 300000000"), "{err}");
    let (code, _, err) = zsnas(&[
        "score",
        "--space",
        "nb201",
        "--arch",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "--proxies",
        "flops_reference",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("only defined for the mbv2 space (--space mbv2)"), "{err}");
}

#[test]
fn export_writes_loadable_weights_and_description() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exp");
    let (code, _, err) = zsnas(&["export", "--space", "mbv2", "--arch", PAPER600, "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let desc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("arch.json")).unwrap()).unwrap();
    assert_eq!(desc["params"], 10_807_432);
    assert_eq!(desc["resolution"], 224);
    assert_eq!(desc["flops_reference"], 591_710_478.0);
    let ts = tch::Tensor::read_safetensors(out.join("weights.safetensors")).unwrap();
    let n: i64 = ts.iter().filter(|(n, _)| !n.contains("running_")).map(|(_, t)| t.numel() as i64).sum();
    assert_eq!(n, 10_807_432);
    assert!(ts.iter().any(|(n, _)| n == "fc_linear.netblock.weight"));
}

#[test]
fn small_cpu_search_runs_end_to_end() {
    let (code, out, err) = zsnas(&[
        "search",
        "--space",
        "mbv2",
        "--strategy",
        "evolution",
        "--fitness",
        "wrcor",
        "--budget",
        "3",
        "--population",
        "2",
        "--tournament",
        "2",
        "--batch-size",
        "3",
        "--flops-limit",
        "200e6",
        "--format",
        "json",
        "--threads",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(v["best"]["arch"].as_str().unwrap().starts_with("SuperConvK3BNRELU(3,"));
    assert_eq!(v["evaluated"], 3);
}

/// A deep mbv2 network (7 stages of `layers` blocks, 256 channels) at resolution 32.
fn deep(layers: usize) -> String {
    let mut s = "SuperConvK3BNRELU(3,64,2,1)".to_string();
    for i in 0..7 {
        s.push_str(&format!("SuperResIDWE6K7({},256,1,256,{layers})", if i == 0 { 64 } else { 256 }));
    }
    s + "SuperConvK1BNRELU(256,1024,1,1)"
}

#[test]
fn synflow_beyond_f64_range_is_inf_and_its_log_stays_finite() {
    // Issue 13: synflow summed in log space. 7×16 blocks: ln(synflow) ≈ 710.8 > ln(f64::MAX)
    // = 709.78, so synflow itself is +inf (not NaN) and log_synflow is finite; at 7×4 blocks
    // both are finite and log_synflow = ln(synflow).
    for (layers, overflows) in [(4, false), (16, true)] {
        let a = deep(layers);
        let (code, out, err) = zsnas(&[
            "--threads",
            "2",
            "score",
            "--space",
            "mbv2",
            "--arch",
            &a,
            "--resolution",
            "32",
            "--proxies",
            "synflow,log_synflow",
            "--batch-size",
            "2",
        ]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        let log = v["scores"]["log_synflow"].as_f64().expect("log_synflow is a finite number");
        if overflows {
            assert_eq!(v["scores"]["synflow"], "inf");
            assert!(log > f64::MAX.ln() && log < 720.0, "{log}");
        } else {
            let s = v["scores"]["synflow"].as_f64().unwrap();
            assert!((s.ln() - log).abs() < 1e-12 * log, "{s} {log}");
            assert!((log - 189.603).abs() < 0.01, "{log}");
        }
    }
}
