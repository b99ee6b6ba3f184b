//! Append-only JSON-lines results files that survive kills.
//!
//! Every record is one compact JSON value followed by `'\n'`, written with a
//! single `write_all` call on a file opened in append mode.  If the process is
//! killed in the middle of a write, the worst that can happen is a partial
//! last line; [`JsonlLog::open`] detects it and truncates the file back to the
//! end of the last complete, valid line ("repair") so that appending can go
//! on.  A corrupt line anywhere *before* the last line is not something a kill
//! can produce, so it is reported as an error naming the (1-based) line
//! number instead of being silently discarded.
//!
//! Durability: by default [`JsonlLog::append`] only hands the bytes to the
//! operating system (a `File` has no user-space buffer, so `flush` is
//! effectively a no-op).  That survives a killed process (SIGKILL, OOM kill,
//! job pre-emption) but not a power loss or kernel crash.  Call
//! [`JsonlLog::set_sync`] (or [`JsonlLog::with_sync`]) to also `fsync` the data
//! (`File::sync_data`) after every record; this is much slower on network file
//! systems, so it is off by default.
//!
//! Typical resume pattern:
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use zsnas::io::jsonl::{done_set, JsonlLog};
//! let (mut log, records) = JsonlLog::open("results/scores.jsonl")?;
//! let done = done_set(&records, "arch");
//! for arch in ["a", "b", "c"] {
//!     if done.contains(arch) { continue; }
//!     log.append(&serde_json::json!({"arch": arch, "score": 1.0}))?;
//! }
//! # Ok(()) }
//! ```

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What [`JsonlLog::open`] had to do to make an existing file appendable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// 1-based number of the line that was damaged (the last line of the file).
    pub line: usize,
    /// Number of bytes removed from the end of the file (0 when only a missing
    /// trailing newline was added).
    pub removed_bytes: u64,
    /// `true` when the last line was a complete, valid JSON object/array that
    /// only lacked its trailing newline; it was kept and a `'\n'` was added.
    pub added_newline: bool,
}

/// An append-only JSON-lines file (see the [module docs](self)).
#[derive(Debug)]
pub struct JsonlLog {
    file: File,
    path: PathBuf,
    sync: bool,
    loaded: usize,
    appended: usize,
    repair: Option<Repair>,
}

/// Errors when `path` exists and is not a regular file (after following links): a
/// directory, a device, a FIFO or a socket, naming the path and its kind.
pub fn require_regular(path: &Path) -> Result<()> {
    let Ok(m) = std::fs::metadata(path) else { return Ok(()) };
    if m.is_file() {
        return Ok(());
    }
    let kind = if m.is_dir() { "a directory" } else { "a device, FIFO or socket" };
    bail!("'{}' is {kind}, not a regular file: zsnas reads and writes results only in regular files", path.display())
}

/// Result of scanning the bytes of an existing file.
#[derive(Debug)]
struct Scan {
    records: Vec<Value>,
    /// Length the file must be truncated to (equal to the input length when
    /// nothing must be removed).
    keep_len: usize,
    /// The last record lacks its trailing newline and one must be appended.
    needs_newline: bool,
    /// 1-based line number of the repaired line, if any.
    repaired_line: Option<usize>,
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0))
}

/// Whether `line` begins, after blanks, with `{` or `[`: how every record zsnas writes
/// begins, and so every torn prefix of one.
fn begins_like_a_record(line: &[u8]) -> bool {
    line.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r')).is_some_and(|b| matches!(b, b'{' | b'['))
}

/// Whether `err`, from parsing the unterminated `line` (trailing NULs cut), is what a
/// killed write leaves, a prefix of a record: `serde_json` ran out of input (its EOF
/// category), or the line ends inside a multi-byte UTF-8 character.
fn is_cut_at_end(err: &serde_json::Error, line: &[u8]) -> bool {
    err.is_eof() || std::str::from_utf8(line).err().is_some_and(|u| u.error_len().is_none())
}

/// Pure parser behind [`JsonlLog::open`]: decides which records are valid and
/// where the file has to be cut.
fn scan(content: &[u8]) -> Result<Scan> {
    // Segments: (start, end_exclusive_without_newline, terminated_by_newline).
    let mut segments: Vec<(usize, usize, bool)> = Vec::new();
    let mut start = 0usize;
    for (i, &b) in content.iter().enumerate() {
        if b == b'\n' {
            segments.push((start, i, true));
            start = i + 1;
        }
    }
    if start < content.len() {
        segments.push((start, content.len(), false));
    }
    let last_non_blank = segments.iter().rposition(|&(s, e, _)| !is_blank(&content[s..e]));

    let mut records = Vec::new();
    let Some(last) = last_non_blank else {
        // Empty file or only whitespace: nothing to keep; drop NUL garbage.
        let keep_len = if content.contains(&0) { 0 } else { content.len() };
        return Ok(Scan { records, keep_len, needs_newline: false, repaired_line: None });
    };

    for (idx, &(s, e, _)) in segments.iter().enumerate().take(last) {
        let line = &content[s..e];
        if is_blank(line) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => records.push(v),
            Err(err) => bail!(
                "corrupt JSON on line {} (not the last line, so not a torn write; fix or remove it by hand): {err}",
                idx + 1
            ),
        }
    }

    let (s, e, terminated) = segments[last];
    // An unterminated last line is judged without its trailing NUL bytes (a crash with
    // delayed allocation leaves them after whatever was written).
    let end = if terminated { e } else { s + content[s..e].iter().rposition(|&b| b != 0).map_or(0, |i| i + 1) };
    let line = &content[s..end];
    let parsed = match serde_json::from_slice::<Value>(line) {
        Ok(v) if terminated || v.is_object() || v.is_array() => Some(v),
        // zsnas writes each record and its newline in one write, so a killed run leaves a
        // prefix of a record without the newline. A complete bad line, or an unterminated
        // one that does not begin like a record, is another file's text or corruption:
        // refused, the file left as it is.
        Err(err) if terminated => bail!(
            "corrupt JSON on line {} (a complete line, so not a torn write; fix or remove it by hand): {err}",
            last + 1
        ),
        _ if !begins_like_a_record(line) => bail!(
            "line {} is not JSON lines (it does not begin with '{{'): not a file zsnas wrote, or corrupt; give another file",
            last + 1
        ),
        // A prefix of a record fails only at its end (or inside a UTF-8 character cut at
        // its end); text after a complete value, or a syntax error, is no torn write.
        Err(err) if !is_cut_at_end(&err, line) => bail!(
            "corrupt JSON on line {} (not a prefix of a record, so not a torn write; fix or remove it by hand): {err}",
            last + 1
        ),
        _ => None,
    };
    let scan = match parsed {
        Some(v) if terminated => {
            records.push(v);
            // Keep trailing whitespace-only lines unless they contain NULs
            // (typical of a crash with delayed allocation).
            let keep_len = if content[e..].contains(&0) { e + 1 } else { content.len() };
            Scan { records, keep_len, needs_newline: false, repaired_line: None }
        }
        // A complete object/array cannot be a truncated prefix of a longer
        // object/array, so it is kept (any NULs after it cut) and the newline is added.
        Some(v) if v.is_object() || v.is_array() => {
            records.push(v);
            Scan { records, keep_len: end, needs_newline: true, repaired_line: Some(last + 1) }
        }
        _ => Scan { records, keep_len: s, needs_newline: false, repaired_line: Some(last + 1) },
    };
    Ok(scan)
}

impl JsonlLog {
    /// Opens (creating it and its parent directories if needed) a JSON-lines
    /// file for appending and returns the records already in it.
    ///
    /// A torn last line (no trailing newline, not valid JSON, and beginning with `{` or
    /// `[` as a prefix of a record does) is removed by truncating the file to the end of
    /// the last valid line; a message is printed to stderr and the details are available
    /// from [`JsonlLog::repair`]. A complete (newline-terminated) invalid last line, or an
    /// unterminated one that does not begin like a record, is an error and the file is
    /// left untouched: zsnas writes each record with its newline in one write, so such a
    /// line is not from a killed run (another file given by mistake, or corruption).  A last line that is a complete JSON object or
    /// array but lacks the newline is kept and the newline is added.  Blank
    /// lines are ignored; NUL bytes after the last record (left by a crash) are
    /// removed with a note on stderr.  An unparsable line before the last one is an error
    /// that names its 1-based line number; the file is left untouched then.
    ///
    /// A gzip-compressed file, or a path named `.gz`, is refused (it cannot be appended
    /// to; readers such as [`crate::io::scores`] read `.gz` transparently). An
    /// unterminated last line that is not a prefix of a record (a complete value followed
    /// by other text, a syntax error before its end) is refused too, the file untouched.
    ///
    /// A path that exists but is not a regular file (a directory, a device such as
    /// `/dev/full` or `/dev/zero`, a FIFO) is refused: such a file cannot be resumed and
    /// reading it may never end.
    pub fn open(path: impl AsRef<Path>) -> Result<(JsonlLog, Vec<Value>)> {
        let path = path.as_ref();
        const COMPRESSED: [&str; 7] = ["gz", "bz2", "xz", "zst", "zstd", "lz4", "zip"];
        if let Some(x) =
            path.extension().and_then(|x| x.to_str()).filter(|x| COMPRESSED.iter().any(|c| x.eq_ignore_ascii_case(c)))
        {
            bail!(
                "{}: zsnas writes plain JSON lines (appended line by line, so a killed run can resume); name the file without .{x} and compress it afterwards (readers take .gz)",
                path.display()
            );
        }
        require_regular(path)?;
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).with_context(|| format!("creating directory {}", parent.display()))?;
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut content = Vec::new();
        file.read_to_end(&mut content).with_context(|| format!("reading {}", path.display()))?;
        if content.starts_with(&[0x1f, 0x8b]) {
            bail!(
                "{} is gzip-compressed: zsnas appends to plain JSON lines; decompress it (gunzip) or give another file",
                path.display()
            );
        }
        let scan = scan(&content).with_context(|| format!("in {}", path.display()))?;

        let mut repair = None;
        if scan.keep_len < content.len() || scan.needs_newline {
            let removed = (content.len() - scan.keep_len) as u64;
            if scan.keep_len < content.len() {
                file.set_len(scan.keep_len as u64).with_context(|| format!("truncating {}", path.display()))?;
            }
            if scan.needs_newline {
                file.write_all(b"\n").with_context(|| format!("writing {}", path.display()))?;
            }
            file.sync_data().with_context(|| format!("syncing {}", path.display()))?;
            if let Some(line) = scan.repaired_line {
                let r = Repair { line, removed_bytes: removed, added_newline: scan.needs_newline };
                let msg = if r.added_newline {
                    format!("zsnas: {}: line {line} lacked its trailing newline; added it", path.display())
                } else {
                    format!(
                        "zsnas: {}: removed torn last line {line} ({removed} bytes, probably from a killed run); {} records kept",
                        path.display(),
                        scan.records.len()
                    )
                };
                // Ignore stderr write errors (eprintln! would panic on them).
                let _ = writeln!(std::io::stderr().lock(), "{msg}");
                repair = Some(r);
            } else if removed > 0 {
                // Trailing NUL bytes (left by a crash with delayed allocation) were dropped.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "zsnas: {}: removed {removed} trailing bytes holding NUL garbage (probably from a crash); {} records kept",
                    path.display(),
                    scan.records.len()
                );
            }
        }
        let log =
            JsonlLog { file, path: path.to_path_buf(), sync: false, loaded: scan.records.len(), appended: 0, repair };
        Ok((log, scan.records))
    }

    /// Appends one record as a single compact JSON line plus `'\n'` in one
    /// write, then flushes (and `fsync`s the data when [`sync`](Self::set_sync)
    /// is on).
    pub fn append(&mut self, record: &impl Serialize) -> Result<()> {
        let mut buf = serde_json::to_vec(record).context("serialising JSON-lines record")?;
        // Compact serde_json never emits raw newlines (they are escaped in
        // strings), so one record is always exactly one line.
        buf.push(b'\n');
        self.file.write_all(&buf).with_context(|| format!("appending to {}", self.path.display()))?;
        self.file.flush().with_context(|| format!("flushing {}", self.path.display()))?;
        if self.sync {
            self.file.sync_data().with_context(|| format!("syncing {}", self.path.display()))?;
        }
        self.appended += 1;
        Ok(())
    }

    /// Turns `fsync` after every append on or off (default: off, see the
    /// module docs).
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// Builder-style form of [`set_sync`](Self::set_sync).
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// Whether appends `fsync` the data.
    pub fn sync(&self) -> bool {
        self.sync
    }

    /// The path this log writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The repair done by [`open`](Self::open), if the last line was torn.
    pub fn repair(&self) -> Option<&Repair> {
        self.repair.as_ref()
    }

    /// Number of records found in the file when it was opened.
    pub fn loaded(&self) -> usize {
        self.loaded
    }

    /// Number of records appended through this handle.
    pub fn appended(&self) -> usize {
        self.appended
    }

    /// Total number of records in the file (`loaded + appended`).
    pub fn len(&self) -> usize {
        self.loaded + self.appended
    }

    /// `true` when the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Looks up `key` in a record and renders it as a string: a top-level field
/// name (`"arch"`), or a JSON pointer when it starts with `/`
/// (`"/meta/arch"`).  Strings are returned as-is, other non-null values as
/// their compact JSON text (so `{"id": 7}` gives `"7"`).  Missing or `null`
/// gives `None`.
pub fn key_string(record: &Value, key: &str) -> Option<String> {
    let v = if key.starts_with('/') { record.pointer(key) } else { record.get(key) }?;
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The set of [`key_string`] values of `key` over `records` (records without
/// the key are skipped): the work already done, for resuming a run.
pub fn done_set(records: &[Value], key: &str) -> HashSet<String> {
    records.iter().filter_map(|r| key_string(r, key)).collect()
}

/// Like [`done_set`] but only counts records for which `keep` returns true
/// (e.g. to redo records that were written with `"status": "error"`).
pub fn done_set_where(records: &[Value], key: &str, keep: impl Fn(&Value) -> bool) -> HashSet<String> {
    records.iter().filter(|r| keep(r)).filter_map(|r| key_string(r, key)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn new_file_is_created_with_parent_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/log.jsonl");
        let (log, recs) = JsonlLog::open(&p).unwrap();
        assert!(recs.is_empty());
        assert!(log.is_empty());
        assert!(log.repair().is_none());
        assert!(p.exists());
    }

    #[test]
    fn torn_last_line_is_repaired_and_appending_continues() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        {
            let (mut log, recs) = JsonlLog::open(&p).unwrap();
            assert!(recs.is_empty());
            for i in 0..3 {
                log.append(&json!({"arch": format!("a{i}"), "score": i})).unwrap();
            }
            assert_eq!(log.len(), 3);
        }
        let good = read(&p);
        assert_eq!(good.lines().count(), 3);
        // Simulate a kill in the middle of a write.
        {
            let mut f = OpenOptions::new().append(true).open(&p).unwrap();
            f.write_all(br#"{"arch":"a3","sco"#).unwrap();
        }
        let (mut log, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2], json!({"arch": "a2", "score": 2}));
        assert_eq!(log.repair(), Some(&Repair { line: 4, removed_bytes: 17, added_newline: false }));
        assert_eq!(read(&p), good);
        log.append(&json!({"arch": "a3", "score": 3})).unwrap();
        drop(log);
        let (log, recs) = JsonlLog::open(&p).unwrap();
        assert!(log.repair().is_none());
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[3]["arch"], "a3");
        assert_eq!(log.loaded(), 4);
    }

    #[test]
    fn unparsable_terminated_last_line_is_an_error_and_the_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        for text in ["{\"a\":1}\n{\"a\":\n", "{\"a\":1}\n# my comment\n", "my important notes\n"] {
            std::fs::write(&p, text).unwrap();
            let msg = format!("{:#}", JsonlLog::open(&p).unwrap_err());
            let line = text.lines().count();
            assert!(msg.contains(&format!("corrupt JSON on line {line} (a complete line")), "{msg}");
            assert_eq!(read(&p), text);
        }
    }

    #[test]
    fn unterminated_last_line_that_is_no_record_prefix_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        for text in ["my important notes", "{\"a\":1}\n12", "{\"a\":1}\nnotes"] {
            std::fs::write(&p, text).unwrap();
            let msg = format!("{:#}", JsonlLog::open(&p).unwrap_err());
            assert!(msg.contains("is not JSON lines (it does not begin with '{')"), "{msg}");
            assert_eq!(read(&p), text);
        }
        // A torn prefix of a record after blanks is still repaired.
        std::fs::write(&p, "{\"a\":1}\n  [1, ").unwrap();
        let (_log, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs, vec![json!({"a": 1})]);
        assert_eq!(read(&p), "{\"a\":1}\n");
    }

    #[test]
    fn a_gzip_file_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"a\":1}\n").unwrap();
        let bytes = gz.finish().unwrap();
        std::fs::write(&p, &bytes).unwrap();
        let msg = format!("{:#}", JsonlLog::open(&p).unwrap_err());
        assert!(msg.contains("s.jsonl is gzip-compressed"), "{msg}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }

    #[test]
    fn a_path_named_gz_is_refused_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["s.jsonl.GZ", "s.jsonl.bz2", "s.jsonl.zst", "s.xz"] {
            let p = dir.path().join(name);
            let msg = format!("{:#}", JsonlLog::open(&p).unwrap_err());
            assert!(msg.contains(&format!("{name}: zsnas writes plain JSON lines")), "{msg}");
            assert!(!p.exists());
        }
    }

    #[test]
    fn unterminated_text_after_a_complete_record_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        for text in ["{\"a\":1}\n{\"a\":2} junk", "{\"a\":1}\n{\"a\":2}}", "{\"a\":1}\n{\"a\" 2"] {
            std::fs::write(&p, text).unwrap();
            let msg = format!("{:#}", JsonlLog::open(&p).unwrap_err());
            assert!(msg.contains("corrupt JSON on line 2 (not a prefix of a record"), "{msg}");
            assert_eq!(read(&p), text);
        }
    }

    #[test]
    fn every_prefix_of_a_record_is_repaired_as_torn() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        let record = "{\"arch\":\"caf\u{e9} \\u00e9\",\"x\":-1.5e-3,\"ok\":true,\"n\":null,\"v\":[1,2]}";
        let bytes = record.as_bytes();
        for cut in 1..bytes.len() {
            let mut text = b"{\"a\":1}\n".to_vec();
            text.extend_from_slice(&bytes[..cut]);
            // A crash with delayed allocation can leave NULs after the prefix.
            if cut % 2 == 0 {
                text.extend_from_slice(&[0, 0, 0]);
            }
            std::fs::write(&p, &text).unwrap();
            let (log, recs) = JsonlLog::open(&p).unwrap_or_else(|e| panic!("cut at {cut}: {e:#}"));
            assert_eq!(recs, vec![json!({"a": 1})], "cut at {cut}");
            assert_eq!(log.repair().map(|r| r.line), Some(2), "cut at {cut}");
            assert_eq!(read(&p), "{\"a\":1}\n");
        }
    }

    #[test]
    fn a_complete_record_followed_by_nuls_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, b"{\"a\":1}\n{\"a\":2}\0\0").unwrap();
        let (log, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs, vec![json!({"a": 1}), json!({"a": 2})]);
        assert_eq!(log.repair(), Some(&Repair { line: 2, removed_bytes: 2, added_newline: true }));
        assert_eq!(read(&p), "{\"a\":1}\n{\"a\":2}\n");
    }

    #[test]
    fn nul_garbage_at_end_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, b"{\"a\":1}\n\0\0\0\0").unwrap();
        let (_log, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(read(&p), "{\"a\":1}\n");
    }

    #[test]
    fn complete_object_without_newline_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{\"a\":2}").unwrap();
        let (mut log, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(log.repair(), Some(&Repair { line: 2, removed_bytes: 0, added_newline: true }));
        log.append(&json!({"a": 3})).unwrap();
        assert_eq!(read(&p), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    }

    #[test]
    fn corrupt_middle_line_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        let text = "{\"a\":1}\n\n{oops\n{\"a\":3}\n";
        std::fs::write(&p, text).unwrap();
        let err = JsonlLog::open(&p).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("line 3"), "{msg}");
        // File untouched.
        assert_eq!(read(&p), text);
    }

    #[test]
    fn blank_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, "\n{\"a\":1}\n  \n{\"a\":2}\n\n").unwrap();
        let (log, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs.len(), 2);
        assert!(log.repair().is_none());
    }

    #[test]
    fn newlines_inside_strings_stay_on_one_line_and_sync_works() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        let (log, _) = JsonlLog::open(&p).unwrap();
        let mut log = log.with_sync(true);
        assert!(log.sync());
        log.append(&json!({"arch": "x\ny"})).unwrap();
        assert_eq!(read(&p).lines().count(), 1);
        let (_, recs) = JsonlLog::open(&p).unwrap();
        assert_eq!(recs[0]["arch"], "x\ny");
    }

    #[test]
    fn done_set_by_key() {
        let recs = vec![
            json!({"arch": "a", "ok": true}),
            json!({"arch": "b", "ok": false}),
            json!({"id": 7, "meta": {"arch": "c"}}),
            json!({"arch": null}),
        ];
        let d = done_set(&recs, "arch");
        assert_eq!(d.len(), 2);
        assert!(d.contains("a") && d.contains("b"));
        assert!(done_set(&recs, "id").contains("7"));
        assert!(done_set(&recs, "/meta/arch").contains("c"));
        let ok = done_set_where(&recs, "arch", |r| r["ok"] == json!(true));
        assert_eq!(ok.into_iter().collect::<Vec<_>>(), vec!["a".to_string()]);
    }
}
