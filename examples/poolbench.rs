//! Times libtorch's 3×3 average pooling (count_include_pad=False) against two exact
//! equivalents and checks they are bit-identical: `cargo run --release --example poolbench`.
use std::time::Instant;
use tch::{Device, Kind, Tensor};
fn seq9(x: &Tensor) -> Tensor {
    let s = x.size();
    let (h, w) = (s[2], s[3]);
    let p = x.constant_pad_nd([1, 1, 1, 1]);
    let mut acc: Option<Tensor> = None;
    for dh in 0..3 {
        for dw in 0..3 {
            let t = p.narrow(2, dh, h).narrow(3, dw, w);
            acc = Some(match acc {
                None => t,
                Some(a) => a + t,
            });
        }
    }
    acc.unwrap() / Tensor::ones([1, 1, h, w], (Kind::Float, Device::Cpu))
}
fn main() {
    tch::set_num_threads(2);
    for &(c, hw) in &[(16i64, 32i64), (32, 16), (64, 8)] {
        let x = Tensor::randn([64, c, hw, hw], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        for name in ["native", "seq9", "conv3x3", "cl"] {
            let wconv = Tensor::randn([c, c, 3, 3], (Kind::Float, Device::Cpu));
            let mut ts = vec![];
            for _ in 0..20 {
                let t = Instant::now();
                let y = match name {
                    "native" => x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>),
                    "seq9" => seq9(&x),
                    "cl" => x
                        .permute([0, 2, 3, 1])
                        .contiguous()
                        .permute([0, 3, 1, 2])
                        .avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
                        .contiguous(),
                    _ => x.conv2d(&wconv, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1),
                };
                let g = Tensor::run_backward(&[y.sum(Kind::Float)], &[&x], false, false);
                let _ = g[0].sum(Kind::Float).double_value(&[]);
                ts.push(t.elapsed().as_secs_f64() * 1e3);
            }
            ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!("c={c} hw={hw} {name}: median {:.2} ms (fwd+bwd)", ts[10]);
        }
        // On a channels-last batch (the layout of zsnas's channels-last passes): libtorch's
        // channels-last kernels against zsnas's (`src/net/avg_pool_channels_last.cpp`).
        let xc = zsnas::net::channels_last::to_channels_last(&x.detach()).set_requires_grad(true);
        let gc =
            zsnas::net::channels_last::to_channels_last(&Tensor::randn([64, c, hw, hw], (Kind::Float, Device::Cpu)));
        for name in ["libtorch channels-last", "zsnas channels-last"] {
            let mut ts = vec![];
            for _ in 0..20 {
                let t = Instant::now();
                let y = if name.starts_with("zsnas") {
                    zsnas::net::avg_pool_channels_last::avg_pool_3x3(&xc)
                } else {
                    xc.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
                };
                let g = Tensor::run_backward(&[(&y * &gc).sum(Kind::Float)], &[&xc], false, false);
                let _ = g[0].sum(Kind::Float).double_value(&[]);
                ts.push(t.elapsed().as_secs_f64() * 1e3);
            }
            ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!("c={c} hw={hw} {name}: median {:.2} ms (fwd+bwd)", ts[10]);
        }
        // exactness
        let a = x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
        let b = {
            let s = x.size();
            let (h, w) = (s[2], s[3]);
            let p = x.constant_pad_nd([1, 1, 1, 1]);
            let mut acc: Option<Tensor> = None;
            for dh in 0..3 {
                for dw in 0..3 {
                    let t = p.narrow(2, dh, h).narrow(3, dw, w);
                    acc = Some(match acc {
                        None => t,
                        Some(a) => a + t,
                    });
                }
            }
            let cnt = |n: i64| -> Vec<f32> { (0..n).map(|i| if i == 0 || i == n - 1 { 2.0 } else { 3.0 }).collect() };
            let ch = Tensor::from_slice(&cnt(h)).view([h, 1]);
            let cw = Tensor::from_slice(&cnt(w)).view([1, w]);
            acc.unwrap() / (ch * cw).view([1, 1, h, w])
        };
        println!("  fwd max abs diff native vs seq9: {:e}", (a.detach() - b.detach()).abs().max().double_value(&[]));
        let gy = Tensor::randn([64, c, hw, hw], (Kind::Float, Device::Cpu));
        let ga = Tensor::run_backward(&[(&a * &gy).sum(Kind::Float)], &[&x], false, false);
        let gb = Tensor::run_backward(&[(&b * &gy).sum(Kind::Float)], &[&x], false, false);
        println!("  bwd max abs diff: {:e}", (&ga[0] - &gb[0]).abs().max().double_value(&[]));
        let c2 = x
            .permute([0, 2, 3, 1])
            .contiguous()
            .permute([0, 3, 1, 2])
            .avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
            .contiguous();
        let gc = Tensor::run_backward(&[(&c2 * &gy).sum(Kind::Float)], &[&x], false, false);
        println!(
            "  channels-last fwd diff {:e} bwd diff {:e}",
            (a.detach() - c2.detach()).abs().max().double_value(&[]),
            (&ga[0] - &gc[0]).abs().max().double_value(&[])
        );
    }
}
