//! Times the centred Gram kernel behind WRCor's correlations on one 64×16384 response
//! (the size of a 16-channel 32×32 NAS-Bench-201 site at batch 64):
//! `cargo run --release --example grambench`.
use std::time::Instant;
fn main() {
    let (n, d) = (64usize, 16384usize);
    let x: Vec<f32> = (0..n * d).map(|k| ((k as f32 * 0.7311).sin() * 3.0) + (k / d) as f32 * 0.01).collect();
    let mut ts = vec![];
    let mut chk = 0.0;
    for _ in 0..30 {
        let t = Instant::now();
        let g = zsnas::proxy::gram::centred_gram(&x, n, d);
        ts.push(t.elapsed().as_secs_f64() * 1e3);
        chk = g[5 * n + 9];
    }
    ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("median {:.3} ms  min {:.3} ms  chk {chk:.17e}", ts[15], ts[0]);
}
