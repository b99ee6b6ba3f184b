//! Correlation matrices and log-determinants, following numpy's `corrcoef` and `slogdet`.

use tch::{Kind, Tensor};

/// Pearson correlation across samples: `x` [N, ...] is flattened to [N, D] and the
/// [N, N] matrix `numpy.corrcoef(x)` is returned in f64 (rows centred in f64, covariance
/// `Xc Xcᵀ/(D−1)`, divided by the outer product of standard deviations, clipped to
/// [−1, 1]). A constant row gives NaN in its row and column, as in numpy.
pub fn corrcoef(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let xd = x.reshape([n, -1]).to_kind(Kind::Double);
    let xc = &xd - xd.mean_dim(1, true, Kind::Double);
    let cov = xc.mm(&xc.tr());
    let d = cov.diagonal(0, 0, 1).sqrt();
    let c = cov / d.unsqueeze(1) / d.unsqueeze(0);
    c.clamp(-1.0, 1.0)
}

/// True when `t` holds any NaN.
pub fn has_nan(t: &Tensor) -> bool {
    t.isnan().any().int64_value(&[]) != 0
}

/// `log|det K|` of a square f64 matrix (the sign is discarded, as the reference code's
/// `numpy.linalg.slogdet(K)[1]`). −inf for a singular matrix.
pub fn logabsdet(k: &Tensor) -> f64 {
    let (_sign, lad) = Tensor::linalg_slogdet(k);
    lad.double_value(&[])
}

/// Accumulates `K = Σ w·|C|` over correlation matrices, skipping any matrix with a NaN
/// (nothing is renormalised), and keeps counts for reporting.
#[derive(Debug)]
pub struct KernelSum {
    /// The running sum [N, N] f64, `None` until a matrix is included.
    pub k: Option<Tensor>,
    /// Matrices included.
    pub included: usize,
    /// Matrices skipped for NaN.
    pub skipped: usize,
    /// Sum of included weights (every diagonal entry of K).
    pub total_weight: f64,
}

impl Default for KernelSum {
    fn default() -> Self {
        KernelSum { k: None, included: 0, skipped: 0, total_weight: 0.0 }
    }
}

impl KernelSum {
    /// Adds `w·|c|` (`c` a correlation matrix, `count` identical copies) unless `c` has a NaN.
    pub fn add(&mut self, c: &Tensor, nan: bool, w: f64, count: usize) {
        if nan {
            self.skipped += count;
            return;
        }
        let term = c.abs() * (w * count as f64);
        self.k = Some(match self.k.take() {
            None => term,
            Some(k) => k + term,
        });
        self.included += count;
        self.total_weight += w * count as f64;
    }

    /// `log|det K|`, or −inf when nothing was included.
    pub fn score(&self) -> f64 {
        match &self.k {
            None => f64::NEG_INFINITY,
            Some(k) => logabsdet(k),
        }
    }
}
