//! Networks on tch. Every network's forward takes a [`Recorder`] and routes its ReLUs and
//! Conv/Linear outputs through it (see [`recorder`]).

pub mod avg_pool_channels_last;
pub mod bn_channels_last;
pub mod build;
pub mod channels_last;
pub mod device;
pub mod mbv2;
pub mod model;
pub mod nb101;
pub mod nb201;
pub mod ops;
pub mod recorder;
pub mod torchscript;
pub mod weights;

use recorder::Recorder;
use tch::Tensor;

/// A network that zsnas can score.
pub trait Network {
    /// Features after the last ReLU, before global pooling ([N, C, h, w]); Zen-NAS uses them.
    fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor;
    /// Logits [N, classes] from [`Network::features`].
    fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor;
    /// True when the forward records module outputs ([`Recorder::module`]) in the order
    /// that MeCo's forward hooks see them. Only NAS-Bench-201 does (yet).
    fn records_module_outputs(&self) -> bool {
        false
    }
    /// True when a channels-last input may run the whole forward channels-last on CPU
    /// (every op keeps the layout; BatchNorm through [`bn_channels_last`]) with values that
    /// stay within the golden tolerances and do not depend on the thread count. Measured
    /// for NAS-Bench-201 only (`docs/performance.md`).
    fn runs_channels_last(&self) -> bool {
        false
    }
    /// Logits [N, classes] for input `x` [N, 3, H, W].
    fn forward(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        let f = self.features(x, rec);
        self.head(&f, rec)
    }
}

impl Network for nb201::Nb201Net {
    fn records_module_outputs(&self) -> bool {
        true
    }
    fn runs_channels_last(&self) -> bool {
        true
    }
    fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        nb201::Nb201Net::features(self, x, rec)
    }
    fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor {
        nb201::Nb201Net::head(self, f, rec)
    }
}

impl Network for nb101::Nb101Net {
    fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        nb101::Nb101Net::features(self, x, rec)
    }
    fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor {
        nb101::Nb101Net::head(self, f, rec)
    }
}

impl Network for mbv2::Mbv2Net {
    fn features(&self, x: &Tensor, rec: &mut Recorder) -> Tensor {
        mbv2::Mbv2Net::features(self, x, rec)
    }
    fn head(&self, f: &Tensor, rec: &mut Recorder) -> Tensor {
        mbv2::Mbv2Net::head(self, f, rec)
    }
}
