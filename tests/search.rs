//! Architecture search: evolution's aging population and tournaments, mutation,
//! REINFORCE on a toy reward, determinism, and the CLI (errors, resume after a kill).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zsnas::proxy::ScoreMap;
use zsnas::search::evolution::{Evolution, EvolutionConfig};
use zsnas::search::reinforce::{run_with_policy, ReinforceConfig};
use zsnas::search::{Cache, Fitness, Search, Strategy};
use zsnas::space::nb201::{Nb201Arch, Nb201Op};
use zsnas::space::{AnyArch, Space};

/// Toy fitness: the number of `nor_conv_3x3` edges (no network).
fn toy(a: &AnyArch) -> ScoreMap {
    let n = match a {
        AnyArch::Nb201(x) => x.ops.iter().filter(|o| **o == Nb201Op::NorConv3x3).count(),
        _ => 0,
    };
    [("toy".to_string(), n as f64)].into_iter().collect()
}

fn toy_search(budget: usize) -> Search<'static> {
    Search::new(Space::nb201(), Fitness::score("toy"), budget, Cache::new(), Box::new(|a: &AnyArch| Ok(toy(a))))
        .unwrap()
}

fn nb201(a: &AnyArch) -> Nb201Arch {
    match a {
        AnyArch::Nb201(x) => *x,
        _ => panic!("not nb201"),
    }
}

fn edges_changed(a: &AnyArch, b: &AnyArch) -> usize {
    let (a, b) = (nb201(a), nb201(b));
    a.ops.iter().zip(b.ops.iter()).filter(|(x, y)| x != y).count()
}

#[test]
fn evolution_population_ages_and_stays_at_64() {
    let mut search = toy_search(400);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut ev = Evolution::new(EvolutionConfig::default()).unwrap();
    ev.initialise(&mut search, &mut rng).unwrap();
    assert_eq!(ev.population.len(), 64);
    assert_eq!(search.steps(), 64);
    while search.remaining() > 0 {
        let before: Vec<_> = ev.population.iter().cloned().collect();
        let oldest = before.iter().map(|m| m.born).min().unwrap();
        let r = ev.step(&mut search, &mut rng).unwrap();
        assert_eq!(ev.population.len(), 64);
        let removed = r.removed.expect("a full population loses a member");
        assert_eq!(removed.born, oldest, "the oldest member is removed");
        assert_eq!(ev.population.back().unwrap().born, search.steps(), "the child is appended");
        let borns: Vec<usize> = ev.population.iter().map(|m| m.born).collect();
        assert!(borns.windows(2).all(|w| w[0] < w[1]), "population is in age order");
        // Tournament: 10 distinct members; parent is its best; child differs on one edge.
        assert_eq!(r.tournament.len(), 10);
        let mut t = r.tournament.clone();
        t.sort_unstable();
        t.dedup();
        assert_eq!(t.len(), 10, "tournament drawn without replacement");
        let best = r.tournament.iter().map(|&i| before[i].scores["toy"]).fold(f64::MIN, f64::max);
        assert_eq!(before[r.parent].scores["toy"], best);
        assert_eq!(edges_changed(&before[r.parent].arch, &ev.population.back().unwrap().arch), 1);
    }
    assert_eq!(search.steps(), 400);
    let (out, _) = search.finish().unwrap();
    assert_eq!(out.steps, 400);
    assert!(out.evaluated <= 400 && out.evaluated > 64);
    assert!(out.best_scores["toy"] >= 5.0, "evolution should find (almost) all-conv3x3 cells: {:?}", out.best_scores);
}

#[test]
fn tournaments_are_distinct_members() {
    let mut search = toy_search(64);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut ev = Evolution::new(EvolutionConfig { population: 64, tournament: 10 }).unwrap();
    ev.initialise(&mut search, &mut rng).unwrap();
    for _ in 0..500 {
        let mut t = ev.tournament(&mut rng);
        assert!(t.iter().all(|&i| i < 64));
        t.sort_unstable();
        t.dedup();
        assert_eq!(t.len(), 10);
    }
    // Whole-population tournament: a permutation.
    let ev2 =
        Evolution { config: EvolutionConfig { population: 64, tournament: 64 }, population: ev.population.clone() };
    let mut t = ev2.tournament(&mut rng);
    t.sort_unstable();
    assert_eq!(t, (0..64).collect::<Vec<_>>());
    assert!(Evolution::new(EvolutionConfig { population: 4, tournament: 5 }).is_err());
}

#[test]
fn mutation_changes_exactly_one_edge() {
    let sp = Space::nb201();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..500 {
        let a = sp.sample(&mut rng).unwrap();
        let b = sp.mutate(&a, &mut rng).unwrap();
        assert_eq!(edges_changed(&a, &b), 1);
    }
}

#[test]
fn reinforce_moves_probability_to_rewarded_ops() {
    let mut search = toy_search(1500);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let pol = run_with_policy(&mut search, &ReinforceConfig::default(), &mut rng).unwrap();
    let conv3 = 3; // index of nor_conv_3x3 in NB201_OPS
    for e in 0..6 {
        let p = pol.probabilities(e);
        assert!(p[conv3] > 0.3, "edge {e}: P(nor_conv_3x3) = {} (uniform 0.2), {p:?}", p[conv3]);
        assert!((0..5).filter(|&k| k != conv3).all(|k| p[k] < 0.2), "edge {e}: {p:?}");
    }
    assert_eq!(pol.argmax(), vec![conv3; 6]);
    assert_eq!(search.steps(), 1500);
}

fn trajectory(strategy: &str, seed: u64) -> (Vec<String>, String) {
    let mut s = toy_search(150);
    let st = match Strategy::parse(strategy).unwrap() {
        Strategy::Evolution(_) => Strategy::Evolution(EvolutionConfig { population: 16, tournament: 4 }),
        Strategy::Reinforce(_) => Strategy::Reinforce(ReinforceConfig { warmup: 20, ..Default::default() }),
        x => x,
    };
    st.run(&mut s, seed).unwrap();
    let (out, _) = s.finish().unwrap();
    // Distinct architectures in order of first evaluation, then the best-so-far trace.
    let mut archs: Vec<String> = out.distinct.iter().map(|(a, _)| a.text()).collect();
    archs.extend(out.trace.iter().map(|i| i.to_string()));
    (archs, out.best.text())
}

#[test]
fn strategies_are_deterministic_under_a_seed() {
    for st in ["random", "evolution", "reinforce"] {
        let a = trajectory(st, 42);
        let b = trajectory(st, 42);
        assert_eq!(a, b, "{st}");
        let c = trajectory(st, 43);
        assert_ne!(a.0, c.0, "{st}: another seed gives another trajectory");
    }
}

#[test]
fn cache_hits_count_as_steps_not_as_scored() {
    let calls = std::cell::Cell::new(0usize);
    let a = AnyArch::Nb201(Nb201Arch::from_code(7));
    let b = AnyArch::Nb201(Nb201Arch::from_code(8));
    let mut s = Search::new(
        Space::nb201(),
        Fitness::score("toy"),
        3,
        Cache::new(),
        Box::new(|x: &AnyArch| {
            calls.set(calls.get() + 1);
            Ok(toy(x))
        }),
    )
    .unwrap();
    s.evaluate(&a).unwrap();
    s.evaluate(&a).unwrap();
    s.evaluate(&b).unwrap();
    assert!(s.evaluate(&b).unwrap_err().to_string().contains("budget"));
    let (out, cache) = s.finish().unwrap();
    assert_eq!((out.steps, out.evaluated, out.scored), (3, 2, 2));
    assert_eq!(calls.get(), 2);
    assert_eq!(cache.len(), 2);
}

// ---------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------

mod common;
use common::assert_error;

/// `zsnas --threads 1 ARGS`.
fn zsnas(args: &[&str]) -> (i32, String, String) {
    let all: Vec<&str> = ["--threads", "1"].iter().copied().chain(args.iter().copied()).collect();
    common::zsnas(&all)
}

#[test]
fn cli_errors() {
    let base = ["search", "--batch-size", "8"];
    let with =
        |extra: &[&'static str]| -> Vec<&'static str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    assert_error(
        &with(&["--strategy", "annealing", "--fitness", "wrcor", "--budget", "5"]),
        "unknown strategy 'annealing'",
    );
    assert_error(&with(&["--strategy", "random", "--fitness", "magic", "--budget", "5"]), "unknown fitness 'magic'");
    assert_error(
        &with(&["--strategy", "random", "--fitness", "wrcor", "--budget", "0"]),
        "0 is not a count of at least 1",
    );
    assert_error(
        &with(&["--strategy", "evolution", "--fitness", "wrcor", "--budget", "5", "--tournament", "65"]),
        "--tournament",
    );
    assert_error(
        &with(&["--strategy", "random", "--fitness", "wrcor", "--budget", "5", "--flops-limit", "1e6"]),
        "only applies to --space mbv2",
    );
    assert_error(&with(&["--strategy", "random", "--fitness", "wrcor", "--budget", "5", "--jobs", "0"]), "--jobs");
    // A warm-up above half the budget is used as half the budget, and said so.
    let (code, _, err) =
        zsnas(&with(&["--strategy", "reinforce", "--fitness", "params", "--budget", "8", "--warmup", "50"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: the REINFORCE warm-up is at most half the budget: 4 random architectures, not --warmup 50"),
        "{err}"
    );
    // A strategy's flag given with another strategy is refused, not ignored.
    for (strategy, flag, value, wanted) in [
        ("random", "--population", "8", "evolution"),
        ("random", "--tournament", "3", "evolution"),
        ("random", "--warmup", "3", "reinforce"),
        ("evolution", "--warmup", "3", "reinforce"),
        ("reinforce", "--population", "8", "evolution"),
        ("reinforce", "--tournament", "3", "evolution"),
    ] {
        assert_error(
            &with(&["--strategy", strategy, "--fitness", "params", "--budget", "5", flag, value]),
            &format!("{flag} applies to --strategy {wanted}, not to --strategy {strategy}"),
        );
    }
}

/// `--jobs 2` scores random search's draws, evolution's initial population and
/// REINFORCE's warm-up two at a time: the history file is byte for byte that of
/// `--jobs 1` (both on one libtorch thread), and the results differ only in wall times.
#[test]
fn cli_jobs_give_the_search_of_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 3] = [
        &["--strategy", "random", "--runs", "2"],
        &["--strategy", "evolution", "--population", "6", "--tournament", "3"],
        &["--strategy", "reinforce"],
    ];
    for (c, extra) in cases.iter().enumerate() {
        let run = |jobs: &str| -> (String, Vec<serde_json::Value>) {
            let h = dir.path().join(format!("h{c}_{jobs}.jsonl"));
            let mut a = vec!["search", "--fitness", "sjw", "--budget", "12", "--batch-size", "8", "--seed", "3"];
            a.extend(["--format", "json", "--jobs", jobs, "--history", h.to_str().unwrap()]);
            a.extend(extra.iter().copied());
            let (code, out, err) = zsnas(&a);
            assert_eq!(code, 0, "{err}");
            let out: Vec<serde_json::Value> = out
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let o = v.as_object_mut().unwrap();
                    assert!(o.remove("seconds").is_some() && o.remove("scoring_seconds").is_some());
                    v
                })
                .collect();
            (std::fs::read_to_string(&h).unwrap(), out)
        };
        let (h1, out1) = run("1");
        let (h2, out2) = run("2");
        let runs = if c == 0 { 2 } else { 1 };
        assert_eq!(h1.lines().count(), 12 * runs, "{extra:?}");
        assert_eq!(out1.len(), runs);
        assert!(out1[0]["scored"].as_u64().unwrap() > 0);
        assert_eq!(h1, h2, "{extra:?}: the history differs with --jobs 2");
        assert_eq!(out1, out2, "{extra:?}: the result differs with --jobs 2");
        if c == 0 {
            // Resumed with --jobs 2 after a "kill" at step 5: the replayed steps come
            // from the cache, the rest is scored; the same file.
            let h = dir.path().join(format!("h{c}_2.jsonl"));
            std::fs::write(&h, h1.lines().take(5).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
            let (h3, out3) = run("2");
            assert_eq!(h1, h3, "the history resumed with --jobs 2 differs");
            assert_eq!(out1[1], out3[1]);
        }
    }
}

/// The result objects without timings.
fn strip_times(json_lines: &str) -> Vec<serde_json::Value> {
    json_lines
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("scoring_seconds");
            o.remove("scored");
            v
        })
        .collect()
}

#[test]
fn cli_resume_after_a_kill_gives_the_same_search() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.jsonl");
    let part = dir.path().join("part.jsonl");
    let args = |h: &str| -> Vec<String> {
        [
            "search",
            "--strategy",
            "evolution",
            "--fitness",
            "sjw",
            "--budget",
            "16",
            "--population",
            "6",
            "--tournament",
            "3",
            "--batch-size",
            "8",
            "--seed",
            "3",
            "--format",
            "json",
            "--history",
            h,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a1 = args(full.to_str().unwrap());
    let (code, out1, err) = zsnas(&a1.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&full).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 16);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    for k in ["run", "step", "arch", "scores", "best_so_far"] {
        assert!(first.get(k).is_some(), "history line lacks {k}: {first}");
    }
    assert!(first["best_so_far"].get("truth").unwrap().is_number());
    // "Kill" after 8 steps (plus a torn half line), then resume.
    let mut cut = lines[..8].join("\n");
    cut.push('\n');
    cut.push_str(&lines[8][..lines[8].len() / 2]);
    std::fs::write(&part, cut).unwrap();
    let a2 = args(part.to_str().unwrap());
    let (code, out2, err) = zsnas(&a2.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resuming"), "{err}");
    assert_eq!(strip_times(&out1), strip_times(&out2));
    let resumed = std::fs::read_to_string(&part).unwrap();
    assert_eq!(resumed.lines().count(), 16, "budget lines, no duplicates");
    assert_eq!(resumed, text, "the resumed history equals the uninterrupted one");
    let v: serde_json::Value = serde_json::from_str(out1.lines().next().unwrap()).unwrap();
    assert!(v["evaluated"].as_u64().unwrap() <= 16);
    assert!(v["best"]["truth"].is_number() && v["best"]["index"].is_number());
    // A complete history replays without appending; another seed is refused.
    let (code, out3, err) = zsnas(&a2.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert_eq!(strip_times(&out1), strip_times(&out3));
    assert_eq!(std::fs::read_to_string(&part).unwrap().lines().count(), 16);
    let mut a4 = a2.clone();
    let i = a4.iter().position(|s| s == "--seed").unwrap();
    a4[i + 1] = "4".into();
    assert_error(&a4.iter().map(String::as_str).collect::<Vec<_>>(), "seed");
}

#[test]
fn cli_reinforce_runs_table_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("curve");
    let (code, out, err) = zsnas(&[
        "search",
        "--strategy",
        "reinforce",
        "--fitness",
        "synflow",
        "--budget",
        "8",
        "--warmup",
        "3",
        "--runs",
        "2",
        "--batch-size",
        "8",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("run 0 (seed 0)") && out.contains("run 1 (seed 1)"), "{out}");
    assert!(out.contains("rank") && out.contains("of 15625"), "{out}");
    assert!(out.contains("found accuracy over 2 runs") && out.contains('±'), "{out}");
    assert!(out.contains("scoring"), "{out}");
    for ext in ["png", "svg"] {
        assert!(std::fs::metadata(dir.path().join(format!("curve.{ext}"))).unwrap().len() > 0);
    }
    // --no-truth: truth null in JSON.
    let (code, out, err) = zsnas(&[
        "search",
        "--strategy",
        "random",
        "--fitness",
        "vote:synflow,params",
        "--budget",
        "3",
        "--batch-size",
        "8",
        "--no-truth",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["best"]["truth"].is_null(), "{v}");
    assert!(v["evaluated"].as_u64().unwrap() >= 1);
    assert!(v["scoring_seconds"].as_f64().unwrap() <= v["seconds"].as_f64().unwrap());
}

#[test]
fn cli_precomputed_scores_are_reused_completed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("sjw.jsonl");
    let wr = dir.path().join("wrcor.jsonl");
    let base = [
        "search",
        "--strategy",
        "random",
        "--budget",
        "6",
        "--batch-size",
        "8",
        "--seed",
        "3",
        "--score-seed",
        "2",
        "--format",
        "json",
    ];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        let (code, out, err) = zsnas(&a);
        assert_eq!(code, 0, "{a:?}: {err}");
        (out, err)
    };
    let scored = |out: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        v["scored"].as_u64().unwrap()
    };
    // Reference: an sjw search that scores everything itself, writing its history.
    let (plain, _) = run(&["--fitness", "sjw", "--history", hist.to_str().unwrap()]);
    assert!(scored(&plain) >= 1);
    // The history as precomputed scores: nothing is scored again, same result.
    let (again, err) = run(&["--fitness", "sjw", "--scores", hist.to_str().unwrap()]);
    assert_eq!(scored(&again), 0, "{err}");
    assert_eq!(strip_times(&plain), strip_times(&again));
    // A wrcor-only fitness takes its subset of those scores.
    let (w, _) = run(&["--fitness", "wrcor", "--scores", hist.to_str().unwrap()]);
    assert_eq!(scored(&w), 0);
    // Partial scores (wrcor only, from `zsnas score`): synflow and jacob_cov are computed,
    // and the search is the same as the plain one.
    let archs: Vec<String> = std::fs::read_to_string(&hist)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["arch"].as_str().unwrap().to_string())
        .collect();
    let mut sa =
        vec!["score", "--proxies", "wrcor", "--seed", "2", "--batch-size", "8", "--output", wr.to_str().unwrap()];
    for a in &archs {
        sa.extend(["--arch", a.as_str()]);
    }
    let (code, _, err) = zsnas(&sa);
    assert_eq!(code, 0, "{err}");
    let (part, err) = run(&["--fitness", "sjw", "--scores", wr.to_str().unwrap()]);
    assert!(err.contains("with some"), "{err}");
    assert_eq!(scored(&part), scored(&plain), "partial entries are completed by scoring");
    let (p, q) = (&strip_times(&plain)[0]["best"], &strip_times(&part)[0]["best"]);
    assert_eq!(p["arch"], q["arch"]);
    for k in ["wrcor", "synflow", "jacob_cov"] {
        let (x, y) = (p["scores"][k].as_f64().unwrap(), q["scores"][k].as_f64().unwrap());
        assert!((x - y).abs() <= 1e-9 * x.abs(), "{k}: {x} vs {y}");
    }
    // Scores from another scoring setup are refused, naming the file.
    let mut bad: Vec<&str> = base.to_vec();
    let i = bad.iter().position(|s| *s == "--score-seed").unwrap();
    bad[i + 1] = "5";
    bad.extend(["--fitness", "sjw", "--scores", hist.to_str().unwrap()]);
    assert_error(&bad, "sjw.jsonl:1: scored with seed 2, but this run has seed 5");
    // A missing file is a clear error.
    let missing = dir.path().join("none.jsonl");
    let mut m: Vec<&str> = base.to_vec();
    m.extend(["--fitness", "wrcor", "--scores", missing.to_str().unwrap()]);
    assert_error(&m, "none.jsonl");
}

/// A REINFORCE history extended to a larger --budget replays other warm-up draws when the
/// warm-up follows the budget (min(--warmup, budget/2)): the error says so, and giving the
/// warm-up the file was written with extends it.
#[test]
fn reinforce_extended_budget_names_the_warmup() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("r.jsonl");
    let h = h.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args =
            vec!["--threads", "1", "search", "--strategy", "reinforce", "--fitness", "params_live", "--history", h];
        args.extend(extra);
        common::zsnas(&args)
    };
    let (code, _, err) = run(&["--budget", "20"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["--budget", "40"]);
    assert_ne!(code, 0);
    assert!(err.contains("REINFORCE's warm-up is min(--warmup, --budget/2), 20 random architectures here"), "{err}");
    let (code, out, err) = run(&["--budget", "40", "--warmup", "10"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("in 40 steps (20 scored in this run, 20 from the cache)"), "{out}");
}
