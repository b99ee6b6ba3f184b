//! Devices: parsing `cpu`, `cuda`, `cuda:N`, and loading libtorch's CUDA library on demand.

use anyhow::{bail, Result};
use tch::Device;

/// Parses a device name: `cpu`, `cuda` or `cuda:N`. For CUDA, loads libtorch's CUDA
/// library (not linked by default, so that CPU-only installs work) and checks that a GPU
/// is visible and that N names one of them.
///
/// Errors (each names `--device` and the value): an unknown name, a GPU index that is not
/// a number, no visible GPU, an index at or above the number of visible GPUs.
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        _ if s == "cuda" || s.starts_with("cuda:") => {
            let idx: usize = if s == "cuda" {
                0
            } else {
                s[5..].parse().map_err(|_| {
                    anyhow::anyhow!(
                        "--device '{s}': the GPU index after 'cuda:' must be a number 0, 1, ... (e.g. cuda:0)"
                    )
                })?
            };
            load_cuda();
            if !tch::Cuda::is_available() {
                bail!("--device {s}: no CUDA device is available (a CPU-only libtorch, or no GPU)");
            }
            let count = tch::Cuda::device_count().max(0) as usize;
            if idx >= count {
                bail!("--device {s}: {count} CUDA device(s) visible, so the index must be below {count}");
            }
            Ok(Device::Cuda(idx))
        }
        _ => bail!("--device '{s}': unknown device (cpu, cuda or cuda:N)"),
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
