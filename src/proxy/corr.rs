//! Correlation matrices and log-determinants, following numpy's `corrcoef` and `slogdet`.

use tch::{Device, Kind, Tensor};

/// Pearson correlation across samples: `x` [N, ...] is flattened to [N, D] and the
/// [N, N] matrix `numpy.corrcoef(x)` is returned in f64 (rows centred in f64, covariance
/// `Xc Xcᵀ/(D−1)`, divided by the outer product of standard deviations, clipped to
/// [−1, 1]). A constant row gives NaN in its row and column, as in numpy.
///
/// A float32 tensor on the CPU goes through [`super::gram::centred_gram`] (one pass, no
/// f64 copy, symmetric, single-threaded and deterministic); anything else (CUDA,
/// float64) through libtorch in f64. Both agree to about 1e-15 (tested). An empty row
/// set gives an empty matrix; D = 1 gives NaN, as numpy does.
pub fn corrcoef(x: &Tensor) -> Tensor {
    if x.device() == Device::Cpu && x.kind() == Kind::Float {
        corrcoef_cpu_f32(x)
    } else {
        corrcoef_torch(x)
    }
}

/// [`corrcoef`] through libtorch: f64 copy, centring, `mm`.
pub fn corrcoef_torch(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let xd = x.reshape([n, -1]).to_kind(Kind::Double);
    let xc = &xd - xd.mean_dim(1, true, Kind::Double);
    let cov = xc.mm(&xc.tr());
    let d = cov.diagonal(0, 0, 1).sqrt();
    let c = cov / d.unsqueeze(1) / d.unsqueeze(0);
    c.clamp(-1.0, 1.0)
}

fn corrcoef_cpu_f32(x: &Tensor) -> Tensor {
    let rows = per_sample_rows(x);
    let (n, d) = rows_shape(&rows);
    correlation_from_gram(&super::gram::centred_gram(f32_data(&rows), n, d), n, d)
}

/// [`corrcoef`] of many tensors, returned on the CPU in the input order.
///
/// - Float32 CPU tensors go through the Gram kernel, shared out whole among libtorch's
///   intra-op threads (largest first), each computed single-threaded, so the values are
///   bit-identical to [`corrcoef`]'s whatever the thread count.
/// - Every other tensor (CUDA, float64) goes through [`corrcoef_batched`]: tensors of one
///   shape are stacked and computed with a few kernels per shape instead of about ten per
///   matrix, and all the matrices come back to the CPU in one copy. On a GPU that replaces
///   some 1,500 kernel launches of a NAS-Bench-201 all-`nor_conv_3x3` cell (145 matrices)
///   with a few dozen. The values agree with [`corrcoef_torch`]'s to about 1e-15 (tested).
pub fn corrcoef_many(xs: &[&Tensor]) -> Vec<Tensor> {
    let threads = tch::get_num_threads().max(1) as usize;
    let mut out: Vec<Option<Tensor>> = xs.iter().map(|_| None).collect();
    let mut jobs: Vec<(usize, Tensor)> = Vec::new();
    let mut batched: Vec<usize> = Vec::new();
    for (i, x) in xs.iter().enumerate() {
        if x.device() != Device::Cpu || x.kind() != Kind::Float {
            batched.push(i);
        } else if threads > 1 {
            jobs.push((i, per_sample_rows(x)));
        } else {
            out[i] = Some(corrcoef_cpu_f32(x));
        }
    }
    let others: Vec<&Tensor> = batched.iter().map(|&i| xs[i]).collect();
    for (i, c) in batched.iter().zip(corrcoef_batched(&others, BATCH_BYTES)) {
        out[*i] = Some(c);
    }
    jobs.sort_by_key(|(_, r)| std::cmp::Reverse(r.numel()));
    let shapes: Vec<(usize, usize)> = jobs.iter().map(|(_, r)| rows_shape(r)).collect();
    let data: Vec<&[f32]> = jobs.iter().map(|(_, r)| f32_data(r)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Vec<f64>)>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads.min(jobs.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if j >= data.len() {
                            break done;
                        }
                        let (n, d) = shapes[j];
                        done.push((j, correlation_values(&super::gram::centred_gram(data[j], n, d), n, d)));
                    }
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("correlation worker panicked")).collect()
    });
    for (j, c) in results.into_iter().flatten() {
        let n = shapes[j].0 as i64;
        out[jobs[j].0] = Some(Tensor::from_slice(&c).reshape([n, n]));
    }
    out.into_iter().map(|t| t.expect("every correlation computed")).collect()
}

/// The most bytes of float64 responses that [`corrcoef_batched`] stacks at once (a larger
/// single response is computed alone, as [`corrcoef_torch`] would).
const BATCH_BYTES: i64 = 1 << 30;

/// [`corrcoef_torch`] of many tensors, batched: the tensors of one device and one [N, D]
/// shape are stacked (in chunks of at most `batch_bytes` bytes as float64) into [M, N, D]
/// and their [M, N, N] correlations computed at once in f64 (centring, `bmm`, division by
/// the standard deviations, clipping to [−1, 1], as [`corrcoef_torch`] does per matrix).
/// All results come back to the CPU in one copy per device, in the input order.
///
/// Same values as [`corrcoef_torch`] up to the summation order of the mean and the
/// products (about 1e-15; tested); NaN rows and columns for constant rows, as numpy.
pub fn corrcoef_batched(xs: &[&Tensor], batch_bytes: i64) -> Vec<Tensor> {
    // Groups of (device, N, D), in first-seen order, each a list of input indices.
    let mut groups: Vec<((Device, i64, i64), Vec<usize>)> = Vec::new();
    for (i, x) in xs.iter().enumerate() {
        let n = x.size().first().copied().unwrap_or(0);
        let d = if n == 0 { 0 } else { x.numel() as i64 / n };
        let key = (x.device(), n, d);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut out: Vec<Option<Tensor>> = xs.iter().map(|_| None).collect();
    let mut devices: Vec<(Device, Vec<(usize, Tensor)>)> = Vec::new();
    for ((device, n, d), members) in groups {
        let per = (n * d * 8).max(1);
        let chunk = (batch_bytes / per).max(1) as usize;
        for part in members.chunks(chunk) {
            let rows: Vec<Tensor> = part.iter().map(|&i| xs[i].reshape([n, d])).collect();
            let c = batched_correlations(&Tensor::stack(&rows, 0).to_kind(Kind::Double));
            let slot = match devices.iter().position(|(dv, _)| *dv == device) {
                Some(p) => p,
                None => {
                    devices.push((device, Vec::new()));
                    devices.len() - 1
                }
            };
            for (m, &i) in part.iter().enumerate() {
                devices[slot].1.push((i, c.get(m as i64)));
            }
        }
    }
    for (_, mats) in devices {
        // One copy to the host for every matrix of this device (the same path on the CPU,
        // where it costs one concatenation of the small matrices).
        let sizes: Vec<i64> = mats.iter().map(|(_, c)| c.numel() as i64).collect();
        let flat: Vec<Tensor> = mats.iter().map(|(_, c)| c.reshape([-1])).collect();
        let host = Tensor::cat(&flat, 0).to_device(Device::Cpu).split_with_sizes(sizes.as_slice(), 0);
        for ((i, c), h) in mats.iter().zip(host) {
            out[*i] = Some(h.reshape(c.size()));
        }
    }
    out.into_iter().map(|t| t.expect("every correlation computed")).collect()
}

/// numpy's corrcoef of each [N, D] slice of a float64 [M, N, D] tensor: [M, N, N].
fn batched_correlations(x: &Tensor) -> Tensor {
    let xc = x - x.mean_dim(2, true, Kind::Double);
    let cov = xc.bmm(&xc.transpose(1, 2));
    let d = cov.diagonal(0, 1, 2).sqrt();
    let c = cov / d.unsqueeze(2) / d.unsqueeze(1);
    c.clamp(-1.0, 1.0)
}

fn rows_shape(rows: &Tensor) -> (usize, usize) {
    let n = rows.size()[0] as usize;
    (n, rows.numel().checked_div(n).unwrap_or(0))
}

/// The values of a contiguous f32 CPU tensor (as [`per_sample_rows`] returns).
///
/// # Panics
/// If `rows` is not a contiguous float32 CPU tensor.
fn f32_data(rows: &Tensor) -> &[f32] {
    assert!(
        rows.kind() == Kind::Float && rows.device() == Device::Cpu && rows.is_contiguous(),
        "f32_data: not a contiguous float32 CPU tensor"
    );
    if rows.numel() == 0 {
        return &[];
    }
    // SAFETY: `rows` is a contiguous float32 CPU tensor of `numel` elements starting at
    // `data_ptr` (which includes the storage offset); the slice borrows the handle, and
    // nothing resizes or writes the storage while the correlations are computed.
    unsafe { std::slice::from_raw_parts(rows.data_ptr() as *const f32, rows.numel()) }
}

/// numpy's corrcoef from the centred Gram matrix `s` [n, n] of n rows of d values, in
/// numpy's order of operations: cov = s · (1/(D−1)); c = cov / stddev[:, None] /
/// stddev[None, :]; clip to [−1, 1].
fn correlation_values(s: &[f64], n: usize, d: usize) -> Vec<f64> {
    let inv = 1.0 / (d as f64 - 1.0);
    let sd: Vec<f64> = (0..n).map(|i| (s[i * n + i] * inv).sqrt()).collect();
    (0..n * n).map(|k| (s[k] * inv / sd[k / n] / sd[k % n]).clamp(-1.0, 1.0)).collect()
}

fn correlation_from_gram(s: &[f64], n: usize, d: usize) -> Tensor {
    Tensor::from_slice(&correlation_values(s, n, d)).reshape([n as i64, n as i64])
}

/// A contiguous tensor [N, ...] holding each sample's values of `x` (in some order of its
/// dimensions: the correlation does not depend on the order of the D features): `x`
/// itself when contiguous, its NHWC view when `x` is channels-last dense, else a copy.
fn per_sample_rows(x: &Tensor) -> Tensor {
    if x.is_contiguous() {
        return x.shallow_clone();
    }
    if x.dim() == 4 {
        // Channels-last dense: the permuted NHWC view is contiguous.
        let nhwc = x.permute([0, 2, 3, 1]);
        if nhwc.is_contiguous() {
            return nhwc;
        }
    }
    x.contiguous()
}

/// True when `t` holds any NaN.
pub fn has_nan(t: &Tensor) -> bool {
    t.isnan().any().int64_value(&[]) != 0
}

/// [`has_nan`] of each tensor, read back in one copy (one device synchronisation for all).
pub fn has_nan_many(ts: &[Tensor]) -> Vec<bool> {
    if ts.is_empty() {
        return Vec::new();
    }
    let flags: Vec<Tensor> = ts.iter().map(|t| t.isnan().any()).collect();
    let flags = Tensor::stack(&flags, 0).to_kind(Kind::Int64).to_device(Device::Cpu);
    Vec::<i64>::try_from(&flags)
        .map(|v| v.into_iter().map(|x| x != 0).collect())
        .unwrap_or_else(|_| ts.iter().map(has_nan).collect())
}

/// `log|det K|` of a square f64 matrix (the sign is discarded, as the reference code's
/// `numpy.linalg.slogdet(K)[1]`). −inf for a singular matrix.
/// A matrix on another device is copied to the CPU first (one N×N copy instead of a
/// device solver's launch and synchronisation).
pub fn logabsdet(k: &Tensor) -> f64 {
    let k = if k.device() == Device::Cpu { k.shallow_clone() } else { k.to_device(Device::Cpu) };
    let (_sign, lad) = Tensor::linalg_slogdet(&k);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_kernel_matches_libtorch_f64_on_nchw_channels_last_and_strided_input() {
        tch::manual_seed(3);
        let x = Tensor::randn([10, 4, 6, 5], (Kind::Float, Device::Cpu)) * 2.0 + 0.5;
        let want = corrcoef_torch(&x);
        let cl = x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]);
        let strided = Tensor::randn([10, 4, 6, 10], (Kind::Float, Device::Cpu)).narrow(3, 2, 5);
        for (name, t, w) in
            [("nchw", &x, &want), ("channels-last", &cl, &want), ("strided", &strided, &corrcoef_torch(&strided))]
        {
            let got = corrcoef(t);
            assert_eq!(got.size(), vec![10, 10]);
            let err = (&got - w).abs().max().double_value(&[]);
            assert!(err < 1e-14, "{name}: max difference {err}");
        }
        // Many at once, shared out among two threads: bit-identical to one at a time, in
        // the input order.
        let threads = tch::get_num_threads();
        tch::set_num_threads(2);
        let many = corrcoef_many(&[&x, &strided, &cl]);
        tch::set_num_threads(threads);
        for (got, one) in many.iter().zip([&x, &strided, &cl]) {
            assert!(got.equal(&corrcoef(one)));
        }
        // Degenerate shapes: no samples gives an empty matrix, no features NaN (numpy too).
        assert_eq!(corrcoef(&Tensor::zeros([0, 5], (Kind::Float, Device::Cpu))).size(), vec![0, 0]);
        assert!(has_nan(&corrcoef(&Tensor::zeros([3, 0], (Kind::Float, Device::Cpu)))));
        // A constant row gives NaN in its row and column, like numpy.
        let c = x.reshape([10, -1]).copy();
        let _ = c.get(2).fill_(0.0);
        let got = corrcoef(&c);
        assert!(got.get(2).isnan().all().int64_value(&[]) == 1);
        assert!(got.get(0).get(2).double_value(&[]).is_nan());
        assert!(!got.get(0).get(1).double_value(&[]).is_nan());
        // The one-copy NaN flags are the per-matrix ones.
        let clean = corrcoef(&x.reshape([10, -1]));
        assert_eq!(has_nan_many(&[got.shallow_clone(), clean.shallow_clone(), got]), [true, false, true]);
        assert!(!has_nan(&clean));
        assert!(has_nan_many(&[]).is_empty());
    }

    #[test]
    fn batched_correlations_match_one_at_a_time_in_input_order() {
        tch::manual_seed(5);
        let a = Tensor::randn([10, 4, 6, 5], (Kind::Float, Device::Cpu)) * 3.0 - 1.0;
        let b = Tensor::randn([10, 120], (Kind::Float, Device::Cpu));
        let c = Tensor::randn([7, 3, 4], (Kind::Double, Device::Cpu)) + 100.0;
        let constant = b.copy();
        let _ = constant.get(4).fill_(2.5);
        let strided = Tensor::randn([10, 4, 6, 10], (Kind::Float, Device::Cpu)).narrow(3, 2, 5);
        let xs = [&a, &c, &b, &constant, &strided, &a.permute([0, 2, 3, 1]).contiguous()];
        // Every chunk size: all of one shape at once, and one matrix per chunk.
        for bytes in [1 << 30, 1] {
            let got = corrcoef_batched(&xs, bytes);
            assert_eq!(got.len(), xs.len());
            for (k, (g, x)) in got.iter().zip(xs).enumerate() {
                let want = corrcoef_torch(x);
                assert_eq!(g.size(), want.size(), "matrix {k}");
                assert_eq!(g.device(), Device::Cpu);
                assert_eq!(has_nan(g), has_nan(&want), "matrix {k}");
                let err = (g - &want).abs().nan_to_num(0.0, 0.0, 0.0).max().double_value(&[]);
                assert!(err < 1e-14, "matrix {k}, chunk {bytes} bytes: max difference {err}");
            }
        }
        // The constant row's NaNs are in its row and column only.
        let got = &corrcoef_batched(&xs, 1 << 30)[3];
        assert!(got.get(4).isnan().all().int64_value(&[]) == 1);
        assert!(!got.get(0).get(1).double_value(&[]).is_nan());
        // Degenerate shapes as numpy: no samples, no features.
        let empty = corrcoef_batched(&[&Tensor::zeros([0, 5], (Kind::Double, Device::Cpu))], 1 << 30);
        assert_eq!(empty[0].size(), vec![0, 0]);
        assert!(has_nan(&corrcoef_batched(&[&Tensor::zeros([3, 0], (Kind::Double, Device::Cpu))], 1 << 30)[0]));
        // `corrcoef_many` routes float64 tensors there and keeps the input order.
        let many = corrcoef_many(&[&a, &c, &b]);
        assert!(many[1].allclose(&corrcoef_torch(&c), 0.0, 1e-14, false));
        assert!(many[0].equal(&corrcoef(&a)));
    }
}
