//! The NAS-Bench-101 CIFAR network (Ying et al., 2019) for one cell, built with the
//! semantics of `google-research/nasbench` `model_builder.py` and the module layout of the
//! PyTorch port used by ZSNAS-WRCor (`foresight/models/nasbench101.py`,
//! `nasbench101_ops.py`, class `NASBench101Network(spec, 128, 3, 3, num_classes)`).
//!
//! # Structure
//!
//! * stem: conv3×3 3→128 (stride 1, padding 1, no bias) + BN + ReLU;
//! * 3 stacks of 3 cells; a 2×2 max pool (stride 2) before stacks 2 and 3, where the
//!   channel count doubles (128 → 256 → 512) at the first cell of the stack;
//! * cell (`Cell`): vertex channels from [`Nb101Spec::vertex_channels`]; an interior
//!   vertex fed by the cell input gets a 1×1 conv-BN-ReLU projection of the input to its
//!   channel count; its input is the sum of its interior predecessors' outputs (each
//!   truncated to the vertex's channel count, in increasing vertex order) followed by the
//!   input projection; `conv3x3-bn-relu` / `conv1x1-bn-relu` are Conv (no bias) → BN → ReLU,
//!   `maxpool3x3` is a 3×3 max pool with stride 1 and padding 1. The cell output is the
//!   channel concatenation of the vertices feeding the output vertex (in vertex order), plus
//!   (added) a 1×1 conv-BN-ReLU projection of the cell input when the input feeds the output
//!   directly; with no interior vertex feeding the output it is that projection alone;
//! * global average pool (`mean` over H, W), linear 512→`num_classes` with bias.
//!
//! BatchNorm: ε = 1e-5, momentum 0.1 (PyTorch defaults, as the port uses). Input
//! [N, 3, 32, 32] (any H, W divisible by 4), features [N, 512, H/4, W/4], logits
//! [N, num_classes].
//!
//! # Parameter names (PyTorch state-dict names of the port)
//!
//! `layers.0.conv_bn_relu.{0,1}` (stem conv, BN), then for cell `i` in `layers`:
//! `layers.i.vertex_op.t.conv3x3.conv_bn_relu.{0,1}` (or `conv1x1`) for interior vertex `t`,
//! `layers.i.input_op.t.conv_bn_relu.{0,1}` for the input projection into vertex `t`
//! (`t` = last vertex for the input→output projection); the max-pool layers have no
//! parameters; `classifier` (Linear).
//!
//! # Initialisation
//!
//! With [`Nb101Config::reference_init`] (the default) the parameters are initialised as
//! the port's `_initialize_weights` does after construction: conv weights
//! N(0, √(2/(k²·C_out))), BN γ = 1, β = 0, classifier weight N(0, 0.01), bias 0. The random
//! draws happen in PyTorch's order (first the default uniform initialisation of every
//! module in construction order, then the normal draws in module order), so after
//! `tch::manual_seed(s)` the values should equal the port's after `torch.manual_seed(s)`
//! (the mechanism of [`super::nb201`], whose PyTorch parity is tested; not separately
//! checked against PyTorch for this network).
//! Without it, the PyTorch default initialisation (kaiming-uniform) is kept.
//!
//! # WRCor layer indices
//!
//! A ReLU's layer index is the position of its top-level module in the port's
//! `self.layers` list: stem 0; stack 1 cells 1, 2, 3; max pool 4; stack 2 cells 5, 6, 7;
//! max pool 8; stack 3 cells 9, 10, 11 (the pools hold no ReLU). Every ReLU inside a cell
//! (projections and conv ops) uses the cell's index. There is no final BN+ReLU in
//! NAS-Bench-101: the last ReLU executed in the last cell is an ordinary site (the
//! reference's ReLUs are not in-place, so `wrcor_official`'s post-ReLU quirk of the
//! NAS-Bench-201 `lastact` does not apply).
//!
//! All ReLUs are genuine `nn.ReLU(inplace=False)` modules in the port (inside
//! `ConvBnRelu`, whose class name does not contain "ReLU"), so they are recorded with
//! [`Recorder::relu`], never as wrapped sites.

use super::ops::{BatchNorm, Conv, Linear};
use crate::net::recorder::Recorder;
use crate::space::nb101::{Nb101Op, Nb101Spec, CELLS_PER_STACK, NUM_STACKS, STEM_CHANNELS};
use tch::{nn, Tensor};

/// Layer index of the stem in the WRCor layer list.
pub const NB101_STEM_LAYER: usize = 0;

/// BatchNorm ε of the network (PyTorch default, as in the port).
pub const NB101_BN_EPS: f64 = 1e-5;

/// Construction options of [`Nb101Net`]. [`Default`] is the benchmark network for
/// CIFAR-10: stem 128 channels, 3 stacks × 3 cells, 10 classes, reference initialisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nb101Config {
    /// Output channels of the stem (and of the cells of the first stack).
    pub stem_channels: i64,
    /// Number of stacks (channels double and a 2×2 max pool precedes every stack but the first).
    pub num_stacks: usize,
    /// Cells per stack.
    pub cells_per_stack: usize,
    /// Classifier outputs.
    pub num_classes: i64,
    /// Re-initialise as the port's `_initialize_weights` (see the module docs).
    pub reference_init: bool,
}

impl Default for Nb101Config {
    fn default() -> Self {
        Nb101Config {
            stem_channels: STEM_CHANNELS as i64,
            num_stacks: NUM_STACKS,
            cells_per_stack: CELLS_PER_STACK,
            num_classes: 10,
            reference_init: true,
        }
    }
}

/// Conv (no bias) → BN → ReLU (the port's `ConvBnRelu`, names `conv_bn_relu.{0,1}`).
#[derive(Debug)]
struct ConvBnRelu {
    conv: Conv,
    bn: BatchNorm,
}

impl ConvBnRelu {
    /// Creates `p/conv_bn_relu/0` (conv) and `p/conv_bn_relu/1` (BN); padding k/2, stride 1.
    fn new(p: &nn::Path, in_c: i64, out_c: i64, k: i64, convs: &mut Vec<(Tensor, i64)>) -> Self {
        let q = p / "conv_bn_relu";
        let conv = Conv::new(&(&q / 0), in_c, out_c, k, 1, k / 2, 1);
        convs.push((conv.weight.shallow_clone(), k * k * out_c));
        ConvBnRelu { conv, bn: BatchNorm::new(&(&q / 1), out_c, NB101_BN_EPS) }
    }

    /// Conv → BN → ReLU; the ReLU is a site of layer `layer`.
    fn forward(&self, x: &Tensor, layer: usize, rec: &mut Recorder) -> Tensor {
        let y = self.conv.forward(x, rec);
        let z = self.bn.forward(&y, rec);
        rec.relu(&z, layer)
    }
}

/// The operation of one vertex.
#[derive(Debug)]
enum VertexOp {
    /// Input/output vertex (no op).
    None,
    /// conv k×k-BN-ReLU.
    Conv(ConvBnRelu),
    /// 3×3 max pool, stride 1, padding 1.
    MaxPool,
}

/// One cell (module) of the network.
#[derive(Debug)]
struct Cell {
    adj: Vec<Vec<u8>>,
    vc: Vec<i64>,
    vertex_op: Vec<VertexOp>,
    input_op: Vec<Option<ConvBnRelu>>,
}

impl Cell {
    fn new(p: &nn::Path, spec: &Nb101Spec, in_c: i64, out_c: i64, convs: &mut Vec<(Tensor, i64)>) -> Self {
        let n = spec.ops().len();
        let adj: Vec<Vec<u8>> = spec.adjacency().to_vec();
        let vc: Vec<i64> =
            spec.vertex_channels(in_c.max(0) as usize, out_c.max(0) as usize).iter().map(|&c| c as i64).collect();
        // Construction order as in the port: all vertex ops, then all input projections.
        let vp = p / "vertex_op";
        let mut vertex_op = vec![VertexOp::None];
        for (t, &c) in vc.iter().enumerate().take(n.saturating_sub(1)).skip(1) {
            vertex_op.push(match spec.ops()[t] {
                Nb101Op::Conv3x3BnRelu => VertexOp::Conv(ConvBnRelu::new(&(&vp / t / "conv3x3"), c, c, 3, convs)),
                Nb101Op::Conv1x1BnRelu => VertexOp::Conv(ConvBnRelu::new(&(&vp / t / "conv1x1"), c, c, 1, convs)),
                Nb101Op::MaxPool3x3 => VertexOp::MaxPool,
                Nb101Op::Input | Nb101Op::Output => VertexOp::None,
            });
        }
        vertex_op.push(VertexOp::None);
        let ip = p / "input_op";
        let mut input_op = vec![None];
        for t in 1..n {
            input_op.push(if adj[0][t] != 0 { Some(ConvBnRelu::new(&(&ip / t), in_c, vc[t], 1, convs)) } else { None });
        }
        Cell { adj, vc, vertex_op, input_op }
    }

    /// Output of the cell for input `x` [N, C_in, H, W]: [N, C_out, H, W]. ReLUs are
    /// sites of layer `layer`.
    fn forward(&self, x: &Tensor, layer: usize, rec: &mut Recorder) -> Tensor {
        let n = self.adj.len();
        let mut tensors: Vec<Tensor> = vec![x.shallow_clone()];
        let mut out_concat: Vec<Tensor> = Vec::new();
        for t in 1..n.saturating_sub(1) {
            let mut fan_in: Vec<Tensor> =
                (1..t).filter(|&s| self.adj[s][t] != 0).map(|s| truncate(&tensors[s], self.vc[t])).collect();
            if let Some(proj) = &self.input_op[t] {
                fan_in.push(proj.forward(x, layer, rec));
            }
            // A pruned valid spec always gives every interior vertex an input.
            let vin = fan_in.into_iter().reduce(|a, b| a + b).unwrap_or_else(|| {
                let s = x.size();
                Tensor::zeros([s[0], self.vc[t], s[2], s[3]], (x.kind(), x.device()))
            });
            let out = match &self.vertex_op[t] {
                VertexOp::Conv(op) => op.forward(&vin, layer, rec),
                VertexOp::MaxPool => vin.max_pool2d([3, 3], [1, 1], [1, 1], [1, 1], false),
                VertexOp::None => vin,
            };
            if self.adj[t][n - 1] != 0 {
                out_concat.push(out.shallow_clone());
            }
            tensors.push(out);
        }
        let proj_out = self.input_op.get(n - 1).and_then(|p| p.as_ref());
        let concat = match out_concat.len() {
            0 => None,
            1 => out_concat.pop(),
            _ => Some(Tensor::cat(&out_concat, 1)),
        };
        match (concat, proj_out) {
            (Some(c), Some(p)) => c + p.forward(x, layer, rec),
            (Some(c), None) => c,
            (None, Some(p)) => p.forward(x, layer, rec),
            // Unreachable for a valid spec (the input always reaches the output).
            (None, None) => x.shallow_clone(),
        }
    }
}

/// `Truncate` of the port: keeps the first `c` channels of `x` [N, C, H, W]. The port
/// raises when C < c (never the case for the channel counts of
/// [`Nb101Spec::vertex_channels`]); here the missing channels are zero-padded instead.
fn truncate(x: &Tensor, c: i64) -> Tensor {
    let have = x.size()[1];
    if have == c {
        x.shallow_clone()
    } else if have > c {
        x.narrow(1, 0, c)
    } else {
        x.constant_pad_nd([0, 0, 0, 0, 0, c - have])
    }
}

/// A top-level entry of the port's `layers` list.
#[derive(Debug)]
enum Layer {
    Stem(ConvBnRelu),
    Cell(Cell),
    /// 2×2 max pool, stride 2.
    Pool,
}

/// The NAS-Bench-101 network for one cell spec. Input [N, 3, H, W] (CIFAR: 32×32),
/// output logits [N, num_classes]. See the module docs for structure, names and layer
/// indices.
#[derive(Debug)]
pub struct Nb101Net {
    layers: Vec<Layer>,
    classifier: Linear,
}

impl Nb101Net {
    /// The benchmark network (stem 128, 3 stacks × 3 cells, reference initialisation) with
    /// `num_classes` outputs, under `p`.
    pub fn new(p: &nn::Path, spec: &Nb101Spec, num_classes: i64) -> Self {
        Self::with_config(p, spec, &Nb101Config { num_classes, ..Default::default() })
    }

    /// The network with explicit options. Parameters are created in the port's construction
    /// order (see the module docs on initialisation).
    pub fn with_config(p: &nn::Path, spec: &Nb101Spec, cfg: &Nb101Config) -> Self {
        let mut convs: Vec<(Tensor, i64)> = Vec::new();
        let lp = p / "layers";
        let mut layers = vec![Layer::Stem(ConvBnRelu::new(&(&lp / 0), 3, cfg.stem_channels, 3, &mut convs))];
        let mut in_c = cfg.stem_channels;
        let mut out_c = cfg.stem_channels;
        for stack in 0..cfg.num_stacks {
            if stack > 0 {
                layers.push(Layer::Pool);
                out_c *= 2;
            }
            for _ in 0..cfg.cells_per_stack {
                let i = layers.len();
                layers.push(Layer::Cell(Cell::new(&(&lp / i), spec, in_c, out_c, &mut convs)));
                in_c = out_c;
            }
        }
        let classifier = Linear::new(&(p / "classifier"), out_c, cfg.num_classes);
        if cfg.reference_init {
            tch::no_grad(|| {
                for (w, n) in convs.iter_mut() {
                    let _ = w.normal_(0.0, (2.0 / *n as f64).sqrt());
                }
                let mut w = classifier.weight.shallow_clone();
                let _ = w.normal_(0.0, 0.01);
                let mut b = classifier.bias.shallow_clone();
                let _ = b.zero_();
            });
        }
        Nb101Net { layers, classifier }
    }

    /// Output of the last cell, before global pooling: [N, 512, H/4, W/4] for the benchmark
    /// network. Block features (see [`Recorder::feature`]): the stem output, then each
    /// cell's output (a max pool belongs to the block after it).
    pub fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let mut h = x.shallow_clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = match l {
                Layer::Stem(s) => {
                    let y = s.forward(&h, i, rec);
                    rec.feature(y)
                }
                Layer::Cell(c) => {
                    let y = c.forward(&h, i, rec);
                    rec.feature(y)
                }
                Layer::Pool => h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            };
        }
        h
    }

    /// Logits [N, num_classes] from features [N, C, h, w]: mean over (h, w) (the port's
    /// `torch.mean(x, (2, 3))`), then the classifier.
    pub fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor {
        let g = f.mean_dim(&[2i64, 3][..], false, None::<tch::Kind>);
        self.classifier.forward(&g, rec)
    }
}
