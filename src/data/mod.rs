//! Dataset readers (CIFAR-10/100 binary and python version, ImageNet16 pickles, image
//! folders, ImageNet-style photo folders), the NAS-Bench-201 data sets ([`dataset`]),
//! CPU-side transforms and ground-truth tables. All of it is pure Rust except [`batch`],
//! [`load`] and [`imagenet_folder`], which wrap the result in tch tensors.

pub mod batch;
pub mod cifar10;
pub mod cifar100;
pub mod cifar_python;
pub mod dataset;
pub mod folder;
pub mod formats;
pub mod imagenet16;
pub mod imagenet_folder;
pub mod load;
pub mod pickle;
pub mod transform;

use std::path::PathBuf;

/// Location of the shared real-data directory (the one holding `cifar10/`,
/// `nb201/`, `nb101/`), or `None` when none can be found.
///
/// Lookup order:
/// 1. the environment variable `ZSNAS_DATA`, if set and non-empty (returned
///    as given, even if it does not exist, so a wrong setting surfaces as a
///    clear "missing file" error later);
/// 2. `<CARGO_MANIFEST_DIR>/../shared/data` (the crate root as seen at compile
///    time), if it is a directory;
/// 3. `./../shared/data` relative to the current working directory, if it is
///    a directory.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("ZSNAS_DATA") {
        if !v.is_empty() {
            return Some(PathBuf::from(v));
        }
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if manifest.is_dir() {
        return Some(manifest);
    }
    let local = PathBuf::from("./../shared/data");
    if local.is_dir() {
        return Some(local);
    }
    None
}

/// The path of `rel` inside the shared data folder ([`data_dir`]), for tests and
/// benchmarks. Panics with a clear message when the folder or file is missing: a test
/// that needs real data must fail, not pass silently, when the data is not there.
pub fn shared_data_file(rel: &str) -> PathBuf {
    let dir = data_dir().expect("shared data folder not found: set ZSNAS_DATA or place it at ../shared/data");
    let p = dir.join(rel);
    assert!(p.exists(), "shared data file {} is missing", p.display());
    p
}
