//! Files that may be gzip-compressed (detected by content, not by name).

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;

/// Reads a whole file, transparently decompressing it if it is gzip data
/// (detected by the magic bytes `1f 8b`, not by the file name).
///
/// Errors: the file cannot be read, or gzip data fails to decompress (both
/// naming the path).
pub fn read_maybe_gz(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    maybe_gunzip(bytes, &path.display().to_string())
}

/// Decompresses `bytes` if they start with the gzip magic `1f 8b`, else
/// returns them unchanged. `name` is used in error messages.
pub fn maybe_gunzip(bytes: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .with_context(|| format!("cannot decompress gzip data in {name}"))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}
