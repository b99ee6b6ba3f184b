//! JacobCor / `jacob_cov` (Mellor et al. 2021, NASWOT v1): J = ∂(Σ logits)/∂x for the
//! batch (BN in training mode), flattened to [N, D]; C = corrcoef(J); with λ the
//! eigenvalues of C, score = −Σ (ln(λ + 1e−5) + 1/(λ + 1e−5)). A NaN in C (e.g. an
//! all-`none` network, whose input gradient is zero) gives NaN, as the reference does.

use super::corr::{corrcoef, has_nan};
use tch::Tensor;

/// Score from the input gradient `j` [N, 3, H, W]; NaN when it is missing.
pub fn score(j: Option<&Tensor>) -> f64 {
    let Some(j) = j else { return f64::NAN };
    let c = corrcoef(j);
    if has_nan(&c) {
        return f64::NAN;
    }
    let lam = c.linalg_eigvalsh("L");
    let k = 1e-5;
    let v: Vec<f64> = Vec::<f64>::try_from(&lam.to_device(tch::Device::Cpu)).unwrap_or_default();
    -v.iter().map(|l| (l + k).ln() + 1.0 / (l + k)).sum::<f64>()
}
