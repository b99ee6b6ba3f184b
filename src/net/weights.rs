//! Loading PyTorch state dicts (safetensors) into a [`tch::nn::VarStore`].

use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::nn::VarStore;

/// Copies every variable of `vs` from the safetensors file `path` (PyTorch names, e.g.
/// `cells.3.layers.2.op.1.weight`). Extra tensors in the file are ignored, as PyTorch's
/// `load_state_dict(strict=False)` does; BN `num_batches_tracked` silently, any other
/// with a note on stderr naming how many and the first (weights of another architecture).
///
/// Errors: unreadable file, a variable missing from the file (named), a shape mismatch, a
/// tensor holding NaN or infinite values (named).
pub fn load_state_dict(vs: &mut VarStore, path: &Path) -> Result<()> {
    if !path.exists() {
        bail!("weights file '{}' does not exist", path.display());
    }
    let tensors = tch::Tensor::read_safetensors(path)
        .with_context(|| format!("cannot read weights file '{}' as safetensors", path.display()))?;
    let map: std::collections::HashMap<String, tch::Tensor> = tensors.into_iter().collect();
    let mut vars: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, var) in vars.iter() {
        let src = map.get(name).ok_or_else(|| {
            anyhow::anyhow!("weights file '{}' has no tensor '{}' (the network needs it)", path.display(), name)
        })?;
        if !bool::try_from(src.to_kind(tch::Kind::Double).isfinite().all())? {
            bail!("weights file '{}': tensor '{}' holds NaN or infinite values", path.display(), name);
        }
        if src.size() != var.size() {
            bail!(
                "weights file '{}': tensor '{}' has shape {:?}, the network expects {:?}",
                path.display(),
                name,
                src.size(),
                var.size()
            );
        }
        tch::no_grad(|| {
            let mut v = var.shallow_clone();
            v.copy_(&src.to_kind(var.kind()).to_device(var.device()));
        });
    }
    let mut extra: Vec<&String> =
        map.keys().filter(|k| !k.ends_with("num_batches_tracked") && !vars.iter().any(|(n, _)| n == *k)).collect();
    if !extra.is_empty() {
        extra.sort();
        crate::note!(
            "note: weights file '{}': {} tensors are not in this network and are ignored (first: '{}'); were the weights made for another architecture?",
            path.display(),
            extra.len(),
            extra[0]
        );
    }
    Ok(())
}
