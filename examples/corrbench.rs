use std::time::Instant;
use tch::{Device, Kind, Tensor};
fn med(mut v: Vec<f64>) -> f64 { v.sort_by(|a,b| a.partial_cmp(b).unwrap()); v[v.len()/2] }
fn main() {
    tch::set_num_threads(std::env::var("T").map(|v| v.parse().unwrap()).unwrap_or(2));
    for &d in &[16384i64, 4096] {
        let x = Tensor::randn([64, d], (Kind::Float, Device::Cpu));
        let mut t_all = vec![]; let mut t_conv = vec![]; let mut t_mm = vec![]; let mut t_mm32 = vec![];
        for _ in 0..20 {
            let t = Instant::now(); let c = zsnas::proxy::corr::corrcoef(&x); let _ = c.double_value(&[0,1]); t_all.push(t.elapsed().as_secs_f64()*1e3);
            let t = Instant::now(); let xd = x.to_kind(Kind::Double); let xc = &xd - xd.mean_dim(1, true, Kind::Double); let _ = xc.double_value(&[0,0]); t_conv.push(t.elapsed().as_secs_f64()*1e3);
            let t = Instant::now(); let g = xc.mm(&xc.tr()); let _ = g.double_value(&[0,0]); t_mm.push(t.elapsed().as_secs_f64()*1e3);
            let t = Instant::now(); let g = x.mm(&x.tr()); let _ = g.double_value(&[0,0]); t_mm32.push(t.elapsed().as_secs_f64()*1e3);
        }
        println!("D={d}: corrcoef {:.3} ms; convert+center {:.3}; dgemm {:.3}; sgemm {:.3}", med(t_all), med(t_conv), med(t_mm), med(t_mm32));
    }
}
