//! Scatter plots, step plots (search curves) and line plots, written as both PNG and SVG.
//!
//! Rules every figure follows (issue 16): titles and subtitles are wrapped to the image
//! width as measured with the embedded font ([`wrap_text`]), never cut; colours come from
//! the colour-blind-safe Okabe–Ito palette without its yellow ([`OKABE_ITO`]); a scatter's
//! x axis is chosen by [`choose_x_axis`] (log10 when the positive points span more than
//! four decades, the range set by Tukey's far-out fences so that the bulk fills the
//! width) and every point it cannot place is counted in the subtitle, the out-of-range
//! ones drawn at the edge with a distinct marker; search curves are step lines with a
//! ±1 std band over runs ([`step_plot`]).
//!
//! Text is rendered with an embedded DejaVu Sans font (see
//! `src/report/fonts/LICENSE-DejaVu.txt`; Bitstream Vera licence, DejaVu
//! changes public domain) registered through plotters' `ab_glyph` backend,
//! so plotting works on machines without any system font or fontconfig.
//! This requires the plotters feature `ab_glyph` **and not** `ttf` (with both
//! enabled, plotters silently uses the system-font `ttf` path).  The crate's
//! plotters dependency must therefore be:
//!
//! ```toml
//! plotters = { version = "0.3", default-features = false, features = ["svg_backend", "bitmap_backend", "bitmap_encoder", "line_series", "point_series", "ab_glyph"] }
//! ```
//!
//! Output files are `<stem>.png` and `<stem>.svg`: the extension is
//! *appended* to the stem (so `plots/rank.v2` gives `plots/rank.v2.png`),
//! and missing parent directories are created.

use anyhow::{anyhow, Context, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Width of every image in pixels.
pub const WIDTH: u32 = 800;
/// Height of a scatter plot (and minimum height of a line plot) in pixels.
pub const HEIGHT: u32 = 600;
/// Height of one panel of a [`line_plot`] with three or more series.
pub const PANEL_HEIGHT: u32 = 300;
/// Font size (pixels) of a figure's title.
pub const TITLE_SIZE: u32 = 20;
/// Font size (pixels) of a figure's subtitle.
pub const SUBTITLE_SIZE: u32 = 15;
/// Horizontal margin (pixels) kept free on each side of a title or subtitle line.
pub const TEXT_MARGIN: u32 = 16;
/// A log10 x axis is chosen when the positive points' max / min exceeds this.
pub const LOG_SPAN: f64 = 1e4;
/// Tukey fence factor of [`choose_x_axis`]: points beyond Q1 − k·IQR or Q3 + k·IQR
/// ("far out") are drawn at the edge.
pub const FENCE_K: f64 = 3.0;
/// [`choose_x_axis`] moves at most this fraction of the points to each edge.
pub const MAX_EDGE_FRACTION: f64 = 0.2;
/// Fewer points than this get no fences (the full range is shown).
pub const MIN_FENCE_POINTS: usize = 20;

/// The Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008), without its yellow
/// (unreadable on white): blue, vermillion, bluish green, orange, reddish purple, sky
/// blue, black.
pub const OKABE_ITO: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// Colour `i` of [`OKABE_ITO`], cycling.
pub fn colour(i: usize) -> RGBColor {
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// The font embedded into the binary (DejaVu Sans 2.37).
static DEJAVU_SANS: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Registers the embedded font under plotters' generic family names
/// (`sans-serif`, `serif`, `monospace`) once per process.  Called by every
/// plotting function; public so that other plotting code in the crate can
/// call it before using plotters directly.
pub fn ensure_fonts() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            plotters::style::register_font(family, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "embedded DejaVu Sans font could not be parsed".to_string())?;
        }
        Ok(())
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// `<stem>.<ext>`, appending rather than replacing an extension.
fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn prepare_paths(stem: &Path) -> Result<(PathBuf, PathBuf)> {
    if stem.as_os_str().is_empty() {
        return Err(anyhow!("plot path stem is empty"));
    }
    // `plots/` or `plots/.` would write `plots/.png`: a hidden file, or an image format the
    // plotting library cannot guess.
    let name = stem.to_string_lossy();
    let last = name.rsplit(['/', std::path::MAIN_SEPARATOR]).next().unwrap_or("");
    if matches!(last, "" | "." | "..") {
        return Err(anyhow!(
            "plot path stem '{name}' names a folder, not a file stem: give e.g. {}curve (writes curve.png and curve.svg there)",
            if name.ends_with('/') { name.to_string() } else { format!("{name}/") }
        ));
    }
    if let Some(parent) = stem.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating directory {}", parent.display()))?;
        }
    }
    Ok((with_suffix(stem, "png"), with_suffix(stem, "svg")))
}

fn perr(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting failed: {}", readable_error(&e.to_string()))
}

/// plotters' error text in one readable line: an OS error inside it (the bitmap backend
/// prints its error in Debug form, e.g. `backend error: Drawing backend error:
/// ImageError(IoError(Os { code: 2, kind: NotFound, message: "No such file or directory" }))`)
/// as `No such file or directory (os error 2)`; otherwise the text without plotters'
/// `backend error: ` and `Drawing backend error: ` prefixes.
fn readable_error(text: &str) -> String {
    if let Some(i) = text.find("Os { code: ") {
        let rest = &text[i + "Os { code: ".len()..];
        let code: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let message =
            rest.find("message: \"").map(|j| &rest[j + "message: \"".len()..]).and_then(|m| m.split('"').next());
        if let (false, Some(m)) = (code.is_empty(), message) {
            return format!("{m} (os error {code})");
        }
    }
    let mut t = text;
    for prefix in ["backend error: ", "Drawing backend error: "] {
        t = t.strip_prefix(prefix).unwrap_or(t);
    }
    t.to_string()
}

/// The stem of a plot path given on the command line: `curve.png` or `curve.svg` names
/// the stem `curve` (the plot is written as both, not as `curve.png.png`); any other path
/// is the stem itself.
pub fn stem_of(path: &Path) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("png") || e.eq_ignore_ascii_case("svg") => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}

/// The two files a plot of `stem` is written to: `<stem>.png` and `<stem>.svg`.
pub fn files_of(stem: &Path) -> [PathBuf; 2] {
    [with_suffix(stem, "png"), with_suffix(stem, "svg")]
}

/// Checks up front that a plot can be written to `<stem>.png` and `<stem>.svg` (the checks
/// of the plotting functions, the parent folder created, each file opened for writing; a
/// file that did not exist is removed again), so that a long run does not fail at its end.
///
/// Errors: an empty stem or one naming a folder, a folder that cannot be created, a file
/// that cannot be written (the path and the OS error).
pub fn check_writable(stem: &Path) -> Result<()> {
    let (png, svg) = prepare_paths(stem)?;
    for p in [png, svg] {
        let existed = p.exists();
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&p)
            .with_context(|| format!("cannot write '{}'", p.display()))?;
        if !existed {
            let _ = std::fs::remove_file(&p);
        }
    }
    Ok(())
}

/// Rendered width in pixels of `text` in the embedded sans-serif font at `size` pixels.
///
/// Errors: the font cannot be registered or laid out.
pub fn text_width(text: &str, size: u32) -> Result<u32> {
    ensure_fonts()?;
    if text.is_empty() {
        return Ok(0);
    }
    let font = ("sans-serif", size).into_font();
    font.box_size(text).map(|(w, _)| w).map_err(perr)
}

/// `text` broken into lines no wider than `max_width` pixels at `size` ([`text_width`]):
/// at spaces where possible, inside a word only when the word alone is too wide. Every
/// character is kept; an empty text gives no line.
pub fn wrap_text(text: &str, size: u32, max_width: u32) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let cand = if cur.is_empty() { word.to_string() } else { format!("{cur} {word}") };
        if text_width(&cand, size)? <= max_width {
            cur = cand;
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        if text_width(word, size)? <= max_width {
            cur = word.to_string();
            continue;
        }
        // A word wider than the line: split it between characters.
        for c in word.chars() {
            let mut cand = cur.clone();
            cand.push(c);
            if !cur.is_empty() && text_width(&cand, size)? > max_width {
                lines.push(std::mem::replace(&mut cur, c.to_string()));
            } else {
                cur = cand;
            }
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    Ok(lines)
}

/// The title and subtitle lines of a figure `width` pixels wide ([`wrap_text`] to
/// `width − 2·TEXT_MARGIN`).
pub fn header_lines(title: &str, subtitle: &str, width: u32) -> Result<(Vec<String>, Vec<String>)> {
    let w = width.saturating_sub(2 * TEXT_MARGIN).max(1);
    Ok((wrap_text(title, TITLE_SIZE, w)?, wrap_text(subtitle, SUBTITLE_SIZE, w)?))
}

/// Draws the centred title and subtitle lines at the top of `root`; returns the area
/// below them.
fn draw_header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &[String],
    subtitle: &[String],
) -> Result<DrawingArea<DB, Shift>> {
    let cx = root.dim_in_pixel().0 as i32 / 2;
    let mut y = 8i32;
    let grey = RGBColor(64, 64, 64);
    for (lines, size, colour) in [(title, TITLE_SIZE, BLACK), (subtitle, SUBTITLE_SIZE, grey)] {
        for line in lines {
            let style =
                TextStyle::from(("sans-serif", size).into_font()).color(&colour).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(line.clone(), (cx, y), style)).map_err(perr)?;
            y += (size as f64 * 1.3).round() as i32;
        }
    }
    Ok(root.split_vertically(y + 6).1)
}

/// `true` when a log10 x axis is advisable: among the finite values, at least 3 and at
/// least half are positive, and the positive ones span `max / min > LOG_SPAN` (e.g.
/// synflow, parameter counts). Non-positive values do not prevent a log axis; the
/// scatter counts them and draws them at the left edge. Empty input gives `false`.
pub fn auto_log_x(xs: &[f64]) -> bool {
    let finite = xs.iter().filter(|x| x.is_finite()).count();
    let pos: Vec<f64> = xs.iter().copied().filter(|&x| x.is_finite() && x > 0.0).collect();
    if pos.len() < 3 || 2 * pos.len() < finite {
        return false;
    }
    let min = pos.iter().copied().fold(f64::INFINITY, f64::min);
    let max = pos.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max / min > LOG_SPAN
}

/// The x axis of a scatter, from [`choose_x_axis`].
#[derive(Clone, Debug, PartialEq)]
pub struct XAxis {
    /// A log10 axis.
    pub log: bool,
    /// Smallest value shown in place (data units; > 0 on a log axis).
    pub lo: f64,
    /// Largest value shown in place (data units).
    pub hi: f64,
    /// Finite values ≤ 0 on a log axis (drawn at the left edge).
    pub nonpositive: usize,
    /// Values (positive, on a log axis) below `lo` (drawn at the left edge).
    pub below: usize,
    /// Values above `hi` (drawn at the right edge).
    pub above: usize,
}

/// Quantile `q` of sorted values (linear interpolation).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    if i + 1 < sorted.len() {
        sorted[i] + f * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// Chooses a scatter's x axis from the finite values of `xs` (non-finite ones are
/// ignored): log10 by [`auto_log_x`]; the range is the data's, narrowed to Tukey's
/// far-out fences `Q1 − 3·IQR .. Q3 + 3·IQR` (computed on log10 values on a log axis)
/// when there are at least [`MIN_FENCE_POINTS`] values and the IQR is positive, so that a
/// few degenerate values do not squeeze the bulk; a side keeps the data's extent when
/// its fence would move more than [`MAX_EDGE_FRACTION`] of the points to the edge (a
/// long tail is shown, not hidden). What falls outside is counted.
pub fn choose_x_axis(xs: &[f64]) -> XAxis {
    let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let log = auto_log_x(&finite);
    let mut vals: Vec<f64> =
        if log { finite.iter().copied().filter(|&x| x > 0.0).map(f64::log10).collect() } else { finite.clone() };
    let nonpositive = finite.len() - vals.len();
    vals.sort_by(f64::total_cmp);
    if vals.is_empty() {
        let (lo, hi) = if log { (1.0, 10.0) } else { (0.0, 1.0) };
        return XAxis { log, lo, hi, nonpositive, below: 0, above: 0 };
    }
    let back = |v: f64| if log { 10f64.powf(v) } else { v };
    // The range in data units: the data's extent exactly, or a fence.
    let shown: Vec<f64> = finite.iter().copied().filter(|&x| !log || x > 0.0).collect();
    let mut lo = shown.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = shown.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if vals.len() >= MIN_FENCE_POINTS {
        let (q1, q3) = (quantile(&vals, 0.25), quantile(&vals, 0.75));
        let iqr = q3 - q1;
        // A side whose fence would hide more than MAX_EDGE_FRACTION of the points is
        // a long tail, not a few outliers: it keeps the data's extent.
        let most = (vals.len() as f64 * MAX_EDGE_FRACTION).floor() as usize;
        if iqr > 0.0 {
            let (flo, fhi) = (back(q1 - FENCE_K * iqr), back(q3 + FENCE_K * iqr));
            if shown.iter().filter(|&&v| v < flo).count() <= most {
                lo = lo.max(flo);
            }
            if shown.iter().filter(|&&v| v > fhi).count() <= most {
                hi = hi.min(fhi);
            }
        }
    }
    let below = shown.iter().filter(|&&v| v < lo).count();
    let above = shown.iter().filter(|&&v| v > hi).count();
    XAxis { log, lo, hi, nonpositive, below, above }
}

/// Axis range with 5% padding; degenerate or empty input gets a sane range.
fn linear_range(vals: impl Iterator<Item = f64>) -> Range<f64> {
    padded_range(vals, 0.05)
}

fn padded_range(vals: impl Iterator<Item = f64>, frac: f64) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d)..(hi + d);
    }
    let pad = (hi - lo) * frac;
    (lo - pad)..(hi + pad)
}

/// Log-axis range (`lo`, `hi` > 0) padded by 3% of its decades (at least 0.05 decade).
fn log_range(lo: f64, hi: f64) -> Range<f64> {
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi >= lo) {
        return 1.0..10.0;
    }
    let decades = (hi / lo).log10();
    let pad = 10f64.powf((decades * 0.03).max(0.05));
    (lo / pad)..(hi * pad)
}

/// `v` with 4 significant digits (`641.3`, `0.01235`, `2.2e49`), for text.
pub fn fmt_sig(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || v == 0.0 || !(1e-3..1e5).contains(&a) {
        return fmt_tick(v);
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    s.to_string()
}

/// The corner of a plot whose legend box (a `w` × `h` fraction of the plot) covers the
/// fewest of `pts` (coordinates as fractions of the plot, y upwards); ties go to the
/// upper left, then lower right, upper right, lower left.
pub fn legend_corner(pts: &[(f64, f64)], w: f64, h: f64) -> SeriesLabelPosition {
    let corners = [
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - h),
        (SeriesLabelPosition::LowerRight, 1.0 - w, 0.0),
        (SeriesLabelPosition::UpperRight, 1.0 - w, 1.0 - h),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    ];
    let count =
        |x0: f64, y0: f64| pts.iter().filter(|&&(x, y)| x >= x0 && x <= x0 + w && y >= y0 && y <= y0 + h).count();
    let mut best = (usize::MAX, SeriesLabelPosition::UpperLeft);
    for (pos, x0, y0) in corners {
        let n = count(x0, y0);
        if n < best.0 {
            best = (n, pos);
        }
    }
    best.1
}

/// Fraction of the way from `r.start` to `r.end` (log10 when `log`).
fn frac(v: f64, r: &Range<f64>, log: bool) -> f64 {
    if log {
        (v.log10() - r.start.log10()) / (r.end.log10() - r.start.log10())
    } else {
        (v - r.start) / (r.end - r.start)
    }
}

/// Compact tick label: `0`, `12.5`, `0.0042`, `1.2e6`.
pub fn fmt_tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() { "0".into() } else { format!("{v}") };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

struct Labels<'a> {
    x: &'a str,
    y: &'a str,
}

/// Grid, tick labels ([`fmt_tick`]) and axis descriptions, tick labels at `size` points
/// and axis descriptions 2 points larger.
fn draw_mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    labels: &Labels<'_>,
    size: u32,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fmt = |v: &f64| fmt_tick(*v);
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(215, 215, 215))
        .label_style(("sans-serif", size))
        .axis_desc_style(("sans-serif", size + 2))
        .draw()
        .map_err(perr)
}

/// What a scatter plot says in words.
#[derive(Clone, Copy, Debug)]
pub struct ScatterText<'a> {
    /// The title (wrapped to the width).
    pub title: &'a str,
    /// The first part of the subtitle (e.g. the statistics); [`scatter`] appends what it
    /// could not place.
    pub subtitle: &'a str,
    /// The x axis description ([`scatter`] appends "(log scale)" on a log axis).
    pub x: &'a str,
    /// The y axis description, with its unit.
    pub y: &'a str,
}

/// What [`scatter`] drew.
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterSummary {
    /// Points drawn in place.
    pub drawn: usize,
    /// Points not drawn: a non-finite coordinate.
    pub nonfinite: usize,
    /// The x axis, with the points drawn at its edges.
    pub axis: XAxis,
    /// The subtitle as drawn (before wrapping).
    pub subtitle: String,
    /// The title and subtitle lines as drawn.
    pub lines: Vec<String>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The notes [`scatter`] appends to the subtitle.
fn scatter_notes(nonfinite: usize, axis: &XAxis) -> Vec<String> {
    let mut notes = Vec::new();
    if nonfinite > 0 {
        notes.push(format!("{} not shown", plural(nonfinite, "non-finite point", "non-finite points")));
    }
    if axis.nonpositive > 0 {
        notes.push(format!(
            "{} at the left edge (×) of the log axis",
            plural(axis.nonpositive, "score ≤ 0", "scores ≤ 0")
        ));
    }
    if axis.below > 0 {
        notes.push(format!(
            "{} below {} at the left edge (×)",
            plural(axis.below, "outlier", "outliers"),
            fmt_sig(axis.lo)
        ));
    }
    if axis.above > 0 {
        notes.push(format!(
            "{} above {} at the right edge (×)",
            plural(axis.above, "outlier", "outliers"),
            fmt_sig(axis.hi)
        ));
    }
    notes
}

fn draw_scatter<DB, XR>(
    root: &DrawingArea<DB, Shift>,
    header: &(Vec<String>, Vec<String>),
    x_range: XR,
    y_range: Range<f64>,
    (inside, edge): (Points<'_>, Points<'_>),
    labels: &Labels<'_>,
    corner: SeriesLabelPosition,
) -> Result<()>
where
    DB: DrawingBackend,
    XR: AsRangedCoord<Value = f64>,
    XR::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    root.fill(&WHITE).map_err(perr)?;
    let body = draw_header(root, &header.0, &header.1)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)
        .map_err(perr)?;
    draw_mesh(&mut chart, labels, 14)?;
    let radius = if inside.len() > 2000 { 2 } else { 3 };
    let blue = colour(0);
    let red = colour(1);
    chart
        .draw_series(inside.iter().map(|&p| Circle::new(p, radius, blue.mix(0.45).filled())))
        .map_err(perr)?
        .label(format!("architectures ({})", inside.len()))
        .legend(move |(x, y)| Circle::new((x + 10, y), 4, blue.filled()));
    if !edge.is_empty() {
        chart
            .draw_series(edge.iter().map(|&p| Cross::new(p, 5, red.stroke_width(2))))
            .map_err(perr)?
            .label(format!("outside the x range, at the edge ({})", edge.len()))
            .legend(move |(x, y)| Cross::new((x + 10, y), 5, red.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(corner)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(perr)?;
    }
    root.present().map_err(perr)?;
    Ok(())
}

/// [`draw_scatter`] on the axis `axis` chose (log or linear coordinates).
fn draw_scatter_axis<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axis: &XAxis,
    header: &(Vec<String>, Vec<String>),
    y_range: &Range<f64>,
    inside: &[(f64, f64)],
    edge: &[(f64, f64)],
    labels: &Labels<'_>,
) -> Result<()> {
    let xr = if axis.log { log_range(axis.lo, axis.hi) } else { padded_range([axis.lo, axis.hi].into_iter(), 0.03) };
    let norm: Vec<(f64, f64)> =
        inside.iter().chain(edge).map(|&(x, y)| (frac(x, &xr, axis.log), frac(y, y_range, false))).collect();
    let corner = legend_corner(&norm, 0.5, 0.16);
    if axis.log {
        draw_scatter(root, header, xr.log_scale(), y_range.clone(), (inside, edge), labels, corner)
    } else {
        draw_scatter(root, header, xr, y_range.clone(), (inside, edge), labels, corner)
    }
}

/// Writes a scatter plot to `<stem>.png` (800×600) and `<stem>.svg`.
///
/// The x axis comes from [`choose_x_axis`]; points with a non-finite coordinate are not
/// drawn, points outside the axis range (the outliers beyond the fences and, on a log
/// axis, the values ≤ 0) are drawn at the nearest edge as crosses; all of these are
/// counted in the subtitle after `text.subtitle`. Title and subtitle are wrapped to the
/// width. The y range covers every finite y. An empty point set still produces (empty)
/// plots. Errors: an empty stem, or the files cannot be written.
pub fn scatter(path_stem: &Path, points: &[(f64, f64)], text: &ScatterText<'_>) -> Result<ScatterSummary> {
    ensure_fonts()?;
    let (png, svg) = prepare_paths(path_stem)?;
    let pts: Vec<(f64, f64)> = points.iter().copied().filter(|&(x, y)| x.is_finite() && y.is_finite()).collect();
    let nonfinite = points.len() - pts.len();
    let axis = choose_x_axis(&pts.iter().map(|p| p.0).collect::<Vec<_>>());
    let (mut inside, mut edge) = (Vec::new(), Vec::new());
    for &(x, y) in &pts {
        if (axis.log && x <= 0.0) || x < axis.lo {
            edge.push((axis.lo, y));
        } else if x > axis.hi {
            edge.push((axis.hi, y));
        } else {
            inside.push((x, y));
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if !text.subtitle.is_empty() {
        parts.push(text.subtitle.to_string());
    }
    parts.extend(scatter_notes(nonfinite, &axis));
    let subtitle = parts.join("; ");
    let header = header_lines(text.title, &subtitle, WIDTH)?;
    let x_label = if axis.log { format!("{} (log scale)", text.x) } else { text.x.to_string() };
    let labels = Labels { x: &x_label, y: text.y };
    let y_range = linear_range(pts.iter().map(|p| p.1));
    {
        let root = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        draw_scatter_axis(&root, &axis, &header, &y_range, &inside, &edge, &labels)
            .with_context(|| format!("writing {}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw_scatter_axis(&root, &axis, &header, &y_range, &inside, &edge, &labels)
            .with_context(|| format!("writing {}", svg.display()))?;
    }
    let lines = header.0.iter().chain(&header.1).cloned().collect();
    Ok(ScatterSummary { drawn: inside.len(), nonfinite, axis, subtitle, lines })
}

/// One curve of a [`step_plot`] panel: per x (e.g. search step) the mean over runs and
/// the standard deviation (drawn as a ±1 std band when any is positive).
#[derive(Clone, Debug)]
pub struct StepCurve {
    /// Legend text.
    pub label: String,
    /// Index into [`OKABE_ITO`] (see [`colour`]).
    pub colour: usize,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// `(x, mean, std)`, x increasing; points with a non-finite mean are skipped.
    pub points: Vec<(f64, f64, f64)>,
}

/// One panel of a [`step_plot`]: curves sharing a y axis.
#[derive(Clone, Debug)]
pub struct StepPanel {
    /// Caption above the panel (empty: none).
    pub caption: String,
    /// The y axis description, with its unit.
    pub y_label: String,
    /// The curves.
    pub curves: Vec<StepCurve>,
}

/// Points in data coordinates.
type Points<'a> = &'a [(f64, f64)];

/// A curve and its points with a finite x and mean.
type FiniteCurve<'a> = (&'a StepCurve, Vec<(f64, f64, f64)>);

/// Image height of a [`step_plot`] with `n` panels: 600 pixels for one, 340 more per
/// further panel.
pub fn step_plot_height(n: usize) -> u32 {
    let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    HEIGHT.saturating_add(340u32.saturating_mul(n - 1)).min(30_000)
}

/// The step path through `pts`: horizontal to the next x, then vertical.
fn step_path(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(pts.len() * 2);
    for (i, &(x, y)) in pts.iter().enumerate() {
        if i > 0 {
            out.push((x, pts[i - 1].1));
        }
        out.push((x, y));
    }
    out
}

fn draw_steps<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    header: &(Vec<String>, Vec<String>),
    x_label: &str,
    panels: &[StepPanel],
) -> Result<()> {
    root.fill(&WHITE).map_err(perr)?;
    let body = draw_header(root, &header.0, &header.1)?;
    let empty = [StepPanel { caption: String::new(), y_label: String::new(), curves: Vec::new() }];
    let panels = if panels.is_empty() { &empty[..] } else { panels };
    let areas = body.split_evenly((panels.len(), 1));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let curves: Vec<FiniteCurve<'_>> = panel
            .curves
            .iter()
            .map(|c| (c, c.points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect()))
            .collect();
        let all = || curves.iter().flat_map(|(_, p)| p.iter());
        let x_range = padded_range(all().map(|p| p.0), 0.01);
        let y_range = linear_range(all().flat_map(|&(_, m, s)| {
            let s = if s.is_finite() { s } else { 0.0 };
            [m - s, m + s]
        }));
        let mut b = ChartBuilder::on(area);
        b.margin(12).x_label_area_size(45).y_label_area_size(75);
        if !panel.caption.is_empty() {
            b.caption(&panel.caption, ("sans-serif", 16));
        }
        let mut chart = b.build_cartesian_2d(x_range, y_range).map_err(perr)?;
        draw_mesh(&mut chart, &Labels { x: x_label, y: &panel.y_label }, 13)?;
        for (c, pts) in &curves {
            let col = colour(c.colour);
            if pts.iter().any(|p| p.2 > 0.0) {
                let upper = step_path(&pts.iter().map(|p| (p.0, p.1 + p.2.max(0.0))).collect::<Vec<_>>());
                let lower = step_path(&pts.iter().map(|p| (p.0, p.1 - p.2.max(0.0))).collect::<Vec<_>>());
                let poly: Vec<(f64, f64)> = upper.into_iter().chain(lower.into_iter().rev()).collect();
                chart.draw_series(std::iter::once(Polygon::new(poly, col.mix(0.18).filled()))).map_err(perr)?;
            }
        }
        for (c, pts) in &curves {
            let col = colour(c.colour);
            let path = step_path(&pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
            let style = col.stroke_width(2);
            let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2));
            if c.dashed {
                chart.draw_series(DashedLineSeries::new(path, 8, 5, style)).map_err(perr)?
            } else {
                chart.draw_series(LineSeries::new(path, style)).map_err(perr)?
            }
            .label(c.label.clone())
            .legend(move |p| {
                if c.dashed {
                    PathElement::new(vec![(p.0, p.1), (p.0 + 8, p.1)], col.stroke_width(2))
                } else {
                    legend(p)
                }
            });
        }
        if curves.iter().any(|(c, _)| !c.label.is_empty()) {
            let (xr, yr) = (chart.x_range(), chart.y_range());
            let norm: Vec<(f64, f64)> = curves
                .iter()
                .flat_map(|(_, p)| p.iter())
                .flat_map(|&(x, m, s)| [(x, m), (x, m + s), (x, m - s)])
                .map(|(x, y)| (frac(x, &xr, false), frac(y, &yr, false)))
                .collect();
            let h = 0.08 + 0.07 * curves.len() as f64;
            let w = 0.45;
            chart
                .configure_series_labels()
                .position(legend_corner(&norm, w, h))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(perr)?;
        }
    }
    root.present().map_err(perr)?;
    Ok(())
}

/// Writes step curves (e.g. best-so-far accuracy over search steps) to `<stem>.png` and
/// `<stem>.svg`: panels stacked vertically ([`step_plot_height`]), each with its own y
/// axis and legend, sharing `x_label`; each curve is a step line with a translucent ±1
/// std band, solid or dashed, in its [`OKABE_ITO`] colour. Title and subtitle are
/// wrapped to the width. No panel gives one empty panel. Errors: an empty stem, or the
/// files cannot be written.
pub fn step_plot(path_stem: &Path, title: &str, subtitle: &str, x_label: &str, panels: &[StepPanel]) -> Result<()> {
    ensure_fonts()?;
    let (png, svg) = prepare_paths(path_stem)?;
    let header = header_lines(title, subtitle, WIDTH)?;
    let size = (WIDTH, step_plot_height(panels.len()));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_steps(&root, &header, x_label, panels).with_context(|| format!("writing {}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_steps(&root, &header, x_label, panels).with_context(|| format!("writing {}", svg.display()))?;
    }
    Ok(())
}

/// Image height used by [`line_plot`] for `n` series:
/// `max(600, 300 * n)` pixels.
pub fn line_plot_height(n: usize) -> u32 {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    PANEL_HEIGHT.saturating_mul(n).clamp(HEIGHT, 30_000)
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[(&str, Vec<(f64, f64)>)],
    labels: &Labels<'_>,
    header: &(Vec<String>, Vec<String>),
) -> Result<()> {
    root.fill(&WHITE).map_err(perr)?;
    let body = draw_header(root, &header.0, &header.1)?;
    let empty: [(&str, Vec<(f64, f64)>); 1] = [("", Vec::new())];
    let series = if series.is_empty() { &empty[..] } else { series };
    let panels = body.split_evenly((series.len(), 1));
    for (i, ((name, data), panel)) in series.iter().zip(panels.iter()).enumerate() {
        let pts: Vec<(f64, f64)> = data.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
        let mut chart = ChartBuilder::on(panel)
            .caption(*name, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(linear_range(pts.iter().map(|p| p.0)), linear_range(pts.iter().map(|p| p.1)))
            .map_err(perr)?;
        let y = if labels.y.is_empty() { *name } else { labels.y };
        draw_mesh(&mut chart, &Labels { x: labels.x, y }, 13)?;
        let color = colour(i);
        chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2))).map_err(perr)?;
        if pts.len() <= 200 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(perr)?;
        }
    }
    root.present().map_err(perr)?;
    Ok(())
}

/// Writes line plots (e.g. learning curves) to `<stem>.png` and `<stem>.svg`: one panel
/// per series, stacked vertically, each captioned with the series name and sharing
/// `x_label`/`y_label`; the image is 800 pixels wide and [`line_plot_height`] high; the
/// title is wrapped to the width; an empty `y_label` labels each panel's y axis with its
/// series name (which should then carry the unit). Non-finite points are skipped; points are joined in
/// the given order. No series gives one empty panel. Errors: an empty stem, or the files
/// cannot be written.
pub fn line_plot(
    path_stem: &Path,
    series: &[(&str, Vec<(f64, f64)>)],
    x_label: &str,
    y_label: &str,
    title: &str,
) -> Result<()> {
    ensure_fonts()?;
    let (png, svg) = prepare_paths(path_stem)?;
    let labels = Labels { x: x_label, y: y_label };
    let header = header_lines(title, "", WIDTH)?;
    let size = (WIDTH, line_plot_height(series.len().max(1)));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_lines(&root, series, &labels, &header).with_context(|| format!("writing {}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_lines(&root, series, &labels, &header).with_context(|| format!("writing {}", svg.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plotting_errors_read_as_one_line() {
        let raw = r#"backend error: Drawing backend error: ImageError(IoError(Os { code: 2, kind: NotFound, message: "No such file or directory" }))"#;
        assert_eq!(readable_error(raw), "No such file or directory (os error 2)");
        assert_eq!(
            readable_error("backend error: Drawing backend error: Font loading error: x"),
            "Font loading error: x"
        );
        assert_eq!(readable_error("Bad layout"), "Bad layout");
    }

    #[test]
    fn check_writable_names_the_file_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("sub").join("curve");
        check_writable(&stem).unwrap();
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 0);
        // A folder where the image should go.
        std::fs::create_dir(dir.path().join("sub").join("curve.png")).unwrap();
        let e = format!("{:#}", check_writable(&stem).unwrap_err());
        assert!(e.starts_with(&format!("cannot write '{}.png': ", stem.display())), "{e}");
        assert!(e.contains("(os error 21)"), "{e}");
    }

    /// Width and height from a PNG's IHDR chunk.
    fn png_size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        assert!(b.len() > 24, "PNG too short");
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&b[12..16], b"IHDR");
        let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
        (w, h)
    }

    fn check_svg(path: &Path, must_contain: &str) {
        let s = std::fs::read_to_string(path).unwrap();
        assert!(s.starts_with("<svg"), "{}", &s[..s.len().min(80)]);
        assert!(s.contains(must_contain), "SVG lacks {must_contain:?}");
    }

    fn text(title: &str) -> ScatterText<'_> {
        ScatterText { title, subtitle: "", x: "x", y: "y" }
    }

    #[test]
    fn title_fits_the_image_width_and_keeps_every_word() {
        // The headline scatter's title, which used to be cut on both sides.
        let title = "wrcor_official against CIFAR-10 test accuracy after 200 epochs on NAS-Bench-201 (1000 cells, batch of 64 images, seed 0)";
        let subtitle = "Spearman ρ = 0.807, Kendall τ = 0.623 (n = 983 finite scores)";
        let pts: Vec<(f64, f64)> = (0..100)
            .map(|i| (700.0 + i as f64 * 2.0, 50.0 + i as f64 * 0.4))
            .chain((0..17).map(|_| (f64::NEG_INFINITY, 10.0)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let s = scatter(&dir.path().join("t"), &pts, &ScatterText { title, subtitle, x: "wrcor score", y: "acc (%)" })
            .unwrap();
        assert_eq!(s.nonfinite, 17);
        assert!(s.subtitle.contains("17 non-finite points not shown"), "{}", s.subtitle);
        let max = WIDTH - 2 * TEXT_MARGIN;
        for (i, line) in s.lines.iter().enumerate() {
            let size = if i == 0 { TITLE_SIZE } else { SUBTITLE_SIZE };
            let w = text_width(line, size).unwrap();
            assert!(w <= max, "line {line:?} is {w} px wide, more than {max}");
        }
        let joined = s.lines.join(" ");
        for word in title.split_whitespace().chain(s.subtitle.split_whitespace()) {
            assert!(joined.contains(word), "{word:?} lost from {joined:?}");
        }
        assert!(s.lines.len() >= 3, "the long text should wrap: {:?}", s.lines);
        // A single word wider than the line is split, not cut.
        let long = "x".repeat(300);
        let lines = wrap_text(&long, TITLE_SIZE, 200).unwrap();
        assert!(lines.len() > 1 && lines.concat() == long);
        assert!(lines.iter().all(|l| text_width(l, TITLE_SIZE).unwrap() <= 200));
        assert!(wrap_text("", 12, 100).unwrap().is_empty());
        check_svg(&dir.path().join("t.svg"), "Kendall");
    }

    #[test]
    fn log_axis_is_chosen_with_nonpositive_points_and_counts_them() {
        // synflow-like: positive scores over 40 decades, some exactly 0, one negative.
        let mut pts: Vec<(f64, f64)> =
            (0..200).map(|i| (10f64.powf(9.0 + i as f64 * 0.2), 80.0 + i as f64 * 0.05)).collect();
        pts.extend((0..7).map(|_| (0.0, 10.0)));
        pts.push((-1.0, 10.0));
        pts.push((f64::NAN, 10.0));
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        assert!(auto_log_x(&xs));
        let axis = choose_x_axis(&xs);
        assert!(axis.log);
        assert_eq!(axis.nonpositive, 8);
        // Without outliers the range is the data's extent, exactly (no log round trip).
        assert_eq!((axis.lo, axis.hi, axis.below, axis.above), (1e9, pts[199].0, 0, 0));
        let dir = tempfile::tempdir().unwrap();
        let s = scatter(&dir.path().join("log.v2"), &pts, &text("synflow")).unwrap();
        assert!(s.axis.log);
        assert_eq!(s.nonfinite, 1);
        assert_eq!(s.drawn + s.axis.nonpositive + s.axis.below + s.axis.above, 208);
        assert!(s.subtitle.contains("8 scores ≤ 0 at the left edge"), "{}", s.subtitle);
        assert_eq!(png_size(&dir.path().join("log.v2.png")), (800, 600));
        check_svg(&dir.path().join("log.v2.svg"), "log scale");
        // Mostly non-positive values, or a narrow span: linear.
        assert!(!auto_log_x(&[-1.0, -2.0, -3.0, 1.0, 1e9]));
        assert!(!auto_log_x(&[1.0, 10.0, 100.0]));
        assert!(!auto_log_x(&[]));
    }

    #[test]
    fn robust_range_shows_the_bulk_and_counts_outliers() {
        // wrcor-like: a cluster in 700..920 and a few degenerate cells near -50.
        let mut xs: Vec<f64> = (0..500).map(|i| 700.0 + (i as f64 * 0.44)).collect();
        xs.extend([-50.0, -48.0, -45.0, 40.0]);
        let a = choose_x_axis(&xs);
        assert!(!a.log);
        assert_eq!(a.below, 4);
        assert_eq!(a.above, 0);
        assert!(a.lo > 300.0 && a.lo <= 700.0, "{a:?}");
        assert_eq!(a.hi, xs[499]);
        // A long tail (more than 20% beyond the fence) is shown, not moved to the edge.
        let mut tail: Vec<f64> = (0..78).map(|i| -65.0 - i as f64 * 0.01).collect();
        tail.extend((0..22).map(|i| -100.0 - i as f64 * 10.0));
        let a = choose_x_axis(&tail);
        assert_eq!((a.lo, a.below), (-310.0, 0));
        // Few points: the full range.
        let a = choose_x_axis(&[1.0, 2.0, 1000.0]);
        assert_eq!((a.lo, a.hi, a.below, a.above), (1.0, 1000.0, 0, 0));
        let pts: Vec<(f64, f64)> = xs.iter().map(|&x| (x, 90.0)).collect();
        let dir = tempfile::tempdir().unwrap();
        let s = scatter(&dir.path().join("r"), &pts, &text("wrcor")).unwrap();
        assert_eq!(s.drawn, 500);
        assert!(s.subtitle.contains("4 outliers below"), "{}", s.subtitle);
        check_svg(&dir.path().join("r.svg"), "outside the x range");
    }

    #[test]
    fn palette_is_okabe_ito_without_yellow() {
        for c in OKABE_ITO {
            let RGBColor(r, g, b) = c;
            assert!(!(r > 200 && g > 200 && b < 120), "yellow-ish colour {c:?}");
        }
        assert_eq!(colour(0), RGBColor(0, 114, 178));
        assert_eq!(colour(OKABE_ITO.len()), colour(0));
    }

    #[test]
    fn scatter_degenerate_inputs_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(scatter(&dir.path().join("e"), &[], &text("empty")).unwrap().drawn, 0);
        assert_eq!(scatter(&dir.path().join("one"), &[(3.0, 3.0)], &text("one")).unwrap().drawn, 1);
        assert_eq!(scatter(&dir.path().join("same"), &[(0.0, 0.0), (0.0, 0.0)], &text("")).unwrap().drawn, 2);
        let s = scatter(&dir.path().join("inf"), &[(f64::INFINITY, 1.0)], &text("t")).unwrap();
        assert_eq!((s.drawn, s.nonfinite), (0, 1));
        assert!(scatter(Path::new(""), &[], &text("t")).is_err());
        for f in ["e", "one", "same", "inf"] {
            assert_eq!(png_size(&dir.path().join(format!("{f}.png"))), (800, 600));
        }
    }

    #[test]
    fn step_plot_draws_bands_and_steps() {
        assert_eq!(
            step_path(&[(1.0, 1.0), (2.0, 3.0), (4.0, 2.0)]),
            vec![(1.0, 1.0), (2.0, 1.0), (2.0, 3.0), (4.0, 3.0), (4.0, 2.0)]
        );
        let dir = tempfile::tempdir().unwrap();
        let pts: Vec<(f64, f64, f64)> = (1..=50).map(|i| (i as f64, 90.0 - 10.0 / i as f64, 0.5)).collect();
        let panel = StepPanel {
            caption: String::new(),
            y_label: "test accuracy (%)".into(),
            curves: vec![
                StepCurve { label: "best so far".into(), colour: 0, dashed: false, points: pts.clone() },
                StepCurve { label: "fitness-best".into(), colour: 1, dashed: true, points: pts },
            ],
        };
        step_plot(
            &dir.path().join("s"),
            "random on nb201",
            "mean ± std over 5 runs",
            "steps",
            std::slice::from_ref(&panel),
        )
        .unwrap();
        assert_eq!(png_size(&dir.path().join("s.png")), (800, 600));
        check_svg(&dir.path().join("s.svg"), "fitness-best");
        step_plot(&dir.path().join("two"), "t", "", "steps", &[panel.clone(), panel]).unwrap();
        assert_eq!(png_size(&dir.path().join("two.png")), (800, 940));
        step_plot(&dir.path().join("none"), "t", "", "steps", &[]).unwrap();
        assert_eq!(png_size(&dir.path().join("none.png")), (800, 600));
    }

    #[test]
    fn line_plot_panels() {
        let dir = tempfile::tempdir().unwrap();
        let best: Vec<(f64, f64)> = (1..=50).map(|i| (i as f64, 90.0 - 10.0 / i as f64)).collect();
        let score: Vec<(f64, f64)> = (1..=50).map(|i| (i as f64, (i as f64).ln())).collect();
        let stem = dir.path().join("curve");
        line_plot(&stem, &[("best accuracy", best.clone()), ("best score", score.clone())], "epoch", "loss", "train")
            .unwrap();
        assert_eq!(png_size(&dir.path().join("curve.png")), (800, 600));
        check_svg(&dir.path().join("curve.svg"), "best score");
        let three = [("a", best.clone()), ("b", score), ("c", vec![(1.0, f64::NAN)])];
        line_plot(&dir.path().join("three"), &three, "x", "y", "t").unwrap();
        assert_eq!(png_size(&dir.path().join("three.png")), (800, 900));
        line_plot(&dir.path().join("own"), &[("training loss", best)], "epoch", "", "t").unwrap();
        let svg = std::fs::read_to_string(dir.path().join("own.svg")).unwrap();
        assert_eq!(svg.matches("training loss").count(), 2, "caption and y label");
        line_plot(&dir.path().join("none"), &[], "x", "y", "t").unwrap();
        assert_eq!(png_size(&dir.path().join("none.png")), (800, 600));
    }

    #[test]
    fn helpers() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(12.5), "12.5");
        assert_eq!(fmt_tick(0.0042), "0.0042");
        assert_eq!(fmt_tick(1.2e6), "1.2e6");
        assert_eq!(fmt_tick(1e6), "1e6");
        assert_eq!(fmt_tick(-3.0), "-3");
        assert!(auto_log_x(&[1.0, 1e5, 3.0]));
        assert_eq!(line_plot_height(1), 600);
        assert_eq!(line_plot_height(4), 1200);
        assert_eq!(line_plot_height(usize::MAX), 30_000);
        assert_eq!(step_plot_height(0), 600);
        assert_eq!(step_plot_height(3), 1280);
        assert_eq!(with_suffix(Path::new("a/b.c"), "png"), PathBuf::from("a/b.c.png"));
        assert_eq!(fmt_sig(641.3233), "641.3");
        assert_eq!(fmt_sig(0.012345), "0.01235");
        assert_eq!(fmt_sig(2.2e49), "2.2e49");
        assert_eq!(fmt_sig(1000.0), "1000");
        assert!(matches!(legend_corner(&[(0.1, 0.9)], 0.5, 0.2), SeriesLabelPosition::LowerRight));
        assert!(matches!(legend_corner(&[], 0.5, 0.2), SeriesLabelPosition::UpperLeft));
    }
}
