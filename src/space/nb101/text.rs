//! The compact text form (see the module docs, "Text form").

use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};

use super::{Nb101Op, Nb101Spec};

impl Nb101Spec {
    /// The compact text form of the original representation (see the module
    /// docs), e.g. `input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000`.
    pub fn to_text(&self) -> String {
        let ops = self.original_ops.iter().map(|o| o.name()).collect::<Vec<_>>().join(",");
        let rows = self
            .original_adjacency
            .iter()
            .map(|r| r.iter().map(|&x| if x != 0 { '1' } else { '0' }).collect::<String>())
            .collect::<Vec<_>>()
            .join("|");
        format!("{ops}|{rows}")
    }

    /// Parses the compact text form (see the module docs) and validates it with
    /// [`Nb101Spec::new`]. `parse_text(&s.to_text())` returns a spec equal to `s`.
    pub fn parse_text(text: &str) -> Result<Self> {
        let mut parts = text.trim().split('|');
        let ops_part = parts.next().unwrap_or("");
        if ops_part.trim().is_empty() {
            bail!("cell text '{text}' has no ops; expected e.g. input,conv3x3-bn-relu,output|010|001|000");
        }
        let ops = ops_part
            .split(',')
            .enumerate()
            .map(|(i, s)| Nb101Op::from_name_or_alias(s).map_err(|e| anyhow!("op {i}: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let mut adjacency = Vec::new();
        for (i, row) in parts.enumerate() {
            let row = row.trim();
            let mut r = Vec::with_capacity(row.len());
            for (j, ch) in row.chars().enumerate() {
                match ch {
                    '0' => r.push(0u8),
                    '1' => r.push(1u8),
                    other => bail!(
                        "adjacency row {i} ('{row}') has character '{other}' at column {j}; \
                         rows must be 0/1 digits"
                    ),
                }
            }
            adjacency.push(r);
        }
        if adjacency.is_empty() {
            bail!("cell text '{text}' has no adjacency rows; expected ops|row|row|...");
        }
        Self::new(ops, adjacency)
    }
}

impl fmt::Display for Nb101Spec {
    /// Writes [`Nb101Spec::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for Nb101Spec {
    type Err = anyhow::Error;
    /// Same as [`Nb101Spec::parse_text`].
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::nb101::tests::sample;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn text_and_json_round_trip_shared_data() {
        for r in &sample() {
            let t = r.spec.to_text();
            let back = Nb101Spec::parse_text(&t).unwrap();
            assert_eq!(back, r.spec);
            assert_eq!(t.parse::<Nb101Spec>().unwrap().to_string(), t);
            let j = serde_json::to_string(&r.spec).unwrap();
            let back: Nb101Spec = serde_json::from_str(&j).unwrap();
            assert_eq!(back, r.spec);
        }
        let s = Nb101Spec::parse_text(" in , conv3x3 , maxpool , out | 0110 | 0001 | 0001 | 0000 ").unwrap();
        assert_eq!(s.to_text(), "input,conv3x3-bn-relu,maxpool3x3,output|0110|0001|0001|0000");
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"ops":["input","conv3x3-bn-relu","maxpool3x3","output"],
                "adjacency":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]]})
        );
        // extra fields are ignored
        let s2: Nb101Spec = serde_json::from_str(
            r#"{"hash":"x","ops":["input","conv3x3-bn-relu","maxpool3x3","output"],
                "adjacency":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]],"trainable_parameters":1}"#,
        )
        .unwrap();
        assert_eq!(s2, s);
        // random (un-pruned) specs round-trip losslessly
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            let s = Nb101Spec::random_spec(&mut rng);
            assert_eq!(Nb101Spec::parse_text(&s.to_text()).unwrap(), s);
            let j = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Nb101Spec>(&j).unwrap(), s);
        }
    }
}
