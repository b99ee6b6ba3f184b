//! `zsnas score` survives SIGKILL and torn writes (resume gives the same scores as an
//! uninterrupted run), and shards partition the work exactly.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SAMPLE: usize = 12;

/// `zsnas` with progress output off and without the scheduler variables, which would turn
/// on sharding.
fn zsnas_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zsnas"));
    c.env("ZSNAS_PROGRESS", "off")
        .env_remove("ZSNAS_SHARD")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("JOB_COMPLETION_INDEX");
    c
}

fn score_cmd(output: &Path, extra: &[&str]) -> Command {
    let mut c = zsnas_cmd();
    c.args(["--threads", "1", "score", "--sample", "12", "--batch-size", "8", "--proxies", "wrcor,naswot", "--output"])
        .arg(output)
        .args(extra);
    c
}

fn run_score(output: &Path, extra: &[&str]) {
    let out = score_cmd(output, extra).output().expect("run zsnas score");
    assert!(out.status.success(), "zsnas score {extra:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// arch -> (index, scores) of a complete output file; panics on a duplicate arch.
fn read(path: &Path) -> BTreeMap<String, (Value, Value)> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "{} does not end with a newline", path.display());
    let mut m = BTreeMap::new();
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: bad line {l}: {e}", path.display()));
        let arch = v["arch"].as_str().unwrap().to_string();
        let prev = m.insert(arch.clone(), (v["index"].clone(), v["scores"].clone()));
        assert!(prev.is_none(), "{}: {arch} appears twice", path.display());
    }
    m
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path).map(|b| b.iter().filter(|&&c| c == b'\n').count()).unwrap_or(0)
}

#[test]
fn kill_and_resume_matches_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.jsonl");
    run_score(&reference, &[]);
    let want = read(&reference);
    assert_eq!(want.len(), SAMPLE);

    let f = dir.path().join("killed.jsonl");
    let mut child = score_cmd(&f, &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t0 = Instant::now();
    while count_lines(&f) < 3 {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("zsnas score exited ({st}) before writing 3 lines");
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "no progress after 300 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    let finished_early = child.try_wait().unwrap().is_some();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = count_lines(&f);
    if finished_early || at_kill >= SAMPLE {
        eprintln!("note: the run finished before the kill ({at_kill} lines); resume is still checked");
    } else {
        eprintln!("killed after {at_kill} of {SAMPLE} lines");
    }
    // Simulate a torn write: half a line without its newline.
    {
        let mut o = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
        o.write_all(br#"{"arch":"|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_co"#).unwrap();
    }
    let out = score_cmd(&f, &[]).output().unwrap();
    assert!(out.status.success(), "resume failed: {}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("removed torn last line"), "{err}");
    if at_kill < SAMPLE {
        assert!(err.contains(&format!("resuming: {at_kill} architectures in the output")), "{err}");
    }
    let got = read(&f);
    assert_eq!(got.len(), SAMPLE, "every architecture exactly once");
    assert_eq!(got, want, "resumed scores differ from the uninterrupted run");

    // A third run has nothing left to do and changes nothing.
    let before = std::fs::read(&f).unwrap();
    run_score(&f, &[]);
    assert_eq!(std::fs::read(&f).unwrap(), before);
}

#[test]
fn shards_partition_the_run_and_correlate_merges_them() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.jsonl");
    run_score(&all, &[]);
    let want = read(&all);
    let mut union = BTreeMap::new();
    let mut files = Vec::new();
    for i in 0..3 {
        let f = dir.path().join(format!("scores.{i}.jsonl"));
        run_score(&f, &["--shard", &format!("{i}/3")]);
        let part = read(&f);
        assert_eq!(part.len(), SAMPLE / 3, "shard {i}/3 of 12 round-robin holds 4");
        for (k, v) in part {
            assert!(union.insert(k.clone(), v).is_none(), "{k} is in two shards");
        }
        files.push(f);
    }
    assert_eq!(union, want, "the union of the shards differs from the unsharded run");

    // correlate merges the shard files; point estimates equal those of the single file.
    let correlate = |scores: &[&Path], one_flag: bool| -> Vec<Value> {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zsnas"));
        c.arg("correlate");
        for (i, s) in scores.iter().enumerate() {
            if i == 0 || !one_flag {
                c.arg("--scores");
            }
            c.arg(s);
        }
        let out = c.args(["--format", "json", "--bootstrap", "100"]).output().unwrap();
        assert!(out.status.success(), "correlate failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    // `--scores a --scores b --scores c` and `--scores a b c` (a shell glob) agree.
    let merged = correlate(&paths, false);
    assert_eq!(correlate(&paths, true), merged);
    let single = correlate(&[all.as_path()], false);
    assert_eq!(merged.len(), 2);
    for (m, s) in merged.iter().zip(&single) {
        assert_eq!(m["proxy"], s["proxy"]);
        assert_eq!(m["n"], SAMPLE);
        for k in ["n_nonfinite", "spearman", "kendall"] {
            assert_eq!(m[k], s[k], "{k} of {}", m["proxy"]);
        }
        assert!(m["spearman"].as_f64().unwrap().is_finite());
    }
}

/// NUL bytes after the last record (a crash with delayed allocation) are dropped with a
/// note, never silently; a file of NULs alone resumes as empty.
#[test]
fn nul_garbage_is_dropped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("nul.jsonl");
    std::fs::write(&f, [0u8; 3]).unwrap();
    let out = zsnas_cmd()
        .args(["score", "--arch", "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--proxies", "params"])
        .arg("--output")
        .arg(&f)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("removed 3 trailing bytes holding NUL garbage"), "{err}");
    assert_eq!(count_lines(&f), 1);
}

/// Completing a file's missing proxies rewrites it; through a symbolic link the file it
/// points to is rewritten and the link stays a link.
#[test]
fn completing_through_a_symlink_rewrites_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.jsonl");
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = |proxies: &str| {
        let out = zsnas_cmd()
            .args(["--threads", "1", "score", "--sample", "5", "--seed", "3", "--proxies", proxies, "--output"])
            .arg(&link)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run("params_live");
    run("params_live,flops_live");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
    let lines = read(&target);
    assert_eq!(lines.len(), 5);
    assert!(lines.values().all(|(_, s)| s["params_live"].is_number() && s["flops_live"].is_number()));
    assert_eq!(count_lines(&target), 5);
    assert!(!dir.path().join("link.jsonl.tmp").exists() && !dir.path().join("target.jsonl.tmp").exists());
    // The rewrite keeps the file's permissions, and a file with another hard link is
    // rewritten in place, so both names hold the new lines.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    run("params_live,flops_live,params");
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
    let other = dir.path().join("other.jsonl");
    std::fs::hard_link(&target, &other).unwrap();
    run("params_live,flops_live,params,flops");
    assert_eq!(count_lines(&target), 5);
    assert_eq!(std::fs::read(&other).unwrap(), std::fs::read(&target).unwrap());
    assert!(read(&other).values().all(|(_, s)| s["params"].is_number() && s["flops"].is_number()));
}
