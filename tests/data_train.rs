//! `zsnas::train` end to end on a few real CIFAR-10 images: a run stopped after epoch 1
//! and resumed from its checkpoint ends with exactly the weights, BatchNorm statistics,
//! momentum buffers and log of an uninterrupted run (both recipes: NAS-Bench-201's, and
//! the ImageNet one with mixup, label smoothing, clipping and random resized crops);
//! resuming with other settings is refused naming the field; the `zsnas train` command
//! writes its log, plots, weights and a TorchScript module that libtorch loads.

mod common;

use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Tensor};
use zsnas::data::cifar10::{read_cifar10_bin, RawImages};
use zsnas::data::shared_data_file;
use zsnas::report::progress::ProgressMode;
use zsnas::space::AnyArch;
use zsnas::space::SpaceKind;
use zsnas::train::checkpoint;
use zsnas::train::recipe::Recipe;
use zsnas::train::trainer::{files, train, TrainOptions, TrainSpec};

const CELL: &str = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|";
const SKIP: &str = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";

/// The first `n` images of a CIFAR-10 file, starting at image `from`.
fn subset(raw: &RawImages, from: usize, n: usize) -> RawImages {
    let len = raw.image_len();
    RawImages {
        n,
        height: raw.height,
        width: raw.width,
        pixels: raw.pixels[from * len..(from + n) * len].to_vec(),
        labels: raw.labels[from..from + n].to_vec(),
        class_names: raw.class_names.clone(),
    }
}

fn spec(cell: &str) -> TrainSpec {
    let raw = read_cifar10_bin(shared_data_file("cifar10/train_4000.bin")).unwrap();
    let arch = AnyArch::parse(SpaceKind::Nb201, cell).unwrap();
    TrainSpec {
        space: "nb201".into(),
        arch: arch.text(),
        builder: zsnas::net::build::builder(&arch, 10),
        num_classes: 10,
        input_size: (32, 32),
        class_name: "Nb201Net".into(),
        train: subset(&raw, 0, 20),
        test: Some(subset(&raw, 100, 12)),
    }
}

fn opts(dir: &Path, stop_after: Option<usize>) -> TrainOptions {
    TrainOptions {
        output: dir.to_path_buf(),
        device: Device::Cpu,
        plot: false,
        torchscript: false,
        progress: ProgressMode::Off,
        stop_after,
    }
}

fn tensors(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path).unwrap().into_iter().collect()
}

/// Log lines without the wall-clock seconds.
fn log_without_time(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(files::LOG))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

fn stop_and_resume_equals_straight_run(cell: &str, recipe: Recipe) {
    tch::set_num_threads(1);
    let spec = spec(cell);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let straight = train(&spec, &recipe, &opts(a.path(), None)).unwrap();
    assert!(straight.finished && straight.resumed_from == 0);
    assert_eq!(straight.epochs.len(), 3);

    let first = train(&spec, &recipe, &opts(b.path(), Some(1))).unwrap();
    assert!(!first.finished && first.epochs.len() == 1);
    assert!(!b.path().join(files::LAST).exists(), "no final export before the last epoch");
    // A different setting is refused, naming the field.
    let mut other = recipe.clone();
    other.lr *= 2.0;
    let e = train(&spec, &other, &opts(b.path(), None)).unwrap_err().to_string();
    assert!(e.contains("'lr'"), "{e}");
    let mut other = recipe.clone();
    other.epochs += 1;
    let e = train(&spec, &other, &opts(b.path(), None)).unwrap_err().to_string();
    assert!(e.contains("'epochs'"), "{e}");
    // Other images of the same count and size are refused too, training and test alike.
    let raw = read_cifar10_bin(shared_data_file("cifar10/train_4000.bin")).unwrap();
    let mut moved = self::spec(cell);
    moved.train = subset(&raw, 20, 20);
    let e = train(&moved, &recipe, &opts(b.path(), None)).unwrap_err().to_string();
    assert!(e.contains("the train images are not the checkpoint's") && e.contains("--data"), "{e}");
    let mut moved = self::spec(cell);
    moved.test = Some(subset(&raw, 200, 12));
    let e = train(&moved, &recipe, &opts(b.path(), None)).unwrap_err().to_string();
    assert!(e.contains("the test images are not the checkpoint's") && e.contains("--test-data"), "{e}");
    let resumed = train(&spec, &recipe, &opts(b.path(), None)).unwrap();
    assert_eq!(resumed.resumed_from, 1);
    assert!(resumed.finished);

    // Identical final weights and BN statistics, bit for bit.
    let wa = tensors(&a.path().join(files::LAST).join(files::WEIGHTS));
    let wb = tensors(&b.path().join(files::LAST).join(files::WEIGHTS));
    assert_eq!(wa.len(), wb.len());
    assert!(wa.len() > 20);
    for (k, v) in &wa {
        assert!(v.equal(&wb[k]), "{k} differs between the straight and the resumed run");
    }
    // Identical checkpoints (momentum buffers, generator state, step count).
    let ca = checkpoint::load(&a.path().join(files::CHECKPOINT)).unwrap();
    let cb = checkpoint::load(&b.path().join(files::CHECKPOINT)).unwrap();
    assert_eq!(ca.meta, cb.meta);
    assert_eq!(ca.meta.epoch, 3);
    assert_eq!(ca.momentum.len(), cb.momentum.len());
    for (k, v) in &ca.momentum {
        assert!(v.equal(&cb.momentum[k]), "momentum buffer {k} differs");
    }
    // The same log (apart from timings), one line per epoch.
    let la = log_without_time(a.path());
    assert_eq!(la, log_without_time(b.path()));
    assert_eq!(la.len(), 3);
    assert_eq!(la[2]["epoch"], 3);
    assert_eq!(resumed.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), vec![1, 2, 3]);
    // Training changed the weights (the comparison above is not vacuous).
    let init = zsnas::net::model::Model::new(spec.builder.clone(), Device::Cpu, recipe.seed as i64);
    let w0: HashMap<String, Tensor> = init.vs.variables().into_iter().collect();
    assert!(wa.iter().any(|(k, v)| !v.equal(&w0[k])));
    // Best weights exist and belong to the best epoch.
    let (best_acc, best_epoch) = straight.best.unwrap();
    assert_eq!(la[best_epoch - 1]["test_acc"].as_f64().unwrap(), best_acc);
    assert!(a.path().join(files::BEST).join(files::WEIGHTS).exists());
}

#[test]
fn nb201_recipe_resume_is_exact() {
    let mut r = Recipe::nb201();
    r.epochs = 3;
    r.batch_size = 8; // 20 images: batches of 8, 8, 4
    stop_and_resume_equals_straight_run(CELL, r);
}

#[test]
fn imagenet_recipe_resume_is_exact() {
    let mut r = Recipe::imagenet();
    r.epochs = 3;
    r.batch_size = 8;
    r.seed = 5;
    stop_and_resume_equals_straight_run(SKIP, r);
}

#[test]
fn train_command_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    // 16 training and 8 test images as CIFAR-10 binary files.
    let bytes = std::fs::read(shared_data_file("cifar10/train_4000.bin")).unwrap();
    let tr = dir.path().join("train.bin");
    let te = dir.path().join("test.bin");
    std::fs::write(&tr, &bytes[..16 * 3073]).unwrap();
    std::fs::write(&te, &bytes[16 * 3073..24 * 3073]).unwrap();
    let out = dir.path().join("run");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--threads",
            "1",
            "train",
            "--arch",
            SKIP,
            "--data",
            tr.to_str().unwrap(),
            "--test-data",
            te.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--output",
            out.to_str().unwrap(),
            "--plot",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let r: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        common::zsnas(&r)
    };
    let (code, stdout, err) = run(&["--stop-after", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("NAS-Bench-201 index 1835"), "{stdout}");
    assert!(stdout.contains("stopped after epoch 1"), "{stdout}");
    let (code, _, err) = run(&["--lr", "0.2"]);
    assert_ne!(code, 0);
    assert!(err.contains("setting 'lr'"), "{err}");
    let (code, stdout, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("resumed after epoch 1"), "{stdout}");
    let log = std::fs::read_to_string(out.join(files::LOG)).unwrap();
    let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["epoch"], i + 1);
        for f in ["train_loss", "train_acc", "test_acc", "lr", "seconds"] {
            assert!(l[f].is_number(), "{f} missing in {l}");
        }
    }
    // Per-epoch cosine over 2 epochs: 0.1, then 0.05.
    assert_eq!(lines[0]["lr"], 0.1);
    assert!((lines[1]["lr"].as_f64().unwrap() - 0.05).abs() < 1e-12);
    assert!(out.join("curves.png").exists() && out.join("curves.svg").exists());
    // The exported TorchScript module gives the trained network's test logits.
    let m = tch::CModule::load(out.join(files::LAST).join(files::TORCHSCRIPT)).unwrap();
    let raw = read_cifar10_bin(&te).unwrap();
    let idx: Vec<usize> = (0..raw.n).collect();
    let x = Tensor::from_slice(&zsnas::data::transform::normalize_cifar(&raw, &idx).unwrap()).view([8, 3, 32, 32]);
    let mut model = zsnas::net::model::Model::new(
        zsnas::net::build::builder(&AnyArch::parse(SpaceKind::Nb201, SKIP).unwrap(), 10),
        Device::Cpu,
        0,
    );
    zsnas::net::weights::load_state_dict(&mut model.vs, &out.join(files::LAST).join(files::WEIGHTS)).unwrap();
    let mut m = m;
    m.set_eval();
    let theirs = tch::no_grad(|| m.forward_ts(&[&x])).unwrap();
    let ours = tch::no_grad(|| {
        model.net.forward(
            &x,
            &mut zsnas::net::recorder::Recorder::plain(zsnas::net::recorder::Mode { bn: true, train: false }),
        )
    });
    assert!((ours - theirs).abs().max().double_value(&[]) < 1e-4);
    assert!(out.join(files::BEST).join(files::TORCHSCRIPT).exists());
}

#[test]
fn train_command_bad_input() {
    common::assert_error(
        &["train", "--arch", SKIP, "--data", "/nonexistent.bin", "--output", "/tmp/x"],
        "does not exist",
    );
    common::assert_error(
        &["train", "--arch", SKIP, "--data", "x", "--output", "/tmp/x", "--recipe", "cifar"],
        "unknown recipe 'cifar'",
    );
    common::assert_error(&["train", "--arch", SKIP, "--data", "x", "--output", "/tmp/x", "--epochs", "0"], "--epochs");
    // A prepared batch for scoring is not a training set (it used to be read as a
    // truncated CIFAR-10 file).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("batch.safetensors");
    let images = tch::Tensor::zeros([2, 3, 4, 4], (tch::Kind::Float, tch::Device::Cpu));
    let labels = tch::Tensor::from_slice(&[0i64, 1]);
    tch::Tensor::write_safetensors(&[("images", &images), ("labels", &labels)], &p).unwrap();
    let out = dir.path().join("out");
    common::assert_error(
        &["train", "--arch", SKIP, "--data", p.to_str().unwrap(), "--output", out.to_str().unwrap()],
        "is a prepared .safetensors batch",
    );
    // Images the NAS-Bench-201 network cannot take (sides not multiples of 4) are refused
    // before training, naming --data, instead of failing inside libtorch.
    let folder = dir.path().join("odd");
    for (c, class) in ["cat", "dog"].iter().enumerate() {
        let d = folder.join(class);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..2u8 {
            image::RgbImage::from_pixel(30, 30, image::Rgb([c as u8 * 100, i * 50, 7]))
                .save(d.join(format!("{i}.png")))
                .unwrap();
        }
    }
    common::assert_error(
        &["train", "--arch", SKIP, "--data", folder.to_str().unwrap(), "--output", out.to_str().unwrap()],
        "images of 30x30 pixels do not fit the NAS-Bench-201 network",
    );
    // An export's folder is not a train run, and a train run's folder (or its last/) is
    // not an export's: each command refuses the other's, naming what it found.
    let export = dir.path().join("export");
    let (code, _, err) =
        common::zsnas(&["export", "--space", "nb201", "--arch", SKIP, "--output", export.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let data = shared_data_file("cifar10/train_4000.bin");
    common::assert_error(
        &[
            "train",
            "--arch",
            SKIP,
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--output",
            export.to_str().unwrap(),
        ],
        "holds an export (arch.json), not a train run",
    );
    assert!(!export.join("log.jsonl").exists());
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("last")).unwrap();
    std::fs::write(run.join("checkpoint.safetensors"), b"").unwrap();
    std::fs::write(run.join("last").join("model.pt"), b"trained").unwrap();
    common::assert_error(
        &["export", "--space", "nb201", "--arch", SKIP, "--output", run.to_str().unwrap()],
        "is a train run's folder (it holds checkpoint.safetensors)",
    );
    common::assert_error(
        &[
            "export",
            "--space",
            "nb201",
            "--arch",
            SKIP,
            "--format",
            "torchscript",
            "--output",
            run.join("last").to_str().unwrap(),
        ],
        "holds model.pt, weights that are not a zsnas export (no arch.json naming them)",
    );
    assert_eq!(std::fs::read(run.join("last").join("model.pt")).unwrap(), b"trained");
}
