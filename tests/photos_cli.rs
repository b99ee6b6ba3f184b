//! `zsnas score` on an ImageNet-style folder of real photographs of different sizes
//! (`--photos`), for the mbv2 space: the line records the folder and the drawn files.

mod common;
use common::{assert_error, zsnas};

const MBV2: &str = "SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(32,16,1,32,1)SuperResIDWE6K3(16,24,2,16,2)SuperResIDWE6K3(24,32,2,24,3)SuperResIDWE6K3(32,64,2,32,4)SuperResIDWE6K3(64,96,1,64,3)SuperResIDWE6K3(96,160,2,96,3)SuperResIDWE6K3(160,320,1,160,1)SuperConvK1BNRELU(320,1280,1,1)";
const PHOTOS: &str = "tests/fixtures/imagenet_like/photos";

#[test]
fn mbv2_scores_a_folder_of_mixed_size_photos_and_records_the_draw() {
    let args = [
        "score",
        "--space",
        "mbv2",
        "--arch",
        MBV2,
        "--data",
        PHOTOS,
        "--photos",
        "--balanced",
        "--batch-size",
        "3",
        "--resolution",
        "192",
        "--proxies",
        "params,naswot",
    ];
    let (c, out, err) = zsnas(&args);
    assert_eq!(c, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["setup"]["data"], PHOTOS);
    let drawn: Vec<&str> = v["drawn"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    assert_eq!(drawn.len(), 3);
    // Balanced: one photo of each of the three classes.
    for class in ["/cat/", "/cup/", "/space/"] {
        assert_eq!(drawn.iter().filter(|d| d.contains(class)).count(), 1, "{drawn:?}");
    }
    assert_eq!(v["resolution"], 192);
    assert_eq!(v["scores"]["params"], 4_465_880.0);
    assert!(v["scores"]["naswot"].as_f64().unwrap().is_finite(), "{v}");
    // The same seed draws the same files.
    let (_, out2, _) = zsnas(&args);
    let v2: serde_json::Value = serde_json::from_str(out2.lines().next().unwrap()).unwrap();
    assert_eq!(v2["drawn"], v["drawn"]);
    assert_eq!(v2["scores"]["naswot"], v["scores"]["naswot"]);
}

#[test]
fn photo_flags_are_checked() {
    assert_error(
        &["score", "--sample", "1", "--balanced", "--batch-size", "2"],
        "--balanced applies to --photos folders only",
    );
    assert_error(&["score", "--sample", "1", "--photos", "--batch-size", "2"], "needs a --data path");
    // Photos are resized and centre-cropped; --augment is refused, not recorded unapplied.
    assert_error(
        &["score", "--sample", "1", "--data", PHOTOS, "--photos", "--augment", "--batch-size", "3"],
        "--augment does not apply to --photos folders",
    );
    assert_error(
        &[
            "score",
            "--sample",
            "1",
            "--data",
            PHOTOS,
            "--num-classes",
            "2",
            "--photos",
            "--batch-size",
            "3",
            "--balanced",
        ],
        "outside the head's 2 classes",
    );
}
