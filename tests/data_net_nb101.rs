//! The NAS-Bench-101 network: parameter counts against the benchmark's recorded
//! `trainable_parameters`, forward shapes, ReLU-site layer indices, names and init.

use std::rc::Rc;
use tch::{Device, Kind, Tensor};
use zsnas::net::model::{Builder, Model};
use zsnas::net::nb101::Nb101Net;
use zsnas::net::recorder::{Mode, RecordSpec, Recorder};
use zsnas::space::nb101::{load_records, Nb101Record, Nb101Spec};

fn records() -> Vec<Nb101Record> {
    load_records(zsnas::data::shared_data_file("nb101/nb101_sample200.json")).unwrap()
}

fn builder(spec: &Nb101Spec) -> Builder {
    let spec = spec.clone();
    Rc::new(move |p| Box::new(Nb101Net::new(p, &spec, 10)))
}

#[test]
fn param_counts_match_benchmark() {
    let recs = records();
    assert!(recs.len() >= 30);
    for (i, r) in recs.iter().take(30).enumerate() {
        let m = Model::new(builder(&r.spec), Device::Cpu, 0);
        let n = m.param_count() as u64;
        assert_eq!(n, r.spec.trainable_parameters(10), "record {i} ({})", r.hash);
        if let Some(tp) = r.trainable_parameters {
            assert_eq!(n, tp, "record {i} ({}): benchmark count", r.hash);
        }
    }
}

fn check_forward(spec: &Nb101Spec) {
    let m = Model::new(builder(spec), Device::Cpu, 1);
    tch::manual_seed(5);
    let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let mut rec =
        Recorder::new(RecordSpec { relu_inputs: true, relu_grads: true, layer_outputs: true, ..Default::default() });
    let f = m.net.features(&x, &mut rec);
    assert_eq!(f.size(), vec![2, 512, 8, 8]);
    let y = m.net.head(&f, &mut rec);
    assert_eq!(y.size(), vec![2, 10]);
    assert!(bool::try_from(y.isfinite().all()).unwrap(), "non-finite logits");
    // layer indices: stem 0, cells 1-3, 5-7, 9-11 (4 and 8 are the max pools)
    let allowed = [0usize, 1, 2, 3, 5, 6, 7, 9, 10, 11];
    assert!(rec.relus.iter().all(|s| allowed.contains(&s.layer)));
    assert_eq!(rec.relus[0].layer, 0);
    assert_eq!(rec.relus.last().unwrap().layer, 11);
    for l in [1usize, 2, 3, 5, 6, 7, 9, 10, 11] {
        assert!(rec.relus.iter().any(|s| s.layer == l), "no ReLU in layer {l}");
    }
    // exactly one final site, the last one; no wrapped sites
    assert_eq!(rec.relus.iter().filter(|s| s.is_final).count(), 0);
    assert!(!rec.relus.last().unwrap().is_final);
    assert!(rec.relus.iter().all(|s| !s.wrapped));
    // one recorded output per conv plus the classifier
    let convs = m.weights().iter().filter(|(_, t)| t.dim() == 4).count();
    assert_eq!(rec.layers.len(), convs + 1);
    // gradients reach the stem through every cell
    y.sum(Kind::Float).backward();
    let g = m.vs.variables()["layers.0.conv_bn_relu.0.weight"].grad();
    assert!(g.defined() && bool::try_from(g.isfinite().all()).unwrap());
    assert!(f64::try_from(g.abs().sum(Kind::Double)).unwrap() > 0.0);
    // eval-mode BN and the plain forward work too
    let mut rec = Recorder::plain(Mode { bn: true, train: false });
    let y2 = m.net.forward(&x, &mut rec);
    assert!(bool::try_from(y2.isfinite().all()).unwrap());
}

#[test]
fn forward_shapes_and_sites() {
    let recs = records();
    check_forward(&recs[0].spec);
    check_forward(&recs[1].spec);
}

#[test]
fn special_cells() {
    // input → output only (a single projection), and a cell whose last vertex is a max
    // pool with an input → output edge added to a concatenation.
    let s1 = Nb101Spec::parse_text("input,output|01|00").unwrap();
    let s2 = Nb101Spec::parse_text("input,conv3x3,conv1x1,maxpool,output|01101|00011|00001|00001|00000").unwrap();
    for s in [s1, s2] {
        let m = Model::new(builder(&s), Device::Cpu, 2);
        assert_eq!(m.param_count() as u64, s.trainable_parameters(10));
        let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
        let mut rec = Recorder::new(RecordSpec { relu_inputs: true, ..Default::default() });
        let y = m.net.forward(&x, &mut rec);
        assert_eq!(y.size(), vec![2, 10]);
        assert!(bool::try_from(y.isfinite().all()).unwrap());
        assert!(!rec.relus.last().unwrap().is_final);
        assert_eq!(rec.relus.iter().filter(|s| s.is_final).count(), 0);
    }
}

#[test]
fn names_and_reference_init() {
    let s = Nb101Spec::parse_text("input,conv3x3,conv1x1,maxpool,output|01101|00011|00001|00001|00000").unwrap();
    let m = Model::new(builder(&s), Device::Cpu, 0);
    let vars = m.vs.variables();
    for name in [
        "layers.0.conv_bn_relu.0.weight",
        "layers.0.conv_bn_relu.1.running_var",
        "layers.1.vertex_op.1.conv3x3.conv_bn_relu.0.weight",
        "layers.1.vertex_op.2.conv1x1.conv_bn_relu.1.bias",
        "layers.1.input_op.1.conv_bn_relu.0.weight",
        "layers.11.input_op.4.conv_bn_relu.0.weight",
        "classifier.weight",
        "classifier.bias",
    ] {
        assert!(vars.contains_key(name), "missing {name}");
    }
    assert!(!vars.keys().any(|k| k.starts_with("layers.4.") || k.starts_with("layers.8.")));
    // _initialize_weights: conv N(0, sqrt(2/(k*k*out))), linear N(0, 0.01), bias 0
    let w = &vars["layers.5.vertex_op.1.conv3x3.conv_bn_relu.0.weight"];
    let sd = f64::try_from(w.std(true)).unwrap();
    let want = (2.0f64 / (9.0 * w.size()[0] as f64)).sqrt();
    assert!((sd / want - 1.0).abs() < 0.02, "std {sd} vs {want}");
    let sd = f64::try_from(vars["classifier.weight"].std(true)).unwrap();
    assert!((sd / 0.01 - 1.0).abs() < 0.05, "classifier std {sd}");
    assert_eq!(f64::try_from(vars["classifier.bias"].abs().sum(Kind::Double)).unwrap(), 0.0);
}
