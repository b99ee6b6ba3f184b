//! The three NAS-Bench-201 data sets: CIFAR-10, CIFAR-100 and ImageNet16-120.
//!
//! For each, [`Dataset`] gives what a proxy run and an evaluation need: the class count, the
//! input resolution, the per-channel normalisation NAS-Bench-201 trains with, the padding
//! of its random-crop augmentation, and the names of its ground-truth columns in the
//! embedded NAS-Bench-201 table ([`crate::space::nb201_table`]).
//!
//! Source of the constants: NAS-Bench-201's `get_datasets` (xautodl,
//! `xautodl/datasets/get_dataset_with_transform.py`, D-X-Y/AutoDL-Projects): CIFAR-10
//! mean (125.3, 123.0, 113.9)/255, std (63.0, 62.1, 66.7)/255; CIFAR-100 mean
//! (129.3, 124.1, 112.4)/255, std (68.2, 65.4, 70.4)/255; ImageNet16-* mean
//! (122.68, 116.66, 104.01)/255, std (63.22, 61.26, 65.09)/255. Training crops are
//! `RandomCrop(32, padding=4)` for CIFAR and `RandomCrop(16, padding=2)` for ImageNet16;
//! ImageNet16-120 keeps the classes 1..=120 of the 1,000 (labels shifted to 0..=119).

use anyhow::{bail, Result};
use std::fmt;
use std::str::FromStr;

/// One of the NAS-Bench-201 data sets.
///
/// Canonical spellings (what [`Dataset::name`] and `Display` give): `cifar10`, `cifar100`,
/// `imagenet16-120`. [`Dataset::parse`] also accepts, case-insensitively and ignoring `-`,
/// `_` and spaces: `c10`, `cifar-10`; `c100`, `cifar-100`; `ImageNet16-120`, `imagenet16`,
/// `in16`, `in16-120`, `imagenet-16-120`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    /// CIFAR-10 (Krizhevsky 2009): 10 classes, 32×32 RGB.
    Cifar10,
    /// CIFAR-100 (Krizhevsky 2009): 100 fine classes (20 coarse), 32×32 RGB.
    Cifar100,
    /// ImageNet16-120 (NAS-Bench-201): the first 120 classes of the 16×16 downsampled
    /// ImageNet of Chrabaszcz, Loshchilov & Hutter (2017).
    ImageNet16_120,
}

/// Training schedule of a NAS-Bench-201 accuracy: the 200-epoch runs (the benchmark's
/// headline numbers, the default) or the 12-epoch ones (the "hp=12" runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Epochs {
    /// 200 epochs (default).
    #[default]
    E200,
    /// 12 epochs.
    E12,
}

impl Epochs {
    /// Parses `200` or `12` (a trailing `ep`/`epochs` is allowed: `200ep`, `12epochs`).
    ///
    /// Errors: anything else, naming the input and the choices.
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.trim_end_matches("epochs").trim_end_matches("ep").trim();
        match t {
            "200" => Ok(Epochs::E200),
            "12" => Ok(Epochs::E12),
            _ => bail!("unknown NAS-Bench-201 schedule '{s}': choose 200 or 12 (epochs)"),
        }
    }

    /// The number of epochs (200 or 12).
    pub fn count(self) -> u32 {
        match self {
            Epochs::E200 => 200,
            Epochs::E12 => 12,
        }
    }
}

impl Dataset {
    /// All three, in the benchmark's order.
    pub const ALL: [Dataset; 3] = [Dataset::Cifar10, Dataset::Cifar100, Dataset::ImageNet16_120];

    /// The canonical spelling: `cifar10`, `cifar100` or `imagenet16-120`.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::Cifar100 => "cifar100",
            Dataset::ImageNet16_120 => "imagenet16-120",
        }
    }

    /// Parses a data-set name: the canonical spellings or an alias listed on [`Dataset`].
    ///
    /// Errors: an unknown name; the message names the input and lists the choices.
    pub fn parse(s: &str) -> Result<Self> {
        let key: String =
            s.trim().chars().filter(|c| !matches!(c, '-' | '_' | ' ')).map(|c| c.to_ascii_lowercase()).collect();
        match key.as_str() {
            "cifar10" | "c10" => Ok(Dataset::Cifar10),
            "cifar100" | "c100" => Ok(Dataset::Cifar100),
            "imagenet16120" | "imagenet16" | "in16" | "in16120" => Ok(Dataset::ImageNet16_120),
            _ => bail!(
                "unknown data set '{s}': choose cifar10, cifar100 or imagenet16-120 \
                 (aliases: c10, c100, ImageNet16-120, imagenet16, in16)"
            ),
        }
    }

    /// Number of classes: 10, 100, 120.
    pub fn num_classes(self) -> usize {
        match self {
            Dataset::Cifar10 => 10,
            Dataset::Cifar100 => 100,
            Dataset::ImageNet16_120 => 120,
        }
    }

    /// Input side length in pixels (square images): 32, 32, 16.
    pub fn resolution(self) -> usize {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => 32,
            Dataset::ImageNet16_120 => 16,
        }
    }

    /// Per-channel (R, G, B) mean and standard deviation in byte units (0–255), exactly as
    /// NAS-Bench-201's `get_datasets` writes them before dividing by 255.
    pub fn mean_std_bytes(self) -> ([f64; 3], [f64; 3]) {
        match self {
            Dataset::Cifar10 => ([125.3, 123.0, 113.9], [63.0, 62.1, 66.7]),
            Dataset::Cifar100 => ([129.3, 124.1, 112.4], [68.2, 65.4, 70.4]),
            Dataset::ImageNet16_120 => ([122.68, 116.66, 104.01], [63.22, 61.26, 65.09]),
        }
    }

    /// `(mean, std)` on the `[0, 1]` scale as `f32`, as torchvision's
    /// `Normalize([x / 255 for x in mean], [x / 255 for x in std])` stores them (computed
    /// in `f64`, rounded to `f32`), ready for [`crate::data::transform::normalize`].
    pub fn mean_std(self) -> ([f32; 3], [f32; 3]) {
        let (m, s) = self.mean_std_bytes();
        (m.map(|v| (v / 255.0) as f32), s.map(|v| (v / 255.0) as f32))
    }

    /// Zero padding of the training augmentation's random crop: 4 pixels for CIFAR
    /// (`RandomCrop(32, padding=4)`), 2 for ImageNet16 (`RandomCrop(16, padding=2)`).
    pub fn augment_padding(self) -> usize {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => 4,
            Dataset::ImageNet16_120 => 2,
        }
    }

    /// The column of the embedded NAS-Bench-201 table holding this data set's test
    /// accuracy (%, mean over seeds) after `epochs` of training:
    ///
    /// | data set | 200 epochs | 12 epochs |
    /// |---|---|---|
    /// | cifar10 | `test_acc_200ep` (trained on train+valid) | `test_acc_12ep` |
    /// | cifar100 | `cifar100_test_200` | `cifar100_test_12` |
    /// | imagenet16-120 | `imagenet16_test_200` | `imagenet16_test_12` |
    ///
    /// The default truth of a ranking study is `truth_column(Epochs::E200)`.
    pub fn truth_column(self, epochs: Epochs) -> &'static str {
        match (self, epochs) {
            (Dataset::Cifar10, Epochs::E200) => "test_acc_200ep",
            (Dataset::Cifar10, Epochs::E12) => "test_acc_12ep",
            (Dataset::Cifar100, Epochs::E200) => "cifar100_test_200",
            (Dataset::Cifar100, Epochs::E12) => "cifar100_test_12",
            (Dataset::ImageNet16_120, Epochs::E200) => "imagenet16_test_200",
            (Dataset::ImageNet16_120, Epochs::E12) => "imagenet16_test_12",
        }
    }

    /// The validation-accuracy column (%) after `epochs`, where the table has one:
    /// cifar10 `valid_acc_200ep` (the cifar10-valid split) / `valid_acc_12ep`; cifar100
    /// `cifar100_valid_12`; imagenet16-120 `imagenet16_valid_12`; `None` for the 200-epoch
    /// validation accuracy of cifar100 and imagenet16-120 (not in the table).
    pub fn valid_column(self, epochs: Epochs) -> Option<&'static str> {
        match (self, epochs) {
            (Dataset::Cifar10, Epochs::E200) => Some("valid_acc_200ep"),
            (Dataset::Cifar10, Epochs::E12) => Some("valid_acc_12ep"),
            (Dataset::Cifar100, Epochs::E12) => Some("cifar100_valid_12"),
            (Dataset::ImageNet16_120, Epochs::E12) => Some("imagenet16_valid_12"),
            _ => None,
        }
    }

    /// Every ground-truth column of this data set in the embedded table (accuracies in %;
    /// for cifar10 also `valid_split_test_acc_200ep` and `params_m`).
    pub fn truth_columns(self) -> &'static [&'static str] {
        match self {
            Dataset::Cifar10 => &[
                "test_acc_200ep",
                "valid_acc_200ep",
                "valid_split_test_acc_200ep",
                "test_acc_12ep",
                "valid_acc_12ep",
                "params_m",
            ],
            Dataset::Cifar100 => &["cifar100_test_200", "cifar100_test_12", "cifar100_valid_12"],
            Dataset::ImageNet16_120 => &["imagenet16_test_200", "imagenet16_test_12", "imagenet16_valid_12"],
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = anyhow::Error;
    /// Same as [`Dataset::parse`] (for clap's `value_parser`).
    fn from_str(s: &str) -> Result<Self> {
        Dataset::parse(s)
    }
}

impl FromStr for Epochs {
    type Err = anyhow::Error;
    /// Same as [`Epochs::parse`].
    fn from_str(s: &str) -> Result<Self> {
        Epochs::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::transform::cifar10_mean_std;

    #[test]
    fn parse_names_and_aliases() {
        for (s, d) in [
            ("cifar10", Dataset::Cifar10),
            ("CIFAR-10", Dataset::Cifar10),
            ("c10", Dataset::Cifar10),
            ("cifar100", Dataset::Cifar100),
            ("cifar_100", Dataset::Cifar100),
            ("C100", Dataset::Cifar100),
            ("imagenet16-120", Dataset::ImageNet16_120),
            ("ImageNet16-120", Dataset::ImageNet16_120),
            ("imagenet16", Dataset::ImageNet16_120),
            (" in16 ", Dataset::ImageNet16_120),
        ] {
            assert_eq!(Dataset::parse(s).unwrap(), d, "{s}");
            assert_eq!(s.parse::<Dataset>().unwrap(), d);
        }
        for d in Dataset::ALL {
            assert_eq!(Dataset::parse(&d.to_string()).unwrap(), d);
        }
        assert_eq!(Dataset::ImageNet16_120.to_string(), "imagenet16-120");
        let e = Dataset::parse("svhn").unwrap_err().to_string();
        assert!(e.contains("'svhn'") && e.contains("cifar10, cifar100 or imagenet16-120"), "{e}");
        assert!(Dataset::parse("imagenet").is_err() && Dataset::parse("cifar").is_err());
    }

    #[test]
    fn constants() {
        let got: Vec<_> = Dataset::ALL.iter().map(|d| (d.num_classes(), d.resolution(), d.augment_padding())).collect();
        assert_eq!(got, vec![(10, 32, 4), (100, 32, 4), (120, 16, 2)]);
        // CIFAR-10 statistics agree with the existing transform constants, bit for bit.
        assert_eq!(Dataset::Cifar10.mean_std(), cifar10_mean_std());
        let (m, s) = Dataset::Cifar100.mean_std();
        assert_eq!(m[0], (129.3f64 / 255.0) as f32);
        assert!((m[2] - 0.440_784_3).abs() < 1e-7 && (s[1] - 0.256_470_6).abs() < 1e-7, "{m:?} {s:?}");
        let (m, s) = Dataset::ImageNet16_120.mean_std();
        assert!((m[0] - 0.481_098_04).abs() < 1e-7 && (s[2] - 0.255_254_9).abs() < 1e-7, "{m:?} {s:?}");
    }

    #[test]
    fn columns() {
        assert_eq!(Dataset::Cifar10.truth_column(Epochs::default()), "test_acc_200ep");
        assert_eq!(Dataset::Cifar100.truth_column(Epochs::E200), "cifar100_test_200");
        assert_eq!(Dataset::ImageNet16_120.truth_column(Epochs::E12), "imagenet16_test_12");
        assert_eq!(Dataset::Cifar100.valid_column(Epochs::E200), None);
        assert_eq!(Dataset::ImageNet16_120.valid_column(Epochs::E12), Some("imagenet16_valid_12"));
        for d in Dataset::ALL {
            for e in [Epochs::E200, Epochs::E12] {
                assert!(d.truth_columns().contains(&d.truth_column(e)));
                if let Some(v) = d.valid_column(e) {
                    assert!(d.truth_columns().contains(&v));
                }
            }
        }
        assert_eq!(Epochs::parse("12").unwrap(), Epochs::E12);
        assert_eq!(Epochs::parse("200ep").unwrap().count(), 200);
        let e = Epochs::parse("108").unwrap_err().to_string();
        assert!(e.contains("'108'") && e.contains("200 or 12"), "{e}");
    }
}
