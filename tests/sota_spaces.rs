//! AZ-NAS, ZiCo and SWAP on NAS-Bench-101 and the MobileNetV2-like space (block outputs as
//! AZ-NAS's features), and MeCo's "only defined for nb201" error there. The values have no
//! golden reference: these tests check that the proxies run and give numbers of the right
//! kind.

use std::rc::Rc;
use tch::{Device, Kind, Tensor};
use zsnas::data::batch::Batch;
use zsnas::net::mbv2::Mbv2Net;
use zsnas::net::model::{Builder, Model};
use zsnas::net::nb101::Nb101Net;
use zsnas::net::recorder::{RecordSpec, Recorder};
use zsnas::proxy::init::Init;
use zsnas::proxy::{az_nas, compute, swap, zico, Proxy, ProxyOptions};
use zsnas::space::mbv2::Mbv2Arch;
use zsnas::space::nb101::Nb101Spec;

const MBV2: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";

fn batch(n: i64, res: i64) -> Batch {
    tch::manual_seed(7);
    Batch {
        images: Tensor::randn([n, 3, res, res], (Kind::Float, Device::Cpu)),
        labels: Tensor::randint(10, [n], (Kind::Int64, Device::Cpu)),
    }
}

fn small_options(n: i64) -> ProxyOptions {
    ProxyOptions {
        az: az_nas::AzOptions { batch_size: Some(n), ..Default::default() },
        zico: zico::ZicoOptions { batches: 2, batch_size: None },
        swap: swap::SwapOptions { repeats: 2, batch_size: Some(n), init: Init::Gaussian, ..Default::default() },
        ..Default::default()
    }
}

fn check_runs(m: &Model, b: &Batch, n_features: usize) {
    tch::set_num_threads(2);
    // One block feature per block.
    let mut rec = Recorder::new(RecordSpec { features: true, ..Default::default() });
    let _ = tch::no_grad(|| m.net.features(&b.images, &mut rec));
    assert_eq!(rec.features.len(), n_features);

    let proxies = [
        Proxy::AzExpressivity,
        Proxy::AzProgressivity,
        Proxy::AzTrainability,
        Proxy::AzComplexity,
        Proxy::Zico,
        Proxy::Swap,
    ];
    let s = compute(m, b, &proxies, &small_options(b.len() as i64)).unwrap();
    for p in proxies {
        let v = s.values[p.name()];
        println!("{:18} {v}", p.name());
        assert!(v.is_finite() || v == f64::NEG_INFINITY, "{}: {v}", p.name());
    }
    assert!(s.values["az_complexity"] > 0.0 && s.values["swap"] >= 1.0);
    let err = compute(m, b, &[Proxy::Meco], &ProxyOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "proxy meco is only defined for nb201 (yet)");
    let one = Batch { images: b.images.narrow(0, 0, 1), labels: b.labels.narrow(0, 0, 1) };
    let err = compute(m, &one, &[Proxy::Zico], &ProxyOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "zico splits the batch into 2 parts of at least 1 sample each and needs a batch of at least 2, the batch has 1"
    );
    let parts =
        |bs| ProxyOptions { zico: zico::ZicoOptions { batches: 2, batch_size: Some(bs) }, ..Default::default() };
    let err = compute(m, &one, &[Proxy::Zico], &parts(1)).unwrap_err();
    assert_eq!(err.to_string(), "zico needs 2 parts of 1 sample(s) (2 in all), the batch has 1");
    let err = compute(m, &one, &[Proxy::Zico], &parts(0)).unwrap_err();
    assert_eq!(err.to_string(), "zico needs parts of at least 1 sample, got 0");
}

#[test]
fn nb101_runs_az_zico_swap() {
    let spec = Nb101Spec::parse_text("input,conv3x3,conv1x1,maxpool,output|01101|00011|00001|00001|00000").unwrap();
    let b: Builder = Rc::new(move |p| Box::new(Nb101Net::new(p, &spec, 10)));
    let m = Model::new(b, Device::Cpu, 0);
    // stem + 9 cells
    check_runs(&m, &batch(4, 32), 10);
}

#[test]
fn mbv2_runs_az_zico_swap() {
    let arch = Mbv2Arch::parse(&format!("{MBV2}@32")).unwrap();
    let sublayers: usize = arch.stages.iter().map(|s| s.layers).sum();
    let b: Builder = {
        let arch = arch.clone();
        Rc::new(move |p| Box::new(Mbv2Net::try_new(p, &arch, 10).unwrap()))
    };
    let m = Model::new(b, Device::Cpu, 0);
    // stem + every sub-layer
    check_runs(&m, &batch(4, 32), 1 + sublayers);
}
