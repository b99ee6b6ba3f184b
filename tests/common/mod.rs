//! Helpers shared by the integration tests that run the `zsnas` binary.
#![allow(dead_code)]

use std::process::Command;

/// Runs `zsnas` with `args` (progress output off); returns (exit code, stdout, stderr).
pub fn zsnas(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_zsnas")).args(args).env("ZSNAS_PROGRESS", "off").output().expect("run zsnas");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `zsnas args` fails cleanly (non-zero exit, no panic) with `needle` in stderr.
pub fn assert_error(args: &[&str], needle: &str) {
    let (code, _out, err) = zsnas(args);
    assert_ne!(code, 0, "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(err.contains(needle), "{args:?}: expected '{needle}' in stderr, got: {err}");
}
