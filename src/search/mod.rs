//! Architecture search driven by training-free fitness: random search, regularised
//! (aging) evolution and REINFORCE, over any space of [`AnyArch`].
//!
//! The pieces:
//! * [`Space`]: sampling, mutation and the policy encoding (categorical and Bernoulli
//!   [`Decision`]s) of NAS-Bench-201, NAS-Bench-101 and the MobileNetV2-like space;
//! * [`Fitness`]: one score (higher is better unless written `-name`; NaN is never the
//!   best, −inf is the worst number) or a majority [`Vote`] (Copeland ranking);
//! * [`Search`]: the evaluation context a strategy runs in. It owns the budget (every
//!   call of [`Search::evaluate`] is one step, repeats included), the [`Cache`] keyed by
//!   [`AnyArch::key`] (every architecture is scored at most once, across runs too), the
//!   best-so-far tracker and an optional observer called after every step (the CLI
//!   streams history lines from it).
//!
//! Strategies are generic over the scoring closure given to [`Search::new`], so tests
//! use toy fitness without any network. They are deterministic for a given seed (all
//! randomness comes from a [`ChaCha8Rng`]) and given scores; since the cache returns
//! identical scores, a killed search resumes by replaying the strategy with the cache
//! prefilled from its history.

pub mod evolution;
pub mod random;
pub mod reinforce;

use crate::app::arch::AnyArch;
use crate::app::score::SpaceKind;
use crate::proxy::vote::Vote;
use crate::proxy::Proxy;
use crate::space::mbv2::{choice_space, random_arch, Mbv2Arch, DEFAULT_FLOPS_LIMIT};
use crate::space::nb101::{policy_choices, Nb101Spec, NUM_EDGE_SLOTS, NUM_OP_SLOTS};
use crate::space::nb201::{Nb201Arch, NB201_EDGES, NB201_OPS};
use anyhow::{anyhow, bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

/// Scores of one architecture: field name → value (NaN and ±inf are values).
pub type ScoreMap = BTreeMap<String, f64>;

/// One decision of a space's policy encoding (see [`Space::decisions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Pick one of `options` (encoded as `0..options`).
    Categorical {
        /// Name, e.g. `edge 1<-0`, `op 3`, `c4`.
        name: String,
        /// Number of options.
        options: usize,
    },
    /// Yes or no (encoded as 0 or 1), e.g. the presence of a NAS-Bench-101 edge.
    Bernoulli {
        /// Name, e.g. `edge 0->6`.
        name: String,
    },
}

impl Decision {
    /// The decision's name.
    pub fn name(&self) -> &str {
        match self {
            Decision::Categorical { name, .. } | Decision::Bernoulli { name } => name,
        }
    }

    /// Number of values the decision takes (2 for a Bernoulli).
    pub fn options(&self) -> usize {
        match self {
            Decision::Categorical { options, .. } => *options,
            Decision::Bernoulli { .. } => 2,
        }
    }
}

/// A search space: what strategies need to draw, mutate and encode architectures.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    kind: SpaceKind,
    flops_limit: u64,
}

impl Space {
    /// The space `kind`; `flops_limit` (MACs of one image at the architecture's own
    /// resolution, 1,000 classes) constrains mbv2 sampling, mutation and decoding and is
    /// ignored elsewhere.
    pub fn new(kind: SpaceKind, flops_limit: u64) -> Space {
        Space { kind, flops_limit }
    }

    /// NAS-Bench-201.
    pub fn nb201() -> Space {
        Space::new(SpaceKind::Nb201, DEFAULT_FLOPS_LIMIT)
    }

    /// Which space.
    pub fn kind(&self) -> SpaceKind {
        self.kind
    }

    /// The mbv2 FLOPs limit.
    pub fn flops_limit(&self) -> u64 {
        self.flops_limit
    }

    /// A uniformly random architecture: NAS-Bench-201 uniform over the 5 ops of each edge;
    /// NAS-Bench-101 [`Nb101Spec::random_spec`]; mbv2 [`random_arch`] within the FLOPs limit.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Result<AnyArch> {
        Ok(match self.kind {
            SpaceKind::Nb201 => AnyArch::Nb201(Nb201Arch::sample(rng)),
            SpaceKind::Nb101 => AnyArch::Nb101(Nb101Spec::random_spec(rng)),
            SpaceKind::Mbv2 => AnyArch::Mbv2(random_arch(rng, self.flops_limit)?),
        })
    }

    /// The mutation of regularised evolution: NAS-Bench-201 changes one uniformly chosen
    /// edge to a different op ([`Nb201Arch::mutate`]); NAS-Bench-101 and mbv2 use
    /// [`Nb101Spec::mutate`] and [`Mbv2Arch::mutate`] (within the FLOPs limit).
    pub fn mutate(&self, arch: &AnyArch, rng: &mut ChaCha8Rng) -> Result<AnyArch> {
        Ok(match arch {
            AnyArch::Nb201(a) => AnyArch::Nb201(a.mutate(rng)),
            AnyArch::Nb101(s) => AnyArch::Nb101(s.mutate(rng)?),
            AnyArch::Mbv2(m) => AnyArch::Mbv2(m.mutate(rng, self.flops_limit)?),
        })
    }

    /// The policy encoding: NAS-Bench-201 one 5-way categorical per edge (ops in
    /// [`NB201_OPS`] order, edges in [`NB201_EDGES`] order); NAS-Bench-101 5 three-way op
    /// categoricals then 21 Bernoulli edges ([`policy_choices`]); mbv2 the 39 categoricals
    /// of [`choice_space`].
    pub fn decisions(&self) -> Vec<Decision> {
        match self.kind {
            SpaceKind::Nb201 => NB201_EDGES
                .iter()
                .map(|(to, from)| Decision::Categorical {
                    name: format!("edge {to}<-{from}"),
                    options: NB201_OPS.len(),
                })
                .collect(),
            SpaceKind::Nb101 => {
                let pc = policy_choices();
                let mut v: Vec<Decision> = (0..pc.num_op_slots)
                    .map(|k| Decision::Categorical { name: format!("op {}", k + 1), options: pc.op_choices.len() })
                    .collect();
                v.extend(pc.edge_pairs.iter().map(|(i, j)| Decision::Bernoulli { name: format!("edge {i}->{j}") }));
                v
            }
            SpaceKind::Mbv2 => choice_space()
                .into_iter()
                .map(|c| Decision::Categorical { name: c.name, options: c.num_options })
                .collect(),
        }
    }

    /// The architecture of one value per [`Space::decisions`] entry. Errors on a wrong
    /// length or an out-of-range value, and when the result is not in the space (a
    /// NAS-Bench-101 cell that is invalid after pruning, an mbv2 network over the FLOPs
    /// limit): REINFORCE resamples then.
    pub fn decode(&self, values: &[usize]) -> Result<AnyArch> {
        let d = self.decisions();
        if values.len() != d.len() {
            bail!("expected {} decisions for {}, got {}", d.len(), self.kind.name(), values.len());
        }
        for (x, dec) in values.iter().zip(&d) {
            if *x >= dec.options() {
                bail!("decision '{}' = {x} is out of range 0..{}", dec.name(), dec.options());
            }
        }
        match self.kind {
            SpaceKind::Nb201 => {
                let mut a = Nb201Arch::from_code(0);
                for (o, &x) in a.ops.iter_mut().zip(values) {
                    *o = NB201_OPS[x];
                }
                Ok(AnyArch::Nb201(a))
            }
            SpaceKind::Nb101 => {
                let mut ops = [0usize; NUM_OP_SLOTS];
                ops.copy_from_slice(&values[..NUM_OP_SLOTS]);
                let mut edges = [false; NUM_EDGE_SLOTS];
                for (e, &x) in edges.iter_mut().zip(&values[NUM_OP_SLOTS..]) {
                    *e = x == 1;
                }
                Ok(AnyArch::Nb101(Nb101Spec::from_choices(&ops, &edges)?))
            }
            SpaceKind::Mbv2 => {
                let a = Mbv2Arch::from_choices(values)?;
                a.check_flops(self.flops_limit)?;
                Ok(AnyArch::Mbv2(a))
            }
        }
    }

    /// Inverse of [`Space::decode`]; `None` for an architecture of another space or one
    /// the encoding cannot express (e.g. a NAS-Bench-101 cell given with fewer than 7
    /// vertices).
    pub fn encode(&self, arch: &AnyArch) -> Option<Vec<usize>> {
        match (self.kind, arch) {
            (SpaceKind::Nb201, AnyArch::Nb201(a)) => {
                Some(a.ops.iter().map(|o| NB201_OPS.iter().position(|x| x == o).unwrap_or(0)).collect())
            }
            (SpaceKind::Nb101, AnyArch::Nb101(s)) => {
                let (ops, edges) = s.to_choices()?;
                let mut v = ops.to_vec();
                v.extend(edges.iter().map(|&e| e as usize));
                Some(v)
            }
            (SpaceKind::Mbv2, AnyArch::Mbv2(m)) => m.to_choices().ok(),
            _ => None,
        }
    }

    /// Checks that `arch` belongs to this space (used when resuming from a history).
    pub fn contains(&self, arch: &AnyArch) -> bool {
        arch.space() == self.kind
    }
}

/// What a search maximises.
#[derive(Clone, Debug, PartialEq)]
pub enum Fitness {
    /// One score looked up by name; `higher` tells the direction. NaN is never the best
    /// (it ranks below everything, −inf included); −inf is the worst number.
    Score {
        /// Field name in the score map (a proxy's canonical name, or any name a custom
        /// scorer returns).
        name: String,
        /// Whether higher is better.
        higher: bool,
    },
    /// A majority vote over proxies: pairwise [`Vote::compare`], populations ranked by
    /// Copeland score ([`Vote::best`]).
    Vote(Vote),
}

impl Fitness {
    /// Parses a proxy name (`wrcor`, `synflow`, an alias; `-name` for lower-is-better) or
    /// a vote (`sjw`, `spw`, `vote:a,b,c`). Errors name the unknown fitness and list the
    /// choices.
    pub fn parse(s: &str) -> Result<Fitness> {
        let t = s.trim();
        if t.is_empty() {
            bail!("--fitness is empty (give a proxy such as wrcor, or a vote such as sjw)");
        }
        if let Some(v) = Vote::parse(t).map_err(|e| anyhow!("unknown fitness '{s}': {e}"))? {
            return Ok(Fitness::Vote(v));
        }
        let (name, higher) = match t.strip_prefix('-') {
            Some(n) => (n, false),
            None => (t.strip_prefix('+').unwrap_or(t), true),
        };
        match Proxy::from_name(name) {
            Ok(p) => Ok(Fitness::Score { name: p.name().to_string(), higher }),
            Err(_) => {
                let names: Vec<&str> = Proxy::ALL.iter().map(|p| p.name()).collect();
                bail!(
                    "unknown fitness '{s}' (a proxy: {}; '-name' for lower is better; or a vote: sjw, spw, vote:p1,p2,...)",
                    names.join(", ")
                )
            }
        }
    }

    /// A higher-is-better fitness on the field `name` of whatever the scorer returns
    /// (for custom scorers and tests).
    pub fn score(name: &str) -> Fitness {
        Fitness::Score { name: name.to_string(), higher: true }
    }

    /// Display name (`wrcor`, `-params`, `sjw`, `vote:...`).
    pub fn name(&self) -> String {
        match self {
            Fitness::Score { name, higher: true } => name.clone(),
            Fitness::Score { name, higher: false } => format!("-{name}"),
            Fitness::Vote(v) => v.name.clone(),
        }
    }

    /// The score fields the fitness reads, each with whether higher is better.
    pub fn terms(&self) -> Vec<(String, bool)> {
        match self {
            Fitness::Score { name, higher } => vec![(name.clone(), *higher)],
            Fitness::Vote(v) => v.members.iter().map(|(p, h)| (p.name().to_string(), *h)).collect(),
        }
    }

    /// The proxies to compute for this fitness. Errors when a term is not a proxy (a
    /// custom name only a custom scorer can produce).
    pub fn proxies(&self) -> Result<Vec<Proxy>> {
        let mut out: Vec<Proxy> = Vec::new();
        for (n, _) in self.terms() {
            let p = Proxy::from_name(&n)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Orders two score maps of a single-score fitness (NaN or missing lowest, then by
    /// value in the fitness's direction). For a vote: [`Vote::compare`].
    pub fn compare(&self, a: &ScoreMap, b: &ScoreMap) -> Ordering {
        match self {
            Fitness::Score { name, higher } => {
                let key =
                    |m: &ScoreMap| m.get(name).copied().filter(|x| !x.is_nan()).map(|x| if *higher { x } else { -x });
                match (key(a), key(b)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Greater,
                    (None, Some(_)) => Ordering::Less,
                    (None, None) => Ordering::Equal,
                }
            }
            Fitness::Vote(v) => v.compare(a, b),
        }
    }

    /// Index of the best of `pop`: for a score the first maximum under
    /// [`Fitness::compare`]; for a vote the Copeland winner ([`Vote::best`]). `None` for
    /// an empty population.
    pub fn best_index(&self, pop: &[&ScoreMap]) -> Option<usize> {
        match self {
            Fitness::Score { .. } => {
                let mut best: Option<usize> = None;
                for i in 0..pop.len() {
                    match best {
                        Some(b) if self.compare(pop[i], pop[b]) != Ordering::Greater => {}
                        _ => best = Some(i),
                    }
                }
                best
            }
            Fitness::Vote(v) => {
                let owned: Vec<ScoreMap> = pop.iter().map(|m| (*m).clone()).collect();
                v.best(&owned)
            }
        }
    }
}

/// Scores of architectures already evaluated, keyed by [`AnyArch::key`]. Shared by the
/// runs of one invocation and prefilled from a history file on resume.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    map: HashMap<String, ScoreMap>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// The scores of `arch`, if known.
    pub fn get(&self, arch: &AnyArch) -> Option<&ScoreMap> {
        self.map.get(&arch.key())
    }

    /// Records the scores of `arch` (keeps the first value if already present).
    pub fn insert(&mut self, arch: &AnyArch, scores: ScoreMap) {
        self.map.entry(arch.key()).or_insert(scores);
    }

    /// Number of architectures in the cache.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` when the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Best-so-far over the distinct architectures of one run. For a single score: the first
/// architecture with the highest value (NaN never best). For a vote: the Copeland winner
/// (pairwise majority wins + ½ per tie) among all distinct architectures evaluated so
/// far, updated incrementally; ties go to the earliest.
#[derive(Clone, Debug)]
pub struct BestTracker {
    fitness: Fitness,
    entries: Vec<(AnyArch, ScoreMap)>,
    copeland: Vec<f64>,
    best: Option<usize>,
}

impl BestTracker {
    /// An empty tracker.
    pub fn new(fitness: Fitness) -> BestTracker {
        BestTracker { fitness, entries: Vec::new(), copeland: Vec::new(), best: None }
    }

    /// Adds a new distinct architecture and returns the index of the best so far.
    pub fn add(&mut self, arch: AnyArch, scores: ScoreMap) -> usize {
        let i = self.entries.len();
        match &self.fitness {
            Fitness::Score { .. } => {
                let better = match self.best {
                    None => true,
                    Some(b) => self.fitness.compare(&scores, &self.entries[b].1) == Ordering::Greater,
                };
                self.entries.push((arch, scores));
                if better {
                    self.best = Some(i);
                }
            }
            Fitness::Vote(v) => {
                let mut mine = 0.0;
                for (j, (_, s)) in self.entries.iter().enumerate() {
                    match v.compare(&scores, s) {
                        Ordering::Greater => mine += 1.0,
                        Ordering::Less => self.copeland[j] += 1.0,
                        Ordering::Equal => {
                            mine += 0.5;
                            self.copeland[j] += 0.5;
                        }
                    }
                }
                self.entries.push((arch, scores));
                self.copeland.push(mine);
                let mut b = 0;
                for k in 1..self.copeland.len() {
                    if self.copeland[k] > self.copeland[b] {
                        b = k;
                    }
                }
                self.best = Some(b);
            }
        }
        self.best.unwrap_or(i)
    }

    /// Index of the best so far (`None` before the first architecture).
    pub fn best(&self) -> Option<usize> {
        self.best
    }

    /// The distinct architectures in order of first evaluation, with their scores.
    pub fn entries(&self) -> &[(AnyArch, ScoreMap)] {
        &self.entries
    }
}

/// What the observer of a [`Search`] sees after each step.
#[derive(Clone, Copy, Debug)]
pub struct StepView<'s> {
    /// Step number, 1-based (= evaluations so far, repeats included).
    pub step: usize,
    /// The architecture evaluated.
    pub arch: &'s AnyArch,
    /// Its scores.
    pub scores: &'s ScoreMap,
    /// `true` when this run already evaluated the architecture (a cache hit that does not
    /// add a distinct architecture).
    pub repeat: bool,
    /// The best architecture so far in this run.
    pub best_arch: &'s AnyArch,
    /// Its scores.
    pub best_scores: &'s ScoreMap,
}

/// The scoring closure of a [`Search`].
pub type Scorer<'a> = Box<dyn FnMut(&AnyArch) -> Result<ScoreMap> + 'a>;

/// The observer of a [`Search`], called after every step; an error stops the search.
pub type Observer<'a> = Box<dyn FnMut(&StepView) -> Result<()> + 'a>;

/// The result of one search run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The best architecture found (see [`BestTracker`]).
    pub best: AnyArch,
    /// Its scores.
    pub best_scores: ScoreMap,
    /// Steps taken (= the budget unless a strategy stopped early).
    pub steps: usize,
    /// Distinct architectures evaluated by this run.
    pub evaluated: usize,
    /// Architectures actually scored by the scorer during this run (the others came from
    /// the cache: repeats, earlier runs, a resumed history).
    pub scored: usize,
    /// Seconds spent inside the scorer.
    pub scoring_seconds: f64,
    /// Wall seconds of the whole run.
    pub seconds: f64,
    /// Per step, the index into `distinct` of the best so far.
    pub trace: Vec<usize>,
    /// The distinct architectures in order of first evaluation, with their scores.
    pub distinct: Vec<(AnyArch, ScoreMap)>,
}

/// The evaluation context of one search run (see the [module docs](self)).
pub struct Search<'a> {
    space: Space,
    fitness: Fitness,
    budget: usize,
    scorer: Scorer<'a>,
    cache: Cache,
    observer: Option<Observer<'a>>,
    steps: usize,
    scored: usize,
    scoring_seconds: f64,
    seen: HashSet<String>,
    tracker: BestTracker,
    trace: Vec<usize>,
    started: Instant,
}

impl<'a> Search<'a> {
    /// A search over `space` maximising `fitness` with `budget` evaluations, scoring
    /// architectures missing from `cache` with `scorer`. Errors on a zero budget.
    pub fn new(space: Space, fitness: Fitness, budget: usize, cache: Cache, scorer: Scorer<'a>) -> Result<Search<'a>> {
        if budget == 0 {
            bail!("the budget must be at least 1 evaluation (got 0)");
        }
        Ok(Search {
            space,
            tracker: BestTracker::new(fitness.clone()),
            fitness,
            budget,
            scorer,
            cache,
            observer: None,
            steps: 0,
            scored: 0,
            scoring_seconds: 0.0,
            seen: HashSet::new(),
            trace: Vec::new(),
            started: Instant::now(),
        })
    }

    /// Sets the observer called after every step.
    pub fn with_observer(mut self, observer: Observer<'a>) -> Search<'a> {
        self.observer = Some(observer);
        self
    }

    /// The space.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The fitness.
    pub fn fitness(&self) -> &Fitness {
        &self.fitness
    }

    /// The budget (number of evaluations).
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Evaluations left.
    pub fn remaining(&self) -> usize {
        self.budget - self.steps
    }

    /// Distinct architectures evaluated so far in this run.
    pub fn evaluated(&self) -> usize {
        self.seen.len()
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The best-so-far tracker.
    pub fn tracker(&self) -> &BestTracker {
        &self.tracker
    }

    /// Evaluates `arch`: one step of the budget. Returns its scores, from the cache when
    /// known (the step still counts). Errors when the budget is spent or the scorer or
    /// the observer fails.
    pub fn evaluate(&mut self, arch: &AnyArch) -> Result<ScoreMap> {
        if self.steps >= self.budget {
            bail!("the search budget of {} evaluations is spent", self.budget);
        }
        let scores = match self.cache.get(arch) {
            Some(s) => s.clone(),
            None => {
                let t = Instant::now();
                let s = (self.scorer)(arch)?;
                self.scoring_seconds += t.elapsed().as_secs_f64();
                self.scored += 1;
                self.cache.insert(arch, s.clone());
                s
            }
        };
        self.steps += 1;
        let repeat = !self.seen.insert(arch.key());
        let best =
            if repeat { self.tracker.best().unwrap_or(0) } else { self.tracker.add(arch.clone(), scores.clone()) };
        self.trace.push(best);
        if let Some(obs) = self.observer.as_mut() {
            let (ba, bs) = &self.tracker.entries()[best];
            obs(&StepView { step: self.steps, arch, scores: &scores, repeat, best_arch: ba, best_scores: bs })?;
        }
        Ok(scores)
    }

    /// Ends the run: its [`Outcome`] and the cache (to share with later runs). Errors
    /// when nothing was evaluated.
    pub fn finish(self) -> Result<(Outcome, Cache)> {
        let b = self.tracker.best().ok_or_else(|| anyhow!("the search evaluated no architecture"))?;
        let (best, best_scores) = self.tracker.entries()[b].clone();
        let out = Outcome {
            best,
            best_scores,
            steps: self.steps,
            evaluated: self.seen.len(),
            scored: self.scored,
            scoring_seconds: self.scoring_seconds,
            seconds: self.started.elapsed().as_secs_f64(),
            trace: self.trace,
            distinct: self.tracker.entries,
        };
        Ok((out, self.cache))
    }
}

/// A search strategy with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Uniform random sampling ([`random::run`]).
    Random,
    /// Regularised evolution ([`evolution::run`]).
    Evolution(evolution::EvolutionConfig),
    /// REINFORCE ([`reinforce::run`]).
    Reinforce(reinforce::ReinforceConfig),
}

impl Strategy {
    /// Parses `random`, `evolution` (also `ea`, `rea`) or `reinforce` (also `rl`) with
    /// default settings. Errors name the unknown strategy and list the known ones.
    pub fn parse(s: &str) -> Result<Strategy> {
        match s.trim() {
            "random" | "rs" => Ok(Strategy::Random),
            "evolution" | "ea" | "rea" => Ok(Strategy::Evolution(evolution::EvolutionConfig::default())),
            "reinforce" | "rl" => Ok(Strategy::Reinforce(reinforce::ReinforceConfig::default())),
            _ => bail!("unknown strategy '{s}' (known: random, evolution, reinforce)"),
        }
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::Evolution(_) => "evolution",
            Strategy::Reinforce(_) => "reinforce",
        }
    }

    /// Runs the strategy on `search` with its randomness from `ChaCha8Rng::seed_from_u64(seed)`.
    pub fn run(&self, search: &mut Search, seed: u64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match self {
            Strategy::Random => random::run(search, &mut rng),
            Strategy::Evolution(c) => evolution::run(search, c, &mut rng),
            Strategy::Reinforce(c) => reinforce::run(search, c, &mut rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: &[(&str, f64)]) -> ScoreMap {
        v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
    }

    #[test]
    fn fitness_parse_and_errors() {
        assert_eq!(Fitness::parse("wrcor").unwrap(), Fitness::score("wrcor"));
        assert_eq!(Fitness::parse("jacov").unwrap(), Fitness::score("jacob_cov"));
        assert_eq!(Fitness::parse("-params").unwrap(), Fitness::Score { name: "params".into(), higher: false });
        assert!(matches!(Fitness::parse("sjw").unwrap(), Fitness::Vote(_)));
        assert!(matches!(Fitness::parse("vote:synflow,wrcor").unwrap(), Fitness::Vote(_)));
        let e = Fitness::parse("magic").unwrap_err().to_string();
        assert!(e.contains("unknown fitness 'magic'"), "{e}");
        let e = Fitness::parse("vote:nope").unwrap_err().to_string();
        assert!(e.contains("unknown fitness"), "{e}");
        assert_eq!(
            Fitness::parse("sjw").unwrap().proxies().unwrap(),
            vec![Proxy::Synflow, Proxy::JacobCov, Proxy::Wrcor]
        );
        assert!(Strategy::parse("annealing").unwrap_err().to_string().contains("unknown strategy 'annealing'"));
    }

    #[test]
    fn nan_never_best_and_neg_inf_worst_number() {
        let f = Fitness::score("x");
        let pop = [m(&[("x", f64::NAN)]), m(&[("x", f64::NEG_INFINITY)]), m(&[("x", -1e300)])];
        let refs: Vec<&ScoreMap> = pop.iter().collect();
        assert_eq!(f.best_index(&refs), Some(2));
        assert_eq!(f.best_index(&refs[..2]), Some(1));
        let mut t = BestTracker::new(f);
        let a = AnyArch::Nb201(Nb201Arch::from_code(0));
        assert_eq!(t.add(a.clone(), pop[0].clone()), 0);
        assert_eq!(t.add(a.clone(), pop[1].clone()), 1);
        assert_eq!(t.add(a.clone(), m(&[("x", f64::NAN)])), 1);
        assert_eq!(t.add(a, pop[2].clone()), 3);
        let lower = Fitness::parse("-params").unwrap();
        assert_eq!(lower.best_index(&[&m(&[("params", 5.0)]), &m(&[("params", 3.0)])]), Some(1));
    }

    #[test]
    fn vote_tracker_is_copeland() {
        let f = Fitness::parse("vote:synflow,jacob_cov,wrcor").unwrap();
        let mut t = BestTracker::new(f);
        let a = AnyArch::Nb201(Nb201Arch::from_code(0));
        // b beats a on all three, c beats b on two of three but loses to a on two.
        t.add(a.clone(), m(&[("synflow", 1.0), ("jacob_cov", 1.0), ("wrcor", 1.0)]));
        assert_eq!(t.add(a.clone(), m(&[("synflow", 2.0), ("jacob_cov", 2.0), ("wrcor", 2.0)])), 1);
        assert_eq!(t.add(a, m(&[("synflow", 3.0), ("jacob_cov", 3.0), ("wrcor", 0.0)])), 2);
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for kind in [SpaceKind::Nb201, SpaceKind::Nb101, SpaceKind::Mbv2] {
            let sp = Space::new(kind, DEFAULT_FLOPS_LIMIT);
            let d = sp.decisions();
            for _ in 0..5 {
                let a = sp.sample(&mut rng).unwrap();
                let v = sp.encode(&a).unwrap();
                assert_eq!(v.len(), d.len());
                assert_eq!(sp.decode(&v).unwrap().key(), a.key(), "{kind:?}");
            }
        }
        let sp = Space::nb201();
        assert_eq!(sp.decisions().len(), 6);
        assert!(sp.decode(&[0, 0, 0]).is_err());
        assert!(sp.decode(&[5, 0, 0, 0, 0, 0]).is_err());
        let nb101 = Space::new(SpaceKind::Nb101, 0).decisions();
        assert_eq!(nb101.iter().filter(|d| matches!(d, Decision::Bernoulli { .. })).count(), 21);
    }

    #[test]
    fn zero_budget_is_an_error() {
        let e = Search::new(Space::nb201(), Fitness::score("x"), 0, Cache::new(), Box::new(|_| Ok(ScoreMap::new())));
        assert!(e.err().unwrap().to_string().contains("at least 1"));
    }
}
