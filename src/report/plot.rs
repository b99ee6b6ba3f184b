//! Scatter and line plots written as both PNG and SVG.
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
    if let Some(parent) = stem.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating directory {}", parent.display()))?;
        }
    }
    Ok((with_suffix(stem, "png"), with_suffix(stem, "svg")))
}

fn perr(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

/// `true` when a log10 x axis is advisable: all values finite and positive
/// and `max / min > 1e4` (e.g. parameter counts or FLOPs spanning several
/// orders of magnitude).  Empty input gives `false`.
pub fn auto_log_x(xs: &[f64]) -> bool {
    if xs.is_empty() || xs.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
        return false;
    }
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max / min > 1e4
}

/// Axis range with 5% padding; degenerate or empty input gets a sane range.
fn linear_range(vals: impl Iterator<Item = f64>) -> Range<f64> {
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
    let pad = (hi - lo) * 0.05;
    (lo - pad)..(hi + pad)
}

/// Log-axis range (all inputs > 0) padded by a fraction of a decade.
fn log_range(vals: impl Iterator<Item = f64>) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0) {
        return 1.0..10.0;
    }
    let decades = (hi / lo).log10();
    let pad = 10f64.powf((decades * 0.05).max(0.1));
    (lo / pad)..(hi * pad)
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
    title: &'a str,
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
        .label_style(("sans-serif", size))
        .axis_desc_style(("sans-serif", size + 2))
        .draw()
        .map_err(perr)
}

fn draw_scatter<DB, XR>(
    root: &DrawingArea<DB, Shift>,
    x_range: XR,
    y_range: Range<f64>,
    pts: &[(f64, f64)],
    labels: &Labels<'_>,
) -> Result<()>
where
    DB: DrawingBackend,
    XR: AsRangedCoord<Value = f64>,
    XR::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    root.fill(&WHITE).map_err(perr)?;
    let mut chart = ChartBuilder::on(root)
        .caption(labels.title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)
        .map_err(perr)?;
    draw_mesh(&mut chart, labels, 14)?;
    let radius = if pts.len() > 2000 { 2 } else { 3 };
    let style = RGBColor(31, 119, 180).mix(0.6).filled();
    chart.draw_series(pts.iter().map(|&p| Circle::new(p, radius, style))).map_err(perr)?;
    root.present().map_err(perr)?;
    Ok(())
}

/// Writes a scatter plot to `<stem>.png` (800×600) and `<stem>.svg` and
/// returns the number of points drawn.
///
/// Points with a non-finite coordinate are dropped, and with `log_x` (a
/// log10 x axis) so are points with `x <= 0`; when any are dropped the title
/// gets a note like `(3 points not shown: non-positive or non-finite)`.
/// An empty point set still produces (empty) plots.  See [`auto_log_x`] for
/// choosing `log_x`.
pub fn scatter(
    path_stem: &Path,
    points: &[(f64, f64)],
    x_label: &str,
    y_label: &str,
    title: &str,
    log_x: bool,
) -> Result<usize> {
    ensure_fonts()?;
    let (png, svg) = prepare_paths(path_stem)?;
    let pts: Vec<(f64, f64)> =
        points.iter().copied().filter(|&(x, y)| x.is_finite() && y.is_finite() && (!log_x || x > 0.0)).collect();
    let dropped = points.len() - pts.len();
    let title = if dropped == 0 {
        title.to_string()
    } else {
        let what = if log_x { "non-positive or non-finite" } else { "non-finite" };
        let s = if dropped == 1 { "" } else { "s" };
        format!("{title} ({dropped} point{s} not shown: {what})")
    };
    let labels = Labels { x: x_label, y: y_label, title: &title };
    let y_range = linear_range(pts.iter().map(|p| p.1));
    let xs = || pts.iter().map(|p| p.0);
    {
        let root = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        if log_x {
            draw_scatter(&root, log_range(xs()).log_scale(), y_range.clone(), &pts, &labels)
        } else {
            draw_scatter(&root, linear_range(xs()), y_range.clone(), &pts, &labels)
        }
        .with_context(|| format!("writing {}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area();
        if log_x {
            draw_scatter(&root, log_range(xs()).log_scale(), y_range, &pts, &labels)
        } else {
            draw_scatter(&root, linear_range(xs()), y_range, &pts, &labels)
        }
        .with_context(|| format!("writing {}", svg.display()))?;
    }
    Ok(pts.len())
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
) -> Result<()> {
    root.fill(&WHITE).map_err(perr)?;
    let body = root.titled(labels.title, ("sans-serif", 22)).map_err(perr)?;
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
        draw_mesh(&mut chart, labels, 13)?;
        let color = Palette99::pick(i).to_rgba();
        chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2))).map_err(perr)?;
        if pts.len() <= 200 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(perr)?;
        }
    }
    root.present().map_err(perr)?;
    Ok(())
}

/// Writes line plots (e.g. best-so-far curves) to `<stem>.png` and
/// `<stem>.svg`: one panel per series, stacked vertically, each captioned
/// with the series name and sharing `x_label`/`y_label`; the image is 800
/// pixels wide and [`line_plot_height`] high.  Non-finite points are
/// skipped; points are joined in the given order.  No series gives one empty
/// panel.
pub fn line_plot(
    path_stem: &Path,
    series: &[(&str, Vec<(f64, f64)>)],
    x_label: &str,
    y_label: &str,
    title: &str,
) -> Result<()> {
    ensure_fonts()?;
    let (png, svg) = prepare_paths(path_stem)?;
    let labels = Labels { x: x_label, y: y_label, title };
    let size = (WIDTH, line_plot_height(series.len().max(1)));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_lines(&root, series, &labels).with_context(|| format!("writing {}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_lines(&root, series, &labels).with_context(|| format!("writing {}", svg.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn scatter_linear_and_log() {
        let dir = tempfile::tempdir().unwrap();
        let pts: Vec<(f64, f64)> =
            (0..200).map(|i| (10f64.powf(i as f64 / 30.0), (i as f64).sin() * 50.0 + i as f64)).collect();
        let stem = dir.path().join("sub/scatter");
        let n = scatter(&stem, &pts, "params", "accuracy (%)", "score vs acc", false).unwrap();
        assert_eq!(n, 200);
        assert_eq!(png_size(&dir.path().join("sub/scatter.png")), (800, 600));
        check_svg(&dir.path().join("sub/scatter.svg"), "score vs acc");

        let mut bad = pts.clone();
        bad.push((0.0, 1.0));
        bad.push((-5.0, 1.0));
        bad.push((f64::NAN, 1.0));
        assert!(auto_log_x(&pts.iter().map(|p| p.0).collect::<Vec<_>>()));
        assert!(!auto_log_x(&bad.iter().map(|p| p.0).collect::<Vec<_>>()));
        let stem = dir.path().join("log.v2");
        let n = scatter(&stem, &bad, "params", "acc", "log", true).unwrap();
        assert_eq!(n, 200);
        assert_eq!(png_size(&dir.path().join("log.v2.png")), (800, 600));
        check_svg(&dir.path().join("log.v2.svg"), "3 points not shown");
    }

    #[test]
    fn scatter_degenerate_inputs_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(scatter(&dir.path().join("e"), &[], "x", "y", "empty", false).unwrap(), 0);
        assert_eq!(scatter(&dir.path().join("e2"), &[], "x", "y", "empty", true).unwrap(), 0);
        assert_eq!(scatter(&dir.path().join("one"), &[(3.0, 3.0)], "x", "y", "one", true).unwrap(), 1);
        assert_eq!(scatter(&dir.path().join("same"), &[(0.0, 0.0), (0.0, 0.0)], "x", "y", "", false).unwrap(), 2);
        let n = scatter(&dir.path().join("inf"), &[(f64::INFINITY, 1.0)], "x", "y", "t", false);
        assert_eq!(n.unwrap(), 0);
        assert!(scatter(Path::new(""), &[], "x", "y", "t", false).is_err());
        for f in ["e", "e2", "one", "same", "inf"] {
            assert_eq!(png_size(&dir.path().join(format!("{f}.png"))), (800, 600));
        }
    }

    #[test]
    fn line_plot_panels() {
        let dir = tempfile::tempdir().unwrap();
        let best: Vec<(f64, f64)> = (1..=50).map(|i| (i as f64, 90.0 - 10.0 / i as f64)).collect();
        let score: Vec<(f64, f64)> = (1..=50).map(|i| (i as f64, (i as f64).ln())).collect();
        let stem = dir.path().join("curve");
        line_plot(
            &stem,
            &[("best accuracy", best.clone()), ("best score", score.clone())],
            "evaluations",
            "value",
            "search",
        )
        .unwrap();
        assert_eq!(png_size(&dir.path().join("curve.png")), (800, 600));
        check_svg(&dir.path().join("curve.svg"), "best score");
        let three = [("a", best.clone()), ("b", score), ("c", vec![(1.0, f64::NAN)])];
        line_plot(&dir.path().join("three"), &three, "x", "y", "t").unwrap();
        assert_eq!(png_size(&dir.path().join("three.png")), (800, 900));
        line_plot(&dir.path().join("none"), &[], "x", "y", "t").unwrap();
        assert_eq!(png_size(&dir.path().join("none.png")), (800, 600));
        for f in ["curve.png", "curve.svg", "three.svg", "none.svg"] {
            assert!(std::fs::metadata(dir.path().join(f)).unwrap().len() > 0);
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(12.5), "12.5");
        assert_eq!(fmt_tick(0.0042), "0.0042");
        assert_eq!(fmt_tick(1.2e6), "1.2e6");
        assert_eq!(fmt_tick(1e6), "1e6");
        assert_eq!(fmt_tick(-3.0), "-3");
        assert!(!auto_log_x(&[]));
        assert!(!auto_log_x(&[1.0, 10.0]));
        assert!(auto_log_x(&[1.0, 1e5]));
        assert_eq!(line_plot_height(1), 600);
        assert_eq!(line_plot_height(4), 1200);
        assert_eq!(line_plot_height(usize::MAX), 30_000);
        assert_eq!(with_suffix(Path::new("a/b.c"), "png"), PathBuf::from("a/b.c.png"));
    }
}
