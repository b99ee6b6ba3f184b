//! Presentation: progress display, plots (PNG + SVG) and plain-text tables.
//!
//! Everything here is pure Rust (no libtorch) and knows nothing of spaces or proxies.

pub mod curves;
pub mod plot;
pub mod progress;
pub mod table;

/// `s` for a message: at most `max` characters, the rest replaced by "… (N characters)"
/// (a 10 MB architecture string is not echoed in full).
pub fn cut(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        format!("{}… ({n} characters)", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_keeps_short_text_and_counts_long_text() {
        assert_eq!(super::cut("abc", 3), "abc");
        assert_eq!(super::cut("abcdef", 3), "abc… (6 characters)");
        assert_eq!(super::cut("ééé", 2), "éé… (3 characters)");
    }
}
