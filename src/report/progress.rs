//! Progress reporting that behaves well both in a terminal and in batch logs.
//!
//! * stderr is a terminal: an `indicatif` bar showing
//!   `{pos}/{len} 3.2 arch/s ETA 4m35s` (rate with its unit; no ETA before the first
//!   item is done). Lines written with [`stdout_line`] and [`stderr_line`] suspend the bar
//!   while they are written, so results printed to a terminal never share a line with
//!   a bar or leave stale bars between them.
//! * stderr is not a terminal (Slurm/Kubernetes logs, `2> file`): plain lines
//!   on stderr, at most one every [`DEFAULT_INTERVAL`] (10 s) plus a final one,
//!   e.g. `score: 120/1000 (12.0%) 3.2 arch/s, ETA 4m35s`.
//!
//! The environment variable `ZSNAS_PROGRESS=plain|bar|off` overrides the
//! automatic choice (an unknown value is reported once and ignored).
//!
//! [`Progress`] takes `&self` everywhere and is `Send + Sync`, so it can be
//! shared between worker threads.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bar on screen, if any: [`stdout_line`] and [`stderr_line`] suspend it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `f` with the active bar (if any) cleared from the terminal, redrawing it after.
fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE.lock().map(|a| a.clone()).unwrap_or(None);
    match bar {
        Some(b) => b.suspend(f),
        None => f(),
    }
}

/// Writes `line` and a newline to stdout and flushes, with the progress bar suspended
/// (issue 16: no bar fragments between result lines in a terminal). Errors are those of
/// the write (e.g. a closed pipe).
pub fn stdout_line(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    suspended(|| {
        let mut o = std::io::stdout().lock();
        writeln!(o, "{line}")?;
        o.flush()
    })
    .map_err(|e| std::io::Error::new(e.kind(), format!("writing to standard output: {e}")))
}

/// Writes `line` to stderr with the progress bar suspended, ignoring write errors.
pub fn stderr_line(line: &str) {
    suspended(|| say(line))
}

/// Default minimum time between two plain progress lines.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Name of the environment variable that overrides the progress mode.
pub const ENV_VAR: &str = "ZSNAS_PROGRESS";

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An interactive `indicatif` bar on stderr.
    Bar,
    /// Plain, rate-limited log lines on stderr.
    Plain,
    /// Nothing at all.
    Off,
}

impl ProgressMode {
    /// Parses `plain`, `bar` or `off` (case-insensitive, surrounding
    /// whitespace ignored); `None` for anything else.
    pub fn parse(text: &str) -> Option<ProgressMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bar" => Some(ProgressMode::Bar),
            "plain" => Some(ProgressMode::Plain),
            "off" | "none" | "quiet" => Some(ProgressMode::Off),
            _ => None,
        }
    }

    /// The mode [`Progress::new`] uses: `ZSNAS_PROGRESS` if set to a valid
    /// value, otherwise `Bar` when stderr is a terminal and `Plain` if not.
    pub fn detect() -> ProgressMode {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if let Ok(v) = std::env::var(ENV_VAR) {
            if !v.trim().is_empty() {
                match ProgressMode::parse(&v) {
                    Some(m) => return m,
                    None => {
                        if !WARNED.swap(true, Ordering::Relaxed) {
                            say(&format!("zsnas: ignoring {ENV_VAR}='{v}' (expected plain, bar or off)"));
                        }
                    }
                }
            }
        }
        if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Plain
        }
    }
}

#[derive(Debug)]
struct PlainState {
    last_print: Instant,
}

/// A progress reporter (see the [module docs](self)).
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    label: String,
    unit: String,
    total: u64,
    pos: AtomicU64,
    start: Instant,
    interval: Duration,
    bar: Option<ProgressBar>,
    plain: Mutex<PlainState>,
    finished: AtomicBool,
}

impl Progress {
    /// A reporter for `total` items labelled `label`, in the mode chosen by
    /// [`ProgressMode::detect`], counting items as `arch`.
    pub fn new(total: u64, label: &str) -> Progress {
        Progress::with_mode(total, label, ProgressMode::detect())
    }

    /// A reporter with an explicit mode (ignores `ZSNAS_PROGRESS`).
    pub fn with_mode(total: u64, label: &str, mode: ProgressMode) -> Progress {
        let bar = match mode {
            ProgressMode::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(bar_style("arch"));
                bar.set_prefix(label.to_string());
                if let Ok(mut a) = ACTIVE.lock() {
                    *a = Some(bar.clone());
                }
                Some(bar)
            }
            _ => None,
        };
        let now = Instant::now();
        Progress {
            mode,
            label: label.to_string(),
            unit: "arch".to_string(),
            total,
            pos: AtomicU64::new(0),
            start: now,
            interval: DEFAULT_INTERVAL,
            bar,
            plain: Mutex::new(PlainState { last_print: now }),
            finished: AtomicBool::new(false),
        }
    }

    /// Sets the minimum time between plain lines (default 10 s).
    pub fn with_interval(mut self, interval: Duration) -> Progress {
        self.interval = interval;
        self
    }

    /// Sets the unit word used in plain lines (default `arch`, as in
    /// `3.2 arch/s`).
    pub fn with_unit(mut self, unit: &str) -> Progress {
        self.unit = unit.to_string();
        if let Some(bar) = &self.bar {
            bar.set_style(bar_style(unit));
        }
        self
    }

    /// The mode in use.
    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    /// Items done so far.
    pub fn position(&self) -> u64 {
        self.pos.load(Ordering::Relaxed)
    }

    /// Total number of items.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Records `n` more items done; prints a plain line if the interval has
    /// passed.
    pub fn inc(&self, n: u64) {
        let prev =
            self.pos.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| Some(p.saturating_add(n))).unwrap_or(0);
        let pos = prev.saturating_add(n);
        self.after_update(pos);
    }

    /// Sets the number of items done (e.g. when resuming with work already
    /// done). The rate then counts from this call's time as well as before;
    /// call it right after construction for a correct rate.
    pub fn set_position(&self, pos: u64) {
        self.pos.store(pos, Ordering::Relaxed);
        self.after_update(pos);
    }

    fn after_update(&self, pos: u64) {
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(pos);
                }
            }
            ProgressMode::Plain => {
                let now = Instant::now();
                let due = match self.plain.lock() {
                    Ok(mut st) => {
                        if now.duration_since(st.last_print) >= self.interval {
                            st.last_print = now;
                            true
                        } else {
                            false
                        }
                    }
                    Err(_) => false,
                };
                if due {
                    say(&self.line(pos, now.duration_since(self.start), false));
                }
            }
            ProgressMode::Off => {}
        }
    }

    fn line(&self, pos: u64, elapsed: Duration, done: bool) -> String {
        format_plain_line(&self.label, pos, self.total, elapsed, &self.unit, done)
    }

    /// Prints a message without garbling the bar (plain stderr line in the
    /// other modes, including `Off`).
    pub fn println(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| say(msg)),
            None => say(msg),
        }
    }

    /// Finishes: leaves the bar at its final state, or prints the final plain
    /// line (`..., done in 5m12s`). Idempotent; also called on drop.
    pub fn finish(&self) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.finish();
                    // End the bar's line, so that what follows (the shell prompt) starts on
                    // a line of its own.
                    if !bar.is_hidden() {
                        say("");
                    }
                    if let Ok(mut a) = ACTIVE.lock() {
                        if a.as_ref().is_some_and(|b| b.is_finished()) {
                            *a = None;
                        }
                    }
                }
            }
            ProgressMode::Plain => {
                say(&self.line(self.position(), self.start.elapsed(), true));
            }
            ProgressMode::Off => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `eprintln!` for notes and warnings, with the progress bar suspended and a failed write
/// (a full or closed stderr) ignored instead of a panic: `crate::note!("…{x}")`.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::report::progress::stderr_line(&format!($($arg)*))
    };
}

/// Writes one line to stderr, ignoring write errors (unlike `eprintln!`,
/// which panics when stderr is e.g. a closed pipe).
fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// The bar's style: `label [elapsed] bar pos/len RATE UNIT/s ETA T`, the rate and ETA
/// computed as in [`format_plain_line`] (no ETA before the first item).
fn bar_style(unit: &str) -> ProgressStyle {
    let unit = unit.to_string();
    ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {rate} {left}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", rate_text(s.pos(), s.elapsed(), &unit));
        })
        .with_key("left", move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", eta_text(s.pos(), s.len().unwrap_or(0), s.elapsed()));
        })
}

/// `3.2 arch/s` for `pos` items in `elapsed` (`? arch/s` before the first item).
pub fn rate_text(pos: u64, elapsed: Duration, unit: &str) -> String {
    let secs = elapsed.as_secs_f64();
    if pos == 0 || secs <= 0.0 {
        return format!("? {unit}/s");
    }
    format!("{} {unit}/s", format_rate(pos as f64 / secs))
}

/// `ETA 4m35s` from the rate so far; `ETA ?` before the first item; `ETA 0s` when done.
pub fn eta_text(pos: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if pos >= total {
        return "ETA 0s".to_string();
    }
    if pos == 0 || secs <= 0.0 {
        return "ETA ?".to_string();
    }
    let remaining = (total - pos) as f64 * secs / pos as f64;
    if remaining.is_finite() && remaining < 1e12 {
        format!("ETA {}", format_duration(Duration::from_secs_f64(remaining)))
    } else {
        "ETA ?".to_string()
    }
}

/// Formats a duration in whole seconds: `42s`, `4m35s`, `2h03m07s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h{m:02}m{sec:02}s")
    } else if m > 0 {
        format!("{m}m{sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// Formats a rate: one decimal from 1/s upwards (`3.2`), three below
/// (`0.042`).
fn format_rate(rate: f64) -> String {
    if !rate.is_finite() {
        "?".to_string()
    } else if rate >= 1.0 || rate == 0.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.3}")
    }
}

/// The plain progress line, a pure function of its inputs:
/// `label: 120/1000 (12.0%) 3.2 arch/s, ETA 4m35s` while running and
/// `label: 1000/1000 (100.0%) 3.2 arch/s, done in 5m12s` when `done`.
///
/// The ETA is `?` while the rate is still zero; a total of 0 counts as
/// 100%.
pub fn format_plain_line(label: &str, pos: u64, total: u64, elapsed: Duration, unit: &str, done: bool) -> String {
    let pct = if total == 0 { 100.0 } else { pos as f64 * 100.0 / total as f64 };
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { pos as f64 / secs } else { 0.0 };
    let tail = if done { format!("done in {}", format_duration(elapsed)) } else { eta_text(pos, total, elapsed) };
    format!("{label}: {pos}/{total} ({pct:.1}%) {} {unit}/s, {tail}", format_rate(rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_exact() {
        // 120 in 37.5 s -> 3.2/s; 880 left -> 275 s.
        assert_eq!(
            format_plain_line("score", 120, 1000, Duration::from_millis(37_500), "arch", false),
            "score: 120/1000 (12.0%) 3.2 arch/s, ETA 4m35s"
        );
        assert_eq!(
            format_plain_line("score", 1000, 1000, Duration::from_secs(312), "arch", true),
            "score: 1000/1000 (100.0%) 3.2 arch/s, done in 5m12s"
        );
        assert_eq!(format_plain_line("x", 0, 10, Duration::ZERO, "arch", false), "x: 0/10 (0.0%) 0.0 arch/s, ETA ?");
        assert_eq!(
            format_plain_line("x", 1, 100, Duration::from_secs(40), "net", false),
            "x: 1/100 (1.0%) 0.025 net/s, ETA 1h06m00s"
        );
        assert_eq!(
            format_plain_line("x", 5, 5, Duration::from_secs(5), "arch", false),
            "x: 5/5 (100.0%) 1.0 arch/s, ETA 0s"
        );
        assert_eq!(
            format_plain_line("x", 0, 0, Duration::from_secs(1), "arch", true),
            "x: 0/0 (100.0%) 0.0 arch/s, done in 1s"
        );
    }

    #[test]
    fn bar_rate_has_a_unit_and_no_eta_before_the_first_item() {
        assert_eq!(rate_text(0, Duration::from_secs(3), "arch"), "? arch/s");
        assert_eq!(eta_text(0, 10, Duration::from_secs(3)), "ETA ?");
        assert_eq!(rate_text(4, Duration::from_secs(2), "arch"), "2.0 arch/s");
        assert_eq!(eta_text(4, 10, Duration::from_secs(2)), "ETA 3s");
        assert_eq!(rate_text(1, Duration::from_secs(40), "batch"), "0.025 batch/s");
        assert_eq!(eta_text(10, 10, Duration::from_secs(2)), "ETA 0s");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_secs(0)), "0s");
        assert_eq!(format_duration(Duration::from_secs(59)), "59s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m00s");
        assert_eq!(format_duration(Duration::from_secs(3600 * 2 + 3 * 60 + 7)), "2h03m07s");
    }

    #[test]
    fn mode_parse() {
        assert_eq!(ProgressMode::parse("PLAIN"), Some(ProgressMode::Plain));
        assert_eq!(ProgressMode::parse(" bar "), Some(ProgressMode::Bar));
        assert_eq!(ProgressMode::parse("off"), Some(ProgressMode::Off));
        assert_eq!(ProgressMode::parse("fancy"), None);
    }

    #[test]
    fn counting_and_finish_do_not_panic() {
        for mode in [ProgressMode::Off, ProgressMode::Plain, ProgressMode::Bar] {
            let p = Progress::with_mode(10, "t", mode).with_interval(Duration::ZERO);
            p.inc(3);
            p.inc(u64::MAX); // saturates, no panic
            assert_eq!(p.position(), u64::MAX);
            p.set_position(10);
            assert_eq!(p.position(), 10);
            assert_eq!(p.total(), 10);
            p.println("message");
            p.finish();
            p.finish();
        }
        // Shared between threads.
        let p = std::sync::Arc::new(Progress::with_mode(100, "t", ProgressMode::Off));
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || (0..25).for_each(|_| p.inc(1)))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(p.position(), 100);
    }
}
