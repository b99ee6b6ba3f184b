//! The default ranker's pieces through the CLI and the library: canonical cells, live
//! counts, rank aggregation as a search fitness, and correlate's non-finite policy. Fast
//! tier: embedded data only.

mod common;
use common::zsnas;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zsnas::proxy::ScoreMap;
use zsnas::search::{Cache, Fitness, Search, Strategy};
use zsnas::space::nb201::{Nb201Arch, Nb201Op};
use zsnas::space::{AnyArch, Space, SpaceKind};

/// Node 1 is fed only by `none`, so the conv edge 2←1 and the skip edge 3←1 are dead.
const DEAD: &str = "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|";
const CANON: &str = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|";

fn lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_cell_with_a_dead_conv_edge_scores_as_its_canonical_cell() {
    let base = ["score", "--batch-size", "16", "--proxies", "wrcor,jacob_cov,params,params_live,flops_live"];
    let (c, out, err) = zsnas(&[&base[..], &["--arch", DEAD, "--arch", CANON]].concat());
    assert_eq!(c, 0, "{err}");
    let v = lines(&out);
    assert_eq!(v[0]["arch"], DEAD);
    assert_eq!(v[0]["canonical"], CANON);
    assert!(v[1].get("canonical").is_none(), "a canonical cell carries no second string");
    assert_eq!(v[0]["scores"], v[1]["scores"], "same class, same scores (same seed from the canonical text)");
    // Raw scoring keeps the dead edge: more parameters, the same live parameters.
    let (c, out, err) = zsnas(&[&base[..], &["--arch", DEAD, "--raw"]].concat());
    assert_eq!(c, 0, "{err}");
    let raw = &lines(&out)[0];
    assert!(raw.get("canonical").is_none());
    let p = |v: &Value, k: &str| v["scores"][k].as_f64().unwrap();
    assert!(p(raw, "params") > p(&v[1], "params"));
    // The dead 3x3 conv (weights 9·C², BN 2·C) of the 5 normal cells of each stage (C = 16, 32, 64).
    let dead: i64 = [16i64, 32, 64].iter().map(|c| 5 * (9 * c * c + 2 * c)).sum();
    assert_eq!(p(raw, "params") - p(&v[1], "params"), dead as f64);
    assert_eq!(p(raw, "params_live"), p(&v[1], "params"));
    assert_eq!(p(raw, "flops_live"), p(&v[1], "flops_live"));
}

#[test]
fn params_live_equals_params_on_canonical_cells() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut args: Vec<String> =
        ["score", "--batch-size", "8", "--proxies", "params,params_live", "--raw"].map(String::from).to_vec();
    let mut dead = 0;
    for _ in 0..8 {
        let a = Nb201Arch::sample(&mut rng);
        dead += (a.canonical() != a) as usize;
        args.push("--arch".into());
        args.push(a.canonical().arch_str());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (c, out, err) = zsnas(&refs);
    assert_eq!(c, 0, "{err}");
    for v in lines(&out) {
        assert_eq!(v["scores"]["params"], v["scores"]["params_live"], "{v}");
    }
    assert!(dead > 0, "the sample should hold cells with dead edges");
}

/// Toy scores: two proxies with opposite preferences; the rank aggregate trades them off.
fn toy(a: &AnyArch) -> ScoreMap {
    let x = match a {
        AnyArch::Nb201(x) => x,
        _ => unreachable!(),
    };
    let n3 = x.ops.iter().filter(|o| **o == Nb201Op::NorConv3x3).count() as f64;
    let n1 = x.ops.iter().filter(|o| **o == Nb201Op::NorConv1x1).count() as f64;
    [("synflow".to_string(), n3), ("params_live".to_string(), n1 + n3)].into_iter().collect()
}

#[test]
fn aggregate_fitness_ranks_against_everything_evaluated() {
    let f = Fitness::parse("logrank:synflow,params_live", SpaceKind::Nb201).unwrap();
    for strategy in ["random", "evolution"] {
        let mut s =
            Search::new(Space::nb201(), f.clone(), 120, Cache::new(), Box::new(|a: &AnyArch| Ok(toy(a)))).unwrap();
        let st = match Strategy::parse(strategy).unwrap() {
            Strategy::Evolution(mut c) => {
                c.population = 20;
                c.tournament = 5;
                Strategy::Evolution(c)
            }
            x => x,
        };
        st.run(&mut s, 0).unwrap();
        let (out, _) = s.finish().unwrap();
        // The winner is the maximum of the aggregate over every distinct architecture seen.
        let pop: Vec<ScoreMap> = out.distinct.iter().map(|(_, m)| m.clone()).collect();
        let agg = match &f {
            Fitness::Aggregate(g) => g.values(&pop),
            _ => unreachable!(),
        };
        let best = agg.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let i = out.distinct.iter().position(|(a, _)| *a == out.best).unwrap();
        assert_eq!(agg[i], best, "{strategy}");
        assert!(toy(&out.best)["synflow"] >= 4.0, "{strategy}: {}", out.best.text());
    }
    let e = Fitness::parse("-rank", SpaceKind::Nb201).unwrap_err().to_string();
    assert!(e.contains("not a vote or an aggregate"), "{e}");
}

#[test]
fn search_defaults_to_the_rank_aggregate() {
    let (c, out, err) =
        zsnas(&["search", "--strategy", "random", "--budget", "4", "--batch-size", "16", "--format", "json"]);
    assert_eq!(c, 0, "{err}");
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["fitness"], "rank");
    let scores = v["best"]["scores"].as_object().unwrap();
    assert!(["jacob_cov", "params_live", "meco", "zen_nas"].iter().all(|k| scores.contains_key(*k)), "{v}");
}

#[test]
fn correlate_ranks_non_finite_scores_last_unless_told_to_drop_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.jsonl");
    // The best cell (index 6111, 94.37%) fails (-inf); the others rank in accuracy order.
    let cells = [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "\"-inf\""),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "1.0"),
        ("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|", "2.0"),
        ("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|", "3.0"),
    ];
    let text: String = cells
        .iter()
        .map(|(a, s)| format!("{{\"arch\":\"{a}\",\"scores\":{{\"wrcor\":{s}}},\"space\":\"nb201\"}}\n"))
        .collect();
    std::fs::write(&f, text).unwrap();
    let p = f.to_str().unwrap();
    let run = |extra: &[&str]| -> (Value, String) {
        let (c, out, err) = zsnas(&[&["correlate", "--scores", p, "--bootstrap", "0"][..], extra].concat());
        assert_eq!(c, 0, "{err}");
        (serde_json::from_str(out.lines().last().unwrap()).unwrap_or(Value::Null), out)
    };
    let (last, _) = run(&["--format", "json"]);
    assert_eq!(last["n"], 4);
    assert_eq!(last["n_nonfinite"], 1);
    // Ranks: score (best last) 1,2,3,4 against accuracy 4,1,2,3: Σd² = 12, ρ = 1 − 72/60.
    assert!((last["spearman"].as_f64().unwrap() + 0.2).abs() < 1e-12, "{last}");
    let (drop, _) = run(&["--format", "json", "--nonfinite", "drop"]);
    assert_eq!(drop["n"], 3);
    assert_eq!(drop["spearman"], 1.0);
    let (_, table) = run(&[]);
    assert!(table.contains("non-finite scores ranked last (--nonfinite last)"), "{table}");
    let (_, table) = run(&["--nonfinite", "drop"]);
    assert!(table.contains("dropped from ρ and τ (--nonfinite drop)"), "{table}");
}

/// A history written when `rank` had other members (its lines lack `meco`) is not replayed
/// into another search: the error names the missing proxy and says how to reuse the file.
#[test]
fn a_history_lacking_a_member_of_the_fitness_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.jsonl");
    let args =
        ["search", "--strategy", "random", "--budget", "3", "--batch-size", "8", "--history", h.to_str().unwrap()];
    let (c, _, err) = zsnas(&args);
    assert_eq!(c, 0, "{err}");
    let old: String = std::fs::read_to_string(&h)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["scores"].as_object_mut().unwrap().remove("meco");
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&h, old).unwrap();
    let (c, _, err) = zsnas(&args);
    assert_ne!(c, 0);
    assert!(err.contains("lack 'meco', which fitness 'rank' needs") && err.contains("--scores"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
