//! `zsnas export`: writes an architecture so that it can be trained elsewhere:
//! `<out>/arch.json` (space, canonical string — for NAS-Bench-201 the canonical cell,
//! dead edges set to `none`, as `score` ranks it, unless `--raw`; `arch_given` then holds
//! the string as given —, resolution, class count, params, FLOPs,
//! the layer plan, and the name and shape of every tensor) and either
//! `<out>/weights.safetensors` (`--format safetensors`, the default) or `<out>/model.pt`
//! (`--format torchscript`, see [`crate::net::torchscript`]).
//!
//! # Parameter names
//!
//! Both files hold the initialised parameters and BatchNorm buffers (`weight`, `bias`,
//! `running_mean`, `running_var`; no `num_batches_tracked`) under the state-dict names
//! of the reference PyTorch code of each space, so that `load_state_dict(...,
//! strict=False)` on the reference module fills every tensor:
//!
//! * nb201 (xautodl `TinyNetwork`, C=16, N=5): `stem.0.weight` (conv), `stem.1.*` (BN),
//!   `cells.{0..16}.layers.{e}.op.1.weight` / `.op.2.*` for the ReLU-Conv-BN edge `e`
//!   (0..5 in the order 1←0, 2←0, 2←1, 3←0, 3←1, 3←2; only conv edges have tensors),
//!   `cells.{5,11}.conv_a|conv_b.op.{1,2}.*` and `cells.{5,11}.downsample.1.weight` (the
//!   residual reduction blocks), `lastact.0.*` (final BN), `classifier.{weight,bias}`;
//! * nb101 (the PyTorch port's `NASBench101Network`): see [`crate::net::nb101`]
//!   (`layers.0.conv_bn_relu.{0,1}`, `layers.i.vertex_op.t.conv3x3.conv_bn_relu.{0,1}`,
//!   `layers.i.input_op.t.conv_bn_relu.{0,1}`, `classifier`);
//! * mbv2 (ZSNAS-WRCor's `PlainNet`): see [`crate::net::mbv2`]
//!   (`module_list.{s}.module_list.{k}.netblock.*`, e.g.
//!   `module_list.1.module_list.0.module_list.0.netblock.weight`, `...proj.{0,1}.*`,
//!   `fc_linear.netblock.{weight,bias}`).

use super::scoring::guarded_work;
use crate::net::build::build_seeded;
use crate::report::cut;
use crate::space::{AnyArch, SpaceKind};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Flags of `zsnas export`.
#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// Search space: mbv2 (the default), nb201 or nb101.
    #[arg(long)]
    pub space: Option<String>,
    /// The architecture (canonical text form of the space).
    #[arg(long)]
    pub arch: String,
    /// mbv2: input resolution, overriding the string's own.
    #[arg(long, allow_negative_numbers = true, value_parser = super::setup::count)]
    pub resolution: Option<usize>,
    /// Number of classes (default 1,000 for mbv2, 10 otherwise).
    #[arg(long, value_parser = super::setup::classes)]
    pub num_classes: Option<i64>,
    /// Seed of the initialisation (per architecture, as `zsnas score` uses it).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub seed: u64,
    /// nb201: export the cell as written, dead edges kept (default: its canonical form,
    /// every dead edge set to `none`, the network `zsnas score` and `search` rank, as
    /// `score --raw` does for scoring).
    #[arg(long)]
    pub raw: bool,
    /// Output folder (created).
    #[arg(long)]
    pub output: PathBuf,
    /// Weights format: safetensors (weights.safetensors) or torchscript (model.pt, a
    /// module that `torch.jit.load` runs without zsnas).
    #[arg(long, default_value = "safetensors")]
    pub format: String,
}

/// Runs `zsnas export`; returns the two paths written (arch.json, then the weights file).
/// A libtorch failure (e.g. out of memory) is an error, and an output folder created by
/// the failed run is removed.
pub fn run(a: &ExportArgs) -> Result<(PathBuf, PathBuf)> {
    let torchscript = match a.format.as_str() {
        "safetensors" => false,
        "torchscript" => true,
        f => bail!("unknown --format '{f}' (safetensors or torchscript)"),
    };
    let space = SpaceKind::parse(a.space.as_deref().unwrap_or("mbv2"))?;
    let mut arch = AnyArch::parse(space, &a.arch).map_err(|e| {
        let default = if a.space.is_none() { " (export's default; give --space for another)" } else { "" };
        anyhow::anyhow!("--arch is not an architecture of --space {}{default}: {e}", space.name())
    })?;
    if let Some(r) = a.resolution {
        match &mut arch {
            AnyArch::Mbv2(m) => {
                m.resolution = r;
                m.validate()?;
            }
            _ => bail!("--resolution only applies to --space mbv2"),
        }
    }
    let given = arch.text();
    if !a.raw {
        arch = arch.canonical();
    }
    let text = arch.text();
    if text != given {
        let _ = writeln!(
            std::io::stderr().lock(),
            "note: exporting the canonical form {text} of --arch (its dead edges set to none), the network score and search rank; --raw exports the cell as written"
        );
    }
    let classes = a.num_classes.unwrap_or(space.default_num_classes());
    // A train run's folder (or its best/ and last/ weights) is not an export's.
    for f in ["checkpoint.safetensors", "log.jsonl"] {
        if a.output.join(f).exists() {
            bail!("--output {} is a train run's folder (it holds {f}): give another folder", a.output.display());
        }
    }
    let has_arch_json = a.output.join("arch.json").exists();
    for f in ["weights.safetensors", "model.pt"] {
        if !has_arch_json && a.output.join(f).exists() {
            bail!(
                "--output {} holds {f}, weights that are not a zsnas export (no arch.json naming them): give another folder",
                a.output.display()
            );
        }
    }
    // The other format's file of an earlier export would sit beside this arch.json.
    let other = a.output.join(if torchscript { "weights.safetensors" } else { "model.pt" });
    if other.exists() {
        bail!(
            "--output {} holds {} of an earlier export, which this --format {} export would leave beside another arch.json: give another folder or remove it",
            a.output.display(),
            other.file_name().unwrap_or_default().to_string_lossy(),
            a.format
        );
    }
    // The file this export writes may only replace an earlier export of the same
    // architecture (its arch.json says which), never other weights (a train run's last/).
    let target = a.output.join(if torchscript { "model.pt" } else { "weights.safetensors" });
    if target.exists() {
        let recorded = std::fs::read_to_string(a.output.join("arch.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["arch"].as_str().map(str::to_string));
        if recorded.as_deref() != Some(text.as_str()) {
            let whose = match recorded {
                Some(r) => format!("an export of another architecture ({})", cut(&r, 60)),
                None => "weights that are not a zsnas export (no arch.json naming them)".to_string(),
            };
            bail!(
                "--output {} holds {} of {whose}: give another folder",
                a.output.display(),
                target.file_name().unwrap_or_default().to_string_lossy()
            );
        }
    }
    let doing = match &arch {
        AnyArch::Mbv2(m) => format!("exporting {} at resolution {}", cut(&text, 120), m.resolution),
        _ => format!("exporting {}", cut(&text, 120)),
    };
    let hint = if space == SpaceKind::Mbv2 { "try a smaller --resolution" } else { "" };
    // An output folder this run creates is removed again when the export fails.
    let created = !a.output.exists();
    let r = guarded_work(&doing, hint, || write_files(a, &arch, &given, space, classes, torchscript));
    if r.is_err() && created {
        let _ = std::fs::remove_dir_all(&a.output);
    }
    r
}

/// Builds the network of `arch` (`given`: the `--arch` string, recorded when it differs)
/// and writes the weights file and `arch.json` into `--output` (created); returns their
/// paths.
fn write_files(
    a: &ExportArgs,
    arch: &AnyArch,
    given: &str,
    space: SpaceKind,
    classes: i64,
    torchscript: bool,
) -> Result<(PathBuf, PathBuf)> {
    let text = arch.text();
    let model = build_seeded(arch, classes, tch::Device::Cpu, a.seed, None)?;
    std::fs::create_dir_all(&a.output).with_context(|| format!("cannot create '{}'", a.output.display()))?;
    let wpath = if torchscript {
        let p = a.output.join("model.pt");
        let (res, class) = match arch {
            AnyArch::Mbv2(m) => (m.resolution as i64, "Mbv2Net"),
            AnyArch::Nb201(_) => (32, "Nb201Net"),
            AnyArch::Nb101(_) => (32, "Nb101Net"),
        };
        crate::net::torchscript::save_torchscript(&model, res, res, class, &p)?;
        p
    } else {
        let p = a.output.join("weights.safetensors");
        model.vs.save(&p).with_context(|| format!("cannot write '{}'", p.display()))?;
        p
    };
    let mut names: Vec<(String, Vec<i64>)> = model.vs.variables().into_iter().map(|(n, t)| (n, t.size())).collect();
    names.sort();
    let mut desc = json!({
        "space": space.name(),
        "arch": text,
        "num_classes": classes,
        "seed": a.seed,
        "params": model.param_count(),
        "weights": wpath.file_name().map(|f| f.to_string_lossy().into_owned()),
        "format": a.format,
        "tensors": names.iter().map(|(n, s)| json!({"name": n, "shape": s})).collect::<Vec<_>>(),
    });
    if text != given {
        desc["arch_given"] = json!(given);
    }
    if let AnyArch::Mbv2(m) = arch {
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
