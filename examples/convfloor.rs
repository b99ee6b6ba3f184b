//! The floor that the convolutions set for `wrcor` on the all-`nor_conv_3x3` NAS-Bench-201
//! cell, in bare passes: `cargo run --release --example convfloor`.
//!
//! Each round times a bare forward + `loss.backward()` of that network (batch 64, BN in
//! training mode, gradients into every weight: the anchor of `zsnas bench`), then the
//! convolutions a `wrcor` pass cannot avoid, channels-last as in that pass: the forward of
//! each of the network's convolutions and, except for the stem, its input gradient (a
//! forward convolution with flipped weights for stride 1, a transposed convolution for
//! stride 2, which is what libtorch computes). Prints seconds and their ratio per round.
//!
//! Each round then times the memory traffic that the element-wise work of such a pass
//! cannot avoid, even fully fused, as libtorch float32 adds (two reads and a write each)
//! over 60 rotating tensors per stage (about the pass's working set, beyond L2):
//! [`FUSED_TENSOR_PASSES_PER_CELL`] whole-tensor reads or writes per cell of six
//! `nor_conv_3x3` edges. The convolutions, that traffic and the correlations (the
//! `correlations + log-det` stage of `zsnas bench`) add up to the floor of any exact
//! implementation on the machine.
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

/// Whole-tensor reads and writes per cell of six `nor_conv_3x3` edges that a fully fused
/// exact `wrcor` pass still needs, besides the convolutions and the correlations. Nodes 1, 2,
/// 3 have k = 1, 2, 3 incoming edges. Forward: each edge's BatchNorm statistics read its
/// convolution output (6); each node reads its k outputs and writes its value (the forward
/// response and ReLU mask) and its ReLU (the next convolutions' input): 3 + 4 + 5 = 12.
/// Backward, per node j with gradient g: one pass reading g and the k convolution outputs
/// for the BatchNorm sums, one reading them again and writing the k input gradients:
/// (1 + k) + (1 + 2k), 24 in all; per source node i with m outgoing edges, one pass reading
/// its value (the ReLU mask) and the m convolution input gradients and writing the m
/// backward responses and its own gradient: 2 + 2m, 18 in all. 6 + 12 + 24 + 18 = 60.
const FUSED_TENSOR_PASSES_PER_CELL: usize = 60;

/// Times `FUSED_TENSOR_PASSES_PER_CELL` tensor passes for the 5 cells of each stage, as adds
/// over 60 rotating channels-last tensors of the stage's shape; returns seconds.
fn elementwise_floor(o: (Kind, Device)) -> f64 {
    let mut seconds = 0.0;
    for (c, side) in [(16, 32), (32, 16), (64, 8)] {
        let pool: Vec<Tensor> = (0..60).map(|_| to_channels_last(&Tensor::randn([64, c, side, side], o))).collect();
        let adds = 5 * FUSED_TENSOR_PASSES_PER_CELL / 3;
        let t = Instant::now();
        for a in 0..adds {
            let out = &pool[(3 * a) % 60];
            let _ = pool[(3 * a + 1) % 60].add_out(out, &pool[(3 * a + 2) % 60]);
        }
        seconds += t.elapsed().as_secs_f64();
    }
    seconds
}

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
        let streams = elementwise_floor(o);
        ratios.push((convs / bare, streams / bare));
        println!(
            "round {round}: bare pass {bare:.4} s, convolutions {convs:.4} s = {:.3} bare passes, fused element-wise traffic {streams:.4} s = {:.3} bare passes",
            convs / bare,
            streams / bare
        );
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "median: convolutions {:.3} bare passes, fused element-wise traffic {:.3} bare passes",
        median(ratios.iter().map(|r| r.0).collect()),
        median(ratios.iter().map(|r| r.1).collect())
    );
}
