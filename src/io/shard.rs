//! Splitting a deterministic work list across independent jobs.
//!
//! A [`Shard`] `I/N` (0-based, `I < N`) owns every item whose position in the
//! *global, deterministic* list satisfies `position % N == I` (round-robin).
//! Round-robin rather than contiguous blocks keeps shards balanced even when
//! cost varies systematically along the list (e.g. larger cells later), and
//! means every shard makes progress over the whole list.  All shards must
//! build exactly the same list in the same order (same seed, same inputs),
//! otherwise items are skipped or done twice.

use anyhow::{anyhow, bail, Result};
use std::fmt;
use std::str::FromStr;

/// One shard `index/count` of a round-robin split (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// 0-based index of this shard, always `< count`.
    pub index: usize,
    /// Total number of shards, always `>= 1`.
    pub count: usize,
}

impl Default for Shard {
    /// The trivial shard `0/1`, which contains everything.
    fn default() -> Self {
        Shard::ALL
    }
}

impl Shard {
    /// The trivial shard `0/1`, which contains every position.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Builds a shard, checking `count >= 1` and `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 {
            bail!("shard '{index}/{count}': count must be at least 1");
        }
        if index >= count {
            bail!("shard '{index}/{count}': index must be < count");
        }
        Ok(Shard { index, count })
    }

    /// Parses `"I/N"` (surrounding whitespace allowed), e.g. `"0/4"`.
    ///
    /// Errors: `shard '3/3': index must be < count`,
    /// `shard '1/0': count must be at least 1`, and
    /// `shard 'x': expected I/N with 0-based index I < count N, e.g. 0/4` for
    /// malformed text.
    pub fn parse(text: &str) -> Result<Shard> {
        let malformed = || anyhow!("shard '{text}': expected I/N with 0-based index I < count N, e.g. 0/4");
        let (i, n) = text.trim().split_once('/').ok_or_else(malformed)?;
        let index: usize = i.trim().parse().map_err(|_| malformed())?;
        let count: usize = n.trim().parse().map_err(|_| malformed())?;
        if count == 0 {
            bail!("shard '{}': count must be at least 1", text.trim());
        }
        if index >= count {
            bail!("shard '{}': index must be < count", text.trim());
        }
        Ok(Shard { index, count })
    }

    /// `true` when this shard owns the item at `position` of the global list,
    /// i.e. `position % count == index`.
    pub fn contains(&self, position: usize) -> bool {
        // count is >= 1 for any Shard built through the API; guard anyway so a
        // hand-built `Shard { count: 0, .. }` cannot panic.
        self.count != 0 && position % self.count == self.index
    }

    /// `true` for the trivial shard `0/1`.
    pub fn is_all(&self) -> bool {
        self.count <= 1
    }

    /// Number of positions out of `total` that this shard owns.
    pub fn len_of(&self, total: usize) -> usize {
        if self.count == 0 || self.index >= total {
            return 0;
        }
        (total - self.index).div_ceil(self.count)
    }

    /// The positions out of `0..total` owned by this shard, in order.
    pub fn positions(&self, total: usize) -> impl Iterator<Item = usize> {
        let step = self.count.max(1);
        (self.index..total).step_by(step)
    }

    /// Keeps the items of a global list that this shard owns, paired with
    /// their global position.
    pub fn select<T>(&self, items: impl IntoIterator<Item = T>) -> impl Iterator<Item = (usize, T)> {
        let shard = *self;
        items.into_iter().enumerate().filter(move |(pos, _)| shard.contains(*pos))
    }

    /// Determines the shard from the environment of common job schedulers;
    /// `Ok(None)` when none of the variables below is set.
    ///
    /// Checked in this order:
    /// 1. `ZSNAS_SHARD="I/N"` (explicit).
    /// 2. Slurm job arrays: `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`;
    ///    the index is `(ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP`
    ///    (MIN defaults to 0, STEP to 1), so `--array=1-8` works too.
    /// 3. Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based); the count
    ///    (the Job's `completions`) is not in the environment, so it must be
    ///    given as `count`.
    ///
    /// When `count` is given it must agree with the count found in the
    /// environment (cases 1 and 2), otherwise this is an error. The shard comes with the
    /// name of the variable it was read from, for the note that says so.
    pub fn from_env(count: Option<usize>) -> Result<Option<(Shard, &'static str)>> {
        Self::from_vars_sourced(|name| std::env::var(name).ok(), count)
    }

    /// [`from_env`](Self::from_env) with a custom variable lookup (for tests
    /// or for reading a saved environment), without the variable's name.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>, count: Option<usize>) -> Result<Option<Shard>> {
        Ok(Self::from_vars_sourced(get, count)?.map(|(s, _)| s))
    }

    /// [`from_vars`](Self::from_vars) with the name of the variable the shard was read from
    /// (`ZSNAS_SHARD`, `SLURM_ARRAY_TASK_ID` or `JOB_COMPLETION_INDEX`).
    fn from_vars_sourced(
        get: impl Fn(&str) -> Option<String>,
        count: Option<usize>,
    ) -> Result<Option<(Shard, &'static str)>> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let num = |name: &str, v: &str| -> Result<usize> {
            v.trim().parse::<usize>().map_err(|_| anyhow!("{name}='{v}' is not a non-negative integer"))
        };
        let check_count = |shard: Shard, source: &str| -> Result<Shard> {
            match count {
                Some(c) if c != shard.count => bail!("shard count {c} given, but {source} says {} shards", shard.count),
                _ => Ok(shard),
            }
        };

        if let Some(v) = get("ZSNAS_SHARD") {
            let s = Shard::parse(&v).map_err(|e| anyhow!("ZSNAS_SHARD: {e}"))?;
            return check_count(s, "ZSNAS_SHARD").map(|s| Some((s, "ZSNAS_SHARD")));
        }

        if let Some(id) = get("SLURM_ARRAY_TASK_ID") {
            let id = num("SLURM_ARRAY_TASK_ID", &id)?;
            let n = match get("SLURM_ARRAY_TASK_COUNT") {
                Some(v) => num("SLURM_ARRAY_TASK_COUNT", &v)?,
                None => match count {
                    Some(c) => c,
                    None => bail!(
                        "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass the shard count explicitly"
                    ),
                },
            };
            let min = match get("SLURM_ARRAY_TASK_MIN") {
                Some(v) => num("SLURM_ARRAY_TASK_MIN", &v)?,
                None => 0,
            };
            let step = match get("SLURM_ARRAY_TASK_STEP") {
                Some(v) => match num("SLURM_ARRAY_TASK_STEP", &v)? {
                    0 => bail!("SLURM_ARRAY_TASK_STEP=0: the array step must be at least 1"),
                    s => s,
                },
                None => 1,
            };
            if id < min || (id - min) % step != 0 {
                bail!("SLURM_ARRAY_TASK_ID={id} does not fit SLURM_ARRAY_TASK_MIN={min}, SLURM_ARRAY_TASK_STEP={step}");
            }
            let index = (id - min) / step;
            let s = Shard::new(index, n).map_err(|e| {
                anyhow!(
                    "from SLURM_ARRAY_TASK_ID={id} (index {index}) and count {n}: {e}; use a contiguous --array range"
                )
            })?;
            return check_count(s, "SLURM_ARRAY_TASK_COUNT").map(|s| Some((s, "SLURM_ARRAY_TASK_ID")));
        }

        if let Some(v) = get("JOB_COMPLETION_INDEX") {
            let index = num("JOB_COMPLETION_INDEX", &v)?;
            let Some(n) = count else {
                bail!("JOB_COMPLETION_INDEX={index} is set but the shard count is unknown; pass it explicitly (the Job's `completions`)");
            };
            return Shard::new(index, n)
                .map(|s| Some((s, "JOB_COMPLETION_INDEX")))
                .map_err(|e| anyhow!("from JOB_COMPLETION_INDEX={index} and shard count {n}: {e}"));
        }
        Ok(None)
    }
}

impl fmt::Display for Shard {
    /// Formats as `I/N`, the same syntax [`Shard::parse`] accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = anyhow::Error;
    /// Same as [`Shard::parse`] (lets clap parse `--shard 0/4`).
    fn from_str(s: &str) -> Result<Self> {
        Shard::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn parse_ok_and_display_roundtrip() {
        let s = Shard::parse(" 2/5 ").unwrap();
        assert_eq!(s, Shard { index: 2, count: 5 });
        assert_eq!(s.to_string(), "2/5");
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::ALL);
        assert!(Shard::ALL.is_all());
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Shard::parse("3/3").unwrap_err().to_string(), "shard '3/3': index must be < count");
        assert_eq!(Shard::parse("0/0").unwrap_err().to_string(), "shard '0/0': count must be at least 1");
        for bad in ["", "3", "a/4", "1/b", "-1/4", "1/2/3", "1.0/2"] {
            let msg = Shard::parse(bad).unwrap_err().to_string();
            assert_eq!(msg, format!("shard '{bad}': expected I/N with 0-based index I < count N, e.g. 0/4"));
        }
        assert!(Shard::new(4, 4).is_err());
        assert!(Shard::new(0, 0).is_err());
    }

    #[test]
    fn round_robin_partition() {
        let n = 3;
        let total = 10;
        let mut seen = vec![0; total];
        for i in 0..n {
            let s = Shard::new(i, n).unwrap();
            let pos: Vec<usize> = s.positions(total).collect();
            assert_eq!(pos.len(), s.len_of(total));
            for &p in &pos {
                assert!(s.contains(p));
                seen[p] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        let s = Shard::new(1, 3).unwrap();
        assert_eq!(s.positions(10).collect::<Vec<_>>(), vec![1, 4, 7]);
        assert_eq!(s.len_of(10), 3);
        assert_eq!(s.len_of(1), 0);
        assert_eq!(Shard::new(2, 3).unwrap().len_of(3), 1);
        let sel: Vec<(usize, char)> = s.select("abcdefg".chars()).collect();
        assert_eq!(sel, vec![(1, 'b'), (4, 'e')]);
        // Hand-built invalid shard does not panic.
        let bad = Shard { index: 0, count: 0 };
        assert!(!bad.contains(3));
        assert_eq!(bad.len_of(10), 0);
    }

    #[test]
    fn env_none_and_explicit() {
        assert_eq!(Shard::from_vars(vars(&[]), None).unwrap(), None);
        assert_eq!(Shard::from_vars(vars(&[]), Some(4)).unwrap(), None);
        assert_eq!(
            Shard::from_vars(vars(&[("ZSNAS_SHARD", "1/4")]), None).unwrap(),
            Some(Shard { index: 1, count: 4 })
        );
        assert!(Shard::from_vars(vars(&[("ZSNAS_SHARD", "1/4")]), Some(3)).is_err());
        assert!(Shard::from_vars(vars(&[("ZSNAS_SHARD", "4/4")]), None).is_err());
    }

    #[test]
    fn env_slurm() {
        let s = Shard::from_vars(vars(&[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "4")]), None).unwrap();
        assert_eq!(s, Some(Shard { index: 2, count: 4 }));
        // --array=1-4
        let s = Shard::from_vars(
            vars(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1")]),
            Some(4),
        )
        .unwrap();
        assert_eq!(s, Some(Shard { index: 3, count: 4 }));
        // --array=0-6:2 -> 0,2,4,6
        let s = Shard::from_vars(
            vars(&[
                ("SLURM_ARRAY_TASK_ID", "6"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(s, Some(Shard { index: 3, count: 4 }));
        // Without MIN, --array=1-4 gives ID 4 >= count: clear error, no panic.
        let e =
            Shard::from_vars(vars(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")]), None).unwrap_err();
        assert!(e.to_string().contains("index must be < count"), "{e}");
        // Count mismatch.
        assert!(
            Shard::from_vars(vars(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")]), Some(5)).is_err()
        );
        // Garbage.
        assert!(Shard::from_vars(vars(&[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "4")]), None).is_err());
        // A zero step has no index (it was taken as 1).
        let e = Shard::from_vars(
            vars(&[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_STEP", "0"),
            ]),
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "SLURM_ARRAY_TASK_STEP=0: the array step must be at least 1");
        // ID without count.
        assert!(Shard::from_vars(vars(&[("SLURM_ARRAY_TASK_ID", "0")]), None).is_err());
        assert_eq!(
            Shard::from_vars(vars(&[("SLURM_ARRAY_TASK_ID", "0")]), Some(2)).unwrap(),
            Some(Shard { index: 0, count: 2 })
        );
    }

    #[test]
    fn env_kubernetes() {
        assert_eq!(
            Shard::from_vars(vars(&[("JOB_COMPLETION_INDEX", "3")]), Some(8)).unwrap(),
            Some(Shard { index: 3, count: 8 })
        );
        let e = Shard::from_vars(vars(&[("JOB_COMPLETION_INDEX", "3")]), None).unwrap_err();
        assert!(e.to_string().contains("shard count is unknown"), "{e}");
        let e = Shard::from_vars(vars(&[("JOB_COMPLETION_INDEX", "8")]), Some(8)).unwrap_err().to_string();
        assert!(e.contains("from JOB_COMPLETION_INDEX=8 and shard count 8"), "{e}");
    }
}
