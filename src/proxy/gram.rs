//! The centred Gram matrix of float32 rows, accumulated in float64: the kernel behind
//! [`super::corr::corrcoef`] on CPU.
//!
//! For `x` [N, D] (f32, row-major), returns `S = Σ_d (x_id − μ_i)(x_jd − μ_j)` [N, N] in
//! f64, where μ_i is the row mean. This is `numpy.corrcoef`'s covariance times D − 1, with
//! the same precision as numpy's (each f32 value converted to f64 and centred in f64
//! before the products; only the summation order differs). It is computed in one pass
//! over `x`, without an f64 copy of it:
//!
//! * rows are shifted by a per-row constant a_i (the mean of up to 64 values spread
//!   evenly over the row) and the shifted sums t_i = Σ_d (x_id − a_i) are kept, so
//!   `S_ij = Σ_d (x_id − a_i)(x_jd − a_j) − t_i t_j / D` exactly in real arithmetic,
//!   with no cancellation when a_i is close to μ_i (the textbook shifted-data formula);
//! * columns are processed in chunks that are converted to f64 into a small buffer
//!   that stays in cache, and only the upper triangle is computed (the matrix is
//!   symmetric): with AVX-512, chunks of 64 columns are packed transposed and the
//!   products accumulate as outer products in 8×16 register blocks (module `outer`;
//!   each entry a left-to-right sum over the columns); otherwise (AVX2+FMA or scalar)
//!   4×4 row tiles run over chunks of 512 columns, the next chunk prefetched meanwhile.
//!   On one 64×16,384 response the AVX-512 path takes 1.6 ms against 3.0 ms for the
//!   tiles on the same CPU (`cargo run --release --example grambench`, 2-core Intel
//!   Xeon with AVX-512, medians of 30); the results differ in the last bits only.
//!
//! Measured on the 145 response tensors of the all-`nor_conv_3x3` NAS-Bench-201 cell at
//! batch 64 (2 cores): see `zsnas bench`'s breakdown and the README.

/// Rows per tile: tiles are 4×4 blocks of the N×N result.
const TILE: usize = 4;
/// Columns per chunk: a packed chunk of 64 rows is 64·512·8 B = 256 KiB (fits in L2).
const CHUNK: usize = 512;
/// Values per row averaged for the shift a_i. Each sits on its own cache line of a long
/// row, so more of them cost memory traffic (512 took 2–3 % of `wrcor`'s time on random
/// NAS-Bench-201 cells, `perf`), while any a_i within a few standard deviations of μ_i
/// keeps the shifted formula as accurate as the centred one.
const SHIFT_SAMPLES: usize = 64;

/// Centred Gram matrix `S` [n, n] (row-major, f64) of the f32 rows `x` (`n·d` values,
/// row i at `x[i·d .. (i+1)·d]`). Single-threaded and deterministic: the same input gives
/// the same bits whatever the thread settings ([`super::corr::corrcoef_many`] runs
/// several matrices in parallel instead).
///
/// # Panics
/// If `x.len() != n·d` (a caller bug, not an input error).
pub fn centred_gram(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    assert_eq!(x.len(), n * d, "centred_gram: {} values for {n}×{d}", x.len());
    if n == 0 {
        return Vec::new();
    }
    if d == 0 {
        return vec![0.0; n * n];
    }
    // Shift a_i: the mean of up to SHIFT_SAMPLES values spread evenly over row i
    // (exactly μ_i when d ≤ SHIFT_SAMPLES).
    let step = d.div_ceil(SHIFT_SAMPLES);
    let shift: Vec<f64> = (0..n)
        .map(|i| {
            let row = &x[i * d..(i + 1) * d];
            let (sum, count) = row.iter().step_by(step).fold((0.0f64, 0usize), |(s, c), &v| (s + v as f64, c + 1));
            sum / count as f64
        })
        .collect();
    let (g, t, np) = match Kernel::detect() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F was detected at run time.
        Kernel::Avx512 => {
            let np = n.div_ceil(outer::NR) * outer::NR;
            let (g, t) = unsafe { outer::shifted_sums(x, n, d, np, &shift) };
            (g, t, np)
        }
        kernel => {
            let np = n.div_ceil(TILE) * TILE;
            let (g, t) = shifted_sums(kernel, x, n, d, np, &shift);
            (g, t, np)
        }
    };
    let df = d as f64;
    let mut s = vec![0.0f64; n * n];
    for i in 0..n {
        for j in i..n {
            let v = g[i * np + j] - t[i] * t[j] / df;
            s[i * n + j] = v;
            s[j * n + i] = v;
        }
    }
    s
}

/// Sums over all columns of the shifted rows: (upper-triangle tile sums of
/// (x_i − a_i)(x_j − a_j) [np, np], row sums t_i [np]).
fn shifted_sums(kernel: Kernel, x: &[f32], n: usize, d: usize, np: usize, shift: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut g = vec![0.0f64; np * np];
    let mut t = vec![0.0f64; np];
    // Packed chunk: np rows × CHUNK columns, rows beyond n and columns beyond the chunk
    // stay zero (they add nothing).
    let mut p = vec![0.0f64; np * CHUNK];
    let mut c = 0;
    while c < d {
        let len = CHUNK.min(d - c);
        let len_pad = len.div_ceil(8) * 8;
        for i in 0..n {
            let row = &x[i * d + c..i * d + c + len];
            let dst = &mut p[i * CHUNK..i * CHUNK + len_pad];
            t[i] += kernel.pack(row, shift[i], dst);
        }
        // While the tiles run, prefetch the next chunk's rows (64 streams of 2 KiB that
        // the hardware prefetcher does not follow well), spread over the tiles.
        let next = c + len;
        let next_len = CHUNK.min(d - next);
        let lines_per_row = (next_len * 4).div_ceil(64);
        let total_lines = n * lines_per_row;
        let tiles = (np / TILE) * (np / TILE + 1) / 2;
        let per_tile = total_lines.div_ceil(tiles.max(1));
        let mut line = 0;
        for bi in 0..np / TILE {
            for bj in bi..np / TILE {
                kernel.tile(&p, CHUNK, bi * TILE, bj * TILE, len_pad, &mut g, np);
                for _ in 0..per_tile {
                    if line < total_lines {
                        let (r, l) = (line / lines_per_row, line % lines_per_row);
                        prefetch(&x[r * d + next + (l * 16).min(next_len - 1)]);
                        line += 1;
                    }
                }
            }
        }
        c += len;
    }
    (g, t)
}

/// The instruction set the tiles run on, chosen once per call at run time.
#[derive(Clone, Copy)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Scalar,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            // The AVX-512 kernel packs with the AVX2 routine, so it needs both.
            if avx2 && std::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if avx2 {
                return Kernel::Avx2;
            }
        }
        Kernel::Scalar
    }

    /// Writes `row − shift` (f64) into `dst[..row.len()]`, zeros after it; returns the sum.
    fn pack(self, row: &[f32], shift: f64, dst: &mut [f64]) -> f64 {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the feature was detected at run time.
            Kernel::Avx512 | Kernel::Avx2 => unsafe { pack_avx(row, shift, dst) },
            Kernel::Scalar => pack_scalar(row, shift, dst),
        }
    }

    /// Adds the 4×4 tile of products of rows `i0..i0+4` and `j0..j0+4` of the packed
    /// chunk `p` (row stride `stride`, `len` columns, a multiple of 8) into `g` (row
    /// stride `ld`).
    #[allow(clippy::too_many_arguments)]
    fn tile(self, p: &[f64], stride: usize, i0: usize, j0: usize, len: usize, g: &mut [f64], ld: usize) {
        assert!((i0.max(j0) + TILE - 1) * stride + len <= p.len() && len.is_multiple_of(8));
        assert!((i0 + TILE - 1) * ld + j0 + TILE <= g.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the feature was detected at run time (an AVX-512 CPU has AVX2+FMA:
            // `detect` checks both; its Gram takes the `outer` path, so the tiles run only
            // in tests there); the bounds are asserted above.
            Kernel::Avx512 | Kernel::Avx2 => unsafe { x86::tile_avx2(p.as_ptr(), stride, i0, j0, len, g, ld) },
            Kernel::Scalar => tile_scalar(p, stride, i0, j0, len, g, ld),
        }
    }
}

/// Hints the CPU to bring the cache line of `v` into L2.
#[inline(always)]
fn prefetch(v: &f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; the address is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(v as *const f32 as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

fn pack_scalar(row: &[f32], shift: f64, dst: &mut [f64]) -> f64 {
    let mut s = 0.0;
    for (o, &v) in dst.iter_mut().zip(row) {
        *o = v as f64 - shift;
        s += *o;
    }
    dst[row.len()..].iter_mut().for_each(|o| *o = 0.0);
    s
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn pack_avx(row: &[f32], shift: f64, dst: &mut [f64]) -> f64 {
    // Eight partial sums so that the loop vectorises; the order differs from a plain
    // left-to-right sum only in rounding.
    let mut acc = [0.0f64; 8];
    let n8 = row.len() / 8 * 8;
    for (o, v) in dst[..n8].chunks_exact_mut(8).zip(row[..n8].chunks_exact(8)) {
        for l in 0..8 {
            o[l] = v[l] as f64 - shift;
            acc[l] += o[l];
        }
    }
    for k in n8..row.len() {
        dst[k] = row[k] as f64 - shift;
        acc[0] += dst[k];
    }
    dst[row.len()..].iter_mut().for_each(|o| *o = 0.0);
    acc.iter().sum()
}

fn tile_scalar(p: &[f64], stride: usize, i0: usize, j0: usize, len: usize, g: &mut [f64], ld: usize) {
    for r in 0..TILE {
        let a = &p[(i0 + r) * stride..(i0 + r) * stride + len];
        for c in 0..TILE {
            let b = &p[(j0 + c) * stride..(j0 + c) * stride + len];
            g[(i0 + r) * ld + j0 + c] += a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        }
    }
}

/// The AVX-512 path: each chunk of KC columns is packed transposed (column k's values
/// of all rows contiguous, shifted, in f64; a panel that stays in L1), and the Gram
/// matrix is accumulated as outer products of columns in 8×16 blocks held in registers
/// (16 accumulators, each column value broadcast once per block), so each entry is a
/// plain left-to-right f64 sum over all D columns. The 4×4 tiles of the other paths
/// re-read their rows from L2 for every tile and are bound by L2 bandwidth on this shape.
#[cfg(target_arch = "x86_64")]
mod outer {
    use std::arch::x86_64::*;

    /// Rows of a register block.
    const MR: usize = 8;
    /// Columns of a register block (two 8-lane vectors); rows are padded to a multiple.
    pub const NR: usize = 16;
    /// Columns per panel: 64 columns of 64 rows are 32 KiB of f64.
    const KC: usize = 64;

    /// As [`super::shifted_sums`]: (upper-triangle sums of (x_i − a_i)(x_j − a_j)
    /// [np, np], row sums t_i [np]); `np` a multiple of [`NR`] and ≥ n.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn shifted_sums(x: &[f32], n: usize, d: usize, np: usize, shift: &[f64]) -> (Vec<f64>, Vec<f64>) {
        assert!(x.len() == n * d && shift.len() == n && np >= n && np.is_multiple_of(NR));
        let mut g = vec![0.0f64; np * np];
        let mut t = vec![0.0f64; np];
        // panel[k·np + i] = x[i, c + k] − a_i; rows ≥ n stay zero.
        let mut panel = vec![0.0f64; KC * np];
        let mut c = 0;
        while c < d {
            let len = KC.min(d - c);
            pack(x, n, d, c, len, np, shift, &mut panel);
            for k in 0..len {
                for (ti, v) in t.iter_mut().zip(&panel[k * np..(k + 1) * np]) {
                    *ti += v;
                }
            }
            for i0 in (0..np).step_by(MR) {
                for j0 in ((i0 / NR) * NR..np).step_by(NR) {
                    // In bounds: i0 + MR ≤ np, j0 + NR ≤ np, len ≤ KC.
                    block(panel.as_ptr(), np, len, i0, j0, g.as_mut_ptr());
                }
            }
            c += len;
        }
        (g, t)
    }

    /// Packs columns `c..c + len` of `x` transposed into `panel`: 8×8 blocks through
    /// registers, the remaining columns one by one.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    unsafe fn pack(x: &[f32], n: usize, d: usize, c: usize, len: usize, np: usize, shift: &[f64], panel: &mut [f64]) {
        let len8 = len / 8 * 8;
        let lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
        let hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
        let lo4 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
        let hi4 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
        for i0 in (0..n).step_by(8) {
            for k in (0..len8).step_by(8) {
                let mut r = [_mm512_setzero_pd(); 8];
                for (q, rq) in r.iter_mut().enumerate() {
                    let i = i0 + q;
                    if i < n {
                        let v = _mm512_cvtps_pd(_mm256_loadu_ps(x[i * d + c + k..i * d + c + k + 8].as_ptr()));
                        *rq = _mm512_sub_pd(v, _mm512_set1_pd(shift[i]));
                    }
                }
                // 8×8 transpose: pairs, then quads, then halves.
                let a = [
                    _mm512_unpacklo_pd(r[0], r[1]),
                    _mm512_unpackhi_pd(r[0], r[1]),
                    _mm512_unpacklo_pd(r[2], r[3]),
                    _mm512_unpackhi_pd(r[2], r[3]),
                    _mm512_unpacklo_pd(r[4], r[5]),
                    _mm512_unpackhi_pd(r[4], r[5]),
                    _mm512_unpacklo_pd(r[6], r[7]),
                    _mm512_unpackhi_pd(r[6], r[7]),
                ];
                let b = [
                    _mm512_permutex2var_pd(a[0], lo, a[2]),
                    _mm512_permutex2var_pd(a[0], hi, a[2]),
                    _mm512_permutex2var_pd(a[1], lo, a[3]),
                    _mm512_permutex2var_pd(a[1], hi, a[3]),
                    _mm512_permutex2var_pd(a[4], lo, a[6]),
                    _mm512_permutex2var_pd(a[4], hi, a[6]),
                    _mm512_permutex2var_pd(a[5], lo, a[7]),
                    _mm512_permutex2var_pd(a[5], hi, a[7]),
                ];
                // b[0]: columns 0 and 4 of rows 0-3; b[1]: 2, 6; b[2]: 1, 5; b[3]: 3, 7
                // (b[4..8] the same for rows 4-7).
                let cols = [
                    (0, _mm512_permutex2var_pd(b[0], lo4, b[4])),
                    (4, _mm512_permutex2var_pd(b[0], hi4, b[4])),
                    (2, _mm512_permutex2var_pd(b[1], lo4, b[5])),
                    (6, _mm512_permutex2var_pd(b[1], hi4, b[5])),
                    (1, _mm512_permutex2var_pd(b[2], lo4, b[6])),
                    (5, _mm512_permutex2var_pd(b[2], hi4, b[6])),
                    (3, _mm512_permutex2var_pd(b[3], lo4, b[7])),
                    (7, _mm512_permutex2var_pd(b[3], hi4, b[7])),
                ];
                for (m, v) in cols {
                    let o = (k + m) * np + i0;
                    _mm512_storeu_pd(panel[o..o + 8].as_mut_ptr(), v);
                }
            }
        }
        for k in len8..len {
            for i in 0..n {
                panel[k * np + i] = x[i * d + c + k] as f64 - shift[i];
            }
        }
    }

    /// Adds Σ_k panel[k, i0..i0+8] ⊗ panel[k, j0..j0+16] (k < len) into `g` (row stride np).
    ///
    /// # Safety
    /// AVX-512F; `i0 + 8 ≤ np`, `j0 + 16 ≤ np`, the panel holds `len` columns of `np`.
    #[target_feature(enable = "avx512f")]
    unsafe fn block(p: *const f64, np: usize, len: usize, i0: usize, j0: usize, g: *mut f64) {
        let mut acc = [[_mm512_setzero_pd(); 2]; MR];
        for (r, a) in acc.iter_mut().enumerate() {
            a[0] = _mm512_loadu_pd(g.add((i0 + r) * np + j0));
            a[1] = _mm512_loadu_pd(g.add((i0 + r) * np + j0 + 8));
        }
        for k in 0..len {
            let col = p.add(k * np);
            let b0 = _mm512_loadu_pd(col.add(j0));
            let b1 = _mm512_loadu_pd(col.add(j0 + 8));
            for (r, a) in acc.iter_mut().enumerate() {
                let v = _mm512_set1_pd(*col.add(i0 + r));
                a[0] = _mm512_fmadd_pd(v, b0, a[0]);
                a[1] = _mm512_fmadd_pd(v, b1, a[1]);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            _mm512_storeu_pd(g.add((i0 + r) * np + j0), a[0]);
            _mm512_storeu_pd(g.add((i0 + r) * np + j0 + 8), a[1]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::TILE;
    use std::arch::x86_64::*;

    /// 4×4 tile on AVX2+FMA: two passes of 4×2 columns (8 accumulators each, so they
    /// stay in the 16 ymm registers), 4 f64 lanes.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; rows `i0..i0+4`, `j0..j0+4` of `p` must hold `len`
    /// values from their start at stride `stride`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile_avx2(p: *const f64, stride: usize, i0: usize, j0: usize, len: usize, g: &mut [f64], ld: usize) {
        for half in 0..2 {
            let jb = j0 + 2 * half;
            let mut acc = [[_mm256_setzero_pd(); 2]; TILE];
            let mut k = 0;
            while k < len {
                let a = [
                    _mm256_loadu_pd(p.add(i0 * stride + k)),
                    _mm256_loadu_pd(p.add((i0 + 1) * stride + k)),
                    _mm256_loadu_pd(p.add((i0 + 2) * stride + k)),
                    _mm256_loadu_pd(p.add((i0 + 3) * stride + k)),
                ];
                let b = [_mm256_loadu_pd(p.add(jb * stride + k)), _mm256_loadu_pd(p.add((jb + 1) * stride + k))];
                for r in 0..TILE {
                    for c in 0..2 {
                        acc[r][c] = _mm256_fmadd_pd(a[r], b[c], acc[r][c]);
                    }
                }
                k += 4;
            }
            for r in 0..TILE {
                for c in 0..2 {
                    let v = acc[r][c];
                    let lo = _mm256_castpd256_pd128(v);
                    let hi = _mm256_extractf128_pd(v, 1);
                    let s2 = _mm_add_pd(lo, hi);
                    let s = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
                    g[(i0 + r) * ld + jb + c] += s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: numpy's recipe, f64 centring then plain products.
    fn naive(x: &[f32], n: usize, d: usize) -> Vec<f64> {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let r: Vec<f64> = x[i * d..(i + 1) * d].iter().map(|&v| v as f64).collect();
                let m = r.iter().sum::<f64>() / d as f64;
                r.iter().map(|v| v - m).collect()
            })
            .collect();
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                s[i * n + j] = rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum();
            }
        }
        s
    }

    fn data(n: usize, d: usize, offset: f32) -> Vec<f32> {
        // Deterministic, non-trivial values with a large common offset per row, so the
        // shifted formula's cancellation handling is exercised.
        (0..n * d).map(|k| offset * ((k / d) as f32 + 1.0) + ((k as f32 * 0.7311).sin() * 3.0)).collect()
    }

    #[test]
    fn matches_the_centred_f64_recipe_for_awkward_shapes() {
        for &(n, d) in &[(1, 1), (3, 5), (5, 17), (64, 1000), (10, 1537), (7, 3000)] {
            let x = data(n, d, 100.0);
            let want = naive(&x, n, d);
            let got = centred_gram(&x, n, d);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let scale = (want[(k / n) * n + k / n] * want[(k % n) * n + k % n]).sqrt().max(1e-300);
                assert!((g - w).abs() <= 1e-12 * scale, "n={n} d={d} k={k}: {g} vs {w}");
            }
        }
        assert!(centred_gram(&[], 0, 5).is_empty());
        assert_eq!(centred_gram(&[], 2, 0), vec![0.0; 4]);
    }

    #[test]
    fn every_kernel_agrees_with_the_scalar_one() {
        let (n, d) = (9, 2100);
        let x = data(n, d, 3.0);
        let np = n.div_ceil(TILE) * TILE;
        let shift = vec![0.5; n];
        let mut kernels = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            if avx2 {
                kernels.push(Kernel::Avx2);
            }
        }
        let run = |k: Kernel| {
            let mut g = vec![0.0; np * np];
            let mut p = vec![0.0; np * CHUNK];
            let mut t = vec![0.0; n];
            let len = CHUNK.min(d);
            for i in 0..n {
                t[i] = k.pack(&x[i * d..i * d + len], shift[i], &mut p[i * CHUNK..i * CHUNK + len]);
            }
            for bi in 0..np / TILE {
                for bj in bi..np / TILE {
                    k.tile(&p, CHUNK, bi * TILE, bj * TILE, len, &mut g, np);
                }
            }
            (g, t)
        };
        let (g0, t0) = run(Kernel::Scalar);
        assert!(g0.iter().any(|v| *v != 0.0));
        for k in kernels {
            let (g, t) = run(k);
            for (a, b) in g.iter().zip(&g0).chain(t.iter().zip(&t0)) {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn a_constant_row_has_zero_variance() {
        let (n, d) = (3, 700);
        let mut x = data(n, d, 1.0);
        x[d..2 * d].iter_mut().for_each(|v| *v = 2.5);
        let s = centred_gram(&x, n, d);
        for j in 0..n {
            assert_eq!(s[n + j], 0.0);
            assert_eq!(s[j * n + 1], 0.0);
        }
        assert!(s[0] > 0.0);
    }
}
