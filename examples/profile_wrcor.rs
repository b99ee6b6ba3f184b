//! Where the time of one WRCor evaluation goes (build, pass, correlations) on the
//! all-`nor_conv_3x3` cell: `cargo run --release --example profile_wrcor`.
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
    {
        let m = build_model(nb201_builder(a, 10), tch::Device::Cpu, 0, None).unwrap();
        let r = run(&m, &b, Needs { relu_inputs: true, relu_grads: true, ..Default::default() });
        let _g = tch::no_grad_guard();
        for _ in 0..2 {
        let t = Instant::now();
        let mut n = 0; let mut d = 0;
        let mut seen = std::collections::HashSet::new();
        for s in &r.rec.relus { if seen.insert(s.key) { let c = zsnas::proxy::corr::corrcoef(&s.input); let _ = c.double_value(&[0,0]); n += 1; d += s.input.numel(); } }
        let t1 = t.elapsed().as_secs_f64();
        for g in r.relu_grads.iter().flatten() { let c = zsnas::proxy::corr::corrcoef(g); let _ = c.double_value(&[0,0]); n += 1; d += g.numel(); }
        let t2 = t.elapsed().as_secs_f64();
        println!("corr only: fwd {:.3} s, bwd {:.3} s, {} matrices, {} elements", t1, t2 - t1, n, d);
        }
    }
    // forward only
    let m = build_model(nb201_builder(a, 10), tch::Device::Cpu, 0, None).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let r = run(&m, &b, Needs { relu_inputs: true, ..Default::default() });
        println!("fwd only {:.3}", t.elapsed().as_secs_f64()); drop(r);
    }
}
