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
    assert_error(&["score", "--arch", A, "--device", "tpu"], "--device 'tpu': unknown device");
    assert_error(
        &["score", "--arch", A, "--device", "cuda:x"],
        "--device 'cuda:x': the GPU index after 'cuda:' must be a number",
    );
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

/// Every NAS-Bench-201 proxy: bit-identical with 1 and 2 threads, except those whose
/// documented tolerance (`Proxy::thread_rtol`) allows the weight-gradient sums' thread
/// dependence; and the two files merge in `correlate`.
const ALL_NB201: &str = "wrcor,rcor,acor,gcor,wrcor_official,naswot,naswot_paper,jacob_cov,synflow,log_synflow,grad_norm,snip,grasp,fisher,plain,l2_norm,zen,zen_nas,params,flops,params_live,flops_live,az_expressivity,az_progressivity,az_trainability,az_complexity,meco,zico,swap";

#[test]
fn same_seed_same_scores_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (f1, f2) = (dir.path().join("t1.jsonl"), dir.path().join("t2.jsonl"));
    for (t, f) in [("1", &f1), ("2", &f2)] {
        let args =
            ["--threads", t, "score", "--sample", "1", "--seed", "7", "--batch-size", "16", "--proxies", ALL_NB201];
        let mut a = args.to_vec();
        a.extend(["--output", f.to_str().unwrap()]);
        let (code, _, err) = zsnas(&a);
        assert_eq!(code, 0, "{err}");
    }
    let read = |f: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(f).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (a, b) = (read(&f1), read(&f2));
    assert_eq!(a.len(), 1);
    // The documented tolerance; the proxies documented as thread-invariant must be equal bit for bit.
    let rtol = |p: &str| {
        let p = zsnas::proxy::Proxy::from_name(p).unwrap();
        if p.thread_invariant() {
            0.0
        } else {
            p.thread_rtol()
        }
    };
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["setup"], y["setup"]);
        for p in ALL_NB201.split(',') {
            let (u, v) = (&x["scores"][p], &y["scores"][p]);
            if rtol(p) == 0.0 {
                assert_eq!(u, v, "{p} depends on the thread count");
            } else {
                let (u, v) = (u.as_f64().unwrap(), v.as_f64().unwrap());
                assert!((u - v).abs() <= rtol(p) * u.abs().max(v.abs()), "{p}: {u} vs {v}");
            }
        }
    }
    // Files scored with different thread counts merge.
    let (code, _, err) =
        zsnas(&["correlate", "--scores", f1.to_str().unwrap(), f2.to_str().unwrap(), "--proxies", "grasp,zico,wrcor"]);
    assert_eq!(code, 0, "{err}");
}

/// A proxy's value does not depend on the proxies requested with it: the WRCor family and
/// NASWOT share a channels-last pass of their own, proxies that need weight or input
/// gradients a channels-first one (`proxy::pass::channels_last`).
#[test]
fn a_proxy_scores_the_same_whatever_is_requested_with_it() {
    let scores = |proxies: &str| -> Vec<serde_json::Value> {
        let (code, out, err) = zsnas(&[
            "--threads",
            "2",
            "score",
            "--sample",
            "2",
            "--seed",
            "3",
            "--batch-size",
            "16",
            "--proxies",
            proxies,
        ]);
        assert_eq!(code, 0, "{err}");
        out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["scores"].clone()).collect()
    };
    let together = scores("jacob_cov,wrcor,snip,naswot");
    for p in ["wrcor", "naswot", "jacob_cov", "snip"] {
        let alone = scores(p);
        assert_eq!(alone.len(), 2);
        for (a, t) in alone.iter().zip(&together) {
            assert!(a[p].is_number(), "{p}: {a}");
            assert_eq!(a[p], t[p], "{p} changes when requested with others");
        }
    }
}

/// `--jobs N` scores N architectures at once (one libtorch thread each, the network
/// builds and the randomness-drawing proxies serialised): the same lines in the same
/// order as one at a time with `--threads 1`, every score bit for bit (the zen scores too,
/// since their BatchNorm terms are summed in name order, not in a hash map's). The second
/// set is the default ranker's members with wrcor: none draws randomness (MeCo reads the
/// real batch), so they run unserialised and must still give the same bits.
#[test]
fn jobs_give_the_lines_of_one_at_a_time() {
    let run = |proxies: &str, pre: &[&str], post: &[&str]| -> Vec<serde_json::Value> {
        let mut a: Vec<&str> = pre.to_vec();
        a.extend(["score", "--sample", "7", "--seed", "5", "--batch-size", "8", "--proxies", proxies]);
        a.extend(post);
        let (code, out, err) = zsnas(&a);
        assert_eq!(code, 0, "{err}");
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    for proxies in [
        "wrcor,naswot,jacob_cov,synflow,zen,zen_nas,meco,az_trainability,params_live",
        "jacob_cov,params_live,meco,wrcor",
    ] {
        let one = run(proxies, &["--threads", "1"], &[]);
        let three = run(proxies, &[], &["--jobs", "3"]);
        assert_eq!(one.len(), 7);
        assert_eq!(three.len(), 7);
        for (x, y) in one.iter().zip(&three) {
            assert_eq!(x["arch"], y["arch"], "order differs");
            assert_eq!(x["canonical"], y["canonical"]);
            assert_eq!(x["setup"], y["setup"]);
            for p in proxies.split(',') {
                let (u, v) = (&x["scores"][p], &y["scores"][p]);
                assert_eq!(u, v, "{p} of {} differs with --jobs 3", x["arch"]);
            }
        }
    }
    // One architecture left (a resumed run, or a single --arch): still one thread. It ran
    // on --threads' count, and synflow of this cell moves in its last digit with it.
    let cell = "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_3x3~2|";
    let one_arch = |pre: &[&str], post: &[&str]| {
        let a = [pre, &["score", "--arch", cell, "--proxies", "synflow,naswot"][..], post].concat();
        let (code, out, err) = zsnas(&a);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["scores"].clone()
    };
    assert_eq!(one_arch(&["--threads", "2"], &["--jobs", "2"]), one_arch(&["--threads", "1"], &[]));
    assert_error(&["score", "--jobs", "0", "--arch", A], "--jobs");
}

/// Counts: a negative or too large value names the flag and says which it is (not
/// clap's "unexpected argument '-1'"); a fitness that the space lacks fails before the
/// search starts.
#[test]
fn flag_counts_negative_or_too_large_and_fitness_of_another_space() {
    let search = ["search", "--strategy", "random", "--budget", "4", "--fitness", "synflow", "--jobs"];
    assert_error(&[&search[..], &["-1"]].concat(), "'-1' is negative: give a whole number of at least 1");
    assert_error(&[&search[..], &["99999999999999999999"]].concat(), "'99999999999999999999' is too large");
    assert_error(&["score", "--arch", A, "--batch-size", "-8"], "--batch-size");
    assert_error(&["bench", "--repeats", "-1"], "--repeats");
    let (code, _, err) =
        zsnas(&["search", "--strategy", "random", "--budget", "4", "--fitness", "flops_reference", "--jobs", "2"]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "one line, no progress before it: {err}");
    assert!(
        err.contains("--fitness flops_reference: proxy 'flops_reference' is only defined for the mbv2 space"),
        "{err}"
    );
    // Negative seeds and resample counts name their flag (clap said "unexpected argument").
    assert_error(&["score", "--arch", A, "--seed", "-1"], "invalid value '-1' for '--seed <SEED>'");
    assert_error(&["demo", "--seed", "-1"], "invalid value '-1' for '--seed <SEED>'");
    assert_error(&["correlate", "--sample", "2", "--bootstrap", "-1"], "'-1' is negative");
    assert_error(&["train", "--arch", A, "--data", "x", "--output", "y", "--lr", "-0.1"], "--lr must be positive");
    assert_error(&["train", "--arch", A, "--data", "x", "--output", "y", "--lr", "-1e-3"], "--lr must be positive");
    assert_error(&["--threads", "-1", "score", "--arch", A], "invalid value '-1' for '--threads <THREADS>'");
    assert_error(&["score", "--space", "mbv2", "--arch", "x", "--flops-limit", "-600e6"], "--flops-limit");
    // search checks its fitness against the space before any note, batch or history file.
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.jsonl");
    for fitness in ["meco", "vote:synflow,meco,naswot", "logrank:synflow,meco"] {
        let args = ["search", "--space", "nb101", "--strategy", "evolution", "--budget", "5", "--fitness", fitness];
        let (code, _, err) = zsnas(&[&args[..], &["--history", h.to_str().unwrap()]].concat());
        assert_ne!(code, 0);
        assert_eq!(err.trim().lines().count(), 1, "{fitness}: one line, nothing before it: {err}");
        assert!(err.contains("proxy 'meco' is only defined for nb201 (yet), not for --space nb101"), "{err}");
        assert!(!h.exists(), "{fitness}: a history file was made");
    }
    // A proxy the space lacks, alone or in a vote, fails before any scoring and leaves no
    // output file (meco on nb101 failed at the first network, after the file was made).
    let out = dir.path().join("me.jsonl");
    for list in ["synflow,meco", "vote:meco,synflow,naswot"] {
        let (code, _, err) = zsnas(&[
            "score",
            "--space",
            "nb101",
            "--sample",
            "3",
            "--proxies",
            list,
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_ne!(code, 0);
        assert_eq!(err.trim().lines().count(), 1, "one line, no progress before it: {err}");
        assert!(err.contains("proxy 'meco' is only defined for nb201 (yet), not for --space nb101"), "{err}");
        assert!(!out.exists(), "{list}: an output file was made");
    }
}

/// A lower-is-better fitness may follow `--fitness` as its own word (`--fitness -params`,
/// not only `--fitness=-params`), and it is minimised: the best of the drawn cells has the
/// fewest parameters.
#[test]
fn a_lower_is_better_fitness_needs_no_equals_sign() {
    let run = |fitness: &[&str]| {
        let (code, out, err) = zsnas(
            &[&["search", "--strategy", "random", "--budget", "6", "--seed", "3", "--format", "json"][..], fitness]
                .concat(),
        );
        assert_eq!(code, 0, "{fitness:?}: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON summary");
        (v["fitness"].clone(), v["best"].clone())
    };
    let spaced = run(&["--fitness", "-params"]);
    assert_eq!(spaced, run(&["--fitness=-params"]), "the two spellings are one fitness");
    let plus = run(&["--fitness", "params"]);
    assert_eq!(spaced.0, "-params");
    assert_ne!(spaced.1["index"], plus.1["index"], "-params and params pick different cells");
    assert!(spaced.1["scores"]["params"].as_f64() < plus.1["scores"]["params"].as_f64());
}

#[test]
fn bench_rejects_zero_repeats_and_unknown_proxies() {
    assert_error(&["bench", "--repeats", "0"], "--repeats");
    assert_error(&["--threads", "0", "bench"], "--threads");
    assert_error(&["score", "--threads", "100000", "--arch", A], "--threads");
    assert_error(&["bench", "--proxies", "nope"], "unknown proxy 'nope'");
}

/// A shard taken from the environment (a job array) is said on stderr, with what it keeps
/// and how to score everything, so that a job array run for another reason does not lose
/// lines unnoticed.
#[test]
fn a_shard_from_the_environment_is_said() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zsnas"))
        .args(["--threads", "1", "score", "--sample", "5", "--proxies", "params"])
        .env("ZSNAS_PROGRESS", "off")
        .env_remove("ZSNAS_SHARD")
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2, "positions 1 and 3 of 5");
    assert!(
        err.contains(
            "note: scoring shard 1/2 (from SLURM_ARRAY_TASK_ID): 2 of the 5 selected architectures; --shard 0/1 scores them all"
        ),
        "{err}"
    );
}

/// `--shard-count` without an index in the environment is an error, not a silent
/// "score everything"; with `--shard` it must agree with the shard's count.
#[test]
fn flag_shard_count_needs_an_index() {
    let args = ["score", "--sample", "2", "--proxies", "params", "--batch-size", "8", "--shard-count", "2"];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zsnas"))
        .args(args)
        .env("ZSNAS_PROGRESS", "off")
        .env_remove("ZSNAS_SHARD")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard-count"));
    assert_error(
        &["score", "--sample", "2", "--proxies", "params", "--batch-size", "8", "--shard", "1/2", "--shard-count", "3"],
        "--shard-count 3 disagrees",
    );
    // A negative index reaches the shard parser (not clap's "unexpected argument").
    assert_error(&["score", "--sample", "2", "--proxies", "params", "--shard", "-1/2"], "shard '-1/2': expected I/N");
    let (code, out, err) = zsnas(&[
        "score",
        "--sample",
        "2",
        "--proxies",
        "params",
        "--batch-size",
        "8",
        "--shard",
        "1/2",
        "--shard-count",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1);
}

/// mbv2's `--resolution` and `--flops-limit` apply to --arch and --archs-file
/// architectures and are refused with --sample/--all (they were silently ignored there).
#[test]
fn flag_mbv2_resolution_and_flops_limit() {
    const M: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
    let base = ["score", "--space", "mbv2", "--proxies", "params", "--batch-size", "8"];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    assert_error(
        &with(&base, &["--sample", "1", "--resolution", "64"]),
        "--resolution applies to --arch and --archs-file",
    );
    assert_error(&with(&base, &["--sample", "1", "--flops-limit", "600e6"]), "--flops-limit applies to --arch");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("archs.txt");
    std::fs::write(&f, format!("{M}\n")).unwrap();
    let f = f.to_str().unwrap();
    let (code, out, err) = zsnas(&with(&base, &["--archs-file", f, "--resolution", "64"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"resolution\":64"), "{out}");
    assert_error(
        &with(&base, &["--archs-file", f, "--flops-limit", "1e3"]),
        &format!("--flops-limit: selected architecture 1 ({M}@224): architecture has"),
    );
}

/// `correlate --scores` refuses the scoring-on-the-fly flags (they were silently ignored).
#[test]
fn flag_correlate_scores_refuses_scoring_flags() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.jsonl");
    let f = f.to_str().unwrap();
    let (code, _, err) = zsnas(&["score", "--sample", "3", "--proxies", "params", "--batch-size", "8", "--output", f]);
    assert_eq!(code, 0, "{err}");
    let o = dir.path().join("o.jsonl");
    for extra in [
        &["--batch-size", "8"][..],
        &["--augment"],
        &["--device", "cuda:0"],
        &["--num-classes", "5"],
        &["--data", "x.bin"],
        &["--output", o.to_str().unwrap()],
        &["--jobs", "2"],
    ] {
        let args = [&["correlate", "--scores", f, "--bootstrap", "0"][..], extra].concat();
        assert_error(&args, &format!("{} applies to scoring on the fly", extra[0]));
    }
    // --dataset picks the truth column, so it stays.
    let (code, out, err) = zsnas(&["correlate", "--scores", f, "--bootstrap", "0", "--dataset", "c100"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("cifar100_test_200") || out.contains("cifar100_test_200"), "{out}{err}");
}

/// mbv2 without --data scores a random Gaussian batch: the image flags are refused there
/// (they were silently ignored).
#[test]
fn flag_mbv2_random_batch_refuses_image_flags() {
    for flag in [&["--dataset", "c100"][..], &["--augment"], &["--photos"], &["--balanced"]] {
        let args =
            [&["score", "--space", "mbv2", "--sample", "1", "--proxies", "params", "--batch-size", "8"][..], flag]
                .concat();
        assert_error(&args, &format!("{} needs --data with --space mbv2", flag[0]));
    }
    assert_error(
        &["search", "--space", "mbv2", "--strategy", "random", "--budget", "1", "--fitness", "params", "--augment"],
        "--augment needs --data with --space mbv2",
    );
}

/// Help texts say what the commands accept: demo's images are not only CIFAR-10, export
/// also writes TorchScript, correlate takes mbv2 with --truth.
#[test]
fn flag_help_texts_match_what_is_accepted() {
    let (_, top, _) = zsnas(&["--help"]);
    assert!(top.contains("safetensors or TorchScript"), "{top}");
    assert!(top.contains("or --data/--dataset"), "{top}");
    let (_, c, _) = zsnas(&["correlate", "--help"]);
    assert!(c.contains("mbv2 with --truth"), "{c}");
}

/// demo ranks by one proxy: a vote gets its own error; --sample is bounded by the space.
#[test]
fn flag_demo_proxy_and_sample() {
    assert_error(&["demo", "--proxy", "sjw", "--sample", "2"], "--proxy takes one proxy; 'sjw' is a vote");
    assert_error(&["demo", "--proxy", "nope", "--sample", "2"], "unknown proxy 'nope'");
    assert_error(&["demo", "--proxy", "params", "--sample", "15626"], "--sample must be 1 to 15,625");
    // Refused before anything is printed.
    let (code, out, err) = zsnas(&["demo", "--proxy", "flops_reference", "--sample", "2"]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("--proxy flops_reference is only defined for the mbv2 space"), "{err}");
}

/// A prepared batch whose images NAS-Bench-201's network cannot take (sides not multiples
/// of 4) is refused up front, naming `--data`, instead of failing inside libtorch.
#[test]
fn images_the_nas_bench_201_network_cannot_take() {
    let dir = tempfile::tempdir().unwrap();
    for side in [7i64, 2, 33] {
        let p = dir.path().join(format!("b{side}.safetensors"));
        tch::manual_seed(side);
        let images = tch::Tensor::randn([4, 3, side, side], (tch::Kind::Float, tch::Device::Cpu));
        let labels = tch::Tensor::from_slice(&[0i64, 1, 2, 3]);
        tch::Tensor::write_safetensors(&[("images", &images), ("labels", &labels)], &p).unwrap();
        let d = p.to_str().unwrap();
        let msg = format!("{side}x{side} pixels do not fit the NAS-Bench-201 network");
        assert_error(&["score", "--arch", A, "--proxies", "wrcor", "--data", d, "--batch-size", "4"], &msg);
        let (code, _, err) = zsnas(&["score", "--arch", A, "--data", d, "--batch-size", "4"]);
        assert_ne!(code, 0);
        assert!(err.contains("--data") && err.lines().count() == 1, "{err}");
    }
}

/// A prepared batch of another dtype than the documented one (f32 images, integer labels)
/// is refused, not cast: raw bytes would be scored as normalised pixels, fractional labels
/// truncated.
#[test]
fn prepared_batches_of_other_dtypes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = (tch::Kind::Float, tch::Device::Cpu);
    let images = tch::Tensor::randn([4, 3, 8, 8], o);
    let cases = [
        (images.to_kind(tch::Kind::Uint8), tch::Tensor::from_slice(&[0i64, 1, 2, 3]), "'images' is Uint8"),
        (images.to_kind(tch::Kind::Double), tch::Tensor::from_slice(&[0i64, 1, 2, 3]), "'images' is Double"),
        (images.shallow_clone(), tch::Tensor::from_slice(&[0.5f64, 1.7, 2.0, 3.0]), "'labels' is Double"),
    ];
    for (k, (x, y, needle)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("b{k}.safetensors"));
        tch::Tensor::write_safetensors(&[("images", x), ("labels", y)], &p).unwrap();
        assert_error(
            &["score", "--arch", A, "--proxies", "naswot", "--data", p.to_str().unwrap(), "--batch-size", "4"],
            needle,
        );
    }
    // int32 labels are integers: accepted.
    let p = dir.path().join("ok.safetensors");
    tch::Tensor::write_safetensors(&[("images", &images), ("labels", &tch::Tensor::from_slice(&[0i32, 1, 2, 3]))], &p)
        .unwrap();
    let (code, _, err) =
        zsnas(&["score", "--arch", A, "--proxies", "naswot", "--data", p.to_str().unwrap(), "--batch-size", "4"]);
    assert_eq!(code, 0, "{err}");
}

/// `export` parses `--arch` in its `--space` (mbv2 by default) and says so when it fails.
#[test]
fn export_names_the_space_it_parses_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    assert_error(
        &["export", "--arch", A, "--output", out.to_str().unwrap()],
        "--arch is not an architecture of --space mbv2 (export's default; give --space for another)",
    );
    // Given explicitly, the space is named without the default's hint.
    let (code, _, err) = zsnas(&["export", "--space", "nb101", "--arch", A, "--output", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("--arch is not an architecture of --space nb101: ") && !err.contains("default"), "{err}");
}

#[test]
fn a_wrong_zsnas_data_is_an_error_not_a_search_without_truth() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zsnas"))
        .args(["search", "--space", "nb101", "--strategy", "random", "--budget", "2", "--fitness", "params"])
        .args(["--batch-size", "4"])
        .env("ZSNAS_PROGRESS", "off")
        .env("ZSNAS_DATA", "/nonexistent-zsnas-data")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("ZSNAS_DATA: /nonexistent-zsnas-data/nb101/nb101_sample200.json does not exist"), "{err}");
}

#[test]
fn archs_files_with_a_byte_order_mark_or_without_architectures() {
    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("bom.txt");
    std::fs::write(&bom, format!("\u{feff}{A}\r\n")).unwrap();
    let (code, out, err) = zsnas(&["score", "--archs-file", bom.to_str().unwrap(), "--proxies", "params"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"index\":"), "{out}");
    for (name, text) in [("empty.txt", ""), ("comments.txt", "# a comment\n\n   \n")] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        assert_error(
            &["score", "--archs-file", f.to_str().unwrap()],
            &format!("archs file '{}' holds no architecture", f.display()),
        );
    }
    // --all is every architecture in index order: not combined with another selection.
    assert_error(&["score", "--all", "--sample", "3", "--proxies", "params"], "'--all' cannot be used with");
}

/// A NAS-Bench-101 or mbv2 --arch that fails a check of the parsed architecture is named
/// in the message, as NAS-Bench-201 strings are, so the failing one of several is known.
#[test]
fn arch_errors_of_every_space_name_the_architecture() {
    let bad = "input,conv3x3-bn-relu,output|010|000|000";
    let (code, _, err) =
        zsnas(&["score", "--space", "nb101", "--arch", "input,output|01|00", "--arch", bad, "--proxies", "params"]);
    assert_ne!(code, 0);
    assert!(err.contains(&format!("'{bad}': ")) && err.contains("no path from the input to the output"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// An mbv2 network far larger than memory is refused before it is built (it used to be
/// built and eat the machine), by score and export alike.
#[test]
fn a_network_larger_than_memory_is_refused_up_front() {
    let huge = "SuperConvK3BNRELU(3,65536,2,1)SuperResIDWE6K3(65536,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperResIDWE6K3(16,16,2,8,1)SuperConvK1BNRELU(16,16,1,1)@16384";
    let needle = "GB of memory available";
    assert_error(&["score", "--space", "mbv2", "--arch", huge, "--proxies", "params", "--batch-size", "3"], needle);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    assert_error(&["export", "--space", "mbv2", "--arch", huge, "--output", out.to_str().unwrap()], needle);
    assert!(!out.exists(), "no folder is left behind");
    // train too, at its batch size, before any epoch.
    let data = dir.path().join("d.bin");
    let mut bytes = Vec::new();
    for i in 0..4u8 {
        bytes.push(i);
        bytes.extend((0..3072u32).map(|k| (k as u8).wrapping_add(i * 40)));
    }
    std::fs::write(&data, bytes).unwrap();
    let run = dir.path().join("t");
    assert_error(
        &[
            "train",
            "--space",
            "mbv2",
            "--arch",
            huge,
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--output",
            run.to_str().unwrap(),
        ],
        "at batch 2), more than the",
    );
}

/// An architecture selected twice (here once as written, once with a zero-padded edge
/// number, which names the same cell) is scored once, and a note says so.
#[test]
fn an_architecture_selected_twice_is_scored_once_with_a_note() {
    let a = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|";
    let padded = a.replace("avg_pool_3x3~1", "avg_pool_3x3~01");
    let other = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|";
    let (code, out, err) =
        zsnas(&["score", "--arch", a, "--arch", other, "--arch", &padded, "--arch", a, "--proxies", "params_live"]);
    assert_eq!(code, 0, "{err}");
    let archs: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["arch"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(archs, [a, other]);
    assert!(
        err.contains("note: 2 architecture(s) selected more than once are scored once (first: |nor_conv_3x3~0|"),
        "{err}"
    );
    // Distinct architectures get no note.
    let (code, _, err) = zsnas(&["score", "--arch", a, "--arch", other, "--proxies", "params_live"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("more than once"), "{err}");
}

/// A bad entry of a NAS-Bench-101 JSON archs file is named by its place in the list,
/// counting from 1 (as lines of a text file are).
#[test]
fn a_bad_nb101_json_entry_is_named_counting_from_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("specs.json");
    std::fs::write(
        &f,
        r#"[{"ops":["input","conv3x3-bn-relu","output"],"adjacency":[[0,1,0],[0,0,1],[0,0,0]]},
            {"ops":["input","conv9x9","output"],"adjacency":[[0,1,0],[0,0,1],[0,0,0]]}]"#,
    )
    .unwrap();
    let f = f.to_str().unwrap();
    assert_error(
        &["score", "--space", "nb101", "--archs-file", f, "--proxies", "params_live"],
        "specs.json: entry 2 of the list (counting from 1): op 1: unknown NAS-Bench-101 op 'conv9x9'",
    );
}

/// Odd but plain inputs get their own words: `--data` naming a device, an empty truth
/// file; and an archs file with lone-CR line ends (old Mac files) is read line by line.
#[test]
fn device_data_empty_truth_and_lone_cr_archs_files() {
    assert_error(
        &["score", "--sample", "2", "--proxies", "params_live", "--data", "/dev/null"],
        "data path '/dev/null' is neither a regular file nor a folder",
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "\n").unwrap();
    let scores = dir.path().join("s.jsonl");
    let (code, _, err) =
        zsnas(&["score", "--sample", "3", "--proxies", "params_live", "--output", scores.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_error(
        &["correlate", "--scores", scores.to_str().unwrap(), "--truth", empty.to_str().unwrap()],
        "empty.csv is empty: expected a CSV table with a header row",
    );
    let a = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|";
    let b = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|";
    let cr = dir.path().join("cr.txt");
    std::fs::write(&cr, format!("{a}\r{b}\r")).unwrap();
    let (code, out, err) = zsnas(&["score", "--archs-file", cr.to_str().unwrap(), "--proxies", "params_live"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    // A bad line is named by its number, counting lone CRs as line ends.
    std::fs::write(&cr, format!("{a}\r\rbad\r")).unwrap();
    assert_error(&["score", "--archs-file", cr.to_str().unwrap(), "--proxies", "params_live"], "cr.txt:3");
    // A pipe is read once to its end: a truth table written into a FIFO by another
    // process (as `--truth <(zcat t.csv.gz)` does) gives the table's figures.
    let fifo = dir.path().join("truth.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (_, table, _) = zsnas(&["table", "--format", "csv"]);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, table).unwrap())
    };
    let (code, piped, err) = zsnas(&[
        "correlate",
        "--scores",
        scores.to_str().unwrap(),
        "--truth",
        fifo.to_str().unwrap(),
        "--bootstrap",
        "0",
    ]);
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let (_, embedded, _) = zsnas(&["correlate", "--scores", scores.to_str().unwrap(), "--bootstrap", "0"]);
    let rows = |t: &str| t.lines().skip(1).map(String::from).collect::<Vec<_>>();
    assert_eq!(rows(&piped), rows(&embedded));
    // A device never ends: refused as an archs file or a truth table, naming it.
    assert_error(
        &["score", "--archs-file", "/dev/zero", "--proxies", "params_live"],
        "archs file '/dev/zero' is a device, not a file or pipe",
    );
    assert_error(
        &["correlate", "--scores", scores.to_str().unwrap(), "--truth", "/dev/zero"],
        "truth file '/dev/zero' is a device, not a file or pipe",
    );
}

/// Two NAS-Bench-101 specs of one network (same module hash; here one has a dead vertex)
/// are both scored as written, with a note that says so.
#[test]
fn two_spellings_of_one_nb101_network_get_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pair.txt");
    std::fs::write(
        &f,
        "input,conv1x1-bn-relu,conv1x1-bn-relu,maxpool3x3,maxpool3x3,output|010000|001011|000101|000011|000001|000000\n\
         input,conv1x1-bn-relu,conv1x1-bn-relu,maxpool3x3,maxpool3x3,conv3x3-bn-relu,output|0100010|0010101|0001001|0000101|0000001|0000000|0000000\n",
    )
    .unwrap();
    let (code, out, err) = zsnas(&[
        "score",
        "--space",
        "nb101",
        "--archs-file",
        f.to_str().unwrap(),
        "--proxies",
        "params",
        "--batch-size",
        "8",
    ]);
    assert_eq!(code, 0, "{err}");
    let hashes: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["hash"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1]);
    assert!(err.contains("note: 1 NAS-Bench-101 spec(s) are another spelling of a network already selected"), "{err}");
}
