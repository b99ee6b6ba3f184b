//! TorchScript export: writes a zsnas network as a self-contained `model.pt` that plain
//! PyTorch loads with `torch.jit.load("model.pt")` (no zsnas, no custom classes, no
//! Python source) and libtorch loads with `torch::jit::load` (tch: `CModule::load`).
//!
//! # What the file holds
//!
//! A TorchScript module archive (zip, format version 3, as `torch.jit.save` writes it):
//!
//! * the parameters and BatchNorm buffers as real module attributes, under zsnas's
//!   (= the reference PyTorch code's) state-dict names: `m.state_dict()` in Python lists
//!   e.g. `cells.3.layers.2.op.1.weight`, `cells.3.layers.2.op.2.running_mean`, with
//!   `requires_grad` on the parameters (`m.parameters()` can be fine-tuned in PyTorch);
//!   BatchNorm's `num_batches_tracked` is not there (zsnas's BN momentum is fixed at 0.1);
//! * `forward(x)` that honours `m.train()` / `m.eval()`: in training mode BatchNorm uses
//!   the batch statistics and updates `running_mean` / `running_var` in place (momentum
//!   0.1, unbiased variance), in evaluation mode it uses the running statistics — as a
//!   PyTorch `nn.BatchNorm2d` does;
//! * two helper methods `trace_train(x, *tensors)` and `trace_eval(x, *tensors)` that
//!   `forward` dispatches to on `self.training`.
//!
//! # How it is made (and why)
//!
//! tch 0.26 can trace ([`tch::CModule::create_by_tracing`]) and save ([`tch::CModule::save`])
//! a module, but a trace bakes the BatchNorm mode in and turns every tensor it did not
//! get as an input into a constant, so a traced file has no parameters and no
//! train/eval switch; tch offers no way to register parameters or to add a second method
//! to a module, and [`tch::TrainableCModule`] only wraps a module that already exists.
//! So this module traces the network **twice** (training-mode and evaluation-mode
//! BatchNorm) with the input *and every parameter and buffer* as trace inputs, which
//! yields two graphs that take the tensors as arguments; it saves each trace with
//! `CModule::save` and reads back the TorchScript source that libtorch itself serialised
//! (`code/__torch__.py`). It then writes a new archive by hand: a module hierarchy
//! mirroring the state-dict names (one TorchScript class per submodule, declared with
//! `__parameters__` / `__buffers__` as the serialiser writes them), the data pickle
//! (protocol 2, tensors as `torch._utils._rebuild_tensor_v2` with persistent storage
//! ids, exactly the form `torch.jit.save` produces), the raw storages (64-byte aligned),
//! and a `forward` that passes the module's own tensors to `trace_train` or `trace_eval`.
//! The operator code is therefore libtorch's own serialisation; only the surrounding
//! structure is zsnas's.
//!
//! The traces are taken on the CPU (the model may live on a GPU), at batch size 2 and at
//! one input size `height`×`width`: 32×32 for NAS-Bench-201/101; for mbv2 the
//! architecture's resolution (`zsnas export`) or the training images' size (`zsnas
//! train`, so that `model.pt` resizes its input to the architecture's resolution as zsnas
//! did in training). The graphs work for any batch size; decisions zsnas's forward takes
//! on the Rust side from the input size (whether mbv2 resizes) are fixed at the trace, so
//! feed inputs of the traced size.
//!
//! # Compatibility
//!
//! Checked by hand (3 December 2026) for one architecture of each space: Python `torch`
//! 2.13.0 and 2.0.1 (the PyPI wheels) load the file with `torch.jit.load`, list the
//! parameters under their names, and give bit-identical logits to zsnas in both
//! `m.eval()` and `m.train()` mode; libtorch 2.13 loads it through tch (the tests). The
//! archive uses the file-format version that libtorch wrote for the traces (3), and the
//! operators `aten::_convolution` (13 arguments), `aten::batch_norm`, `aten::avg_pool2d`,
//! `aten::max_pool2d`, `aten::adaptive_avg_pool2d`, `aten::linear`,
//! `aten::upsample_bilinear2d`, `aten::sigmoid` and element-wise ops. PyTorch 1.x was not
//! tried.

use super::model::Model;
use crate::data::folder::natural_cmp;
use crate::net::recorder::{Mode, Recorder};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use tch::{CModule, Device, Kind, Tensor};

/// The batch size of the traces (2: training-mode BatchNorm on 1×1 maps, e.g. mbv2's
/// squeeze-excitation, needs more than one value per channel).
pub const TRACE_BATCH: i64 = 2;

/// Writes `model` as a TorchScript module to `path` (see the module docs). `height` and
/// `width` are the input size of the traces; `class_name` names the root TorchScript class
/// (e.g. `Nb201Net`; letters, digits, `_`). The model itself is not changed (the traces
/// run on a copy), and libtorch's random generator is not used.
///
/// Errors: a tensor name that is not a dotted path of identifiers or integers, a tensor
/// of another dtype than f32/f64/i64, a trace that captured constant tensors (a network
/// whose forward builds tensors that do not derive from its input or its variables),
/// an unwritable `path`.
pub fn save_torchscript(model: &Model, height: i64, width: i64, class_name: &str, path: &Path) -> Result<()> {
    if class_name.is_empty() || !class_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("TorchScript class name '{class_name}' must be non-empty ASCII letters, digits or '_'");
    }
    if height < 1 || width < 1 {
        bail!("TorchScript export: the input size must be positive, got {height}x{width}");
    }
    // Sorted (name, tensor) pairs on the CPU, from the original model.
    let mut vars: Vec<(String, Tensor)> = model.vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let tree = ModuleTree::build(&vars)?;

    // The two traces, on a CPU copy: training-mode BN must not touch the model's
    // statistics, and a trace on a GPU could bake the device into the code.
    let mut copy = model.copy()?;
    if copy.vs.device() != Device::Cpu {
        copy.vs.set_device(Device::Cpu);
    }
    let mut cvars: Vec<(String, Tensor)> = copy.vs.variables().into_iter().collect();
    cvars.sort_by(|a, b| a.0.cmp(&b.0));
    let dev = copy.vs.device();
    let x = Tensor::zeros([TRACE_BATCH, 3, height, width], (Kind::Float, dev));
    let mut inputs = vec![x];
    inputs.extend(cvars.iter().map(|(_, t)| t.shallow_clone()));
    let tmp = sibling(path, ".trace.tmp");
    let mut methods = Vec::new();
    let mut version = String::new();
    for (train, method) in [(true, "trace_train"), (false, "trace_eval")] {
        let net = &copy.net;
        let mut f = |ins: &[Tensor]| {
            let mut rec = Recorder::plain(Mode { bn: true, train });
            vec![tch::no_grad(|| net.forward(&ins[0], &mut rec))]
        };
        let traced = CModule::create_by_tracing("Traced", "forward", &inputs, &mut f)
            .with_context(|| format!("tracing the network ({method})"))?;
        traced.save(&tmp).with_context(|| format!("cannot write '{}'", tmp.display()))?;
        let read = read_traced(&tmp);
        let _ = std::fs::remove_file(&tmp);
        let (code, ver) = read?;
        version = ver;
        methods.push(rename_method(&code, method, class_name)?);
    }

    let source = tree.source(class_name, &methods);
    let (pickle, storages) = tree.pickle(class_name, &vars)?;
    let out_tmp = sibling(path, ".tmp");
    write_archive(&out_tmp, &source, &pickle, &storages, &version)
        .with_context(|| format!("cannot write '{}'", out_tmp.display()))?;
    std::fs::rename(&out_tmp, path)
        .with_context(|| format!("cannot move '{}' to '{}'", out_tmp.display(), path.display()))?;
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// The serialised code and the format version of a traced module saved by libtorch.
/// Errors when the trace holds constant tensors (`constants.pkl` not an empty tuple).
fn read_traced(path: &Path) -> Result<(String, String)> {
    let f = std::fs::File::open(path)?;
    let mut z = zip::ZipArchive::new(f).context("reading the traced module")?;
    let names: Vec<String> = z.file_names().map(|s| s.to_string()).collect();
    let find = |suffix: &str| names.iter().find(|n| n.ends_with(suffix)).cloned();
    let read = |z: &mut zip::ZipArchive<std::fs::File>, n: &str| -> Result<Vec<u8>> {
        let mut e = z.by_name(n)?;
        let mut b = Vec::new();
        e.read_to_end(&mut b)?;
        Ok(b)
    };
    let code_name = find("/code/__torch__.py").ok_or_else(|| anyhow!("the trace has no code/__torch__.py"))?;
    let code = String::from_utf8(read(&mut z, &code_name)?)?;
    let consts = find("/constants.pkl").ok_or_else(|| anyhow!("the trace has no constants.pkl"))?;
    if read(&mut z, &consts)? != b"\x80\x02).".to_vec() {
        bail!("the traced network holds constant tensors (a forward that creates tensors not derived from its input or variables); TorchScript export does not support it");
    }
    let ver = find("/version").ok_or_else(|| anyhow!("the trace has no version record"))?;
    let version = String::from_utf8(read(&mut z, &ver)?)?.trim().to_string();
    Ok((code, version))
}

/// Turns the traced module's `forward` into method `name` of class `class_name`.
fn rename_method(code: &str, name: &str, class_name: &str) -> Result<String> {
    let start = code.find("  def forward(self: __torch__.Traced,").ok_or_else(|| {
        anyhow!("unexpected layout of the traced TorchScript code (no 'def forward(self: __torch__.Traced,')")
    })?;
    let body = &code[start..];
    if body[1..].contains("\n  def ") {
        bail!("unexpected layout of the traced TorchScript code (more than one method)");
    }
    let body = body.replacen(
        "  def forward(self: __torch__.Traced,",
        &format!("  def {name}(self: __torch__.{class_name},"),
        1,
    );
    Ok(body.trim_end().to_string() + "\n")
}

/// True for a Python identifier usable as an attribute name.
fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// A submodule name, ordered naturally (`2` before `10`) so that the loaded module's
/// `state_dict()` lists `cells.0, cells.1, ..., cells.16`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key(String);

impl Ord for Key {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        natural_cmp(&self.0, &o.0).then_with(|| self.0.cmp(&o.0))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for Key {
    type Target = String;
    fn deref(&self) -> &String {
        &self.0
    }
}

/// One module of the hierarchy: its tensors (attribute name → index into the sorted
/// variable list) and submodules.
#[derive(Default)]
struct Node {
    tensors: BTreeMap<String, usize>,
    children: BTreeMap<Key, Node>,
}

/// The module hierarchy implied by the dotted tensor names.
struct ModuleTree {
    root: Node,
    /// Whether each variable is a parameter (requires grad) or a buffer.
    is_param: Vec<bool>,
}

impl ModuleTree {
    fn build(vars: &[(String, Tensor)]) -> Result<Self> {
        let mut root = Node::default();
        for (i, (name, _)) in vars.iter().enumerate() {
            let parts: Vec<&str> = name.split('.').collect();
            if parts.iter().any(|p| !(is_ident(p) || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))) {
                bail!("tensor name '{name}' is not a dotted path of identifiers and integers");
            }
            let (last, path) = parts.split_last().expect("split never yields an empty list");
            if !is_ident(last) {
                bail!("tensor name '{name}' must end in an identifier");
            }
            let mut node = &mut root;
            for p in path {
                if node.tensors.contains_key(*p) {
                    bail!("'{name}': '{p}' is both a tensor and a module");
                }
                node = node.children.entry(Key(p.to_string())).or_default();
            }
            if node.children.contains_key(&Key(last.to_string())) {
                bail!("'{name}' is both a tensor and a module");
            }
            node.tensors.insert(last.to_string(), i);
        }
        Ok(ModuleTree { root, is_param: vars.iter().map(|(_, t)| t.requires_grad()).collect() })
    }

    /// Class names of the submodules, in depth-first order: `(path, class)`.
    fn classes(&self) -> Vec<(Vec<String>, String)> {
        fn walk(n: &Node, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
            for (k, c) in &n.children {
                path.push(k.0.clone());
                let class = format!("M{}_{}", out.len(), path.join("_"));
                out.push((path.clone(), class));
                walk(c, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut Vec::new(), &mut out);
        out
    }

    /// The TorchScript source of `code/__torch__.py`.
    fn source(&self, root_class: &str, methods: &[String]) -> String {
        let classes = self.classes();
        let class_of: BTreeMap<Vec<String>, String> = classes.iter().cloned().collect();
        let mut s = String::new();
        let decl = |s: &mut String, n: &Node, path: &[String], name: &str| {
            s.push_str(&format!("class {name}(Module):\n"));
            let list = |want: bool| -> String {
                n.tensors
                    .iter()
                    .filter(|(_, &i)| self.is_param[i] == want)
                    .map(|(k, _)| format!("\"{k}\", "))
                    .collect::<String>()
            };
            s.push_str(&format!("  __parameters__ = [{}]\n", list(true)));
            s.push_str(&format!("  __buffers__ = [{}]\n", list(false)));
            for k in n.tensors.keys() {
                s.push_str(&format!("  {k} : Tensor\n"));
            }
            s.push_str("  training : bool\n  _is_full_backward_hook : Optional[bool]\n");
            for k in n.children.keys() {
                let mut p = path.to_vec();
                p.push(k.0.clone());
                let cls = &class_of[&p];
                if is_ident(k) {
                    s.push_str(&format!("  {k} : __torch__.{cls}\n"));
                } else {
                    s.push_str(&format!("  __annotations__[\"{k}\"] = __torch__.{cls}\n"));
                }
            }
        };
        decl(&mut s, &self.root, &[], root_class);
        // forward: pass every tensor (sorted-name order, as traced) to the traced graphs.
        let mut args: Vec<(usize, String)> = Vec::new();
        fn collect(n: &Node, expr: &str, out: &mut Vec<(usize, String)>) {
            for (k, &i) in &n.tensors {
                out.push((i, format!("{expr}.{k}")));
            }
            for (k, c) in &n.children {
                let e = if is_ident(k) { format!("{expr}.{k}") } else { format!("getattr({expr}, \"{k}\")") };
                collect(c, &e, out);
            }
        }
        collect(&self.root, "self", &mut args);
        args.sort_by_key(|a| a.0);
        let arglist: String = args.iter().map(|(_, e)| format!(", {e}")).collect();
        s.push_str(&format!("  def forward(self: __torch__.{root_class},\n    x: Tensor) -> Tensor:\n"));
        s.push_str("    training = self.training\n    if training:\n");
        s.push_str(&format!("      _0 = self.trace_train(x{arglist})\n"));
        s.push_str(&format!("    else:\n      _0 = self.trace_eval(x{arglist})\n    return _0\n"));
        for m in methods {
            s.push_str(m);
        }
        for (path, cls) in &classes {
            let mut n = &self.root;
            for p in path {
                n = &n.children[&Key(p.clone())];
            }
            decl(&mut s, n, path, cls);
        }
        s
    }

    /// `data.pkl` and the storages (record name, little-endian bytes) in key order.
    fn pickle(&self, root_class: &str, vars: &[(String, Tensor)]) -> Result<(Vec<u8>, Vec<Storage>)> {
        let class_of: BTreeMap<Vec<String>, String> = self.classes().into_iter().collect();
        let mut p = Pickler::default();
        let mut storages = Vec::new();
        p.proto();
        #[allow(clippy::too_many_arguments)]
        fn obj(
            p: &mut Pickler,
            n: &Node,
            class: &str,
            path: &[String],
            class_of: &BTreeMap<Vec<String>, String>,
            vars: &[(String, Tensor)],
            is_param: &[bool],
            storages: &mut Vec<Storage>,
        ) -> Result<()> {
            p.global("__torch__", class);
            p.op(b")\x81}(");
            for (k, &i) in &n.tensors {
                p.unicode(k);
                let key = storages.len().to_string();
                let (kind, bytes, shape) =
                    tensor_bytes(&vars[i].1).with_context(|| format!("tensor '{}'", vars[i].0))?;
                p.tensor(&key, kind, &shape, is_param[i]);
                storages.push((key, bytes));
            }
            p.unicode("training");
            p.op(b"\x88");
            p.unicode("_is_full_backward_hook");
            p.op(b"N");
            for (k, c) in &n.children {
                let mut q = path.to_vec();
                q.push(k.0.clone());
                p.unicode(k);
                obj(p, c, &class_of[&q], &q, class_of, vars, is_param, storages)?;
            }
            p.op(b"ub");
            Ok(())
        }
        obj(&mut p, &self.root, root_class, &[], &class_of, vars, &self.is_param, &mut storages)?;
        p.op(b".");
        Ok((p.buf, storages))
    }
}

/// A tensor storage of the archive: record key (`data/<key>`) and little-endian bytes.
type Storage = (String, Vec<u8>);

/// (storage class, raw little-endian bytes, shape) of a tensor, copied to the CPU.
fn tensor_bytes(t: &Tensor) -> Result<(&'static str, Vec<u8>, Vec<i64>)> {
    let t = t.detach().to_device(Device::Cpu).contiguous();
    let (storage, elt) = match t.kind() {
        Kind::Float => ("FloatStorage", 4),
        Kind::Double => ("DoubleStorage", 8),
        Kind::Int64 => ("LongStorage", 8),
        k => bail!("dtype {k:?} is not supported by the TorchScript export"),
    };
    let n = t.numel();
    let mut bytes = vec![0u8; n * elt];
    t.copy_data_u8(&mut bytes, n);
    if cfg!(target_endian = "big") {
        bail!("TorchScript export needs a little-endian machine");
    }
    Ok((storage, bytes, t.size()))
}

/// A minimal pickle (protocol 2) writer for the opcodes `torch.jit.save` emits.
#[derive(Default)]
struct Pickler {
    buf: Vec<u8>,
}

impl Pickler {
    fn proto(&mut self) {
        self.buf.extend_from_slice(b"\x80\x02");
    }
    fn op(&mut self, ops: &[u8]) {
        self.buf.extend_from_slice(ops);
    }
    fn global(&mut self, module: &str, name: &str) {
        self.buf.push(b'c');
        self.buf.extend_from_slice(module.as_bytes());
        self.buf.push(b'\n');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b'\n');
    }
    fn unicode(&mut self, s: &str) {
        self.buf.push(b'X');
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }
    fn int(&mut self, v: i64) {
        if (0..256).contains(&v) {
            self.buf.push(b'K');
            self.buf.push(v as u8);
        } else if (0..65536).contains(&v) {
            self.buf.push(b'M');
            self.buf.extend_from_slice(&(v as u16).to_le_bytes());
        } else if i32::try_from(v).is_ok() {
            self.buf.push(b'J');
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.extend_from_slice(b"\x8a\x08");
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn int_tuple(&mut self, v: &[i64]) {
        self.buf.push(b'(');
        for &x in v {
            self.int(x);
        }
        self.buf.push(b't');
    }
    /// `torch._utils._rebuild_tensor_v2(persid(('storage', torch.<storage>, key, 'cpu',
    /// numel)), 0, shape, contiguous strides, requires_grad, OrderedDict())`.
    fn tensor(&mut self, key: &str, storage: &str, shape: &[i64], requires_grad: bool) {
        let numel: i64 = shape.iter().product();
        let mut strides = vec![1i64; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * shape[d + 1].max(1);
        }
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.buf.extend_from_slice(b"((");
        self.unicode("storage");
        self.global("torch", storage);
        self.unicode(key);
        self.unicode("cpu");
        self.int(numel);
        self.buf.extend_from_slice(b"tQ");
        self.int(0);
        self.int_tuple(shape);
        self.int_tuple(&strides);
        self.buf.push(if requires_grad { 0x88 } else { 0x89 });
        self.global("collections", "OrderedDict");
        self.buf.extend_from_slice(b")RtR");
    }
}

/// Writes the zip archive (records stored, tensor data aligned to 64 bytes as
/// `torch.jit.save` does).
fn write_archive(path: &Path, source: &str, pickle: &[u8], storages: &[Storage], version: &str) -> Result<()> {
    let f = std::fs::File::create(path)?;
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
    let opts = zip::write::FileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let put = |z: &mut zip::ZipWriter<_>, name: &str, data: &[u8], align: bool| -> Result<()> {
        if align {
            z.start_file_aligned(format!("model/{name}"), opts, 64)?;
        } else {
            z.start_file(format!("model/{name}"), opts)?;
        }
        z.write_all(data)?;
        Ok(())
    };
    for (k, bytes) in storages {
        put(&mut z, &format!("data/{k}"), bytes, true)?;
    }
    put(&mut z, "data.pkl", pickle, false)?;
    put(&mut z, "code/__torch__.py", source.as_bytes(), false)?;
    put(&mut z, "constants.pkl", b"\x80\x02).", false)?;
    put(&mut z, "version", format!("{version}\n").as_bytes(), false)?;
    put(&mut z, "byteorder", b"little", false)?;
    let mut w = z.finish()?;
    w.flush()?;
    w.into_inner().map_err(|e| anyhow!("{e}"))?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_and_pickled_ints() {
        assert!(is_ident("running_mean") && is_ident("_x1") && !is_ident("3") && !is_ident("a.b") && !is_ident(""));
        let mut p = Pickler::default();
        p.int(5);
        p.int(300);
        p.int(70_000);
        p.int(-1);
        assert_eq!(p.buf, vec![b'K', 5, b'M', 44, 1, b'J', 0x70, 0x11, 1, 0, b'J', 255, 255, 255, 255]);
    }

    #[test]
    fn tree_rejects_bad_names() {
        let t = Tensor::zeros([1], (Kind::Float, Device::Cpu));
        assert!(ModuleTree::build(&[("a.b-c".into(), t.shallow_clone())]).is_err());
        assert!(ModuleTree::build(&[("a.3".into(), t.shallow_clone())]).is_err());
        let e = ModuleTree::build(&[("a".into(), t.shallow_clone()), ("a.w".into(), t.shallow_clone())]);
        assert!(e.is_err());
        let ok = ModuleTree::build(&[("cells.3.weight".into(), t.shallow_clone())]).unwrap();
        assert_eq!(
            ok.classes(),
            vec![
                (vec!["cells".to_string()], "M0_cells".to_string()),
                (vec!["cells".into(), "3".into()], "M1_cells_3".to_string())
            ]
        );
    }
}
