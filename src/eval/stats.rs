//! Rank statistics for comparing proxy scores with ground truth.
//!
//! All functions expect **finite** inputs: the caller filters NaN/inf first
//! (see [`finite_pairs`]). They never panic; they return NaN when the
//! statistic is undefined: fewer than 2 points, slices of different lengths,
//! or a constant side (zero variance / all tied).

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Keeps the positions where both `x[i]` and `y[i]` are finite; returns the
/// filtered copies (truncated to the shorter length if lengths differ).
pub fn finite_pairs(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(&a, &b)| (a, b)).unzip()
}

/// 1-based ranks of `x` in ascending order, ties receiving the average of the
/// ranks they span (e.g. `[10, 20, 20, 30] → [1, 2.5, 2.5, 4]`), as
/// `scipy.stats.rankdata(method="average")`. Output has `x.len()` entries.
/// Ordering uses `f64::total_cmp`, so NaNs do not panic (they rank last).
pub fn rank_average(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && x[idx[j]] == x[idx[i]] {
            j += 1;
        }
        // positions i..j (0-based) share ranks i+1..=j; average = (i+1+j)/2
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        i = j;
    }
    ranks
}

/// The power of two at or above the largest magnitude of `v` (1 when `v` is all zeros):
/// dividing by it is exact and brings every value into [-1, 1].
fn pow2_scale(v: &[f64]) -> f64 {
    let m = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if m > 0.0 && m.is_finite() {
        // Within the normal exponents: 2^1023 leaves every value below 2 in magnitude.
        2f64.powi((m.log2().ceil() as i32).clamp(-1022, 1023))
    } else {
        1.0
    }
}

/// Pearson correlation coefficient of `x` and `y`, in `[-1, 1]`
/// (two-pass, centred sums; clamped to `[-1, 1]` like scipy).
/// NaN if lengths differ, `n < 2`, or either side is constant.
///
/// Each side is first divided by a power of two that brings it into [-2, 2] (exact for
/// every value not 2^1022 times smaller than the largest, so the result is what the
/// unscaled sums give wherever they do not overflow): finite
/// scores up to `f64::MAX` (synflow reaches 1e35 and more) then give the right value
/// instead of 0 or NaN from overflowed sums of squares.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n != y.len() || n < 2 {
        return f64::NAN;
    }
    let (kx, ky) = (pow2_scale(x), pow2_scale(y));
    let mx = x.iter().map(|a| a / kx).sum::<f64>() / n as f64;
    let my = y.iter().map(|b| b / ky).sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a / kx - mx, b / ky - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

/// Spearman rank correlation: Pearson correlation of the average ranks
/// ([`rank_average`]), as `scipy.stats.spearmanr`. NaN if lengths differ,
/// `n < 2`, or either side is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    pearson(&rank_average(x), &rank_average(y))
}

/// Counts inversions (pairs i < j with v[i] > v[j], strictly) while
/// merge-sorting `v`; `buf` is scratch of the same length.
fn merge_count(v: &mut [f64], buf: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut swaps = {
        let (l, r) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        merge_count(l, bl) + merge_count(r, br)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if v[i] <= v[j] {
            buf[k] = v[i];
            i += 1;
        } else {
            buf[k] = v[j];
            swaps += (mid - i) as u64;
            j += 1;
        }
        k += 1;
    }
    buf[k..k + (mid - i)].copy_from_slice(&v[i..mid]);
    k += mid - i;
    buf[k..k + (n - j)].copy_from_slice(&v[j..n]);
    v.copy_from_slice(&buf[..n]);
    swaps
}

/// Sum of t(t-1)/2 over runs of equal values in a sorted sequence.
fn tied_pairs(sorted: impl Iterator<Item = f64>) -> u64 {
    let mut total = 0u64;
    let mut prev: Option<f64> = None;
    let mut run = 0u64;
    for v in sorted {
        if prev == Some(v) {
            run += 1;
        } else {
            total += run * run.saturating_sub(1) / 2;
            run = 1;
            prev = Some(v);
        }
    }
    total + run * run.saturating_sub(1) / 2
}

/// Kendall's tau-b with tie correction, as `scipy.stats.kendalltau`
/// (default `variant="b"`): `(C - D) / sqrt((n0 - n1)(n0 - n2))` where
/// `n0 = n(n-1)/2`, `n1`/`n2` are the pairs tied in `x`/`y`. Computed in
/// O(n log n) with Knight's algorithm (sort by `(x, y)`, count inversions of
/// `y` by merge sort). NaN if lengths differ, `n < 2`, or either side is all
/// tied.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n != y.len() || n < 2 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
    let n0 = (n as u64) * (n as u64 - 1) / 2;
    let n1 = tied_pairs(idx.iter().map(|&i| x[i]));
    // joint ties: runs equal in both x and y (adjacent after the lexicographic sort)
    let mut n3 = 0u64;
    let mut run = 1u64;
    for w in idx.windows(2) {
        if x[w[0]] == x[w[1]] && y[w[0]] == y[w[1]] {
            run += 1;
        } else {
            n3 += run * (run - 1) / 2;
            run = 1;
        }
    }
    n3 += run * (run - 1) / 2;
    let mut ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
    let mut buf = vec![0.0; n];
    let swaps = merge_count(&mut ys, &mut buf);
    let n2 = tied_pairs(ys.iter().copied()); // ys is now sorted
    if n0 == n1 || n0 == n2 {
        return f64::NAN;
    }
    let con_minus_dis = n0 as f64 - n1 as f64 - n2 as f64 + n3 as f64 - 2.0 * swaps as f64;
    let denom = ((n0 - n1) as f64).sqrt() * ((n0 - n2) as f64).sqrt();
    (con_minus_dis / denom).clamp(-1.0, 1.0)
}

/// Indices of `v` sorted by value descending, ties by ascending index.
fn order_desc(v: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    idx
}

/// Top-k precision of a proxy: with `n = scores.len()` and
/// `k = clamp(max(1, round(frac * n)), 1, n)` (`f64::round`, halves away from
/// zero), the fraction of the `k` best items by `truth` (descending) that are
/// also among the `k` best by `scores` (descending). Ties in either ranking
/// are broken by index order: the lower index ranks higher. Result in
/// `[0, 1]`; NaN if lengths differ, `n == 0`, or `frac` is not finite, and, as Spearman's
/// ρ is then, when `scores` or `truth` has one value throughout (with n ≥ 2): its top-k
/// would be the first k indices, a value of the input order, not of the ranking.
pub fn precision_at_k(scores: &[f64], truth: &[f64], frac: f64) -> f64 {
    let n = scores.len();
    if n != truth.len() || n == 0 || !frac.is_finite() {
        return f64::NAN;
    }
    let constant = |v: &[f64]| v.iter().all(|x| x.total_cmp(&v[0]).is_eq());
    if n >= 2 && (constant(scores) || constant(truth)) {
        return f64::NAN;
    }
    let k = ((frac * n as f64).round().max(1.0) as usize).min(n);
    let mut in_top = vec![false; n];
    for &i in &order_desc(truth)[..k] {
        in_top[i] = true;
    }
    let hits = order_desc(scores)[..k].iter().filter(|&&i| in_top[i]).count();
    hits as f64 / k as f64
}

/// Linear-interpolated quantile (`numpy.percentile` default method) of a
/// sorted, non-empty slice, `q` in `[0, 1]`.
fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// 95 % percentile bootstrap interval `(lo, hi)` of a statistic over `n`
/// items.
///
/// For each of `resamples` rounds, `n` indices are drawn uniformly with
/// replacement from `0..n` (`gen_range(0..n)` on
/// `ChaCha8Rng::seed_from_u64(seed)`) and passed to `stat`; the 2.5th and
/// 97.5th percentiles (linear interpolation, as `numpy.percentile`) of the
/// resulting values are returned. Non-finite statistic values (e.g. NaN
/// from a constant resample) are dropped. Returns `(NaN, NaN)` if `n == 0`,
/// `resamples == 0`, or no finite value remains.
pub fn bootstrap_ci(n: usize, resamples: usize, seed: u64, stat: impl Fn(&[usize]) -> f64) -> (f64, f64) {
    if n == 0 || resamples == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = vec![0usize; n];
    let mut vals = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for v in idx.iter_mut() {
            *v = rng.gen_range(0..n);
        }
        let s = stat(&idx);
        if s.is_finite() {
            vals.push(s);
        }
    }
    if vals.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    vals.sort_by(|a, b| a.total_cmp(b));
    (quantile_sorted(&vals, 0.025), quantile_sorted(&vals, 0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// O(n^2) reference tau-b straight from the definition.
    fn tau_b_naive(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len();
        let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
        for i in 0..n {
            for j in i + 1..n {
                let sx = (x[i] - x[j]).signum() as i64 * (x[i] != x[j]) as i64;
                let sy = (y[i] - y[j]).signum() as i64 * (y[i] != y[j]) as i64;
                if sx == 0 && sy == 0 {
                } else if sx == 0 {
                    tx += 1;
                } else if sy == 0 {
                    ty += 1;
                } else if sx == sy {
                    c += 1;
                } else {
                    d += 1;
                }
            }
        }
        let denom = (((c + d + tx) * (c + d + ty)) as f64).sqrt();
        if denom == 0.0 {
            f64::NAN
        } else {
            (c - d) as f64 / denom
        }
    }

    #[test]
    fn ranks_with_ties() {
        assert_eq!(rank_average(&[10.0, 20.0, 20.0, 30.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(rank_average(&[3.0, 1.0, 3.0, 3.0, -1.0]), vec![4.0, 2.0, 4.0, 4.0, 1.0]);
        assert!(rank_average(&[]).is_empty());
    }

    #[test]
    fn scipy_reference_values() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [5.0, 6.0, 7.0, 8.0, 7.0];
        // By hand: ranks y = [1,2,3.5,5,3.5]; sum dxdy = 8, sxx = 10, syy = 9.5
        // -> 8/sqrt(95). Tau-b: n0 = 10, n2 = 1, one discordant pair -> 7/sqrt(90).
        assert!(close(spearman(&x, &y), 0.820782681668123));
        assert!(close(spearman(&x, &y), 8.0 / 95f64.sqrt()));
        assert!(close(kendall_tau_b(&x, &y), 0.7378647873726218));
        assert!(close(kendall_tau_b(&x, &y), 7.0 / 90f64.sqrt()));
        // x = [1,2,3,4], y = [1,3,2,4]: C=5, D=1 -> tau 2/3; rho = 1 - 6*2/60 = 0.8.
        let (a, b) = ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]);
        assert!(close(kendall_tau_b(&a, &b), 2.0 / 3.0));
        assert!(close(spearman(&a, &b), 0.8));
        // Ties on both sides cancelling out.
        let (a, b) = ([1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 1.0, 2.0]);
        assert!(close(kendall_tau_b(&a, &b), 0.0));
        assert!(close(spearman(&a, &b), 0.0));
        // Joint ties: x=[1,1,2,3], y=[1,1,2,2]: pairs (0,1) tied in both,
        // (2,3) tied in y; the other 4 concordant. tau-b = 4/sqrt(5*4).
        let (a, b) = ([1.0, 1.0, 2.0, 3.0], [1.0, 1.0, 2.0, 2.0]);
        assert!(close(kendall_tau_b(&a, &b), 4.0 / 20f64.sqrt()));
        // Pearson by hand: x=[1,2,3], y=[1,2,4]: sxy=3, sxx=2, syy=14/3.
        assert!(close(pearson(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]), 3.0 / (2.0f64 * 14.0 / 3.0).sqrt()));
        // Huge finite scores: the sums of squares overflowed (r printed 0.000 or NaN).
        let r = 3.0 / (2.0f64 * 14.0 / 3.0).sqrt();
        for k in [1e154, 1e160, 1e300, f64::MAX / 4.0] {
            assert!(close(pearson(&[k, 2.0 * k, 3.0 * k], &[1.0, 2.0, 4.0]), r), "{k}");
            assert!(close(pearson(&[1.0, 2.0, 3.0], &[-k, -2.0 * k, -4.0 * k]), -r), "{k}");
        }
        let (x, y) = ([f64::MAX, 1.0, -f64::MAX], [1.0, 2.0, 3.0]);
        assert!(close(pearson(&x, &y), -1.0), "{}", pearson(&x, &y));
        // One outlier: r of [1e160, 2, 3] against [1, 2, 4] is that of [1, ~0, ~0].
        assert!(close(pearson(&[1e160, 2.0, 3.0], &[1.0, 2.0, 4.0]), pearson(&[1.0, 0.0, 0.0], &[1.0, 2.0, 4.0])));
        // Scaling by a power of two changes nothing: bit-identical on ordinary values.
        let (a, b) = ([0.3, 1.7, -2.2, 9.1, 4.4], [1.1, 0.2, 0.3, 7.0, 2.5]);
        let plain = |x: &[f64], y: &[f64]| {
            let n = x.len() as f64;
            let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
            let sxy: f64 = x.iter().zip(y).map(|(p, q)| (p - mx) * (q - my)).sum();
            let sxx: f64 = x.iter().map(|p| (p - mx) * (p - mx)).sum();
            let syy: f64 = y.iter().map(|q| (q - my) * (q - my)).sum();
            sxy / (sxx * syy).sqrt()
        };
        assert_eq!(pearson(&a, &b).to_bits(), plain(&a, &b).to_bits());
    }

    #[test]
    fn perfect_and_degenerate() {
        let x: Vec<f64> = (0..50).map(|i| i as f64 * 0.7).collect();
        let y: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        let r: Vec<f64> = x.iter().map(|v| -v).collect();
        assert!(close(spearman(&x, &y), 1.0) && close(kendall_tau_b(&x, &y), 1.0));
        assert!(close(spearman(&x, &r), -1.0) && close(kendall_tau_b(&x, &r), -1.0));
        assert!(close(pearson(&x, &x), 1.0));
        let c = vec![3.0; 50];
        assert!(spearman(&x, &c).is_nan() && kendall_tau_b(&x, &c).is_nan() && pearson(&c, &x).is_nan());
        assert!(spearman(&[1.0], &[2.0]).is_nan() && kendall_tau_b(&[1.0], &[2.0]).is_nan());
        assert!(spearman(&[1.0, 2.0], &[1.0]).is_nan() && kendall_tau_b(&[1.0, 2.0], &[1.0]).is_nan());
        let (fx, fy) = finite_pairs(&[1.0, f64::NAN, 3.0, 4.0], &[1.0, 2.0, f64::INFINITY, 0.5]);
        assert_eq!((fx, fy), (vec![1.0, 4.0], vec![1.0, 0.5]));
    }

    #[test]
    fn kendall_matches_naive_on_random_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        for trial in 0..300 {
            let n = rng.gen_range(2..60);
            let levels = rng.gen_range(1..8);
            let x: Vec<f64> = (0..n).map(|_| rng.gen_range(0..levels) as f64).collect();
            let y: Vec<f64> = (0..n).map(|_| rng.gen_range(0..levels + 2) as f64 * 0.5).collect();
            let (a, b) = (kendall_tau_b(&x, &y), tau_b_naive(&x, &y));
            assert!((a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12, "trial {trial}: {a} vs {b}");
        }
        // Continuous data, larger n.
        let x: Vec<f64> = (0..500).map(|_| rng.gen::<f64>()).collect();
        let y: Vec<f64> = x.iter().map(|v| v + 0.3 * rng.gen::<f64>()).collect();
        assert!((kendall_tau_b(&x, &y) - tau_b_naive(&x, &y)).abs() < 1e-12);
    }

    #[test]
    fn precision_at_k_cases() {
        let truth = [0.9, 0.1, 0.8, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6, 0.0];
        // Identical ranking -> 1; reversed -> 0 at 10 %.
        assert_eq!(precision_at_k(&truth, &truth, 0.3), 1.0);
        let rev: Vec<f64> = truth.iter().map(|v| -v).collect();
        assert_eq!(precision_at_k(&rev, &truth, 0.1), 0.0);
        // k = round(0.3*10) = 3: true top-3 = {0, 2, 6}; proxy top-3 = {0, 1, 3}.
        let scores = [5.0, 4.0, 1.0, 3.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
        assert!(close(precision_at_k(&scores, &truth, 0.3), 1.0 / 3.0));
        // k = max(1, round(0.01*10)) = 1.
        assert_eq!(precision_at_k(&scores, &truth, 0.01), 1.0);
        // Ties broken by index: scores tied at 0 pick the lowest indices among them.
        let ties = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert!(close(precision_at_k(&ties, &truth, 0.2), 0.5)); // top-2 truth {0,2}; ties pick {0,1}
                                                                 // One value throughout, in either ranking: no top-k, NaN (as Spearman's ρ).
        let flat = [1.0; 10];
        assert!(precision_at_k(&flat, &truth, 0.2).is_nan());
        assert!(precision_at_k(&truth, &flat, 0.2).is_nan());
        assert_eq!(precision_at_k(&[3.0], &[1.0], 0.1), 1.0);
        assert_eq!(precision_at_k(&scores, &truth, 2.0), 1.0); // k clamped to n
        assert!(precision_at_k(&[], &[], 0.1).is_nan());
        assert!(precision_at_k(&[1.0], &[1.0, 2.0], 0.1).is_nan());
    }

    #[test]
    fn bootstrap_behaviour() {
        let x: Vec<f64> = (0..200).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().enumerate().map(|(i, v)| v + if i % 2 == 0 { 40.0 } else { -40.0 }).collect();
        let full = spearman(&x, &y);
        let stat = |ix: &[usize]| {
            let a: Vec<f64> = ix.iter().map(|&i| x[i]).collect();
            let b: Vec<f64> = ix.iter().map(|&i| y[i]).collect();
            spearman(&a, &b)
        };
        let (lo, hi) = bootstrap_ci(x.len(), 300, 1, stat);
        assert!(lo < full && full < hi && hi <= 1.0 && hi - lo < 0.1, "{lo} {full} {hi}");
        assert_eq!(bootstrap_ci(x.len(), 300, 1, stat), (lo, hi)); // deterministic
                                                                   // Mean of 0..4: CI within [0, 4] and containing 2.
        let (l, h) = bootstrap_ci(5, 1000, 3, |ix| ix.iter().sum::<usize>() as f64 / ix.len() as f64);
        assert!((0.0..2.0).contains(&l) && h > 2.0 && h <= 4.0, "{l} {h}");
        let (a, b) = bootstrap_ci(0, 10, 0, |_| 1.0);
        assert!(a.is_nan() && b.is_nan());
        let (a, b) = bootstrap_ci(5, 10, 0, |_| f64::NAN);
        assert!(a.is_nan() && b.is_nan());
        assert_eq!(quantile_sorted(&[0.0, 10.0], 0.025), 0.25);
    }

    #[test]
    fn real_nb201_reference_proxies_shared_data() {
        use crate::data::shared_data_file;
        use crate::eval::truth::TruthTable;
        let (gt, zc) =
            (shared_data_file("nb201/nb201_cifar10.csv"), shared_data_file("nb201/nb201_zc_reference_cifar10.csv"));
        let truth = TruthTable::load_csv(&gt, "arch_str", "test_acc_200ep").unwrap();
        // README: Spearman with test_acc_200ep roughly nwot 0.81, synflow 0.78, snip 0.60.
        for (proxy, expected) in [("nwot", 0.81), ("synflow", 0.78), ("snip", 0.60)] {
            let t = TruthTable::load_csv(&zc, "net_str", proxy).unwrap();
            assert_eq!(t.len(), 9445);
            let (s, a): (Vec<f64>, Vec<f64>) = t.iter().map(|(k, v)| (v, truth.get(k).unwrap())).unzip();
            let (s, a) = finite_pairs(&s, &a);
            let rho = spearman(&s, &a);
            let tau = kendall_tau_b(&s, &a);
            eprintln!("{proxy}: spearman {rho:.4}, kendall {tau:.4}, p@10% {:.3}", precision_at_k(&s, &a, 0.1));
            assert!((rho - expected).abs() < 0.015, "{proxy}: {rho}");
            assert!(tau > 0.3 && tau < rho, "{proxy}: tau {tau}");
        }
    }
}
