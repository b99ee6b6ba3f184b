//! `zsnas export`: writes an architecture so that it can be trained elsewhere:
//! `<out>/arch.json` (space, canonical string, resolution, class count, params, FLOPs,
//! the layer plan) and `<out>/weights.safetensors` (the initialised parameters and BN
//! buffers under the reference PyTorch module names, e.g.
//! `module_list.1.module_list.0.module_list.0.netblock.weight`).

use crate::net::build::{arch_seed, build_model};
use crate::space::{AnyArch, SpaceKind};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Flags of `zsnas export`.
#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// Search space (mbv2, nb201 or nb101).
    #[arg(long, default_value = "mbv2")]
    pub space: String,
    /// The architecture (canonical text form of the space).
    #[arg(long)]
    pub arch: String,
    /// mbv2: input resolution, overriding the string's own.
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Number of classes (default 1,000 for mbv2, 10 otherwise).
    #[arg(long)]
    pub num_classes: Option<i64>,
    /// Seed of the initialisation (per architecture, as `zsnas score` uses it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created).
    #[arg(long)]
    pub output: PathBuf,
}

/// Runs `zsnas export`; returns the two paths written.
pub fn run(a: &ExportArgs) -> Result<(PathBuf, PathBuf)> {
    let space = SpaceKind::parse(&a.space)?;
    let mut arch = AnyArch::parse(space, &a.arch)?;
    if let Some(r) = a.resolution {
        match &mut arch {
            AnyArch::Mbv2(m) => {
                m.resolution = r;
                m.validate()?;
            }
            _ => bail!("--resolution only applies to --space mbv2"),
        }
    }
    let classes = a.num_classes.unwrap_or(space.default_num_classes());
    let text = arch.text();
    let model = build_model(&arch, classes, tch::Device::Cpu, arch_seed(a.seed, &text), None)?;
    std::fs::create_dir_all(&a.output).with_context(|| format!("cannot create '{}'", a.output.display()))?;
    let wpath = a.output.join("weights.safetensors");
    model.vs.save(&wpath).with_context(|| format!("cannot write '{}'", wpath.display()))?;
    let mut names: Vec<(String, Vec<i64>)> = model.vs.variables().into_iter().map(|(n, t)| (n, t.size())).collect();
    names.sort();
    let mut desc = json!({
        "space": space.name(),
        "arch": text,
        "num_classes": classes,
        "seed": a.seed,
        "params": model.param_count(),
        "weights": "weights.safetensors",
        "tensors": names.iter().map(|(n, s)| json!({"name": n, "shape": s})).collect::<Vec<_>>(),
    });
    if let AnyArch::Mbv2(m) = &arch {
        desc["arch_string"] = json!(m.arch_string());
        desc["resolution"] = json!(m.resolution);
        desc["flops"] = json!(m.flops(classes as usize));
        desc["flops_reference"] = json!(m.flops_reference(classes as usize));
        desc["layers"] = serde_json::to_value(m.layer_plan())?;
    }
    let jpath = a.output.join("arch.json");
    write_json(&jpath, &desc)?;
    Ok((jpath, wpath))
}

fn write_json(p: &Path, v: &serde_json::Value) -> Result<()> {
    std::fs::write(p, serde_json::to_string_pretty(v)? + "\n")
        .with_context(|| format!("cannot write '{}'", p.display()))
}
