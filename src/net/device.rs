//! Devices: parsing `cpu`, `cuda`, `cuda:N`, and loading libtorch's CUDA library on demand.

use anyhow::{bail, Result};
use tch::Device;

/// Parses a device name: `cpu`, `cuda` or `cuda:N`. For CUDA, loads libtorch's CUDA
/// library (not linked by default, so that CPU-only installs work) and checks that a GPU
/// is visible.
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        _ if s == "cuda" || s.starts_with("cuda:") => {
            let idx: usize =
                if s == "cuda" { 0 } else { s[5..].parse().map_err(|_| anyhow::anyhow!("bad device '{s}'"))? };
            load_cuda();
            if !tch::Cuda::is_available() {
                bail!("--device {s}: no CUDA device is available (a CPU-only libtorch, or no GPU)");
            }
            Ok(Device::Cuda(idx))
        }
        _ => bail!("unknown device '{s}' (cpu, cuda, cuda:N)"),
    }
}

fn load_cuda() {
    // libtorch_cuda.so is dropped by the linker's --as-needed; load it at run time.
    let c = std::ffi::CString::new("libtorch_cuda.so").expect("no NUL in the name");
    // SAFETY: dlopen with a valid NUL-terminated name; a failure returns null, which the
    // CUDA availability check that follows reports as "no CUDA device".
    unsafe {
        libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
    }
}
