//! `zsnas train` takes an architecture of every space (issue 17): one epoch of NAS-Bench-101
//! and MobileNetV2-like networks on 16 generated CIFAR-10-format images, with the epoch
//! logged and the weights exported as `model.pt`.

mod common;

const NB101: &str = "input,conv3x3,conv1x1,maxpool,output|01101|00011|00001|00001|00000";
const MBV2: &str = "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K3(16,16,1,16,1)SuperResIDWE2K3(16,24,2,16,1)SuperResIDWE2K5(24,32,2,16,1)SuperResIDWE2K3(32,48,2,16,1)SuperResIDWE2K3(48,64,1,16,1)SuperResIDWE2K3(64,96,2,32,1)SuperResIDWE2K3(96,128,1,32,1)SuperConvK1BNRELU(128,256,1,1)@64";

#[test]
fn one_epoch_of_nb101_and_mbv2() {
    let dir = tempfile::tempdir().unwrap();
    // 16 images in CIFAR-10 binary format: label byte, then 3×32×32 pixels.
    let data = dir.path().join("tiny.bin");
    let mut bytes = Vec::new();
    for i in 0..16u32 {
        bytes.push((i % 10) as u8);
        bytes.extend((0..3072u32).map(|j| ((j * 7 + i * 31) % 256) as u8));
    }
    std::fs::write(&data, bytes).unwrap();
    for (space, arch) in [("nb101", NB101), ("mbv2", MBV2)] {
        let out = dir.path().join(space);
        let (code, stdout, err) = common::zsnas(&[
            "--threads",
            "2",
            "train",
            "--space",
            space,
            "--arch",
            arch,
            "--num-classes",
            "10",
            "--data",
            data.to_str().unwrap(),
            "--test-data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{space}: {stdout}\n{err}");
        let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
        let v: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
        assert_eq!(v["epoch"], 1, "{space}");
        let loss = v["train_loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{space}: train loss {loss}");
        let acc = v["test_acc"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&acc), "{space}: {acc}");
        assert!(out.join("last/model.pt").is_file(), "{space}: no model.pt");
    }
}
