//! Embeds an rpath to libtorch's lib folder (reported by torch-sys) so that the
//! `zsnas` binary and the test binaries run without `LD_LIBRARY_PATH`.
fn main() {
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    if let Ok(dir) = std::env::var("DEP_TORCH_SYS_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
