//! Python pickles of dicts of numpy arrays, read without Python: the container format of
//! the CIFAR-10/100 "python version" files and of the downsampled-ImageNet (ImageNet16)
//! batches that NAS-Bench-201 trains on.
//!
//! Decoding uses the `serde-pickle` crate (Georg Brandl; MIT/Apache-2.0), which interprets
//! every pickle opcode of protocols 0–5, with `DeOptions::keep_restore_state` and
//! `replace_unresolved_globals`: a numpy array then arrives as the arguments of the
//! callable that rebuilds it, which this module recognises by their structure:
//!
//! - protocols 0–4 (and every Python 2 `cPickle` file, such as the official CIFAR ones):
//!   `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')` followed by `BUILD` with
//!   the state `(version, shape, dtype, is_fortran, raw_bytes)`, seen as the tuple
//!   `(1, shape, dtype_state, bool, bytes)`;
//! - protocol 5 (numpy ≥ 1.16 under `pickle.dump(..., protocol=5)`):
//!   `numpy.core.numeric._frombuffer(buffer, dtype, shape, order)`, seen as
//!   `(bytes, dtype_state, shape, 'C' | 'F')`.
//!
//! The dtype object itself is rebuilt through `BUILD` too, so only its state survives:
//! `(3, byte_order, ...)` with byte order `|` (not applicable), `<` or `>`. The item size is
//! therefore taken from the data: `len(raw_bytes) / prod(shape)` (1 for `uint8` images).
//! Python 2 `str` keys (`b'data'` under Python 3) and Python 3 `str` keys are both accepted.

use anyhow::{bail, Context, Result};
use serde_pickle::{DeOptions, HashableValue, Value};
use std::collections::BTreeMap;

/// True if `bytes` starts like a binary pickle: the `PROTO` opcode `0x80` followed by a
/// protocol number 2–5. (Protocol 0/1 pickles have no such marker and are not produced
/// by any data set this reader targets.) A CIFAR binary record can never start with
/// `0x80`: its first byte is a label below 100.
pub fn is_pickle(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1])
}

/// A numpy array recovered from a pickle.
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    /// Shape, e.g. `[10000, 3072]`.
    pub shape: Vec<usize>,
    /// Bytes per element (inferred: `data.len() / prod(shape)`).
    pub itemsize: usize,
    /// Byte order of multi-byte elements: `true` for little-endian (`<`, or `|` for 1-byte
    /// types), `false` for big-endian (`>`).
    pub little_endian: bool,
    /// True for Fortran (column-major) order.
    pub fortran: bool,
    /// The raw element bytes, `prod(shape) * itemsize` of them.
    pub data: Vec<u8>,
}

impl NdArray {
    /// Number of elements, `prod(shape)`.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as integers, assuming a signed integer dtype of 1, 2, 4 or 8 bytes
    /// (`uint8` data reads the same as `int8` would not, so 1-byte elements are read as
    /// unsigned). Errors: another item size.
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        let le = self.little_endian;
        let v = match self.itemsize {
            1 => self.data.iter().map(|&b| b as i64).collect(),
            2 => self
                .data
                .chunks_exact(2)
                .map(|c| {
                    let a = [c[0], c[1]];
                    (if le { i16::from_le_bytes(a) } else { i16::from_be_bytes(a) }) as i64
                })
                .collect(),
            4 => self
                .data
                .chunks_exact(4)
                .map(|c| {
                    let a = [c[0], c[1], c[2], c[3]];
                    (if le { i32::from_le_bytes(a) } else { i32::from_be_bytes(a) }) as i64
                })
                .collect(),
            8 => self
                .data
                .chunks_exact(8)
                .map(|c| {
                    let a: [u8; 8] = c.try_into().expect("8-byte chunk");
                    if le {
                        i64::from_le_bytes(a)
                    } else {
                        i64::from_be_bytes(a)
                    }
                })
                .collect(),
            n => bail!("array of {n}-byte elements is not an integer array"),
        };
        Ok(v)
    }
}

/// The top-level dict of a data-set pickle, with its keys as text.
#[derive(Debug)]
pub struct PickleDict {
    /// Name of the source (a path) for error messages.
    pub name: String,
    entries: BTreeMap<String, Value>,
}

fn key_text(k: &HashableValue) -> Option<String> {
    match k {
        HashableValue::String(s) => Some(s.clone()),
        // Python 2 `str` keys: bytes; these files use ASCII names.
        HashableValue::Bytes(b) => Some(b.iter().map(|&c| c as char).collect()),
        _ => None,
    }
}

/// Parses a pickle whose top-level object is a dict with text (or Python 2 `str`) keys.
/// `name` identifies the input in error messages.
///
/// Errors: not a binary pickle ("is not a Python pickle", with the first bytes); a pickle
/// that ends early ("truncated"); any other decoding error; a top-level object that is not
/// a dict.
pub fn read_pickle_dict(bytes: &[u8], name: &str) -> Result<PickleDict> {
    if !is_pickle(bytes) {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        bail!(
            "{name} is not a Python pickle (a binary pickle starts with 80 02..80 05, this file with {})",
            if head.is_empty() { "nothing: it is empty".to_string() } else { head.join(" ") }
        );
    }
    let opts = DeOptions::new().keep_restore_state().replace_unresolved_globals();
    let v = serde_pickle::value_from_slice(bytes, opts).map_err(|e| match e {
        serde_pickle::Error::Eval(serde_pickle::error::ErrorCode::EOFWhileParsing, pos) => anyhow::anyhow!(
            "{name} is truncated: the pickle ends at byte {pos} of {} before its STOP opcode",
            bytes.len()
        ),
        e => anyhow::anyhow!("{name}: cannot decode the Python pickle: {e}"),
    })?;
    let Value::Dict(d) = v else {
        bail!("{name}: the pickle holds {}, expected a dict of arrays", kind(&v));
    };
    let mut entries = BTreeMap::new();
    for (k, v) in d {
        if let Some(t) = key_text(&k) {
            entries.insert(t, v);
        }
    }
    Ok(PickleDict { name: name.to_string(), entries })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::I64(_) | Value::Int(_) => "an int",
        Value::F64(_) => "a float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "a str",
        Value::List(_) => "a list",
        Value::Tuple(_) => "a tuple",
        Value::Set(_) | Value::FrozenSet(_) => "a set",
        Value::Dict(_) => "a dict",
    }
}

fn as_usize(v: &Value) -> Option<usize> {
    match v {
        Value::I64(i) if *i >= 0 => Some(*i as usize),
        _ => None,
    }
}

fn shape_of(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Tuple(t) | Value::List(t) => t.iter().map(as_usize).collect(),
        _ => None,
    }
}

/// Byte order from a numpy dtype state `(3, order, ...)`: `Some(true)` little-endian or
/// not applicable, `Some(false)` big-endian.
fn dtype_little_endian(v: &Value) -> Option<bool> {
    let Value::Tuple(t) = v else { return None };
    let order = match t.get(1)? {
        Value::String(s) => s.as_bytes().first().copied()?,
        Value::Bytes(b) => b.first().copied()?,
        _ => return None,
    };
    match order {
        b'|' | b'<' | b'=' => Some(true),
        b'>' => Some(false),
        _ => None,
    }
}

/// Interprets `v` as a pickled numpy array (see the module doc for the two layouts).
/// Returns `None` if `v` has neither layout.
pub fn ndarray_from_value(v: Value) -> Option<NdArray> {
    let Value::Tuple(t) = v else { return None };
    let (shape, dtype, fortran, data) = match <[Value; 5]>::try_from(t) {
        // _reconstruct + BUILD: (version, shape, dtype, is_fortran, data)
        Ok([Value::I64(_), shape, dtype, Value::Bool(f), Value::Bytes(data)]) => (shape_of(&shape)?, dtype, f, data),
        Ok(_) => return None,
        Err(t) => match <[Value; 4]>::try_from(t) {
            // _frombuffer: (buffer, dtype, shape, order)
            Ok([Value::Bytes(data), dtype, shape, Value::String(order)]) => {
                (shape_of(&shape)?, dtype, order == "F", data)
            }
            _ => return None,
        },
    };
    let little_endian = dtype_little_endian(&dtype)?;
    let n: usize = shape.iter().product();
    let itemsize = if n == 0 {
        1
    } else if data.len().is_multiple_of(n) {
        data.len() / n
    } else {
        return None;
    };
    Some(NdArray { shape, itemsize, little_endian, fortran, data })
}

impl PickleDict {
    /// The keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        self.entries.keys().map(|s| s.as_str()).collect()
    }

    /// Sets `key` to `value` (tests build damaged files from good ones).
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: &str, value: Value) {
        self.entries.insert(key.to_string(), value);
    }

    /// True if the dict has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The shape of the numpy array under `key`, without taking it; `None` if the key is
    /// missing or does not hold an array.
    pub fn array_shape(&self, key: &str) -> Option<Vec<usize>> {
        let Value::Tuple(t) = self.entries.get(key)? else { return None };
        match t.as_slice() {
            [Value::I64(_), shape, _, Value::Bool(_), Value::Bytes(_)] => shape_of(shape),
            [Value::Bytes(_), _, shape, Value::String(_)] => shape_of(shape),
            _ => None,
        }
    }

    fn take(&mut self, key: &str) -> Result<Value> {
        let keys = self.keys().join(", ");
        self.entries
            .remove(key)
            .with_context(|| format!("{}: the pickled dict has no key '{key}' (keys: {keys})", self.name))
    }

    /// Removes `key` and returns it as a numpy array.
    ///
    /// Errors: the key is missing (listing the keys present), or its value is not a numpy
    /// array as pickled by numpy.
    pub fn take_array(&mut self, key: &str) -> Result<NdArray> {
        let v = self.take(key)?;
        let what = kind(&v);
        ndarray_from_value(v)
            .with_context(|| format!("{}: '{key}' is {what} that does not decode as a numpy array", self.name))
    }

    /// Removes `key` and returns it as a `uint8` matrix `(rows, cols, row-major bytes)`.
    ///
    /// Errors: as [`PickleDict::take_array`]; an array that is not 2-D, not C-ordered, or
    /// whose elements are not single bytes (naming the shape and item size).
    pub fn take_u8_matrix(&mut self, key: &str) -> Result<(usize, usize, Vec<u8>)> {
        let a = self.take_array(key)?;
        if a.shape.len() != 2 || a.itemsize != 1 || a.fortran {
            bail!(
                "{}: '{key}' must be a C-ordered 2-D uint8 array, found shape {:?} with {}-byte elements{}",
                self.name,
                a.shape,
                a.itemsize,
                if a.fortran { " in Fortran order" } else { "" }
            );
        }
        Ok((a.shape[0], a.shape[1], a.data))
    }

    /// Removes `key` and returns it as integers: a list of Python ints, or a 1-D numpy
    /// integer array.
    ///
    /// Errors: the key is missing, or its value is neither (naming what it is).
    pub fn take_ints(&mut self, key: &str) -> Result<Vec<i64>> {
        let v = self.take(key)?;
        match v {
            Value::List(items) | Value::Tuple(items) if items.iter().all(|x| matches!(x, Value::I64(_))) => {
                Ok(items.into_iter().map(|x| if let Value::I64(i) = x { i } else { unreachable!() }).collect())
            }
            other => {
                let what = kind(&other);
                let a = ndarray_from_value(other)
                    .with_context(|| format!("{}: '{key}' is {what}, expected a list of ints", self.name))?;
                if a.shape.len() != 1 {
                    bail!("{}: '{key}' must be 1-D, found shape {:?}", self.name, a.shape);
                }
                a.to_i64().with_context(|| format!("{}: '{key}'", self.name))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_pickles() {
        assert!(is_pickle(&[0x80, 2, b'}']) && is_pickle(&[0x80, 5]));
        assert!(!is_pickle(&[0x80, 6]) && !is_pickle(&[6, 0, 0]) && !is_pickle(&[]));
        let e = read_pickle_dict(b"index,arch\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("t.csv is not a Python pickle") && e.contains("69 6e 64 65"), "{e}");
        let e = read_pickle_dict(b"", "e").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn hand_made_pickles() {
        // {'a': [1, 2], b'b': 3} in protocol 2: PROTO 2, EMPTY_DICT, MARK, ...
        let p = b"\x80\x02}(X\x01\x00\x00\x00a]q\x00(K\x01K\x02eU\x01bK\x03u.";
        let mut d = read_pickle_dict(p, "mem").unwrap();
        assert_eq!(d.keys(), vec!["a", "b"]);
        assert_eq!(d.take_ints("a").unwrap(), vec![1, 2]);
        let e = d.take_ints("b").unwrap_err().to_string();
        assert!(e.contains("'b' is an int"), "{e}");
        let e = d.take_array("zz").unwrap_err().to_string();
        assert!(e.contains("no key 'zz'"), "{e}");
        // Truncated: drop the last 4 bytes.
        let e = read_pickle_dict(&p[..p.len() - 4], "cut").unwrap_err().to_string();
        assert!(e.contains("cut is truncated"), "{e}");
        // A list at top level.
        let e = read_pickle_dict(b"\x80\x02]q\x00.", "lst").unwrap_err().to_string();
        assert!(e.contains("holds a list, expected a dict"), "{e}");
    }

    #[test]
    fn int_arrays() {
        let a = NdArray {
            shape: vec![2],
            itemsize: 8,
            little_endian: true,
            fortran: false,
            data: {
                let mut v = 7i64.to_le_bytes().to_vec();
                v.extend((-1i64).to_le_bytes());
                v
            },
        };
        assert_eq!(a.to_i64().unwrap(), vec![7, -1]);
        let b = NdArray { shape: vec![2], itemsize: 2, little_endian: false, fortran: false, data: vec![1, 2, 0, 5] };
        assert_eq!(b.to_i64().unwrap(), vec![258, 5]);
        assert!(NdArray { itemsize: 3, data: vec![0; 6], ..b }.to_i64().is_err());
    }
}
