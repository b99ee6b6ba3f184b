//! TorchScript export (`zsnas::net::torchscript`): the exported `model.pt` of each space,
//! loaded back with libtorch's own loader (tch `CModule::load`, no zsnas code involved),
//! gives zsnas's logits in evaluation mode (running statistics) and in training mode
//! (batch statistics, with the same running-statistics update), carries the parameters
//! under zsnas's state-dict names, and keeps working at another batch size.

mod common;

use tch::{CModule, Device, Kind, Tensor};
use zsnas::net::build::build_model;
use zsnas::net::model::Model;
use zsnas::net::recorder::{Mode, Recorder};
use zsnas::net::torchscript::save_torchscript;
use zsnas::space::AnyArch;
use zsnas::space::SpaceKind;

fn logits(m: &Model, x: &Tensor, train: bool) -> Tensor {
    tch::no_grad(|| m.net.forward(x, &mut Recorder::plain(Mode { bn: true, train })))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Exports `arch` traced at `res`×`res`, reloads it with libtorch, and compares on inputs
/// of that size (returns the export's size).
fn check(space: SpaceKind, arch: &str, res: i64) -> u64 {
    tch::set_num_threads(1);
    let arch = AnyArch::parse(space, arch).unwrap();
    let m = build_model(&arch, 10, Device::Cpu, 7, None).unwrap();
    // Non-trivial running statistics, so that eval mode differs from train mode.
    tch::manual_seed(3);
    let warm = Tensor::randn([8, 3, res, res], (Kind::Float, Device::Cpu)) * 2.0 + 0.5;
    let _ = logits(&m, &warm, true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pt");
    let before: Vec<(String, Tensor)> = m.vs.variables().into_iter().map(|(k, v)| (k, v.copy())).collect();
    save_torchscript(&m, res, res, "ZsnasNet", &path).unwrap();
    // The export leaves the model alone (its traces run on a copy).
    for (k, v) in &before {
        assert!(m.vs.variables()[k].equal(v), "{k} changed by the export");
    }
    let mut c = CModule::load(&path).unwrap();
    let named: std::collections::HashMap<String, Tensor> = c.named_parameters().unwrap().into_iter().collect();
    let trainable = m.vs.trainable_variables().len();
    assert_eq!(named.len(), trainable, "parameter count of the TorchScript module");
    for (k, v) in m.vs.variables() {
        if v.requires_grad() {
            assert!(named[&k].equal(&v), "parameter {k} differs in model.pt");
        }
    }
    let x = Tensor::randn([5, 3, res, res], (Kind::Float, Device::Cpu));
    // Evaluation mode: running statistics.
    c.set_eval();
    let ours = logits(&m, &x, false);
    let theirs = tch::no_grad(|| c.forward_ts(&[&x])).unwrap();
    let scale = ours.abs().max().double_value(&[]).max(1e-3);
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-5 * scale, "{}: eval logits differ by {d} (scale {scale})", space.name());
    // Training mode: batch statistics; both update their running statistics alike.
    c.set_train();
    let ours = logits(&m, &x, true);
    let theirs = tch::no_grad(|| c.forward_ts(&[&x])).unwrap();
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-5 * scale, "{}: train logits differ by {d}", space.name());
    // After one more training-mode pass each, evaluation agrees again (same running stats).
    c.set_eval();
    let ours = logits(&m, &x.narrow(0, 0, 3), false);
    let theirs = tch::no_grad(|| c.forward_ts(&[&x.narrow(0, 0, 3)])).unwrap();
    assert_eq!(theirs.size(), vec![3, 10]);
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-5 * scale, "{}: eval logits after a train pass differ by {d}", space.name());
    // And eval mode really differs from train mode (the switch is honoured).
    let train_again = logits(&m, &x, true);
    let eval_now = logits(&m, &x, false);
    assert!(max_abs_diff(&train_again, &eval_now) > 1e-4 * scale, "{}: train and eval coincide", space.name());
    std::fs::metadata(&path).unwrap().len()
}

#[test]
fn nb201_model_pt_matches() {
    let n = check(
        SpaceKind::Nb201,
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
        32,
    );
    // 587,386 parameters + BN buffers in f32, plus code: a few MB.
    assert!(n > 2_300_000 && n < 4_000_000, "{n}");
}

#[test]
fn nb101_model_pt_matches() {
    check(SpaceKind::Nb101, "input,conv3x3,conv1x1,maxpool,output|01101|00011|00001|00001|00000", 32);
}

#[test]
fn mbv2_model_pt_matches() {
    check(
        SpaceKind::Mbv2,
        "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K3(16,16,1,16,1)SuperResIDWE2K3(16,24,2,16,1)SuperResIDWE2K5(24,32,2,16,1)SuperResIDWE2K3(32,48,2,16,1)SuperResIDWE2K3(48,64,1,16,1)SuperResIDWE2K3(64,96,2,32,1)SuperResIDWE2K3(96,128,1,32,1)SuperConvK1BNRELU(128,256,1,1)@64",
        64,
    );
}

/// An mbv2 network at resolution 64 traced on 32×32 inputs: `model.pt` resizes them to
/// 64×64 as zsnas's forward does (what `zsnas train` exports for 32×32 training images).
#[test]
fn mbv2_model_pt_resizes_like_zsnas() {
    check(
        SpaceKind::Mbv2,
        "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K3(16,16,1,16,1)SuperResIDWE2K3(16,24,2,16,1)SuperResIDWE2K5(24,32,2,16,1)SuperResIDWE2K3(32,48,2,16,1)SuperResIDWE2K3(48,64,1,16,1)SuperResIDWE2K3(64,96,2,32,1)SuperResIDWE2K3(96,128,1,32,1)SuperConvK1BNRELU(128,256,1,1)@64",
        32,
    );
}

#[test]
fn bad_class_name_is_an_error() {
    let arch = AnyArch::parse(
        SpaceKind::Nb201,
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    )
    .unwrap();
    let m = build_model(&arch, 10, Device::Cpu, 0, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = save_torchscript(&m, 32, 32, "bad name", &dir.path().join("m.pt")).unwrap_err().to_string();
    assert!(e.contains("class name"), "{e}");
}

#[test]
fn export_command_writes_model_pt() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
    let o = out.to_str().unwrap();
    let (code, stdout, err) =
        common::zsnas(&["export", "--space", "nb201", "--arch", skip, "--format", "torchscript", "--output", o]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("model.pt"), "{stdout}");
    let desc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("arch.json")).unwrap()).unwrap();
    assert_eq!(desc["weights"], "model.pt");
    assert_eq!(desc["format"], "torchscript");
    // The other format into the same folder would leave model.pt beside another
    // arch.json: refused.
    common::assert_error(
        &["export", "--space", "nb201", "--arch", skip, "--output", o],
        "holds model.pt of an earlier export",
    );
    // Same initialisation as the safetensors export of the same seed.
    let other = dir.path().join("f");
    let (code, _, err) =
        common::zsnas(&["export", "--space", "nb201", "--arch", skip, "--output", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let w: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(other.join("weights.safetensors")).unwrap().into_iter().collect();
    let c = CModule::load(out.join("model.pt")).unwrap();
    let named = c.named_parameters().unwrap();
    assert!(!named.is_empty());
    for (k, v) in named {
        assert!(v.equal(&w[&k]), "{k}");
    }
    common::assert_error(
        &["export", "--space", "nb201", "--arch", skip, "--format", "onnx", "--output", o],
        "unknown --format 'onnx'",
    );
}

/// A NAS-Bench-201 cell with dead edges is exported as `score` ranks it, in canonical
/// form (its `params` are the canonical network's), unless `--raw`; arch.json records the
/// string given.
#[test]
fn export_writes_the_network_score_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let dead = "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|";
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p.join("arch.json")).unwrap()).unwrap()
    };
    let (c, o) = (dir.path().join("c"), dir.path().join("r"));
    let (code, _, err) =
        common::zsnas(&["export", "--space", "nb201", "--arch", dead, "--output", c.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: exporting the canonical form"), "{err}");
    let d = read(&c);
    assert_eq!(d["arch"], "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|");
    assert_eq!(d["arch_given"], dead);
    let (code, out, err) = common::zsnas(&["score", "--arch", dead, "--proxies", "params", "--batch-size", "4"]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["scores"]["params"].as_f64().unwrap(), d["params"].as_f64().unwrap());
    let (code, _, err) =
        common::zsnas(&["export", "--space", "nb201", "--arch", dead, "--raw", "--output", o.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let r = read(&o);
    assert_eq!((r["arch"].as_str(), r.get("arch_given")), (Some(dead), None));
    assert!(r["params"].as_u64().unwrap() > d["params"].as_u64().unwrap(), "{r}");
    // Export replaces only an earlier export of the same architecture: another
    // architecture's export, or weights without an arch.json (a train run's last/), stay.
    let again =
        common::zsnas(&["export", "--space", "nb201", "--arch", dead, "--raw", "--output", o.to_str().unwrap()]);
    assert_eq!(again.0, 0, "{}", again.2);
    let skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
    common::assert_error(
        &["export", "--space", "nb201", "--arch", skip, "--output", o.to_str().unwrap()],
        "holds weights.safetensors of an export of another architecture",
    );
    std::fs::remove_file(o.join("arch.json")).unwrap();
    let before = std::fs::read(o.join("weights.safetensors")).unwrap();
    common::assert_error(
        &["export", "--space", "nb201", "--arch", dead, "--raw", "--output", o.to_str().unwrap()],
        "weights that are not a zsnas export",
    );
    assert_eq!(std::fs::read(o.join("weights.safetensors")).unwrap(), before);
}
