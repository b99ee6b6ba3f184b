//! Issue 13: no panic on any input, one test per root cause; each asserts the exit code
//! and the message.

mod common;
use common::{assert_error, zsnas};
use std::process::Command;

const A: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

/// A two-step random search by parameter count on one thread: the cheapest full search.
const SEARCH2: [&str; 9] = ["--threads", "1", "search", "--strategy", "random", "--budget", "2", "--fitness", "params"];

#[test]
fn labels_outside_the_head_name_the_data_and_the_first_bad_label() {
    // The embedded CIFAR-10 batch has labels up to 9; a 5-class head cannot take them.
    let (code, _, err) = zsnas(&["score", "--arch", A, "--num-classes", "5", "--proxies", "wrcor"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--data embedded CIFAR-10"), "{err}");
    assert!(err.contains("is outside the head's 5 classes 0..=4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn count_flags_are_at_least_one() {
    for (args, flag) in [
        (vec!["score", "--sample", "1", "--num-classes", "0"], "--num-classes"),
        (vec!["score", "--sample", "0"], "--sample"),
        (vec!["score", "--sample", "1", "--batch-size", "0"], "--batch-size"),
        (vec!["search", "--strategy", "random", "--budget", "0"], "--budget"),
        (vec!["search", "--strategy", "random", "--budget", "5", "--runs", "0"], "--runs"),
        (vec!["search", "--strategy", "evolution", "--budget", "5", "--population", "0"], "--population"),
        (vec!["demo", "--sample", "0"], "--sample"),
        (
            vec!["search", "--strategy", "random", "--space", "mbv2", "--budget", "2", "--flops-limit", "nan"],
            "--flops-limit",
        ),
        (vec!["score", "--space", "mbv2", "--sample", "1", "--flops-limit=-5"], "--flops-limit"),
    ] {
        let (code, _, err) = zsnas(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(flag) && err.contains("invalid value"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // `zsnas score | head -1`: zsnas dies of SIGPIPE (status 141 in the shell), no panic.
    let bin = env!("CARGO_BIN_EXE_zsnas");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("'{bin}' score --sample 20 --proxies params | head -1; echo \"status ${{PIPESTATUS[0]}}\""))
        .env("ZSNAS_PROGRESS", "off")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("{\"arch\":"), "{stdout}");
    assert!(stdout.contains("status 141"), "{stdout}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

/// A libtorch allocation failure is one line naming the work, or, on a machine with less
/// memory than the network's lower bound, the up-front refusal of
/// `net::build::check_fits_memory`; never a panic. Returns whether it was the former.
fn out_of_memory_or_refused(status: &str, err: &str, start: &str, end: &str) -> bool {
    assert_eq!(status.trim(), "status 1", "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked") && !err.contains("Exception raised"), "{err}");
    if err.contains("GB of memory available") {
        assert!(err.starts_with("error: the network of --arch ") && err.contains("needs at least"), "{err}");
        return false;
    }
    assert!(err.starts_with(start), "{err}");
    assert!(err.trim_end().ends_with(end), "{err}");
    true
}

#[test]
fn allocation_failure_is_an_error_naming_batch_and_resolution() {
    // MobileNetV2 at 2048² passes the up-front bound for one image (about 2.3 GB) on any
    // machine with that much free, but 64 images need far more than the 8 GB address
    // space `zsnas_sh` allows: libtorch's allocation fails and becomes an error.
    let mbv2 = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
    let args = [
        "--threads",
        "1",
        "score",
        "--space",
        "mbv2",
        "--arch",
        mbv2,
        "--resolution",
        "2048",
        "--batch-size",
        "64",
        "--proxies",
        "wrcor",
    ];
    let (status, err) = zsnas_sh(&args, "> /dev/null");
    let err = err.lines().filter(|l| !l.starts_with("note:")).collect::<Vec<_>>().join("\n");
    out_of_memory_or_refused(
        &status,
        &err,
        "error: out of memory scoring SuperConvK3BNRELU(3,32,2,1)",
        "at batch 64, resolution 2048: try a smaller --batch-size",
    );
}

#[test]
fn batches_too_small_to_correlate_are_refused() {
    assert_error(
        &["score", "--arch", A, "--batch-size", "2", "--proxies", "params,wrcor"],
        "--batch-size 2: wrcor compares the batch's samples with each other and needs at least 3",
    );
    assert_error(
        &["search", "--strategy", "random", "--budget", "2", "--batch-size", "1", "--fitness", "naswot"],
        "naswot",
    );
    // Proxies without N×N matrices take any batch.
    let (code, _, err) = zsnas(&["score", "--arch", A, "--batch-size", "1", "--proxies", "snip"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_batch_of_identical_images_is_refused() {
    // A CIFAR-10 binary of 64 copies of one image.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("same.bin");
    let mut rec = vec![3u8];
    rec.extend((0..3072).map(|i| (i % 251) as u8));
    std::fs::write(&f, rec.repeat(64)).unwrap();
    assert_error(
        &["score", "--arch", A, "--data", f.to_str().unwrap(), "--proxies", "jacob_cov"],
        "all 64 images of the batch are identical",
    );
}

#[test]
fn results_go_to_regular_files_only() {
    for (args, path) in [
        (vec!["score", "--arch", A, "--proxies", "params", "--output", "/dev/full"], "/dev/full"),
        (
            vec!["search", "--strategy", "random", "--budget", "2", "--fitness", "params", "--history", "/dev/null"],
            "/dev/null",
        ),
        (
            vec!["search", "--strategy", "random", "--budget", "2", "--fitness", "params", "--scores", "/dev/zero"],
            "/dev/zero",
        ),
        (vec!["correlate", "--scores", "/dev/zero"], "/dev/zero"),
        (vec!["score", "--arch", A, "--proxies", "params", "--output", "/tmp"], "/tmp"),
    ] {
        let (code, _, err) = zsnas(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(&format!("'{path}' is")) && err.contains("not a regular file"), "{args:?}: {err}");
    }
}

#[test]
fn long_inputs_are_cut_in_messages() {
    // 10 MB through a file (an argument that long exceeds the OS limit).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("archs.txt");
    std::fs::write(&f, "x".repeat(10_000_000)).unwrap();
    let (code, _, err) = zsnas(&["score", "--archs-file", f.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("… (10000000 characters)"), "{}", &err[..err.len().min(400)]);
    assert!(err.len() < 1000, "the message is {} bytes", err.len());
}

#[test]
fn correlate_explains_a_nan_statistic() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("two.jsonl");
    let b = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    std::fs::write(
        &f,
        format!(
            "{{\"arch\":\"{A}\",\"scores\":{{\"params\":1.0}},\"space\":\"nb201\"}}\n{{\"arch\":\"{b}\",\"scores\":{{\"params\":1.0}},\"space\":\"nb201\"}}\n"
        ),
    )
    .unwrap();
    let (code, _, err) = zsnas(&["correlate", "--scores", f.to_str().unwrap(), "--proxies", "params"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: params: ρ and τ are NaN: its 2 scores (or their truth values) are all equal"), "{err}");
}

#[test]
fn an_evolution_budget_within_the_population_says_it_is_a_random_search() {
    let (code, _, err) =
        zsnas(&["search", "--strategy", "evolution", "--budget", "3", "--fitness", "params", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: --budget 3 is not above --population 64"), "{err}");
    assert!(err.contains("so this run is a random search"), "{err}");
}

/// A prepared batch file: `images` f32 [n,3,h,h] with `value(i)` for element i, labels 0.
fn safetensors_batch(path: &std::path::Path, n: usize, h: usize, value: impl Fn(usize) -> f32) {
    let m = n * 3 * h * h;
    let header = format!(
        "{{\"images\":{{\"dtype\":\"F32\",\"shape\":[{n},3,{h},{h}],\"data_offsets\":[0,{}]}},\"labels\":{{\"dtype\":\"I64\",\"shape\":[{n}],\"data_offsets\":[{},{}]}}}}",
        4 * m,
        4 * m,
        4 * m + 8 * n
    );
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend(header.as_bytes());
    for i in 0..m {
        b.extend(value(i).to_le_bytes());
    }
    b.extend(std::iter::repeat_n(0u8, 8 * n));
    std::fs::write(path, b).unwrap();
}

#[test]
fn audit_findings_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A NaN pixel.
    let nan = dir.path().join("nan.safetensors");
    safetensors_batch(&nan, 4, 8, |i| if i == 5 { f32::NAN } else { (i % 17) as f32 });
    assert_error(
        &["score", "--arch", A, "--batch-size", "4", "--data", nan.to_str().unwrap()],
        "NaN or infinite pixel values",
    );
    // --augment cannot apply to a prepared batch.
    let ok = dir.path().join("ok.safetensors");
    safetensors_batch(&ok, 4, 8, |i| ((i * 7) % 23) as f32);
    assert_error(
        &["score", "--arch", A, "--batch-size", "4", "--data", ok.to_str().unwrap(), "--augment"],
        "--augment does not apply to a prepared .safetensors batch",
    );
    // 1×1 images: refused up front for NAS-Bench-201, whose network needs sides that are
    // multiples of 4; NAS-Bench-101 runs into libtorch's shape error, reported by its
    // message alone (not "out of memory", no C++ stack).
    let tiny = dir.path().join("tiny.safetensors");
    safetensors_batch(&tiny, 4, 1, |i| i as f32);
    assert_error(
        &["score", "--arch", A, "--batch-size", "4", "--data", tiny.to_str().unwrap(), "--proxies", "wrcor"],
        "images of 1x1 pixels do not fit the NAS-Bench-201 network",
    );
    let nb101 = "input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000";
    let (code, _, err) = zsnas(&[
        "score",
        "--space",
        "nb101",
        "--arch",
        nb101,
        "--batch-size",
        "4",
        "--data",
        tiny.to_str().unwrap(),
        "--proxies",
        "wrcor",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("libtorch failed scoring") && !err.contains("out of memory"), "{err}");
    assert!(!err.contains("Exception raised from") && !err.contains("Torch(\""), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
    // Flags of another space are refused, not ignored.
    assert_error(&["score", "--arch", A, "--resolution", "64"], "--resolution only applies to --space mbv2");
    assert_error(&["score", "--arch", A, "--flops-limit", "10"], "--flops-limit only applies to --space mbv2");
    let (code, _, err) = zsnas(&["search", "--strategy", "random", "--budget", "2", "--no-truth", "--truth", "x.csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--no-truth") && err.contains("cannot be used with"), "{err}");
    // An absurd bootstrap is refused before allocating.
    let (code, _, err) = zsnas(&["correlate", "--scores", "x.jsonl", "--bootstrap", "99999999999999"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--bootstrap") && err.contains("at most 100,000"), "{err}");
}

#[test]
fn a_resumed_file_with_two_different_scorings_of_one_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    let o = out.to_str().unwrap();
    let (code, _, err) = zsnas(&["score", "--arch", A, "--batch-size", "8", "--proxies", "params", "--output", o]);
    assert_eq!(code, 0, "{err}");
    let line = std::fs::read_to_string(&out).unwrap();
    let changed = line.replace("\"params\":", "\"params\":1.0,\"x\":");
    std::fs::write(&out, format!("{line}{changed}")).unwrap();
    let before = std::fs::read(&out).unwrap();
    assert_error(
        &["score", "--arch", A, "--batch-size", "8", "--proxies", "params,flops", "--output", o],
        "s.jsonl:2: |nor_conv_3x3~0|",
    );
    assert_error(
        &["score", "--arch", A, "--batch-size", "8", "--proxies", "params,flops", "--output", o],
        "has 'params' 1 here but",
    );
    assert_eq!(std::fs::read(&out).unwrap(), before, "the file is left as it was");
}

#[test]
fn weights_with_nan_are_refused_and_foreign_weights_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("exp");
    let (code, _, err) = zsnas(&["export", "--space", "nb201", "--arch", A, "--output", exp.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let w = exp.join("weights.safetensors");
    // Weights of another architecture: the unused tensors are named on stderr.
    let none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    let (code, _, err) =
        zsnas(&["score", "--arch", none, "--batch-size", "8", "--proxies", "params", "--weights", w.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("tensors are not in this network and are ignored"), "{err}");
    // One NaN in the stem's convolution.
    let mut bytes = std::fs::read(&w).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let off = header["stem.0.weight"]["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[8 + n + off..8 + n + off + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let bad = dir.path().join("nan.safetensors");
    std::fs::write(&bad, bytes).unwrap();
    assert_error(
        &["score", "--arch", A, "--batch-size", "8", "--weights", bad.to_str().unwrap()],
        "tensor 'stem.0.weight' holds NaN or infinite values",
    );
}

#[test]
fn correlate_leaves_out_architectures_without_the_score() {
    // Two files with different proxy sets: flops is missing for one architecture, which is
    // left out of flops's ρ (not ranked as non-finite).
    let dir = tempfile::tempdir().unwrap();
    let b = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let c = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
    let f1 = dir.path().join("a.jsonl");
    let f2 = dir.path().join("b.jsonl");
    std::fs::write(
        &f1,
        format!("{{\"arch\":\"{A}\",\"scores\":{{\"params\":2.0,\"flops\":2.0}},\"space\":\"nb201\"}}\n{{\"arch\":\"{b}\",\"scores\":{{\"params\":3.0,\"flops\":3.0}},\"space\":\"nb201\"}}\n"),
    )
    .unwrap();
    std::fs::write(&f2, format!("{{\"arch\":\"{c}\",\"scores\":{{\"params\":1.0}},\"space\":\"nb201\"}}\n")).unwrap();
    let (code, out, err) = zsnas(&[
        "correlate",
        "--scores",
        f1.to_str().unwrap(),
        f2.to_str().unwrap(),
        "--proxies",
        "params,flops",
        "--bootstrap",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: flops: 1 of 3 architectures have no score of it in the files; they are left out"),
        "{err}"
    );
    let flops = out.lines().find(|l| l.starts_with("flops")).unwrap();
    let cols: Vec<&str> = flops.split_whitespace().collect();
    assert_eq!((cols[1], cols[2]), ("2", "0"), "{flops}");
}

#[test]
fn demo_refuses_batches_too_small_for_its_proxy() {
    // The minimum `score` enforces (issue: `demo` ranked by wrcor on one image).
    for (proxy, bs, min) in [("wrcor", "1", 3), ("naswot", "2", 3), ("acor", "2", 3), ("jacob_cov", "1", 3)] {
        assert_error(
            &["--threads", "1", "demo", "--sample", "3", "--proxy", proxy, "--batch-size", bs],
            &format!(
                "--batch-size {bs}: {proxy} compares the batch's samples with each other and needs at least {min}"
            ),
        );
    }
    assert_error(
        &["--threads", "1", "demo", "--sample", "3", "--proxy", "zico", "--batch-size", "1"],
        "--batch-size 1: zico splits the batch into two halves of at least 1 sample each and needs at least 2",
    );
}

/// The rows of `demo`'s top-10 table: (rank, score text, index).
fn demo_rows(out: &str) -> Vec<(usize, String, String)> {
    out.lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let rank = c.first()?.parse::<usize>().ok()?;
            (c.len() == 5 && c[4].starts_with('|')).then(|| (rank, c[1].to_string(), c[3].to_string()))
        })
        .collect()
}

#[test]
fn demo_ranks_a_degenerate_cell_last_and_scores_canonical_cells_as_score_does() {
    // Seed 1's 8 cells hold index 9437, a dead cell whose jacob_cov is NaN: it was printed
    // at rank 1 and named the proxy's top-1 pick.
    let (code, out, err) = zsnas(&["--threads", "1", "demo", "--sample", "8", "--seed", "1", "--proxy", "jacob_cov"]);
    assert_eq!(code, 0, "{err}");
    let rows = demo_rows(&out);
    assert_eq!(rows.len(), 8, "{out}");
    assert!(rows[0].1.parse::<f64>().unwrap().is_finite(), "{out}");
    let last = rows.iter().rposition(|r| r.1 == "nan").expect("the NaN cell is in the sample");
    assert!(rows[..last].iter().all(|r| r.1 != "nan") && last == 7, "{out}");
    // Cells with dead edges are scored on their canonical cell, as `zsnas score` does (the
    // raw cell gave 1.8305e35 for index 14651 where `score` gives 1.9604e35).
    let (code, out, err) = zsnas(&["--threads", "1", "demo", "--sample", "30", "--seed", "3", "--proxy", "synflow"]);
    assert_eq!(code, 0, "{err}");
    let (code, lines, err) =
        zsnas(&["--threads", "1", "score", "--sample", "30", "--seed", "3", "--proxies", "synflow"]);
    assert_eq!(code, 0, "{err}");
    let by_index: std::collections::HashMap<String, f64> = lines
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["index"].to_string(), v["scores"]["synflow"].as_f64().unwrap())
        })
        .collect();
    let rows = demo_rows(&out);
    assert_eq!(rows.len(), 10, "{out}");
    for (_, text, index) in &rows {
        assert_eq!(text, &zsnas::report::table::fmt_f64(by_index[index], 3), "index {index}\n{out}");
    }
    assert!(rows.iter().any(|r| r.2 == "14651"), "the sample's dead-edge cell 14651 is in the top 10\n{out}");
}

#[test]
fn bench_sample_is_at_most_the_space_size() {
    for n in ["15626", "99999999", "1000000000000", "18446744073709551615"] {
        let (code, out, err) = zsnas(&["bench", "--sample", n]);
        assert_eq!(code, 1, "--sample {n}: {err}");
        assert_eq!(
            err.trim(),
            format!(
                "error: --sample must be 0 to 15,625 architectures (NAS-Bench-201's size; 0: no sample case), got {n}"
            )
        );
        assert!(out.is_empty(), "{out}");
    }
    // --repeats is bounded too (it ran for ever at 4294967295).
    let (code, _, err) = zsnas(&["bench", "--repeats", "4294967295"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("4294967295 is not in 1..=1000"), "{err}");
    // 0 stays allowed: no sample case, the three fixed cells only.
    let (code, out, err) = zsnas(&[
        "--threads",
        "1",
        "bench",
        "--sample",
        "0",
        "--repeats",
        "1",
        "--proxies",
        "params",
        "--batch-size",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cases: Vec<&str> = out.lines().map(|l| l.split('"').nth(3).unwrap()).collect();
    assert_eq!(cases, ["all nor_conv_3x3", "all skip_connect", "all avg_pool_3x3"], "{out}");
}

#[test]
fn zico_names_the_batch_size_it_needs() {
    // ZiCo splits the batch into two halves of at least one sample each.
    let (code, _, err) = zsnas(&["score", "--arch", A, "--proxies", "zico", "--batch-size", "1"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.trim(),
        "error: --batch-size 1: zico splits the batch into two halves of at least 1 sample each and needs at least 2"
    );
    let (code, out, err) = zsnas(&["--threads", "1", "score", "--arch", A, "--proxies", "zico", "--batch-size", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"zico\":"), "{out}");
}

/// `n` generated images in CIFAR-10 binary format (label byte, then 3×32×32 pixels).
fn tiny_bin(path: &std::path::Path, n: u32) {
    let mut bytes = Vec::new();
    for i in 0..n {
        bytes.push((i % 10) as u8);
        bytes.extend((0..3072u32).map(|j| ((j * 7 + i * 31) % 256) as u8));
    }
    std::fs::write(path, bytes).unwrap();
}

/// Runs `zsnas args` through bash with `redirect` appended (e.g. `> /dev/full`), under an
/// 8 GB address-space limit; returns (stdout, stderr) of the shell, whose stdout ends with
/// `status N` (zsnas's exit status).
fn zsnas_sh(args: &[&str], redirect: &str) -> (String, String) {
    let bin = env!("CARGO_BIN_EXE_zsnas");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v 8000000; '{bin}' {} {redirect}; echo \"status ${{PIPESTATUS[0]}}\"", quoted.join(" ")))
        .env("ZSNAS_PROGRESS", "off")
        .output()
        .unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_full_stdout_is_a_one_line_error_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny.bin");
    tiny_bin(&data, 8);
    let (ex, tr) = (dir.path().join("ex"), dir.path().join("tr"));
    let skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
    for args in [
        SEARCH2.to_vec(),
        [&SEARCH2[..], &["--format", "json"]].concat(),
        vec!["--threads", "1", "demo", "--sample", "2", "--proxy", "params"],
        vec!["table"],
        vec!["correlate", "--sample", "3", "--proxies", "params", "--bootstrap", "0"],
        vec!["export", "--space", "nb201", "--arch", skip, "--output", ex.to_str().unwrap()],
        vec![
            "--threads",
            "1",
            "train",
            "--arch",
            skip,
            "--data",
            data.to_str().unwrap(),
            "--output",
            tr.to_str().unwrap(),
            "--epochs",
            "1",
            "--batch-size",
            "4",
        ],
    ] {
        let (out, err) = zsnas_sh(&args, "> /dev/full");
        assert_eq!(out.trim(), "status 1", "{args:?}: {err}");
        assert_eq!(err.trim(), "error: writing to standard output: No space left on device (os error 28)", "{args:?}");
    }
    // Stdout and stderr both full: status 1, not a panic's 101 (the error line itself
    // cannot be written).
    for args in [vec!["table"], vec!["proxies"], vec!["correlate", "--sample", "3", "--proxies", "params"]] {
        let (out, err) = zsnas_sh(&args, "> /dev/full 2>&1");
        assert_eq!(out.trim(), "status 1", "{args:?}: {err}");
    }
    // A closed pipe still ends quietly (SIGPIPE, status 141): `true` exits long before
    // zsnas writes its first line.
    for args in [vec!["--threads", "1", "demo", "--sample", "2", "--proxy", "params"], SEARCH2.to_vec()] {
        let (out, err) = zsnas_sh(&args, "| true");
        assert_eq!(out.trim(), "status 141", "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn a_diverged_training_run_stops_without_breaking_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny.bin");
    tiny_bin(&data, 8);
    let out = dir.path().join("run");
    let skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
    let train = |lr: &str, stop: Option<&str>| {
        let mut args = vec![
            "--threads",
            "1",
            "train",
            "--arch",
            skip,
            "--data",
            data.to_str().unwrap(),
            "--test-data",
            data.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--lr",
            lr,
            "--no-torchscript",
        ];
        if let Some(s) = stop {
            args.extend(["--stop-after", s]);
        }
        zsnas(&args)
    };
    for stop in [Some("1"), None] {
        let (code, _, err) = train("1e30", stop);
        assert_eq!(code, 1, "{err}");
        assert_eq!(err.trim(), "error: training diverged: the train loss is NaN after epoch 1 (lower --lr)");
        // No log line and no checkpoint for the diverged epoch.
        assert_eq!(std::fs::read_to_string(out.join("log.jsonl")).unwrap(), "");
        assert!(!out.join("checkpoint.safetensors").exists());
        assert!(!out.join("best").exists());
    }
    // The folder is still usable: a sane learning rate trains, stops and resumes.
    let (code, _, err) = train("0.01", Some("1"));
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = train("0.01", None);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("resumed after epoch 1"), "{stdout}");
    let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
    let epochs: Vec<u64> =
        log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [1, 2], "{log}");
}

#[test]
fn train_and_export_turn_an_allocation_failure_into_an_error() {
    // A small mbv2 network at resolution 8192: its lower bound (about 6.6 GB an image)
    // passes the up-front check on a machine with that much free, but training two images
    // and export's trace need more than the 8 GB address space `zsnas_sh` allows (the
    // limit also keeps the test safe under `vm.overcommit_memory = 1`).
    let mbv2 = "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperConvK1BNRELU(16,16,1,1)@8192";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny.bin");
    tiny_bin(&data, 64);
    let (tr, ex) = (dir.path().join("tr"), dir.path().join("ex"));
    let (data, tr_s, ex_s) = (data.to_str().unwrap(), tr.to_str().unwrap(), ex.to_str().unwrap());
    let start = "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,16,2,8,1)";
    let train = [
        "train",
        "--space",
        "mbv2",
        "--arch",
        mbv2,
        "--data",
        data,
        "--epochs",
        "1",
        "--batch-size",
        "2",
        "--output",
        tr_s,
    ];
    let export = ["export", "--space", "mbv2", "--arch", mbv2, "--format", "torchscript", "--output", ex_s];
    for (args, end) in [
        (&train[..], "… (254 characters) at batch 2, resolution 8192: try a smaller --batch-size"),
        (&export[..], "… (254 characters) at resolution 8192: try a smaller --resolution"),
    ] {
        let mut all = vec!["--threads", "1"];
        all.extend(args);
        let (out, err) = zsnas_sh(&all, "> /dev/null");
        let what = if args[0] == "train" { "training" } else { "exporting" };
        let caught = out_of_memory_or_refused(&out, &err, &format!("error: out of memory {what} {start}"), end);
        if caught && args[0] == "train" {
            // train's folder stays (resumable: nothing in it but the empty log).
            assert_eq!(std::fs::read_to_string(tr.join("log.jsonl")).unwrap(), "");
        }
    }
    // The output folder export created is gone.
    assert!(!ex.exists());
}

#[test]
fn search_budget_times_runs_and_run_seeds_do_not_overflow() {
    let (code, out, err) = zsnas(&[
        "search",
        "--strategy",
        "random",
        "--fitness",
        "params",
        "--budget",
        "9223372036854775808",
        "--runs",
        "2",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.trim(),
        "error: --budget 9223372036854775808 × --runs 2 evaluations is too large (at most 18446744073709551615 in all)"
    );
    assert!(out.is_empty(), "{out}");
    let (code, _, err) = zsnas(&[
        "search",
        "--strategy",
        "random",
        "--fitness",
        "params",
        "--budget",
        "2",
        "--runs",
        "2",
        "--seed",
        "18446744073709551615",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.trim(),
        "error: --seed 18446744073709551615 with --runs 2: the run seeds seed..seed+runs-1 pass 18446744073709551615"
    );
}

#[test]
fn search_checks_its_plot_path_before_searching() {
    let (code, out, err) = zsnas(&[&SEARCH2[..], &["--plot", "/proc/x"]].concat());
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim(), "error: --plot /proc/x: cannot write '/proc/x.png': No such file or directory (os error 2)");
    assert!(out.is_empty(), "the search ran: {out}");
}
