//! Parsing, validation and printing of PlainNet strings ([`Mbv2Arch::parse`], [`Mbv2Arch::validate`]).

use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};

use super::{
    ConvBlock, Mbv2Arch, ResIdwBlock, DEFAULT_RESOLUTION, EXPANSIONS, KERNELS, MAX_CHANNELS, MAX_LAYERS,
    MAX_RESOLUTION, NUM_STAGES,
};

struct RawBlock {
    name: String,
    pos: usize,
    args: Vec<usize>,
}

struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, b: text.as_bytes(), pos: 0 }
    }
    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("'{}'", c.escape_debug()),
            None => "end of input".to_string(),
        }
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            bail!("expected '{}' at byte {}, found {}", c as char, self.pos, self.found())
        }
    }
    fn ident(&mut self) -> Result<(String, usize)> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.b.len() && (self.b[self.pos].is_ascii_alphanumeric() || self.b[self.pos] == b'_') {
            self.pos += 1;
        }
        if start == self.pos {
            bail!("expected a block name at byte {}, found {}", start, self.found());
        }
        Ok((self.text[start..self.pos].to_string(), start))
    }
    fn uint(&mut self) -> Result<usize> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        if start == self.pos {
            bail!("expected an unsigned integer at byte {}, found {}", start, self.found());
        }
        self.text[start..self.pos]
            .parse::<usize>()
            .map_err(|_| anyhow!("integer '{}' at byte {} is too large", &self.text[start..self.pos], start))
    }
}

/// Parses `SuperResIDWE{e}K{k}` names into `(e, k)` (values unchecked).
fn parse_idw_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("SuperResIDWE")?;
    let kpos = rest.find('K')?;
    let (e, k) = (&rest[..kpos], &rest[kpos + 1..]);
    if e.is_empty() || k.is_empty() || !e.bytes().all(|c| c.is_ascii_digit()) || !k.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((e.parse().ok()?, k.parse().ok()?))
}

fn block_label(idx: usize) -> String {
    match idx {
        0 => "stem (block 0)".to_string(),
        8 => "head (block 8)".to_string(),
        i => format!("stage {} (block {})", i - 1, i),
    }
}

impl Mbv2Arch {
    /// Parses an architecture string, optionally followed by `@R` giving the input resolution
    /// (e.g. `"SuperConvK3BNRELU(3,32,2,1)...SuperConvK1BNRELU(320,1280,1,1)@224"`). Without a
    /// suffix the resolution is [`DEFAULT_RESOLUTION`] (224). ASCII whitespace between tokens is
    /// allowed. The result is validated with [`Mbv2Arch::validate`]; errors name the offending
    /// block and give 0-based byte positions.
    pub fn parse(text: &str) -> Result<Self> {
        let (arch, _) = Self::parse_inner(text, DEFAULT_RESOLUTION)?;
        Ok(arch)
    }

    /// Parses like [`Mbv2Arch::parse`] but with an explicit resolution; an `@R` suffix, if
    /// present, must equal `resolution`.
    pub fn parse_with_resolution(text: &str, resolution: usize) -> Result<Self> {
        let (arch, suffix) = Self::parse_inner(text, resolution)?;
        if let Some(r) = suffix {
            if r != resolution {
                bail!("resolution suffix @{} contradicts the given resolution {}", r, resolution);
            }
        }
        Ok(arch)
    }

    fn parse_inner(text: &str, default_res: usize) -> Result<(Self, Option<usize>)> {
        let mut cur = Cursor::new(text);
        let mut raw: Vec<RawBlock> = Vec::new();
        let mut suffix = None;
        loop {
            cur.skip_ws();
            match cur.peek() {
                None => break,
                Some(b'@') => {
                    let at = cur.pos;
                    cur.pos += 1;
                    let r = cur.uint().map_err(|e| anyhow!("resolution suffix at byte {}: {}", at, e))?;
                    cur.skip_ws();
                    if cur.peek().is_some() {
                        bail!(
                            "unexpected trailing text at byte {} after the resolution suffix: {}",
                            cur.pos,
                            cur.found()
                        );
                    }
                    suffix = Some(r);
                    break;
                }
                Some(_) => {}
            }
            let (name, pos) = cur.ident()?;
            cur.expect(b'(').map_err(|e| anyhow!("block `{}` at byte {}: {}", name, pos, e))?;
            let mut args = Vec::new();
            loop {
                let v = cur.uint().map_err(|e| anyhow!("block `{}` at byte {}: {}", name, pos, e))?;
                args.push(v);
                cur.skip_ws();
                match cur.peek() {
                    Some(b',') => cur.pos += 1,
                    Some(b')') => {
                        cur.pos += 1;
                        break;
                    }
                    _ => bail!(
                        "block `{}` at byte {}: expected ',' or ')' at byte {}, found {}",
                        name,
                        pos,
                        cur.pos,
                        cur.found()
                    ),
                }
            }
            raw.push(RawBlock { name, pos, args });
        }
        if raw.len() != NUM_STAGES + 2 {
            bail!(
                "expected {} blocks (SuperConvK3BNRELU stem, {} SuperResIDWE stages, SuperConvK1BNRELU head), found {}",
                NUM_STAGES + 2,
                NUM_STAGES,
                raw.len()
            );
        }
        let ctx = |i: usize, r: &RawBlock| format!("{} `{}` at byte {}", block_label(i), r.name, r.pos);
        let conv = |i: usize, r: &RawBlock, want: &str, k: usize| -> Result<ConvBlock> {
            if r.name != want {
                bail!("{}: expected block name `{}`", ctx(i, r), want);
            }
            if r.args.len() != 4 {
                bail!("{}: expected 4 arguments (in,out,stride,layers), found {}", ctx(i, r), r.args.len());
            }
            Ok(ConvBlock {
                kernel: k,
                in_channels: r.args[0],
                out_channels: r.args[1],
                stride: r.args[2],
                layers: r.args[3],
            })
        };
        let stem = conv(0, &raw[0], "SuperConvK3BNRELU", 3)?;
        let head = conv(8, &raw[8], "SuperConvK1BNRELU", 1)?;
        let mut stages = Vec::with_capacity(NUM_STAGES);
        for (i, r) in raw.iter().enumerate().take(NUM_STAGES + 1).skip(1) {
            let (e, k) = parse_idw_name(&r.name).ok_or_else(|| {
                anyhow!(
                    "{}: unknown block name, expected SuperResIDWE{{e}}K{{k}} with e in {{1,2,4,6}} and k in {{3,5,7}}",
                    ctx(i, r)
                )
            })?;
            if r.args.len() != 5 {
                bail!("{}: expected 5 arguments (in,out,stride,bottleneck,layers), found {}", ctx(i, r), r.args.len());
            }
            stages.push(ResIdwBlock {
                expansion: e,
                kernel: k,
                in_channels: r.args[0],
                out_channels: r.args[1],
                stride: r.args[2],
                bottleneck: r.args[3],
                layers: r.args[4],
            });
        }
        let arch = Mbv2Arch { stem, stages, head, resolution: suffix.unwrap_or(default_res) };
        if let Err((idx, msg)) = arch.validate_inner() {
            match idx {
                Some(i) => bail!("{}: {}", ctx(i, &raw[i]), msg),
                None => bail!("{}", msg),
            }
        }
        Ok((arch, suffix))
    }

    /// Structural validation: stem is `SuperConvK3BNRELU(3,c0,2,1)`, exactly 7 stages with
    /// e ∈ {1,2,4,6}, k ∈ {3,5,7}, stride ∈ {1,2}, positive channels/bottleneck/layers, head is
    /// `SuperConvK1BNRELU(c7,c8,1,1)`, channels chain (each block's input = previous output),
    /// all values within [`MAX_CHANNELS`]/[`MAX_LAYERS`], resolution in `1..=`[`MAX_RESOLUTION`].
    /// Does not check search-space ranges (see [`Mbv2Arch::check_search_space`]).
    pub fn validate(&self) -> Result<()> {
        self.validate_inner().map_err(|(idx, msg)| match idx {
            Some(i) => anyhow!("{}: {}", block_label(i), msg),
            None => anyhow!("{}", msg),
        })
    }

    fn validate_inner(&self) -> std::result::Result<(), (Option<usize>, String)> {
        let ch = |v: usize, what: &str| -> std::result::Result<(), String> {
            if v == 0 || v > MAX_CHANNELS {
                Err(format!("{} must be in 1..={}, got {}", what, MAX_CHANNELS, v))
            } else {
                Ok(())
            }
        };
        if self.stages.len() != NUM_STAGES {
            return Err((None, format!("expected {} stages, found {}", NUM_STAGES, self.stages.len())));
        }
        if self.resolution == 0 || self.resolution > MAX_RESOLUTION {
            return Err((None, format!("resolution must be in 1..={}, got {}", MAX_RESOLUTION, self.resolution)));
        }
        let s = &self.stem;
        let check_stem = || -> std::result::Result<(), String> {
            if s.kernel != 3 || s.in_channels != 3 || s.stride != 2 || s.layers != 1 {
                return Err(format!("stem must be SuperConvK3BNRELU(3,c0,2,1), got {}", s));
            }
            ch(s.out_channels, "out_channels")
        };
        check_stem().map_err(|m| (Some(0), m))?;
        let mut prev = s.out_channels;
        for (i, b) in self.stages.iter().enumerate() {
            let check = || -> std::result::Result<(), String> {
                if !EXPANSIONS.contains(&b.expansion) {
                    return Err(format!("expansion e={} not in {{1,2,4,6}}", b.expansion));
                }
                if !KERNELS.contains(&b.kernel) {
                    return Err(format!("kernel k={} not in {{3,5,7}}", b.kernel));
                }
                ch(b.in_channels, "in_channels")?;
                ch(b.out_channels, "out_channels")?;
                ch(b.bottleneck, "bottleneck")?;
                if b.stride != 1 && b.stride != 2 {
                    return Err(format!("stride must be 1 or 2, got {}", b.stride));
                }
                if b.layers == 0 || b.layers > MAX_LAYERS {
                    return Err(format!("layers must be in 1..={}, got {}", MAX_LAYERS, b.layers));
                }
                if b.in_channels != prev {
                    return Err(format!(
                        "in_channels {} does not match the previous block's out_channels {}",
                        b.in_channels, prev
                    ));
                }
                Ok(())
            };
            check().map_err(|m| (Some(i + 1), m))?;
            prev = b.out_channels;
        }
        let h = &self.head;
        let check_head = || -> std::result::Result<(), String> {
            if h.kernel != 1 || h.stride != 1 || h.layers != 1 {
                return Err(format!("head must be SuperConvK1BNRELU(c7,c8,1,1), got {}", h));
            }
            ch(h.in_channels, "in_channels")?;
            ch(h.out_channels, "out_channels")?;
            if h.in_channels != prev {
                return Err(format!(
                    "in_channels {} does not match the previous block's out_channels {}",
                    h.in_channels, prev
                ));
            }
            Ok(())
        };
        check_head().map_err(|m| (Some(8), m))?;
        Ok(())
    }

    /// Canonical architecture string without resolution, in the reference's format
    /// (`SuperConvK3BNRELU(3,32,2,1)SuperResIDWE1K3(...)...SuperConvK1BNRELU(...)`).
    pub fn arch_string(&self) -> String {
        let mut s = self.stem.to_string();
        for b in &self.stages {
            s.push_str(&b.to_string());
        }
        s.push_str(&self.head.to_string());
        s
    }

    /// Widths `[c0, c1, ..., c8]` (stem output, 7 stage outputs, head output).
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.stem.out_channels];
        w.extend(self.stages.iter().map(|b| b.out_channels));
        w.push(self.head.out_channels);
        w
    }

    /// Strides of the 7 stages.
    pub fn strides(&self) -> Vec<usize> {
        self.stages.iter().map(|b| b.stride).collect()
    }
}

impl fmt::Display for Mbv2Arch {
    /// Canonical form: [`Mbv2Arch::arch_string`] followed by `@resolution`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.arch_string(), self.resolution)
    }
}

impl FromStr for Mbv2Arch {
    type Err = anyhow::Error;
    /// Same as [`Mbv2Arch::parse`].
    fn from_str(s: &str) -> Result<Self> {
        Mbv2Arch::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::mbv2::tests::MBV2;

    fn err(s: &str) -> String {
        format!("{:#}", Mbv2Arch::parse(s).unwrap_err())
    }

    #[test]
    fn round_trip_and_suffix() {
        let a = Mbv2Arch::parse(&format!("{}@256", MBV2)).unwrap();
        assert_eq!(a.resolution, 256);
        assert_eq!(a.arch_string(), MBV2);
        assert_eq!(a.to_string(), format!("{}@256", MBV2));
        let b: Mbv2Arch = a.to_string().parse().unwrap();
        assert_eq!(a, b);
        let spaced = MBV2.replace(")", ") \n").replace(",", " , ") + " @ 256 ";
        assert_eq!(Mbv2Arch::parse(&spaced).unwrap(), a);
        assert!(Mbv2Arch::parse_with_resolution(&format!("{}@256", MBV2), 224).is_err());
        assert_eq!(Mbv2Arch::parse_with_resolution(MBV2, 320).unwrap().resolution, 320);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Mbv2Arch>(&json).unwrap(), a);
    }

    #[test]
    fn malformed_strings() {
        // bad block name
        let e = err(&MBV2.replace("SuperResIDWE6K3(16,24", "SuperResIDWX6K3(16,24"));
        assert!(e.contains("stage 1") && e.contains("SuperResIDWX6K3") && e.contains("unknown block name"), "{}", e);
        let e = err(&MBV2.replace("SuperResIDWE6K3(16,24", "SuperResIDWE3K3(16,24"));
        assert!(e.contains("expansion e=3"), "{}", e);
        let e = err(&MBV2.replace("SuperResIDWE6K3(16,24", "SuperResIDWE6K4(16,24"));
        assert!(e.contains("kernel k=4"), "{}", e);
        let e = err(&MBV2.replace("SuperConvK3BNRELU", "SuperConvK5BNRELU"));
        assert!(e.contains("stem") && e.contains("SuperConvK3BNRELU"), "{}", e);
        // channels not chaining
        let e = err(&MBV2.replace("SuperResIDWE6K3(24,32,2,24,3)", "SuperResIDWE6K3(30,32,2,24,3)"));
        assert!(e.contains("stage 2") && e.contains("in_channels 30") && e.contains("out_channels 24"), "{}", e);
        let e = err(&MBV2.replace("SuperConvK1BNRELU(320", "SuperConvK1BNRELU(300"));
        assert!(e.contains("head") && e.contains("in_channels 300"), "{}", e);
        // wrong number of stages
        let e = err(&MBV2.replace("SuperResIDWE6K3(160,320,1,160,1)", ""));
        assert!(e.contains("expected 9 blocks") && e.contains("found 8"), "{}", e);
        // non-numeric
        let e = err(&MBV2.replace("(64,96,1,64,3)", "(64,9x,1,64,3)"));
        assert!(e.contains("expected ',' or ')'") && e.contains("byte"), "{}", e);
        let e = err(&MBV2.replace("(64,96,1,64,3)", "(64,abc,1,64,3)"));
        assert!(e.contains("expected an unsigned integer") && e.contains("'a'"), "{}", e);
        let e = err(&MBV2.replace("(64,96,1,64,3)", "(64,-96,1,64,3)"));
        assert!(e.contains("expected an unsigned integer"), "{}", e);
        // misc
        assert!(err("").contains("found 0"));
        assert!(err(&format!("{}@", MBV2)).contains("resolution suffix"));
        assert!(err(&format!("{}@224x", MBV2)).contains("trailing"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,1,64)")).contains("expected 5 arguments"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,3,64,3)")).contains("stride must be 1 or 2"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,1,64,0)")).contains("layers"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,99999999999999999999999,1,64,3)")).contains("too large"));
        assert!(err(&MBV2.replace("(64,96,1,64,3)", "(64,96,1,64,3")).contains("expected"));
        assert!(err(&format!("{}@0", MBV2)).contains("resolution"));
        assert!(err("héllo(1)").contains("expected"));
    }
}
