//! Embeds an rpath to libtorch's lib folder (reported by torch-sys) so that the
//! `zsnas` binary and the test binaries run without `LD_LIBRARY_PATH`, and compiles the
//! C++ sources of zsnas (`src/net/bn_channels_last.cpp`, `src/net/avg_pool_channels_last.cpp`:
//! libtorch autograd functions) against the same libtorch headers.
use std::path::PathBuf;

fn main() {
    let mut lib_dir = None;
    for var in ["DEP_TCH_LIBTORCH_LIB", "DEP_TORCH_SYS_LIBTORCH_LIB"] {
        if let Ok(dir) = std::env::var(var) {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            lib_dir = Some(PathBuf::from(dir));
        }
    }
    let srcs = ["src/net/bn_channels_last.cpp", "src/net/avg_pool_channels_last.cpp"];
    for src in srcs {
        println!("cargo:rerun-if-changed={src}");
    }
    let lib_dir = lib_dir.expect("torch-sys did not report libtorch's lib folder (DEP_TORCH_SYS_LIBTORCH_LIB)");
    let root = lib_dir.parent().expect("libtorch's lib folder has a parent").to_path_buf();
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .files(srcs)
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        // Multiplications and additions rounded separately on every CPU, as written.
        .flag("-ffp-contract=off")
        // at::parallel_for is an inline OpenMP loop: without this it runs on one thread.
        // It then uses libtorch's own libgomp (torch-sys links it), i.e. its thread pool.
        .flag("-fopenmp")
        .flag_if_supported("-Wno-c++20-extensions")
        .warnings(false)
        .compile("zsnas_libtorch_ops");
}
