use std::time::Instant;
use tch::{Device, Kind, Tensor};
fn cl(x: &Tensor) -> Tensor { x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]) }
fn main() {
    tch::set_num_threads(2);
    for &(c, hw) in &[(16i64, 32i64), (32, 16), (64, 8)] {
        let w = Tensor::randn([c, c, 3, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        for mode in ["nchw", "nhwc"] {
            let x0 = Tensor::randn([64, c, hw, hw], (Kind::Float, Device::Cpu));
            let x = if mode == "nhwc" { cl(&x0) } else { x0 }.set_requires_grad(true);
            let wm = if mode == "nhwc" { cl(&w.detach()).set_requires_grad(true) } else { w.shallow_clone() };
            let mut tf = vec![]; let mut tb = vec![];
            for _ in 0..15 {
                let t = Instant::now();
                let y = x.conv2d(&wm, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
                let _ = y.sum(Kind::Float).double_value(&[]);
                tf.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let g = Tensor::run_backward(&[y.sum(Kind::Float)], &[&x], false, false);
                let _ = g[0].sum(Kind::Float).double_value(&[]);
                tb.push(t.elapsed().as_secs_f64() * 1e3);
            }
            tf.sort_by(|a, b| a.partial_cmp(b).unwrap()); tb.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!("c={c} hw={hw} {mode}: fwd {:.2} ms, bwd(input) {:.2} ms", tf[7], tb[7]);
        }
        let x = Tensor::randn([64, c, hw, hw], (Kind::Float, Device::Cpu));
        let mut t1 = vec![];
        for _ in 0..15 { let t = Instant::now(); let y = x.batch_norm(None::<Tensor>, None::<Tensor>, None::<Tensor>, None::<Tensor>, true, 0.1, 1e-5, false); let _ = y.sum(Kind::Float).double_value(&[]); t1.push(t.elapsed().as_secs_f64()*1e3); }
        t1.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("   bn fwd {:.2} ms", t1[7]);
    }
}
