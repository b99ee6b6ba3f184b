//! The MobileNetV2-like network: parameter counts and MACs against the analytic counters
//! of `space::mbv2`, forward shapes with input resizing, ReLU-site layer indices, names.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::rc::Rc;
use tch::{Device, Kind, Tensor};
use zsnas::net::mbv2::{Mbv2Net, MBV2_HEAD_LAYER};
use zsnas::net::model::{Builder, Model};
use zsnas::net::recorder::{Mode, RecordSpec, Recorder};
use zsnas::space::mbv2::{random_arch, Mbv2Arch, DEFAULT_FLOPS_LIMIT};

const MBV2: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
const A600: &str = "SuperConvK3BNRELU(3,48,2,1)SuperResIDWE2K7(48,32,2,40,2)SuperResIDWE2K7(32,32,2,48,3)SuperResIDWE6K7(32,64,1,40,3)SuperResIDWE6K7(64,88,2,40,4)SuperResIDWE6K7(88,104,1,56,6)SuperResIDWE6K5(104,152,2,192,6)SuperResIDWE6K5(152,240,1,136,2)SuperConvK1BNRELU(240,1264,1,1)";

fn builder(arch: &Mbv2Arch, classes: i64) -> Builder {
    let arch = arch.clone();
    Rc::new(move |p| Box::new(Mbv2Net::try_new(p, &arch, classes).unwrap()))
}

/// MACs of one image at the arch's resolution, from the recorded Conv/Linear outputs
/// (as `proxy::counts::flops`: Σ output elements × fan-in).
fn recorded_macs(m: &Model, res: i64) -> u64 {
    tch::no_grad(|| {
        let x = Tensor::zeros([1, 3, res, res], (Kind::Float, Device::Cpu));
        let mut rec = Recorder::new(RecordSpec { layer_outputs: true, ..Default::default() });
        rec.mode = Mode { bn: true, train: false };
        let y = m.net.forward(&x, &mut rec);
        assert_eq!(y.size(), vec![1, 1000]);
        rec.layers.iter().map(|l| l.output.numel() as u64 * l.fan_in as u64).sum()
    })
}

#[test]
fn params_and_flops_match_counters() {
    for (s, params) in [(MBV2, 4_465_880u64), (A600, 10_807_432)] {
        let arch = Mbv2Arch::parse_with_resolution(s, 224).unwrap();
        assert_eq!(arch.params(1000), params);
        let m = Model::new(builder(&arch, 1000), Device::Cpu, 0);
        assert_eq!(m.param_count() as u64, params, "{s}");
        // Mbv2Arch::flops counts every conv (SE and shortcut included) plus the classifier,
        // exactly what the recorded layer outputs give.
        assert_eq!(recorded_macs(&m, 224), arch.flops(1000), "{s}");
    }
}

#[test]
fn random_archs_params_and_flops() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..2 {
        let arch = random_arch(&mut rng, DEFAULT_FLOPS_LIMIT).unwrap();
        let m = Model::new(builder(&arch, 1000), Device::Cpu, 0);
        assert_eq!(m.param_count() as u64, arch.params(1000), "{arch}");
        assert_eq!(recorded_macs(&m, arch.resolution as i64), arch.flops(1000), "{arch}");
    }
}

#[test]
fn forward_resized_input() {
    let arch = Mbv2Arch::parse(&format!("{MBV2}@64")).unwrap();
    let m = Model::new(builder(&arch, 1000), Device::Cpu, 1);
    let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let mut rec =
        Recorder::new(RecordSpec { relu_inputs: true, relu_grads: true, layer_outputs: true, ..Default::default() });
    let f = m.net.features(&x, &mut rec);
    // 64 → 32 (stem) → 4 stride-2 stages → 2
    assert_eq!(f.size(), vec![2, 1280, 2, 2]);
    let y = m.net.head(&f, &mut rec);
    assert_eq!(y.size(), vec![2, 1000]);
    assert!(bool::try_from(y.isfinite().all()).unwrap(), "non-finite logits");
    // stem 0, stages 1..=7, head 8 (final)
    assert_eq!(rec.relus[0].layer, 0);
    let last = rec.relus.last().unwrap();
    assert_eq!((last.layer, last.is_final), (MBV2_HEAD_LAYER, false));
    assert_eq!(rec.relus.iter().filter(|s| s.is_final).count(), 0);
    assert!(rec.relus.iter().all(|s| !s.wrapped && s.layer <= MBV2_HEAD_LAYER));
    // 4 ReLUs per sub-layer (expand, depthwise, SE, after the addition)
    let sublayers: usize = arch.stages.iter().map(|s| s.layers).sum();
    assert_eq!(rec.relus.len(), 2 + 4 * sublayers);
    for (i, st) in arch.stages.iter().enumerate() {
        assert_eq!(rec.relus.iter().filter(|s| s.layer == i + 1).count(), 4 * st.layers);
    }
    assert_eq!(rec.layers.len(), arch.layer_plan().len() + 1);
    // gradients reach the stem
    y.sum(Kind::Float).backward();
    let g = m.vs.variables()["module_list.0.module_list.0.netblock.weight"].grad();
    assert!(g.defined() && bool::try_from(g.isfinite().all()).unwrap());
    assert!(f64::try_from(g.abs().sum(Kind::Double)).unwrap() > 0.0);
    // same size input: no resize; eval mode
    let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    let mut rec = Recorder::plain(Mode { bn: true, train: false });
    let y = m.net.forward(&x, &mut rec);
    assert_eq!(y.size(), vec![2, 1000]);
    assert!(bool::try_from(y.isfinite().all()).unwrap());
}

#[test]
fn names_and_validation() {
    let arch = Mbv2Arch::parse(&format!("{MBV2}@32")).unwrap();
    let m = Model::new(builder(&arch, 10), Device::Cpu, 0);
    let vars = m.vs.variables();
    for name in [
        "module_list.0.module_list.0.netblock.weight",
        "module_list.0.module_list.1.netblock.running_mean",
        "module_list.1.module_list.0.module_list.0.netblock.weight",
        "module_list.1.module_list.0.module_list.3.netblock.weight",
        "module_list.1.module_list.0.module_list.6.netblock.1.weight",
        "module_list.1.module_list.0.module_list.6.netblock.5.bias",
        "module_list.1.module_list.0.module_list.8.netblock.weight",
        "module_list.1.module_list.0.proj.0.bias",
        "module_list.1.module_list.0.proj.1.weight",
        "module_list.4.module_list.6.module_list.7.netblock.weight",
        "module_list.8.module_list.1.netblock.weight",
        "fc_linear.netblock.weight",
        "fc_linear.netblock.bias",
    ] {
        assert!(vars.contains_key(name), "missing {name}");
    }
    // identity shortcuts after the first sub-layer
    assert!(!vars.contains_key("module_list.4.module_list.2.proj.0.weight"));
    // depthwise weight [d, 1, k, k]
    assert_eq!(vars["module_list.2.module_list.0.module_list.3.netblock.weight"].size(), vec![96, 1, 3, 3]);
    let mut bad = arch.clone();
    bad.stages[3].stride = 0;
    let vs = tch::nn::VarStore::new(Device::Cpu);
    assert!(Mbv2Net::try_new(&vs.root(), &bad, 10).is_err());
}
