//! The NAS-Bench-201 CIFAR network (C=16, N=5), built exactly as the benchmark's
//! `NASBench201Network(16, 5, genotype, 10, bn=True)`, with PyTorch's parameter names so
//! that PyTorch state dicts load:
//! `stem.{0,1}`, `cells.{0..16}` (5 reduction-free cells, `ResNetBasicblock` at 5 and 11),
//! `lastact.0` (BN; followed by ReLU), `classifier`.
//!
//! Layer indices for WRCor weights: the position in `cells` (0..16), and 17 for `lastact`.

use super::ops::{avg_pool_3x3, BatchNorm, Conv, Linear, ReluConvBn};
use crate::net::recorder::Recorder;
use crate::space::nb201::{Nb201Arch, Nb201Op, NB201_EDGES};
use tch::{nn, Tensor};

/// One edge op with its parameters.
#[derive(Debug)]
enum EdgeOp {
    None,
    Skip,
    Pool,
    Conv(ReluConvBn),
}

/// A normal cell (`InferCell`): 4 nodes, 6 edges.
#[derive(Debug)]
struct Cell {
    edges: Vec<EdgeOp>,
}

/// The residual reduction block (`ResNetBasicblock`, stride 2).
#[derive(Debug)]
struct Reduction {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    downsample: Conv,
}

#[derive(Debug)]
enum Block {
    Cell(Cell),
    Reduction(Reduction),
}

/// The NAS-Bench-201 network for one cell. Input [N, 3, 32, 32] (any H, W divisible by 4
/// works), output logits [N, num_classes].
#[derive(Debug)]
pub struct Nb201Net {
    stem_conv: Conv,
    stem_bn: BatchNorm,
    blocks: Vec<Block>,
    lastact: BatchNorm,
    classifier: Linear,
}

/// Index of the final BN+ReLU in the WRCor layer list.
pub const NB201_FINAL_LAYER: usize = 17;

/// Checks that images of `h`×`w` pixels fit the network: it halves the maps twice
/// (stride-2 convolutions beside 2×2 average pools, whose outputs are added), so both sides
/// must be positive multiples of 4 (CIFAR's 32×32, ImageNet16-120's 16×16).
///
/// Errors: a side that is not a positive multiple of 4, naming both sides.
pub fn check_input_size(h: i64, w: i64) -> anyhow::Result<()> {
    if h < 4 || w < 4 || h % 4 != 0 || w % 4 != 0 {
        anyhow::bail!(
            "images of {h}x{w} pixels do not fit the NAS-Bench-201 network: it halves height and width twice, so both must be positive multiples of 4 (CIFAR: 32x32, ImageNet16-120: 16x16)"
        );
    }
    Ok(())
}

impl Nb201Net {
    /// Builds the network under `p` with `c` = 16 initial channels, `n` = 5 cells per
    /// stage. Parameters are created in PyTorch's construction order, so after
    /// `tch::manual_seed(s)` they equal PyTorch's after `torch.manual_seed(s)`.
    pub fn new(p: &nn::Path, arch: &Nb201Arch, c: i64, n: usize, num_classes: i64) -> Self {
        let stem = p / "stem";
        let stem_conv = Conv::new(&(&stem / 0), 3, c, 3, 1, 1, 1);
        let stem_bn = BatchNorm::new(&(&stem / 1), c, 1e-5);
        let cells = p / "cells";
        let mut blocks = Vec::new();
        let mut c_prev = c;
        let mut idx = 0;
        for stage in 0..3 {
            let c_cur = c << stage;
            if stage > 0 {
                let q = &cells / idx;
                blocks.push(Block::Reduction(Reduction {
                    conv_a: ReluConvBn::new(&(&q / "conv_a"), c_prev, c_cur, 3, 2, 1),
                    conv_b: ReluConvBn::new(&(&q / "conv_b"), c_cur, c_cur, 3, 1, 1),
                    downsample: Conv::new(&(&q / "downsample" / 1), c_prev, c_cur, 1, 1, 0, 1),
                }));
                idx += 1;
                c_prev = c_cur;
            }
            for _ in 0..n {
                let q = &cells / idx / "layers";
                let edges = arch
                    .ops
                    .iter()
                    .enumerate()
                    .map(|(e, op)| match op {
                        Nb201Op::None => EdgeOp::None,
                        Nb201Op::SkipConnect => EdgeOp::Skip,
                        Nb201Op::AvgPool3x3 => EdgeOp::Pool,
                        Nb201Op::NorConv1x1 => EdgeOp::Conv(ReluConvBn::new(&(&q / e), c_cur, c_cur, 1, 1, 0)),
                        Nb201Op::NorConv3x3 => EdgeOp::Conv(ReluConvBn::new(&(&q / e), c_cur, c_cur, 3, 1, 1)),
                    })
                    .collect();
                blocks.push(Block::Cell(Cell { edges }));
                idx += 1;
            }
        }
        let lastact = BatchNorm::new(&(p / "lastact" / 0), c_prev, 1e-5);
        let classifier = Linear::new(&(p / "classifier"), c_prev, num_classes);
        Nb201Net { stem_conv, stem_bn, blocks, lastact, classifier }
    }

    /// Features after the final BN+ReLU, before global pooling: [N, 64, H/4, W/4].
    ///
    /// Block features (see [`Recorder::feature`]): `F_0` the stem output (conv + BN), `F_i`
    /// the output of `cells[i−1]`, i = 1..=17.
    ///
    /// Module outputs (see [`Recorder::module`]), in the order forward hooks fire on MeCo's
    /// `NAS201Model` (golden `sota` README, "The hook list"): `stem.{conv,bn,seq,wrap}`; per
    /// normal cell `k` and edge `e` `ck.ee.zero` (`none`), `ck.ee.skip`,
    /// `ck.ee.{pool,poolwrap}` or `ck.ee.{relu,conv,bn,seq,wrap}`, then `ck.out`; `stack1..3`
    /// after cells 4, 10, 16; per reduction block `ck.a.*`, `ck.b.*` (as a conv edge),
    /// `ck.res.{pool,conv,seq}`, `ck.out`; `lastact.{bn,relu,seq}`; then from
    /// [`Nb201Net::head`] `gap`, `top`, `classifier`, `root`.
    pub fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let y = self.stem_conv.forward(x, rec);
        rec.module("stem.conv", false, Some(&y));
        let h = self.stem_bn.forward(&y, rec);
        if rec.wants_modules() {
            for l in ["stem.bn", "stem.seq", "stem.wrap"] {
                rec.module(l, false, Some(&h));
            }
        }
        let mut h = rec.feature(h);
        let mut stage = 0;
        for (layer, b) in self.blocks.iter().enumerate() {
            let out = match b {
                Block::Cell(cell) => cell_forward(cell, &h, layer, rec),
                Block::Reduction(r) => {
                    rec.set_scope(|| format!("c{layer}.a"));
                    let a = r.conv_a.forward(&h, layer, rec);
                    rec.set_scope(|| format!("c{layer}.b"));
                    let bb = r.conv_b.forward(&a, layer, rec);
                    let pooled = h.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>);
                    rec.set_scope(|| format!("c{layer}.res"));
                    rec.module("pool", true, Some(&pooled));
                    let res = r.downsample.forward(&pooled, rec);
                    if rec.wants_modules() {
                        rec.module("conv", true, Some(&res));
                        rec.module("seq", true, Some(&res));
                    }
                    res + bb
                }
            };
            if rec.wants_modules() {
                rec.module(&format!("c{layer}.out"), false, Some(&out));
                let last_of_stage = match self.blocks.get(layer + 1) {
                    Some(Block::Reduction(_)) | None => true,
                    Some(Block::Cell(_)) => false,
                };
                if last_of_stage {
                    stage += 1;
                    rec.module(&format!("stack{stage}"), false, Some(&out));
                }
            }
            h = rec.feature(out);
        }
        let z = self.lastact.forward(&h, rec);
        rec.module("lastact.bn", false, Some(&z));
        let f = rec.final_relu(&z, NB201_FINAL_LAYER);
        if rec.wants_modules() {
            rec.module("lastact.relu", false, Some(&f));
            rec.module("lastact.seq", false, Some(&f));
        }
        f
    }

    /// Logits from pre-pooling features: global average pool, then the classifier.
    pub fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor {
        let p = f.adaptive_avg_pool2d([1, 1]);
        rec.module("gap", false, Some(&p));
        let g = p.flatten(1, -1);
        rec.module("top", false, Some(&g));
        let y = self.classifier.forward(&g, rec);
        if rec.wants_modules() {
            rec.module("classifier", false, Some(&y));
            rec.module("root", false, Some(&y));
        }
        y
    }
}

fn cell_forward(cell: &Cell, x: &Tensor, layer: usize, rec: &mut Recorder) -> Tensor {
    let mut nodes: Vec<Tensor> = vec![x.shallow_clone()];
    for to in 1..4 {
        let mut acc: Option<Tensor> = None;
        for (e, &(t, from)) in NB201_EDGES.iter().enumerate() {
            if t != to {
                continue;
            }
            let inp = &nodes[from];
            rec.set_scope(|| format!("c{layer}.e{e}"));
            let out = match &cell.edges[e] {
                EdgeOp::None => {
                    rec.module("zero", true, None);
                    None
                }
                EdgeOp::Skip => {
                    rec.module("skip", true, Some(inp));
                    Some(inp.shallow_clone())
                }
                EdgeOp::Pool => {
                    let p = avg_pool_3x3(inp);
                    if rec.wants_modules() {
                        rec.module("pool", true, Some(&p));
                        rec.module("poolwrap", true, Some(&p));
                    }
                    Some(p)
                }
                EdgeOp::Conv(op) => Some(op.forward(inp, layer, rec)),
            };
            if let Some(o) = out {
                acc = Some(match acc {
                    None => o,
                    Some(a) => a + o,
                });
            }
        }
        // A node fed only by `none` edges is all zeros (the reference computes x·0).
        nodes.push(acc.unwrap_or_else(|| x.zeros_like()));
    }
    nodes.pop().unwrap()
}
