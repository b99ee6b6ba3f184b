//! Whether NNPACK's fast 3×3 convolutions (Winograd and FFT, fewer multiplications than a
//! direct convolution) would lower the convolution floor of `wrcor` on the
//! all-`nor_conv_3x3` NAS-Bench-201 cell: `cargo run --release --example nnpackconv`.
//!
//! For each stage's 3×3 convolution (batch 64; 16×32×32, 32×16×16, 64×8×8), times the
//! forward convolution three ways, alternating, 2 threads, medians of 30: oneDNN on a
//! channels-first batch (libtorch's default), oneDNN on a channels-last batch (what the
//! `wrcor` pass runs), and NNPACK (`aten::_nnpack_spatial_convolution`, channels-first only,
//! its algorithm chosen by NNPACK). Prints milliseconds and the largest deviation of each
//! from a float64 convolution, relative to the output's largest magnitude.
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use zsnas::net::channels_last::to_channels_last;

const ROUNDS: usize = 30;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Largest |y − reference| over the largest |reference|.
fn deviation(y: &Tensor, reference: &Tensor) -> f64 {
    let diff = (y.to_kind(Kind::Double) - reference).abs().max().double_value(&[]);
    diff / reference.abs().max().double_value(&[])
}

fn main() {
    tch::set_num_threads(2);
    tch::manual_seed(0);
    let o = (Kind::Float, Device::Cpu);
    println!("stage      oneDNN ms  oneDNN channels-last ms  NNPACK ms  dev oneDNN  dev NNPACK");
    for (c, side) in [(16i64, 32i64), (32, 16), (64, 8)] {
        let x = Tensor::randn([64, c, side, side], o).relu();
        let w = Tensor::randn([c, c, 3, 3], o) * 0.1;
        let (xl, wl) = (to_channels_last(&x), to_channels_last(&w));
        let reference =
            x.to_kind(Kind::Double).conv2d(&w.to_kind(Kind::Double), None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        let direct = || x.conv2d(&w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        let last = || xl.conv2d(&wl, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        let nnpack = || Tensor::internal_nnpack_spatial_convolution(&x, &w, None::<Tensor>, [1, 1], [1, 1]);
        let (mut a, mut b, mut n) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..=ROUNDS {
            for (f, times) in [(&direct as &dyn Fn() -> Tensor, &mut a), (&last, &mut b), (&nnpack, &mut n)] {
                let t = Instant::now();
                let y = f();
                let s = t.elapsed().as_secs_f64();
                drop(y);
                // Round 0 warms up each kernel.
                if round > 0 {
                    times.push(s);
                }
            }
        }
        println!(
            "{c:>2}×{side:>2}×{side:<2}   {:>9.3}  {:>23.3}  {:>9.3}  {:>10.1e}  {:>10.1e}",
            median(a) * 1e3,
            median(b) * 1e3,
            median(n) * 1e3,
            deviation(&direct(), &reference),
            deviation(&nnpack(), &reference)
        );
    }
}
