//! The data-set readers end to end: every format through `load_batch`, the ImageNet-style
//! photo folders against torchvision's transform (PIL references), and the CLI on CIFAR-100
//! and ImageNet16 files.

mod common;
use common::zsnas;

use std::path::{Path, PathBuf};
use tch::Tensor;
use zsnas::data::dataset::Dataset;
use zsnas::data::formats::ReadOptions;
use zsnas::data::imagenet_folder::{
    decode_rgb, eval_transform, load_imagenet_folder_batch, Drawn, ImageNetFolder, ImageNetFolderMode, IMAGENET_MEAN,
    IMAGENET_STD,
};
use zsnas::data::load::{load_batch, load_batch_with, BatchSpec, DataSource, LoadOptions};
use zsnas::data::shared_data_file;
use zsnas::data::transform::{crop_flip, normalize};

const A: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn floats(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
}

fn longs(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(t).unwrap()
}

fn spec(batch_size: usize, seed: u64, augment: bool) -> BatchSpec {
    BatchSpec { batch_size, seed, augment }
}

fn path(p: &Path) -> DataSource {
    DataSource::Path(p.to_path_buf())
}

#[test]
fn cifar10_pickles_load_exactly_like_the_binary_records_shared_data() {
    // The pickle folder holds the first 8 training images of train_4000.bin.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("first8.bin");
    let bytes = std::fs::read(shared_data_file("cifar10/train_4000.bin")).unwrap();
    std::fs::write(&bin, &bytes[..8 * 3073]).unwrap();
    for augment in [false, true] {
        let a = load_batch(&path(&fixture("pickle/cifar-10-batches-py")), &spec(8, 11, augment)).unwrap();
        let b = load_batch(&path(&bin), &spec(8, 11, augment)).unwrap();
        assert_eq!(floats(&a.images), floats(&b.images), "augment {augment}");
        assert_eq!(longs(&a.labels), longs(&b.labels));
    }
}

#[test]
fn cifar10_batches_are_unchanged_shared_data() {
    // load_batch on CIFAR-10 must give what it gave before the other data sets existed:
    // choose_batch, CIFAR-10 mean/std, pad-4 crop + flip drawn from ChaCha8(seed ^ 0xA5A5_5A5A).
    use rand::SeedableRng;
    use zsnas::data::transform::{augment, choose_batch, cifar10_mean_std, normalize_image_into};
    let src = path(&shared_data_file("cifar10/train_4000.bin"));
    let raw = zsnas::data::load::read_raw(&src).unwrap();
    for (seed, aug) in [(0u64, false), (7, true)] {
        let b = load_batch(&src, &spec(16, seed, aug)).unwrap();
        let idx = choose_batch(raw.n, 16, seed).unwrap();
        let (m, s) = cifar10_mean_std();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xA5A5_5A5A);
        let mut want = Vec::new();
        for &i in &idx {
            let img = raw.image(i).unwrap();
            let a = if aug { augment(img, 32, 32, &mut rng).unwrap() } else { img.to_vec() };
            normalize_image_into(&a, &m, &s, &mut want).unwrap();
        }
        assert_eq!(floats(&b.images), want, "seed {seed}");
        assert_eq!(longs(&b.labels), idx.iter().map(|&i| raw.labels[i] as i64).collect::<Vec<_>>());
    }
}

#[test]
fn cifar100_uses_its_own_normalisation_and_fine_labels() {
    let b = load_batch(&path(&fixture("pickle/cifar-100-python/train")), &spec(4, 0, false)).unwrap();
    assert_eq!(b.images.size(), [4, 3, 32, 32]);
    let labels = longs(&b.labels);
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0, 19, 29, 99]);
    let (m, s) = Dataset::Cifar100.mean_std();
    let x = floats(&b.images);
    for (k, &l) in labels.iter().enumerate() {
        // Fixture image i (labels [19, 29, 0, 99]) has pixel (c, y, x) = (37 i + 11 c + 3 y + x) % 256.
        let i = [19, 29, 0, 99].iter().position(|&v| v == l).unwrap();
        for (c, y, xx) in [(0usize, 0usize, 0usize), (2, 31, 31)] {
            let byte = ((37 * i + 11 * c + 3 * y + xx) % 256) as f32;
            assert_eq!(x[k * 3072 + c * 1024 + y * 32 + xx], (byte / 255.0 - m[c]) / s[c]);
        }
    }
    // Coarse labels on request.
    let opts = LoadOptions {
        read: ReadOptions { cifar100_labels: zsnas::data::cifar100::Cifar100Labels::Coarse, ..Default::default() },
        ..Default::default()
    };
    let c = load_batch_with(&path(&fixture("pickle/cifar-100-python/train")), &spec(4, 0, false), &opts).unwrap();
    let mut cl = longs(&c.labels);
    cl.sort();
    assert_eq!(cl, vec![4, 11, 15, 19]);
}

#[test]
fn imagenet16_batches_are_16px_with_padding_2_augmentation() {
    let src = path(&fixture("pickle/ImageNet16/val_data"));
    let raw = zsnas::data::load::read_raw(&src).unwrap();
    assert_eq!((raw.n, raw.height, raw.width), (3, 16, 16));
    let (m, s) = Dataset::ImageNet16_120.mean_std();
    // Every augmented image is one of the pad-2 crops (offsets 0..=4) of its source, possibly
    // flipped; pad-4 shifts beyond ±2 would not match. 12 seeds x 3 images.
    for seed in 0..12 {
        let b = load_batch(&src, &spec(3, seed, true)).unwrap();
        assert_eq!(b.images.size(), [3, 3, 16, 16]);
        let x = floats(&b.images);
        let labels = longs(&b.labels);
        for k in 0..3 {
            let i = raw.labels.iter().position(|&l| l as i64 == labels[k]).unwrap();
            let img = raw.image(i).unwrap();
            let got = &x[k * 768..(k + 1) * 768];
            let found = (0..=4).any(|t| {
                (0..=4).any(|l| {
                    [false, true].into_iter().any(|f| {
                        let c = crop_flip(img, 16, 16, 2, t, l, f).unwrap();
                        let one = zsnas::data::cifar10::RawImages {
                            n: 1,
                            height: 16,
                            width: 16,
                            pixels: c,
                            labels: vec![0],
                            class_names: vec!["x".into()],
                        };
                        normalize(&one, &[0], &m, &s).unwrap() == got
                    })
                })
            });
            assert!(found, "seed {seed} image {k} is not a pad-2 crop");
        }
    }
}

#[test]
fn dataset_option_checks_the_data() {
    let c100 = path(&fixture("pickle/cifar-100-python/train"));
    let o = |d: Dataset| LoadOptions { dataset: Some(d), ..Default::default() };
    let e = load_batch_with(&c100, &spec(2, 0, false), &o(Dataset::Cifar10)).unwrap_err().to_string();
    assert!(
        e.contains("holds cifar100") && e.contains("CIFAR-100 python version") && e.contains("data set is cifar10"),
        "{e}"
    );
    assert!(load_batch_with(&c100, &spec(2, 0, false), &o(Dataset::Cifar100)).is_ok());
    let e = load_batch_with(&DataSource::Embedded, &spec(2, 0, false), &o(Dataset::ImageNet16_120)).unwrap_err();
    assert!(e.to_string().contains("holds cifar10") && e.to_string().contains("imagenet16-120"), "{e}");
    assert!(e.to_string().contains("holds cifar10 but"), "the source is not named twice: {e}");
    // ImageNet16-200 files read with 200 classes hold label 120: outside ImageNet16-120.
    let wide = LoadOptions {
        dataset: Some(Dataset::ImageNet16_120),
        read: ReadOptions { imagenet16_classes: 200, ..Default::default() },
        ..Default::default()
    };
    let e = load_batch_with(&path(&fixture("pickle/ImageNet16/train_data_batch_1")), &spec(2, 0, false), &wide)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 120") && e.contains("120 classes of imagenet16-120"), "{e}");
    // Wrong-format files through the loader: CIFAR-100 binary records named like CIFAR-10.
    let dir = tempfile::tempdir().unwrap();
    let mut rec = vec![3u8, 42];
    rec.extend(vec![9u8; 3072]);
    let f = dir.path().join("data_batch_1.bin");
    std::fs::write(&f, rec.repeat(3)).unwrap();
    let b = load_batch(&path(&f), &spec(3, 0, false)).unwrap();
    assert_eq!(longs(&b.labels), vec![42, 42, 42], "3,074-byte records read as CIFAR-100 by size");
    std::fs::write(&f, &rec.repeat(3)[..9000]).unwrap();
    let e = load_batch(&path(&f), &spec(1, 0, false)).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
}

/// Mean and max absolute difference (byte units) of two equal-length byte buffers.
fn diff(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let mad = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.len() as f64;
    (mad, a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).max().unwrap())
}

fn chw(img: &image::RgbImage) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let plane = (w * h) as usize;
    let mut out = vec![0u8; 3 * plane];
    for (k, p) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + k] = p.0[c];
        }
    }
    out
}

#[test]
fn photo_transform_matches_torchvision_references() {
    // References: PIL Resize(round(R/0.875), bilinear) + CenterCrop(R) of each photo
    // (tests/fixtures/imagenet_like/README.md). Photos of 451x300, 384x256, 210x320, 96x96.
    for (class, file) in
        [("cat", "chelsea.jpg"), ("cup", "coffee.jpg"), ("space", "rocket.jpg"), ("space", "astronaut.png")]
    {
        let img = decode_rgb(&fixture(&format!("imagenet_like/photos/{class}/{file}"))).unwrap();
        for r in [32usize, 64] {
            let stem = file.split('.').next().unwrap();
            let reference = decode_rgb(&fixture(&format!("imagenet_like/reference/{class}_{stem}_r{r}.png"))).unwrap();
            assert_eq!(reference.dimensions(), (r as u32, r as u32));
            let ours = eval_transform(&img, r).unwrap();
            let (mad, max) = diff(&ours, &chw(&reference));
            eprintln!("{class}/{file} at {r}: mean |ours - PIL| = {mad:.3}, max {max}");
            assert!(mad < 0.5 && max <= 4, "{class}/{file} at {r}: mean abs diff {mad}, max {max}");
            // Control: a transform that skips the resize (a plain centre crop) is far off.
            if img.width().min(img.height()) as usize > 2 * r {
                let (w, h) = img.dimensions();
                let crop = image::imageops::crop_imm(&img, (w - r as u32) / 2, (h - r as u32) / 2, r as u32, r as u32);
                let (far, _) = diff(&chw(&crop.to_image()), &chw(&reference));
                assert!(far > 3.0 * mad.max(1.0), "{class}/{file}: control {far} vs {mad}");
            }
        }
    }
}

#[test]
fn photo_folder_batches() {
    let root = fixture("imagenet_like/photos");
    let folder = ImageNetFolder::open(&root).unwrap();
    assert_eq!(folder.class_names, vec!["cat", "cup", "space"]);
    assert_eq!(folder.files.iter().map(|f| f.len()).collect::<Vec<_>>(), vec![1, 1, 2]);
    // Balanced draws of 3 take one image of each class; of 4, all.
    for seed in 0..6 {
        let d = folder.draw(3, seed, true).unwrap();
        let mut classes: Vec<usize> = d.iter().map(|x| x.class).collect();
        classes.sort();
        assert_eq!(classes, vec![0, 1, 2], "seed {seed}");
        assert_eq!(folder.draw(3, seed, true).unwrap(), d, "seeded");
    }
    let firsts: std::collections::HashSet<usize> = (0..20).map(|s| folder.draw(3, s, true).unwrap()[0].class).collect();
    assert_eq!(firsts.len(), 3, "the class order is shuffled by the seed");
    let mut all = folder.draw(4, 5, false).unwrap();
    all.sort_by_key(|d| (d.class, d.file));
    assert_eq!(
        all,
        vec![
            Drawn { class: 0, file: 0 },
            Drawn { class: 1, file: 0 },
            Drawn { class: 2, file: 0 },
            Drawn { class: 2, file: 1 }
        ]
    );
    assert!(folder.draw(5, 0, true).unwrap_err().to_string().contains("cannot draw a batch of 5 from the 4 images"));

    let (b, files) = load_imagenet_folder_batch(&root, 224, 4, 1, true).unwrap();
    assert_eq!(b.images.size(), [4, 3, 224, 224]);
    assert_eq!(files.len(), 4);
    let labels = longs(&b.labels);
    for (f, l) in files.iter().zip(&labels) {
        let class = f.parent().unwrap().file_name().unwrap().to_str().unwrap();
        assert_eq!(folder.class_names[*l as usize], class);
    }
    // Normalisation: the batch equals the byte transform normalised with the ImageNet mean/std.
    let x = floats(&b.images);
    let bytes = eval_transform(&decode_rgb(&files[2]).unwrap(), 224).unwrap();
    let plane = 224 * 224;
    for k in [0usize, 777, plane + 5, 2 * plane + 50_000] {
        let c = k / plane;
        let want = (bytes[k] as f32 / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        assert_eq!(x[2 * 3 * plane + k], want, "element {k}");
    }
    // The same mode through load_batch_with.
    let opts = LoadOptions {
        imagenet_folder: Some(ImageNetFolderMode { resolution: 64, balanced: false }),
        ..Default::default()
    };
    let b = load_batch_with(&path(&root), &spec(2, 3, false), &opts).unwrap();
    assert_eq!(b.images.size(), [2, 3, 64, 64]);
}

#[test]
fn only_the_drawn_images_are_decoded_and_labels_go_past_255() {
    // 1,000 classes, each with one valid 4x4 PNG (colour from the class) and two files that
    // are not images at all: listing and drawing never open them.
    let dir = tempfile::tempdir().unwrap();
    for c in 0..1000u32 {
        let d = dir.path().join(format!("n{c:08}"));
        std::fs::create_dir(&d).unwrap();
        image::RgbImage::from_pixel(4, 4, image::Rgb([(c % 256) as u8, (c / 256) as u8, 7]))
            .save(d.join("0.png"))
            .unwrap();
        std::fs::write(d.join("1.jpg"), b"").unwrap();
        std::fs::write(d.join("2.JPEG"), b"corrupt").unwrap();
    }
    let t = std::time::Instant::now();
    let folder = ImageNetFolder::open(dir.path()).unwrap();
    assert_eq!((folder.class_names.len(), folder.len()), (1000, 3000));
    let d = folder.draw(1000, 9, true).unwrap();
    let mut classes: Vec<usize> = d.iter().map(|x| x.class).collect();
    classes.sort();
    assert_eq!(classes, (0..1000).collect::<Vec<_>>(), "a balanced draw of 1,000 takes each class once");
    eprintln!("listed 3,000 files in 1,000 classes and drew 1,000 in {:?}", t.elapsed());
    let pick = [Drawn { class: 999, file: 0 }, Drawn { class: 300, file: 0 }, Drawn { class: 0, file: 0 }];
    let b = folder.load(&pick, 2).unwrap();
    assert_eq!(longs(&b.labels), vec![999, 300, 0]);
    let x = floats(&b.images);
    for (k, c) in [999u32, 300, 0].into_iter().enumerate() {
        let r = ((c % 256) as f32 / 255.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        let g = ((c / 256) as f32 / 255.0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1];
        assert_eq!((x[k * 12], x[k * 12 + 4]), (r, g), "class {c}");
    }
    let e = format!("{:#}", folder.load(&[Drawn { class: 5, file: 2 }], 2).unwrap_err());
    assert!(e.contains("n00000005") && e.contains("2.JPEG"), "{e}");
}

#[test]
fn cli_scores_cifar100_and_imagenet16_files() {
    let c100 = fixture("pickle/cifar-100-python/train");
    let (code, out, err) = zsnas(&[
        "score",
        "--arch",
        A,
        "--data",
        c100.to_str().unwrap(),
        "--num-classes",
        "100",
        "--batch-size",
        "4",
        "--proxies",
        "synflow,naswot",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    for p in ["synflow", "naswot"] {
        assert!(v["scores"][p].as_f64().is_some_and(|x| x.is_finite()), "{p}: {out}");
    }
    let in16 = fixture("pickle/ImageNet16");
    let (code, out, err) = zsnas(&[
        "score",
        "--arch",
        A,
        "--data",
        in16.to_str().unwrap(),
        "--num-classes",
        "120",
        "--batch-size",
        "5",
        "--proxies",
        "naswot",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("naswot"), "{out}");
    // A CIFAR-100 binary file of 3,074-byte records named like CIFAR-10 is read as CIFAR-100;
    // truncated records still say so.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.bin");
    std::fs::write(&f, vec![1u8; 3074 * 2 + 5]).unwrap();
    common::assert_error(&["score", "--arch", A, "--data", f.to_str().unwrap()], "truncated");
}
