//! `zsnas plot`: one figure over several `search --history` files, and its errors.
//!
//! Fixtures: the first 6 steps of runs 0 and 1 of `results/search/table/sjw_random` and
//! `sjw_evolution` (NAS-Bench-201, fitness sjw).

mod common;
use common::{assert_error, zsnas};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/history").join(name)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|_| panic!("{} missing", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
}

#[test]
fn overlays_two_histories_as_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let random = fixture("sjw_random_2x6.jsonl");
    // The second file gzipped: read by content.
    let evo = dir.path().join("evo.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(fixture("sjw_evolution_2x6.jsonl")).unwrap()).unwrap();
    std::fs::write(&evo, gz.finish().unwrap()).unwrap();
    let stem = dir.path().join("figs/cmp");
    let (code, _out, err) =
        zsnas(&["plot", random.to_str().unwrap(), evo.to_str().unwrap(), "--output", stem.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(png_size(&dir.path().join("figs/cmp.png")), (800, 600));
    // `--output fig.png` names the stem `fig` (it wrote fig.png.png and fig.png.svg).
    let named = dir.path().join("named.PNG");
    let (code, _out, err) = zsnas(&["plot", random.to_str().unwrap(), "--output", named.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(png_size(&dir.path().join("named.png")), (800, 600));
    assert!(dir.path().join("named.svg").exists() && !dir.path().join("named.PNG.png").exists());
    let svg = std::fs::read_to_string(dir.path().join("figs/cmp.svg")).unwrap();
    // Legend from each file's strategy and fitness; y label with its unit; title.
    for needle in
        ["random, sjw", "evolution, sjw", "CIFAR-10 test accuracy after 200 epochs (%)", "2 searches on nb201"]
    {
        assert!(svg.contains(needle), "SVG lacks {needle:?}");
    }
    assert!(svg.contains("mean over 2 runs") && svg.contains("±1 std"), "no band note");

    // --labels and --curves both: one solid and one dashed curve per file.
    let stem = dir.path().join("labelled");
    let (code, _, err) = zsnas(&[
        "plot",
        random.to_str().unwrap(),
        evo.to_str().unwrap(),
        "--labels",
        "RS,AE",
        "--curves",
        "both",
        "--output",
        stem.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.path().join("labelled.svg")).unwrap();
    for needle in ["RS: best so far", "AE: fitness-best architecture"] {
        assert!(svg.contains(needle), "SVG lacks {needle:?}");
    }
    assert!(png_size(&dir.path().join("labelled.png")).0 == 800);

    // One file: both curves by default.
    let stem = dir.path().join("one");
    let (code, _, err) = zsnas(&["plot", random.to_str().unwrap(), "--output", stem.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.path().join("one.svg")).unwrap();
    assert!(svg.contains("best so far") && svg.contains("fitness-best architecture"), "one file: both curves");
    assert!(svg.contains("random search on nb201 with fitness sjw, budget 6"), "title");
}

#[test]
fn rejects_bad_input_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    let good = fixture("sjw_random_2x6.jsonl");
    let good = good.to_str().unwrap();
    // Missing file.
    let missing = dir.path().join("nope.jsonl");
    assert_error(&["plot", missing.to_str().unwrap(), "--output", out], "nope.jsonl");
    // A directory (or FIFO) is refused at once, never read (a FIFO would block).
    assert_error(&["plot", dir.path().to_str().unwrap(), "--output", out], "not a regular file");
    // Empty labels would make the legend ambiguous.
    assert_error(&["plot", good, good, "--labels", ",", "--output", out], "label 1 is empty");
    // Not a history file: a `zsnas score` line.
    let score = dir.path().join("scores.jsonl");
    std::fs::write(&score, "{\"arch\":\"a\",\"scores\":{\"wrcor\":1.0},\"space\":\"nb201\"}\n").unwrap();
    assert_error(&["plot", score.to_str().unwrap(), "--output", out], "not a zsnas search --history file");
    assert_error(&["plot", score.to_str().unwrap(), "--output", out], "scores.jsonl");
    // Not JSON at all.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\n").unwrap();
    assert_error(&["plot", junk.to_str().unwrap(), "--output", out], "junk.txt line 1 is not JSON");
    // Empty.
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    assert_error(&["plot", empty.to_str().unwrap(), "--output", out], "empty.jsonl holds no history line");
    // Label count mismatch.
    assert_error(&["plot", good, good, "--labels", "only-one", "--output", out], "--labels gives 1 labels for 2");
    // No file at all, no output: clap's usage errors.
    assert_error(&["plot", "--output", out], "HISTORY");
    assert_error(&["plot", good], "--output");
    // Every error is one line.
    let (code, _, err) = zsnas(&["plot", empty.to_str().unwrap(), "--output", out]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!Path::new(&format!("{out}.png")).exists());
}

/// Without truth flags a history is plotted against the truth it recorded
/// (`best_so_far.truth_of`); histories that recorded different truths are refused unless
/// a flag settles it; a stem that names a folder is refused.
#[test]
fn plots_against_the_recorded_truth() {
    let dir = tempfile::tempdir().unwrap();
    let search = |name: &str, extra: &[&str]| {
        let h = dir.path().join(name);
        let mut a = vec!["search", "--strategy", "random", "--budget", "5", "--fitness", "params_live"];
        a.extend_from_slice(extra);
        let hs = h.to_str().unwrap().to_string();
        a.extend(["--history", &hs]);
        let (code, _, err) = zsnas(&a);
        assert_eq!(code, 0, "{err}");
        hs
    };
    let c100 = search("c100.jsonl", &["--truth-column", "cifar100_test_200"]);
    let c10 = search("c10.jsonl", &[]);
    let svg = dir.path().join("p.svg");
    let stem = dir.path().join("p");
    let (code, _, err) = zsnas(&["plot", &c100, "--output", stem.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("CIFAR-100"), "the axis names the recorded truth");
    assert_error(
        &["plot", &c100, &c10, "--output", stem.to_str().unwrap()],
        "records truth column cifar100_test_200 of embedded NAS-Bench-201 table",
    );
    let (code, _, err) =
        zsnas(&["plot", &c100, &c10, "--output", stem.to_str().unwrap(), "--truth-column", "test_acc_200ep"]);
    assert_eq!(code, 0, "{err}");
    let folder = format!("{}/", dir.path().display());
    assert_error(&["plot", &c10, "--output", &folder], "names a folder, not a file stem");
}

/// A plot path whose `.png` or `.svg` is an input (the history being plotted, a search's
/// `--history`) is refused before anything is written, and the input is left intact.
#[test]
fn a_plot_that_would_overwrite_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("hist.svg");
    std::fs::copy(fixture("sjw_random_2x6.jsonl"), &hist).unwrap();
    let before = std::fs::read(&hist).unwrap();
    let stem = dir.path().join("hist");
    assert_error(&["plot", hist.to_str().unwrap(), "--output", stem.to_str().unwrap()], "--output ");
    let (_, _, err) = zsnas(&["plot", hist.to_str().unwrap(), "--output", stem.to_str().unwrap()]);
    assert!(err.contains("the plot would overwrite") && err.contains("hist.svg"), "{err}");
    assert_eq!(std::fs::read(&hist).unwrap(), before);
    assert!(!dir.path().join("hist.png").exists());
    // A search whose --history is <plot stem>.png: refused before the search runs.
    let h = dir.path().join("h.png");
    let (code, _, err) = zsnas(&[
        "search",
        "--strategy",
        "random",
        "--budget",
        "3",
        "--fitness",
        "params_live",
        "--history",
        h.to_str().unwrap(),
        "--plot",
        dir.path().join("h").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--plot ") && err.contains("the plot would overwrite"), "{err}");
    // Nothing was written: no history lines, no plot.
    assert!(std::fs::read(&h).map(|b| b.is_empty()).unwrap_or(true));
    assert!(!dir.path().join("h.svg").exists());
}

/// A history with a gap in a run's steps, or with lines of two scoring setups, is refused
/// (a curve would close the gap up, or average two searches), naming the file.
#[test]
fn a_history_with_a_step_gap_or_two_setups_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gap = dir.path().join("gap.jsonl");
    let text = std::fs::read_to_string(fixture("sjw_random_2x6.jsonl")).unwrap();
    std::fs::write(
        &gap,
        text.lines().filter(|l| !l.contains("\"step\":3,")).map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let out = dir.path().join("p");
    assert_error(
        &["plot", gap.to_str().unwrap(), "--output", out.to_str().unwrap()],
        "gap.jsonl: run 0 has no step 3 (its steps jump to 4)",
    );
    let h = dir.path().join("h.jsonl");
    let (code, _, err) = zsnas(&[
        "search",
        "--strategy",
        "random",
        "--budget",
        "4",
        "--fitness",
        "params_live",
        "--history",
        h.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = zsnas(&["plot", h.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let edited: String = std::fs::read_to_string(&h)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 2 { l.replace("\"batch_size\":64", "\"batch_size\":8") } else { l.to_string() } + "\n")
        .collect();
    assert!(edited.contains("\"batch_size\":8"));
    std::fs::write(&h, edited).unwrap();
    assert_error(
        &["plot", h.to_str().unwrap(), "--output", out.to_str().unwrap()],
        "h.jsonl line 3 was scored with batch_size 8, line 1 with batch_size 64: give one search per file",
    );
}
