//! Channel and parameter counts of the benchmark network (`model_builder`).

use super::{Nb101Op, Nb101Spec, CELLS_PER_STACK, NUM_STACKS, STEM_CHANNELS};

/// Parameters of a conv(k×k, no bias) + BN(γ, β) layer.
fn conv_bn_params(k: u64, cin: u64, cout: u64) -> u64 {
    k * k * cin * cout + 2 * cout
}

impl Nb101Spec {
    /// `model_builder.compute_vertex_channels` on the pruned cell: the output
    /// channel count of every vertex of a cell with `in_channels` inputs and
    /// `out_channels` outputs. Entry 0 is `in_channels`, the last entry
    /// `out_channels`; vertices feeding the output share `out_channels`
    /// (the first `out_channels % fan_in` of them get one extra channel), the others
    /// take the maximum of their successors. Every interior op (and every 1x1
    /// projection of the cell input into a vertex) outputs this many channels.
    /// Entries can be 0 only when `out_channels` is smaller than the output's fan-in.
    pub fn vertex_channels(&self, in_channels: usize, out_channels: usize) -> Vec<usize> {
        let n = self.ops.len();
        let m = &self.adjacency;
        let mut vc = vec![0usize; n];
        vc[0] = in_channels;
        vc[n - 1] = out_channels;
        if n == 2 {
            return vc;
        }
        // in-degree of the output, ignoring the input vertex
        let fan_in: usize = (1..n).map(|v| m[v][n - 1] as usize).sum::<usize>().max(1);
        let interior = out_channels / fan_in;
        let mut correction = out_channels % fan_in;
        for v in 1..n - 1 {
            if m[v][n - 1] != 0 {
                vc[v] = interior;
                if correction > 0 {
                    vc[v] += 1;
                    correction -= 1;
                }
            }
        }
        for v in (1..n.saturating_sub(2)).rev() {
            if m[v][n - 1] == 0 {
                for dst in (v + 1)..(n - 1) {
                    if m[v][dst] != 0 {
                        vc[v] = vc[v].max(vc[dst]);
                    }
                }
            }
        }
        vc
    }

    /// Trainable parameters of one cell with `in_channels` inputs and
    /// `out_channels` outputs, as built by `model_builder.build_module`:
    /// per interior vertex a 1x1 conv-BN-ReLU projection of the cell input if the
    /// input feeds it, plus its op (conv k×k without bias + BN γ/β; max pool has
    /// none); plus a 1x1 conv-BN-ReLU projection of the cell input to
    /// `out_channels` if the input feeds the output directly.
    pub fn cell_parameters(&self, in_channels: usize, out_channels: usize) -> u64 {
        let n = self.ops.len();
        let m = &self.adjacency;
        let vc = self.vertex_channels(in_channels, out_channels);
        let cin = in_channels as u64;
        let mut p = 0u64;
        for t in 1..n - 1 {
            let c = vc[t] as u64;
            if m[0][t] != 0 {
                p += conv_bn_params(1, cin, c);
            }
            p += match self.ops[t] {
                Nb101Op::Conv3x3BnRelu => conv_bn_params(3, c, c),
                Nb101Op::Conv1x1BnRelu => conv_bn_params(1, c, c),
                _ => 0,
            };
        }
        if m[0][n - 1] != 0 {
            p += conv_bn_params(1, cin, out_channels as u64);
        }
        p
    }

    /// Trainable parameters of the full benchmark network for `num_classes`
    /// classes (the benchmark uses 10): stem conv3x3 3→128 + BN, 3 stacks × 3
    /// cells with channels 128/256/512 (2x2 max pool between stacks, no
    /// parameters), global average pool, dense layer with bias. Equals the
    /// data set's `trainable_parameters` for `num_classes == 10`.
    pub fn trainable_parameters(&self, num_classes: usize) -> u64 {
        let mut p = conv_bn_params(3, 3, STEM_CHANNELS as u64);
        let mut in_ch = STEM_CHANNELS;
        let mut ch = STEM_CHANNELS;
        for stack in 0..NUM_STACKS {
            if stack > 0 {
                ch *= 2;
            }
            for _ in 0..CELLS_PER_STACK {
                p += self.cell_parameters(in_ch, ch);
                in_ch = ch;
            }
        }
        p + (ch as u64) * (num_classes as u64) + num_classes as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::nb101::tests::sample;

    #[test]
    fn parameters_match_all_samples_shared_data() {
        for r in &sample() {
            assert_eq!(Some(r.spec.trainable_parameters(10)), r.trainable_parameters, "spec {}", r.spec);
        }
    }

    #[test]
    fn vertex_channels_invariants_shared_data() {
        for r in &sample() {
            let s = &r.spec;
            let n = s.num_vertices();
            for (cin, cout) in [(128, 128), (128, 256), (256, 256), (512, 512)] {
                let vc = s.vertex_channels(cin, cout);
                assert_eq!(vc[0], cin);
                assert_eq!(vc[n - 1], cout);
                let m = s.adjacency();
                let mut fan = 0;
                for v in 1..n - 1 {
                    assert!(vc[v] > 0);
                    if m[v][n - 1] == 1 {
                        fan += vc[v];
                    }
                    for d in v + 1..n - 1 {
                        if m[v][d] == 1 {
                            assert!(vc[v] >= vc[d] && vc[v] - vc[d] <= 1);
                        }
                    }
                }
                if n > 2 {
                    assert_eq!(fan, cout);
                }
            }
        }
    }

    #[test]
    fn vertex_channels_uneven_split() {
        // 3 vertices into the output: 128 = 43 + 43 + 42
        let s = Nb101Spec::parse_text("in,conv3x3,conv3x3,conv1x1,out|01110|00001|00001|00001|00000").unwrap();
        assert_eq!(s.vertex_channels(128, 128), vec![128, 43, 43, 42, 128]);
        // vertex 1 feeds vertices 3 (43) and 4 (42): max = 43
        let s =
            Nb101Spec::parse_text("in,conv3x3,conv3x3,conv1x1,maxpool,out|011000|000110|000001|000001|000001|000000")
                .unwrap();
        assert_eq!(s.vertex_channels(128, 128), vec![128, 43, 43, 43, 42, 128]);
        // smaller output than fan-in: no panic, zero channels reported
        assert_eq!(s.vertex_channels(4, 2), vec![4, 1, 1, 1, 0, 2]);
    }

    #[test]
    fn hand_computed_parameters() {
        // input -> output directly: each cell is one 1x1 projection.
        let s = Nb101Spec::parse_text("input,output|01|00").unwrap();
        let stem = 27 * 128 + 256;
        let cells = 3 * (128 * 128 + 256)
            + (128 * 256 + 512)
            + 2 * (256 * 256 + 512)
            + (256 * 512 + 1024)
            + 2 * (512 * 512 + 1024);
        assert_eq!(s.trainable_parameters(10), (stem + cells + 5120 + 10) as u64);
        assert_eq!(s.num_vertices(), 2);
        assert_eq!(s.num_edges(), 1);
    }
}
