//! The floor that the convolutions set for `wrcor` on the all-`nor_conv_3x3` NAS-Bench-201
//! cell, in bare passes: `cargo run --release --example convfloor`.
//!
//! Each round times a bare forward + `loss.backward()` of that network (batch 64, BN in
//! training mode, gradients into every weight: the anchor of `zsnas bench`), then the
//! convolutions a `wrcor` pass cannot avoid, channels-last as in that pass: the forward of
//! each of the network's convolutions and, except for the stem, its input gradient (a
//! forward convolution with flipped weights for stride 1, a transposed convolution for
//! stride 2, which is what libtorch computes). Prints seconds and their ratio per round.
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use zsnas::net::build::build_model;
use zsnas::net::channels_last::to_channels_last;
use zsnas::net::recorder::{Mode, Recorder};
use zsnas::space::arch::AnyArch;
use zsnas::space::nb201::Nb201Arch;

/// The network's convolutions: (in, out, kernel, stride, input side, count).
const CONVS: [(i64, i64, i64, i64, i64, usize); 10] = [
    (3, 16, 3, 1, 32, 1),
    (16, 16, 3, 1, 32, 30),
    (16, 32, 3, 2, 32, 1),
    (32, 32, 3, 1, 16, 1),
    (16, 32, 1, 1, 16, 1),
    (32, 32, 3, 1, 16, 30),
    (32, 64, 3, 2, 16, 1),
    (64, 64, 3, 1, 8, 1),
    (32, 64, 1, 1, 8, 1),
    (64, 64, 3, 1, 8, 30),
];

fn main() {
    tch::set_num_threads(2);
    let o = (Kind::Float, Device::Cpu);
    let all_conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let arch = Nb201Arch::parse(all_conv).expect("a valid cell");
    let batch = zsnas::data::load::random_batch(64, 32, 10, 0);
    let m = build_model(&AnyArch::Nb201(arch), 10, Device::Cpu, 0, None).expect("the network builds");
    let mut ratios = Vec::new();
    for round in 0..9 {
        for mut v in m.vs.trainable_variables() {
            v.zero_grad();
        }
        let t = Instant::now();
        let logits = m.net.forward(&batch.images, &mut Recorder::plain(Mode::default()));
        logits.cross_entropy_for_logits(&batch.labels).backward();
        let bare = t.elapsed().as_secs_f64();
        let mut convs = 0.0;
        for &(ci, co, k, s, side, count) in &CONVS {
            let x = to_channels_last(&Tensor::randn([64, ci, side, side], o));
            let w = Tensor::randn([co, ci, k, k], o);
            let g = to_channels_last(&Tensor::randn([64, co, side / s, side / s], o));
            let flipped = w.transpose(0, 1).flip([2, 3]).contiguous();
            let _ = x.conv2d(&w, None::<Tensor>, [s, s], [k / 2, k / 2], [1, 1], 1); // warm-up
            let t = Instant::now();
            for _ in 0..count {
                drop(x.conv2d(&w, None::<Tensor>, [s, s], [k / 2, k / 2], [1, 1], 1));
                if ci == 3 {
                    continue; // the stem's input needs no gradient
                }
                if s == 1 {
                    drop(g.conv2d(&flipped, None::<Tensor>, [1, 1], [k / 2, k / 2], [1, 1], 1));
                } else {
                    drop(g.conv_transpose2d(&w, None::<Tensor>, [s, s], [k / 2, k / 2], [1, 1], 1, [1, 1]));
                }
            }
            convs += t.elapsed().as_secs_f64();
        }
        ratios.push(convs / bare);
        println!("round {round}: bare pass {bare:.4} s, convolutions {convs:.4} s = {:.3} bare passes", convs / bare);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    println!("median: {:.3} bare passes", ratios[ratios.len() / 2]);
}
