//! Golden parity of AZ-NAS, MeCo, ZiCo and SWAP with their official code on the nine
//! NAS-Bench-201 golden networks (`../shared/golden/nb201/sota`: README.md is the
//! specification, expected.json the values, inputs_sota.safetensors the extra inputs), in
//! both settings (A: the golden weights; B: the official initialisation and input protocol)
//! and the variants, with the README's suggested tolerances.
//!
//! The golden folder is required: the tests fail (never pass silently) when it is missing.
//! `GOLDEN_ONLY=a,c` restricts the architectures.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use tch::{Device, Kind, Tensor};
use zsnas::data::batch::Batch;
use zsnas::net::model::Model;
use zsnas::net::nb201::Nb201Net;
use zsnas::net::weights::load_state_dict;
use zsnas::proxy::init::{Init, Input};
use zsnas::proxy::{az_nas, compute, meco, swap, Proxy, ProxyOptions};
use zsnas::space::nb201::Nb201Arch;

/// `../shared/golden/nb201` (or `$ZSNAS_GOLDEN`); panics when the sota files are missing.
fn golden_dir() -> PathBuf {
    let dir = match std::env::var("ZSNAS_GOLDEN") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let readme = zsnas::data::shared_data_file("../golden/nb201/sota/README.md");
            readme.parent().unwrap().parent().unwrap().to_path_buf()
        }
    };
    for f in ["sota/expected.json", "sota/inputs_sota.safetensors", "inputs.safetensors"] {
        assert!(dir.join(f).exists(), "golden file {} is missing", dir.join(f).display());
    }
    dir
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

fn read(path: PathBuf) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path).unwrap().into_iter().collect()
}

struct Golden {
    exp: Value,
    images: Tensor,
    labels: Tensor,
    sota: HashMap<String, Tensor>,
}

impl Golden {
    fn load() -> Golden {
        tch::set_num_threads(2);
        let d = golden_dir();
        let exp = serde_json::from_str(&std::fs::read_to_string(d.join("sota/expected.json")).unwrap()).unwrap();
        let t = read(d.join("inputs.safetensors"));
        let sota = read(d.join("sota/inputs_sota.safetensors"));
        Golden { exp, images: t["images"].shallow_clone(), labels: t["labels"].shallow_clone(), sota }
    }

    fn batch(&self) -> Batch {
        Batch { images: self.images.shallow_clone(), labels: self.labels.shallow_clone() }
    }

    /// The golden batch followed by ZiCo's second batch (records 64..127).
    fn zico_batch(&self) -> Batch {
        Batch {
            images: Tensor::cat(&[&self.images, &self.sota["zico_batch2_images"]], 0),
            labels: Tensor::cat(&[&self.labels, &self.sota["zico_batch2_labels"]], 0),
        }
    }

    fn images_only(&self, key: &str) -> Batch {
        let x = self.sota[key].shallow_clone();
        let n = x.size()[0];
        Batch { images: x, labels: Tensor::zeros([n], (Kind::Int64, Device::Cpu)) }
    }

    /// (id, arch entry) for the architectures selected by `GOLDEN_ONLY`.
    fn archs(&self) -> Vec<(String, &Value)> {
        let only = std::env::var("GOLDEN_ONLY").ok();
        self.exp["archs"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(id, _)| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == id.as_str())))
            .map(|(id, a)| (id.clone(), a))
            .collect()
    }

    fn model(&self, a: &Value) -> Model {
        let arch = Nb201Arch::parse(a["arch_str"].as_str().unwrap()).unwrap();
        let b: zsnas::net::model::Builder = Rc::new(move |p| Box::new(Nb201Net::new(p, &arch, 16, 5, 10)));
        let mut m = Model::new(b, Device::Cpu, 0);
        load_state_dict(&mut m.vs, &golden_dir().join(a["weights_file"].as_str().unwrap())).unwrap();
        m
    }
}

/// A tolerance from the README.
#[derive(Clone, Copy, Debug)]
enum Tol {
    Rel(f64),
    Abs(f64),
    /// Absolute plus relative.
    AbsRel(f64, f64),
    Exact,
}

fn close(ours: f64, want: f64, tol: Tol) -> bool {
    if want.is_nan() {
        return ours.is_nan();
    }
    if want.is_infinite() || ours.is_infinite() {
        return ours == want;
    }
    let d = (ours - want).abs();
    match tol {
        Tol::Rel(r) => d <= r * want.abs(),
        Tol::Abs(a) => d <= a,
        Tol::AbsRel(a, r) => d <= a + r * want.abs(),
        Tol::Exact => ours == want,
    }
}

struct Report(Vec<String>);

impl Report {
    fn check(&mut self, what: &str, ours: f64, want: f64, tol: Tol) {
        let ok = close(ours, want, tol);
        println!("{what:32} ours {ours:<24e} golden {want:<24e} {}", if ok { "ok" } else { "FAIL" });
        if !ok {
            self.0.push(format!("{what}: ours {ours} golden {want} ({tol:?})"));
        }
    }
    fn finish(self) {
        assert!(self.0.is_empty(), "golden mismatches:\n{}", self.0.join("\n"));
    }
}

fn run(m: &Model, b: &Batch, proxies: &[Proxy], opts: &ProxyOptions) -> HashMap<String, f64> {
    compute(m, b, proxies, opts).unwrap().values.into_iter().collect()
}

#[test]
fn zico_golden_a_and_b() {
    let g = Golden::load();
    let mut r = Report(Vec::new());
    let opts = ProxyOptions::default();
    for (id, a) in g.archs() {
        let m = g.model(a);
        // A: images[0:32] then images[32:64]; B: the golden batch then records 64..127.
        for (setting, batch) in [("A", g.batch()), ("B", g.zico_batch())] {
            let v = run(&m, &batch, &[Proxy::Zico], &opts)["zico"];
            let want = num(&a[setting]["zico"]);
            let tol = if want == 0.0 { Tol::Exact } else { Tol::Rel(5e-2) };
            r.check(&format!("{id} zico {setting}"), v, want, tol);
        }
    }
    r.finish();
}

#[test]
fn swap_golden_a_a16_and_b() {
    let g = Golden::load();
    let mut r = Report(Vec::new());
    let keep = |bs: Option<i64>| ProxyOptions {
        swap: swap::SwapOptions { init: Init::Keep, repeats: 1, batch_size: bs, ..Default::default() },
        ..Default::default()
    };
    for (id, a) in g.archs() {
        let m = g.model(a);
        let v = run(&m, &g.batch(), &[Proxy::Swap], &keep(None))["swap"];
        r.check(&format!("{id} swap A"), v, num(&a["A"]["swap"]), Tol::Exact);
        let v = run(&m, &g.batch(), &[Proxy::Swap], &keep(Some(16)))["swap"];
        r.check(&format!("{id} swap A16"), v, num(&a["variants"]["swap_A16"]["swap"]), Tol::Exact);
        let counts = swap::counts(&m, &g.images_only("swap_images"), &swap::SwapOptions::default()).unwrap();
        let want: Vec<usize> = a["debug"]["swap"]["B_counts_per_repeat"]
            .as_array()
            .map(|v| v.iter().map(|x| x.as_u64().unwrap() as usize).collect())
            .unwrap_or_default();
        let diff: i64 = counts.iter().zip(&want).map(|(&x, &y)| (x as i64 - y as i64).abs()).sum();
        println!("{id} swap B per-repeat counts: total |difference| {diff} over {} repeats", counts.len());
        let v = run(&m, &g.images_only("swap_images"), &[Proxy::Swap], &ProxyOptions::default())["swap"];
        r.check(&format!("{id} swap B"), v, num(&a["B"]["swap"]), Tol::Abs(0.25));
    }
    r.finish();
}

const AZ: [Proxy; 4] = [Proxy::AzExpressivity, Proxy::AzProgressivity, Proxy::AzTrainability, Proxy::AzComplexity];

fn az_tol(p: Proxy) -> Tol {
    match p {
        Proxy::AzExpressivity => Tol::Rel(1e-5),
        Proxy::AzProgressivity => Tol::Abs(2e-5),
        Proxy::AzTrainability => Tol::Abs(1e-4),
        _ => Tol::Rel(1e-9),
    }
}

#[test]
fn az_nas_golden_a_b_and_a_real() {
    let g = Golden::load();
    let mut r = Report(Vec::new());
    let opts = |init: Init, input: Input| ProxyOptions {
        az: az_nas::AzOptions { init, input, ..Default::default() },
        ..Default::default()
    };
    let settings = [
        ("A", opts(Init::Keep, Input::Gaussian)),
        ("B", ProxyOptions::default()),
        ("az_A_real", opts(Init::Keep, Input::Real)),
    ];
    for (id, a) in g.archs() {
        let m = g.model(a);
        for (setting, o) in &settings {
            let got = run(&m, &g.batch(), &AZ, o);
            let want = if *setting == "az_A_real" { &a["variants"]["az_A_real"] } else { &a[*setting] };
            for p in AZ {
                r.check(&format!("{id} {} {setting}", p.name()), got[p.name()], num(&want[p.name()]), az_tol(p));
            }
        }
        // The per-feature entropies and per-block σ (setting A), to locate a mismatch.
        let s = az_nas::scores(&m, &g.batch(), &settings[0].1.az).unwrap();
        let dbg = &a["debug"]["az"]["A"];
        let ent: Vec<f64> = dbg["per_feature_entropy"].as_array().unwrap().iter().map(num).collect();
        let worst =
            s.entropies.iter().zip(&ent).map(|(x, y)| if x.is_nan() && y.is_nan() { 0.0 } else { (x - y).abs() });
        println!("{id} az A: largest per-feature entropy difference {:e}", worst.fold(0.0, f64::max));
    }
    r.finish();
}

#[test]
fn meco_golden_a_b_and_variants() {
    let g = Golden::load();
    let mut r = Report(Vec::new());
    let tol = Tol::AbsRel(5e-4, 1e-5);
    let opts = |f: fn(&mut meco::MecoOptions)| {
        let mut o = ProxyOptions::default();
        f(&mut o.meco);
        o
    };
    let a64 = opts(|m| m.batch_size = None);
    let randn64 = opts(|m| {
        m.input = Input::Gaussian;
        m.resolution = Some(64);
    });
    for (id, a) in g.archs() {
        let m = g.model(a);
        // The hook list: labels in firing order.
        let e = meco::entries(&m, &g.batch(), &Default::default()).unwrap();
        let labels: Vec<&str> = e.iter().map(|(l, _)| l.as_str()).collect();
        let want: Vec<&str> =
            a["debug"]["meco"]["labels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(labels, want, "{id}: MeCo hook list differs");
        let entries: Vec<f64> = a["debug"]["meco"]["entries_A"].as_array().unwrap().iter().map(num).collect();
        let worst = e.iter().zip(&entries).map(|((_, x), y)| (x - y).abs()).fold(0.0, f64::max);
        println!("{id} meco A: {} entries, largest entry difference {worst:e}", e.len());

        let v = run(&m, &g.batch(), &[Proxy::Meco], &ProxyOptions::default())["meco"];
        r.check(&format!("{id} meco A"), v, num(&a["A"]["meco"]), tol);
        let v = run(&m, &g.images_only("meco_image"), &[Proxy::Meco], &ProxyOptions::default())["meco"];
        r.check(&format!("{id} meco B"), v, num(&a["B"]["meco"]), tol);
        let v = run(&m, &g.batch(), &[Proxy::Meco], &a64)["meco"];
        r.check(&format!("{id} meco A64"), v, num(&a["variants"]["meco_A64"]["meco"]), tol);
        let v = run(&m, &g.batch(), &[Proxy::Meco], &randn64)["meco"];
        r.check(&format!("{id} meco B_randn64"), v, num(&a["variants"]["meco_B_randn64"]["meco"]), tol);
    }
    r.finish();
}

/// The random draws follow PyTorch's order: the AZ-NAS re-initialisation and input, SWAP's
/// first re-initialisation (`debug.rng_checks` of architecture a).
#[test]
fn rng_order_matches_pytorch() {
    let g = Golden::load();
    let a = &g.exp["archs"]["a"];
    let rc = &a["debug"]["rng_checks"];
    let sum = |t: &Tensor| t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
    let weight = |m: &Model, name: &str| m.vs.variables()[name].shallow_clone();

    // AZ-NAS B: Kaiming fan-in re-initialisation, then randn(64,3,32,32).
    let m = g.model(a);
    tch::manual_seed(0);
    zsnas::proxy::init::apply(&m, Init::KaimingFanIn);
    let x = Tensor::randn([64, 3, 32, 32], (Kind::Float, Device::Cpu));
    let ra = &rc["az_B"]["after_reinit"];
    assert_eq!(m.weights_in_module_order().len() as u64, ra["n_weight_draws"].as_u64().unwrap());
    assert!((sum(&weight(&m, "stem.0.weight")) - num(&ra["stem_conv_weight_sum_f64"])).abs() < 1e-9);
    assert!((sum(&weight(&m, "classifier.weight")) - num(&ra["classifier_weight_sum_f64"])).abs() < 1e-9);
    let all: f64 = m.weights_in_module_order().iter().map(|(_, w)| sum(w)).sum();
    assert!((all - num(&ra["all_weights_sum_f64"])).abs() < 1e-6, "all weights {all}");
    assert!((sum(&x) - num(&rc["az_B"]["gaussian_input"]["sum_f64"])).abs() < 1e-6);

    // The probes' +1 counts in setting A (randn input, then 17 probes from F_17 down).
    tch::manual_seed(0);
    let x = Tensor::randn([64, 3, 32, 32], (Kind::Float, Device::Cpu));
    assert!((sum(&x) - num(&rc["az_A"]["gaussian_input"]["sum_f64"])).abs() < 1e-6);
    for p in rc["az_A"]["probe_draws_in_order"].as_array().unwrap() {
        let shape: Vec<i64> = p["shape"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        let probe = (Tensor::ones(shape.as_slice(), (Kind::Float, Device::Cpu)) * 0.5).bernoulli();
        assert_eq!(sum(&probe) as u64, p["n_plus_one"].as_u64().unwrap());
    }

    // SWAP B: the first N(0,1) re-initialisation (every weight drawn depth + 1 times).
    let m = g.model(a);
    tch::manual_seed(0);
    zsnas::proxy::init::apply(&m, Init::Gaussian);
    let rs = &rc["swap_B_after_repeat0"];
    let names: Vec<String> = m.weights_in_module_order().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        zsnas::proxy::init::gaussian_draw_order(&names).len() as u64,
        rs["normal_calls_per_repeat"].as_u64().unwrap()
    );
    assert!((sum(&weight(&m, "stem.0.weight")) - num(&rs["after_repeat0_stem_conv_weight_sum"])).abs() < 1e-9);
    assert!((sum(&weight(&m, "classifier.weight")) - num(&rs["after_repeat0_classifier_weight_sum"])).abs() < 1e-9);
}
