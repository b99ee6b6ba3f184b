use std::time::Instant;
use zsnas::app::score::{build_model, nb201_builder};
use zsnas::data::load::{load_batch, BatchSpec, DataSource};
use zsnas::proxy::pass::{run, Needs};
use zsnas::proxy::wrcor::{score, CorrCache, Variant};
use zsnas::space::nb201::Nb201Arch;
fn main() {
    let a = Nb201Arch::parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|").unwrap();
    let b = load_batch(&DataSource::Embedded, &BatchSpec { batch_size: 64, seed: 0, augment: false }).unwrap();
    for it in 0..4 {
        let t = Instant::now();
        let m = build_model(nb201_builder(a, 10), tch::Device::Cpu, 0, None).unwrap();
        let t1 = t.elapsed().as_secs_f64();
        let r = run(&m, &b, Needs { relu_inputs: true, relu_grads: true, ..Default::default() });
        let t2 = t.elapsed().as_secs_f64();
        let mut c = CorrCache::default();
        let s = tch::no_grad(|| score(&r, Variant::Wrcor, &mut c));
        let t3 = t.elapsed().as_secs_f64();
        println!("it {it}: build {:.3} pass {:.3} corr+det {:.3} total {:.3} score {s}", t1, t2 - t1, t3 - t2, t3);
    }
    // forward only
    let m = build_model(nb201_builder(a, 10), tch::Device::Cpu, 0, None).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let r = run(&m, &b, Needs { relu_inputs: true, ..Default::default() });
        println!("fwd only {:.3}", t.elapsed().as_secs_f64()); drop(r);
    }
}
