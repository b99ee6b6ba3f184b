//! WHAT an architecture is, independent of any tensor library: the search spaces
//! (NAS-Bench-201 cells, NAS-Bench-101 cells, the MobileNetV2-like space), an
//! architecture of any of them ([`AnyArch`]: canonical text, parsing, sampling, benchmark
//! index) and the interface strategies search over ([`Space`]: sampling, mutation, the
//! REINFORCE encoding).
//!
//! Adding a space: a module here (its type, parse/print, sample, mutate, encoding), a
//! variant of [`SpaceKind`] and [`AnyArch`] (the compiler then lists every `match` to
//! extend: [`arch`], [`interface`]), and its network in `net/` (`net::build`).

pub mod arch;
pub mod interface;
pub mod mbv2;
pub mod nb101;
pub mod nb201;
pub mod nb201_table;

pub use arch::AnyArch;
pub use interface::{Decision, Space};

use anyhow::{bail, Result};

/// The search spaces zsnas knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpaceKind {
    /// NAS-Bench-201 (CIFAR network, C=16, N=5).
    Nb201,
    /// NAS-Bench-101.
    Nb101,
    /// The MobileNetV2-like space.
    Mbv2,
}

impl SpaceKind {
    /// Every space, in listing order.
    pub const ALL: [SpaceKind; 3] = [SpaceKind::Nb201, SpaceKind::Nb101, SpaceKind::Mbv2];

    /// Parses `nb201`, `nb101` or `mbv2` (also `nasbench201`, `nas-bench-201`, ...).
    /// Errors name the input and list the spaces.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "nb201" | "nasbench201" | "nas-bench-201" => Ok(SpaceKind::Nb201),
            "nb101" | "nasbench101" | "nas-bench-101" => Ok(SpaceKind::Nb101),
            "mbv2" => Ok(SpaceKind::Mbv2),
            _ => bail!("unknown search space '{s}' (known: nb201, nb101, mbv2)"),
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            SpaceKind::Nb201 => "nb201",
            SpaceKind::Nb101 => "nb101",
            SpaceKind::Mbv2 => "mbv2",
        }
    }

    /// The class count of the space's default head: 10 (CIFAR-10) for the cell spaces,
    /// 1,000 (ImageNet) for mbv2.
    pub fn default_num_classes(self) -> i64 {
        match self {
            SpaceKind::Nb201 | SpaceKind::Nb101 => 10,
            SpaceKind::Mbv2 => 1000,
        }
    }
}
