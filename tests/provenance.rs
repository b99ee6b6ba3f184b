//! Issue 13: every line records its scoring setup; resuming reuses only lines of the same
//! setup, completes lines that miss proxies asked for now (one line per architecture at
//! the end), and refuses another setup naming the field and both values.

mod common;
use common::{assert_error, zsnas};
use serde_json::Value;
use std::path::Path;

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

const A: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
const B: &str = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";

fn score(out: &Path, proxies: &str, extra: &[&str]) -> (i32, String, String) {
    let o = out.to_str().unwrap();
    let mut a = vec!["--threads", "1", "score", "--arch", A, "--arch", B, "--batch-size", "8", "--proxies", proxies];
    a.extend_from_slice(extra);
    a.extend(["--output", o]);
    zsnas(&a)
}

#[test]
fn lines_record_the_setup_and_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    let (code, _, err) = score(&out, "wrcor", &["--seed", "3"]);
    assert_eq!(code, 0, "{err}");
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    let s = &l[0]["setup"];
    assert_eq!(s["batch_size"], 8);
    assert_eq!(s["seed"], 3);
    assert_eq!(s["data"], "embedded");
    assert_eq!(s["num_classes"], 10);
    assert_eq!(s["resolution"], 32);
    assert_eq!(s["device"], "cpu");
    assert_eq!(s["augment"], false);
    assert_eq!(s["batch_md5"].as_str().unwrap().len(), 32);
    assert_eq!(l[0]["setup"], l[1]["setup"]);
    assert_eq!(l[0]["version"], env!("CARGO_PKG_VERSION"));
    // Another seed draws another batch: another hash.
    let other = dir.path().join("t.jsonl");
    assert_eq!(score(&other, "params", &["--seed", "4"]).0, 0);
    assert_ne!(lines(&other)[0]["setup"]["batch_md5"], s["batch_md5"]);
}

#[test]
fn a_rerun_with_more_proxies_completes_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    assert_eq!(score(&out, "wrcor", &[]).0, 0);
    let first = lines(&out);
    let (code, _, err) = score(&out, "wrcor,naswot", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 to complete"), "{err}");
    let l = lines(&out);
    assert_eq!(l.len(), 2, "one line per architecture after completion");
    for (old, new) in first.iter().zip(&l) {
        assert_eq!(old["arch"], new["arch"]);
        assert_eq!(old["scores"]["wrcor"], new["scores"]["wrcor"], "reused, not recomputed");
        assert!(new["scores"]["naswot"].as_f64().unwrap() > 0.0);
    }
    // The completed naswot equals a fresh run's.
    let fresh = dir.path().join("f.jsonl");
    assert_eq!(score(&fresh, "naswot", &[]).0, 0);
    assert_eq!(lines(&fresh)[0]["scores"]["naswot"], l[0]["scores"]["naswot"]);
    // Everything there: nothing to do, the file unchanged.
    let before = std::fs::read(&out).unwrap();
    let (code, _, err) = score(&out, "naswot", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn a_completion_killed_midway_is_merged_on_the_next_run() {
    // A torn completion leaves two lines for one architecture: the next run keeps the
    // later one and compacts the file.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    assert_eq!(score(&out, "wrcor", &[]).0, 0);
    let l = lines(&out);
    let mut extra = l[0].clone();
    extra["scores"]["params"] = serde_json::json!(1.0);
    let mut text = std::fs::read_to_string(&out).unwrap();
    text.push_str(&serde_json::to_string(&extra).unwrap());
    text.push('\n');
    std::fs::write(&out, text).unwrap();
    let (code, _, err) = score(&out, "wrcor,naswot", &[]);
    assert_eq!(code, 0, "{err}");
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert_eq!(l[0]["scores"]["params"], 1.0, "the later line of the architecture is kept");
    assert!(l[0]["scores"].get("naswot").is_some());
}

#[test]
fn another_setup_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    assert_eq!(score(&out, "wrcor", &[]).0, 0);
    let o = out.to_str().unwrap();
    let base = ["--threads", "1", "score", "--arch", A, "--proxies", "wrcor", "--output", o];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str], needle: &str| {
        let a = with(extra);
        let r: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_error(&r, needle);
    };
    run(&["--batch-size", "16"], "s.jsonl:1: scored with batch_size 8, but this run has batch_size 16");
    run(&["--batch-size", "8", "--seed", "1"], "scored with seed 0, but this run has seed 1");
    run(&["--batch-size", "8", "--augment"], "scored with augment false, but this run has augment true");
    run(&["--batch-size", "8", "--num-classes", "20"], "scored with num_classes 10, but this run has num_classes 20");
    let before = std::fs::read(&out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), before, "refusals leave the file alone");
    // A line of zsnas 0.1 (no setup) cannot be checked.
    let old = dir.path().join("old.jsonl");
    std::fs::write(
        &old,
        format!("{{\"arch\":\"{A}\",\"index\":6111,\"scores\":{{\"wrcor\":1.0}},\"space\":\"nb201\"}}\n"),
    )
    .unwrap();
    assert_error(
        &["score", "--arch", A, "--output", old.to_str().unwrap()],
        "old.jsonl:1: this line records no scoring setup",
    );
}

#[test]
fn search_history_resumed_with_another_setup_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.jsonl");
    let hs = h.to_str().unwrap();
    let base =
        ["--threads", "1", "search", "--strategy", "random", "--budget", "3", "--fitness", "naswot", "--history", hs];
    let mut a = base.to_vec();
    a.extend(["--batch-size", "8"]);
    let (code, _, err) = zsnas(&a);
    assert_eq!(code, 0, "{err}");
    let l = lines(&h);
    assert_eq!(l[0]["setup"]["batch_size"], 8);
    assert_eq!(l[0]["version"], env!("CARGO_PKG_VERSION"));
    let mut b = base.to_vec();
    b.extend(["--batch-size", "16"]);
    assert_error(&b, "history line 1: scored with batch_size 8, but this run has batch_size 16");
}

#[test]
fn weights_are_recorded_by_content_and_fit_one_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let export = |seed: &str, to: &Path| {
        let (code, _, err) =
            zsnas(&["export", "--space", "nb201", "--arch", A, "--seed", seed, "--output", to.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        to.join("weights.safetensors")
    };
    let w0 = export("0", &dir.path().join("e0"));
    let w1 = export("1", &dir.path().join("e1"));
    let w = dir.path().join("w.safetensors");
    std::fs::copy(&w0, &w).unwrap();
    let ws = w.to_str().unwrap();
    let out = dir.path().join("s.jsonl");
    let o = out.to_str().unwrap();
    let args = |proxies: &'static str| {
        [
            "--threads",
            "1",
            "score",
            "--arch",
            A,
            "--batch-size",
            "8",
            "--weights",
            ws,
            "--proxies",
            proxies,
            "--output",
            o,
        ]
    };
    let (code, _, err) = zsnas(&args("synflow"));
    assert_eq!(code, 0, "{err}");
    let md5 = lines(&out)[0]["setup"]["weights_md5"].as_str().unwrap().to_string();
    assert_eq!(md5.len(), 32);
    // Other weights at the same path: another setup, refused before anything is scored.
    std::fs::copy(&w1, &w).unwrap();
    let (code, _, err) = zsnas(&args("synflow,l2_norm"));
    assert_ne!(code, 0);
    assert!(err.contains(&format!("scored with weights_md5 {md5}, but this run has weights_md5")), "{err}");
    assert_eq!(lines(&out).len(), 1);
    assert!(lines(&out)[0]["scores"].get("l2_norm").is_none());
    // The original bytes back: the line is completed.
    std::fs::copy(&w0, &w).unwrap();
    let (code, _, err) = zsnas(&args("synflow,l2_norm"));
    assert_eq!(code, 0, "{err}");
    assert!(lines(&out)[0]["scores"].get("l2_norm").is_some());
    // One weights file, several architectures: refused up front, nothing written.
    let many = dir.path().join("many.jsonl");
    assert_error(
        &["score", "--sample", "3", "--batch-size", "8", "--weights", ws, "--output", many.to_str().unwrap()],
        "a weights file holds the weights of one architecture, but 3 architectures are selected",
    );
    assert!(!many.exists());
}

#[test]
fn dataset_cifar10_is_the_default_setup_on_nas_bench_201() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    assert_eq!(score(&out, "naswot", &[]).0, 0);
    let first = std::fs::read(&out).unwrap();
    let (code, _, err) = score(&out, "naswot", &["--dataset", "cifar10"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 of this selection complete), 0 to complete, 0 to score"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), first);
    // Recorded as the default: no `dataset` key (another data set is recorded by name).
    assert!(lines(&out)[0]["setup"].get("dataset").is_none());
}

#[test]
fn search_history_resumed_against_another_truth_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.jsonl");
    let hs = h.to_str().unwrap();
    let base = ["search", "--strategy", "random", "--fitness", "params_live", "--history", hs];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let (code, _, err) = zsnas(&run(&["--budget", "4"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let of = &lines(&h)[0]["best_so_far"]["truth_of"];
    assert_eq!(of["column"], "test_acc_200ep");
    assert_eq!(of["source"], "embedded NAS-Bench-201 table");
    let refused = |extra: &[&str], now: &str| {
        let a = run(extra);
        assert_error(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &format!("history line 1 reports truth column test_acc_200ep of embedded NAS-Bench-201 table, but this search reports {now}"),
        );
    };
    refused(
        &["--budget", "6", "--truth-column", "test_acc_12ep"],
        "column test_acc_12ep of embedded NAS-Bench-201 table",
    );
    refused(&["--budget", "6", "--no-truth"], "no truth");
    assert_eq!(lines(&h).len(), 4, "refusals leave the file alone");
    let (code, _, err) = zsnas(&run(&["--budget", "6"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&h).len(), 6);
}

/// The same batch read through another spelling of its path (relative, absolute: shards
/// on nodes with their own mounts) is the same setup: the run resumes, and `correlate`
/// merges the files. Other content at another path is still refused.
#[test]
fn another_spelling_of_the_data_path_is_the_same_setup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.bin");
    let mut bytes = Vec::new();
    for i in 0..16u8 {
        bytes.push(i % 10);
        bytes.extend((0..3072u32).map(|k| (k as u8).wrapping_mul(i + 1)));
    }
    std::fs::write(&data, &bytes).unwrap();
    let abs = data.to_str().unwrap().to_string();
    let dotted = dir.path().join(".").join("d.bin").to_str().unwrap().to_string();
    let out = dir.path().join("s.jsonl");
    let (code, _, err) = score(&out, "naswot", &["--data", &abs]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = score(&out, "naswot", &["--data", &dotted]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out).len(), 2, "resumed, nothing scored again");
    // Two files, one per spelling, merge in correlate (only the md5 decides).
    let other = dir.path().join("o.jsonl");
    let (code, _, err) = score(&other, "naswot", &["--data", &dotted]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        zsnas(&["correlate", "--scores", out.to_str().unwrap(), other.to_str().unwrap(), "--bootstrap", "0"]);
    assert_eq!(code, 0, "{err}");
    // Other images under another path: refused, naming the path first.
    bytes[1] ^= 0xff;
    let changed = dir.path().join("e.bin");
    std::fs::write(&changed, &bytes).unwrap();
    let (code, _, err) = score(&out, "naswot", &["--data", changed.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("scored with data ") && err.contains("e.bin"), "{err}");
}
