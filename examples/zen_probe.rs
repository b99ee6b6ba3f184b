use zsnas::app::score::{build_model, nb201_builder};
use zsnas::proxy::sites::Recorder;
use zsnas::space::nb201::Nb201Arch;
use tch::{Kind, Tensor};
fn main() {
    let dir = std::path::PathBuf::from("/work/shared/golden/nb201");
    let t: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(dir.join("inputs.safetensors")).unwrap().into_iter().collect();
    let images = &t["images"];
    let a = Nb201Arch::parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|").unwrap();
    let m = build_model(nb201_builder(a, 10), tch::Device::Cpu, 0, Some(&dir.join("arch_c.safetensors"))).unwrap();
    tch::manual_seed(0);
    let eps = images.zeros_like().normal_(0.0, 1.0);
    let eps2 = images.zeros_like().normal_(0.0, 1.0);
    println!("eps[0..4] {:?}", Vec::<f32>::try_from(eps.flatten(0, -1).narrow(0, 0, 4)).unwrap());
    let _g = tch::no_grad_guard();
    let f = m.net.features(&eps, &mut Recorder::default());
    let mut names: Vec<_> = m.vs.variables().into_iter().filter(|(n, _)| n.ends_with("running_var")).collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (n, v) in &names { println!("after 1 pass {n}: mean rv {:.6}", v.mean(Kind::Float).double_value(&[])); }
    let _ = f; let _ = eps2;
    drop(_g);
    let m2 = build_model(nb201_builder(a, 10), tch::Device::Cpu, 0, Some(&dir.join("arch_c.safetensors"))).unwrap();
    println!("zen e = {}", zsnas::proxy::zen::score(&m2, images, 0).unwrap());
}
#[allow(dead_code)]
fn probe2() {}
