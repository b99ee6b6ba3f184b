//! REINFORCE (Williams 1992) as the NAS-Bench-201 baseline uses it, generic over a
//! space's [`Decision`]s: one independent softmax per categorical decision (NAS-Bench-201:
//! 5 ops on each of the 6 edges) and one sigmoid logit per Bernoulli decision
//! (NAS-Bench-101 edges).
//!
//! * Logits start at zero (uniform policy), or N(0, `init_std`²) drawn from the run's
//!   generator when `init_std > 0`.
//! * Rewards. First `warmup` uniformly random architectures are evaluated (100 by
//!   default, at most half the budget and at least 1; they count as steps and can be the
//!   answer). Each fitness term ([`Fitness::reward_terms`]: the proxy, every member of a
//!   vote with its sign, or an aggregate's first-stage members with their sign and weight;
//!   a second stage `topP%` needs a population and is not a reward term) is transformed, `ln x` for the proxies in [`LOG_SCALED`] (they span orders of magnitude,
//!   e.g. synflow ~1e10..1e40; a non-positive value gives −inf or NaN) and `x` otherwise,
//!   then standardised by the mean and (population) standard deviation of the finite
//!   transformed warm-up values (std 1 when it is 0 or there are fewer than two finite
//!   values). The reward is the sum over the terms of `w × sign × (t(x) − mean) / std`.
//!   The answer is still the fitness's best over every architecture evaluated (for an
//!   aggregate, both stages, as in the other strategies).
//! * Invalid rewards: a term whose (transformed) value is NaN or ±inf makes the reward
//!   invalid, whichever its sign (a degenerate network's −inf is the worst value, also
//!   for a lower-is-better term: [`crate::proxy::rank_key`]); an invalid reward, or one
//!   that overflows to −inf, is replaced by the worst reward seen so far (warm-up
//!   included) minus 1; one that overflows to +inf by the best seen plus 1. A sampled decision vector that does
//!   not decode to an architecture of the space (an invalid NAS-Bench-101 cell, an mbv2
//!   network over the FLOPs limit) gets the NaN replacement too and updates the policy,
//!   but uses no evaluation; `max_invalid` such samples in a row is an error.
//! * Baseline: exponential moving average with momentum 0.9 and bias correction (as the
//!   NAS-Bench-201 code's `ExponentialMovingAverage`), updated with the reward before the
//!   advantage `reward − baseline` is taken.
//! * Update: the loss `−advantage × log π(decisions)` is minimised by Adam (lr 1e-3,
//!   β = (0.9, 0.999), ε = 1e-8), implemented here on the flat f64 logit vector.

use super::{Fitness, Search};
use crate::proxy::ScoreMap;
use crate::space::Decision;
use anyhow::{bail, Result};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Proxies standardised after a natural log because their values span many orders of
/// magnitude.
pub const LOG_SCALED: [&str; 6] = ["synflow", "snip", "grad_norm", "fisher", "params", "flops"];

/// Settings of REINFORCE.
#[derive(Clone, Debug, PartialEq)]
pub struct ReinforceConfig {
    /// Adam learning rate (1e-3).
    pub lr: f64,
    /// Momentum of the moving-average baseline (0.9).
    pub momentum: f64,
    /// Random architectures evaluated first to standardise the rewards (100; capped at
    /// half the budget, at least 1).
    pub warmup: usize,
    /// Standard deviation of the initial logits (0: all zero).
    pub init_std: f64,
    /// Consecutive undecodable samples tolerated before giving up (10,000).
    pub max_invalid: usize,
}

impl Default for ReinforceConfig {
    fn default() -> Self {
        ReinforceConfig { lr: 1e-3, momentum: 0.9, warmup: 100, init_std: 0.0, max_invalid: 10_000 }
    }
}

impl ReinforceConfig {
    /// The warm-up actually used for `budget`: `min(warmup, max(1, budget / 2))`.
    pub fn effective_warmup(&self, budget: usize) -> usize {
        self.warmup.min((budget / 2).max(1))
    }
}

/// Adam on a flat parameter vector (Kingma & Ba 2015), minimising.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    t: i32,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    /// Adam for `n` parameters with PyTorch's defaults besides `lr`.
    pub fn new(n: usize, lr: f64) -> Adam {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0, m: vec![0.0; n], v: vec![0.0; n] }
    }

    /// One step: `params -= lr · m̂ / (√v̂ + ε)` for the gradient `grad`.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t);
        let bc2 = 1.0 - self.beta2.powi(self.t);
        for i in 0..params.len() {
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * grad[i];
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * grad[i] * grad[i];
            let mh = self.m[i] / bc1;
            let vh = self.v[i] / bc2;
            params[i] -= self.lr * mh / (vh.sqrt() + self.eps);
        }
    }
}

/// The policy: logits of every decision in one flat vector.
#[derive(Clone, Debug)]
pub struct Policy {
    decisions: Vec<Decision>,
    offsets: Vec<usize>,
    /// The logits: `options` per categorical decision, one per Bernoulli decision.
    pub logits: Vec<f64>,
}

impl Policy {
    /// A uniform policy (all logits zero) over `decisions`.
    pub fn new(decisions: Vec<Decision>) -> Policy {
        let mut offsets = Vec::with_capacity(decisions.len());
        let mut n = 0;
        for d in &decisions {
            offsets.push(n);
            n += match d {
                Decision::Categorical { options, .. } => *options,
                Decision::Bernoulli { .. } => 1,
            };
        }
        Policy { decisions, offsets, logits: vec![0.0; n] }
    }

    /// Adds N(0, std²) noise to the logits (Box–Muller on `rng`).
    pub fn perturb(&mut self, std: f64, rng: &mut ChaCha8Rng) {
        for x in self.logits.iter_mut() {
            let u1: f64 = 1.0 - rng.gen::<f64>();
            let u2: f64 = rng.gen::<f64>();
            *x += std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        }
    }

    /// The decisions.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn span(&self, d: usize) -> &[f64] {
        let n = match &self.decisions[d] {
            Decision::Categorical { options, .. } => *options,
            Decision::Bernoulli { .. } => 1,
        };
        &self.logits[self.offsets[d]..self.offsets[d] + n]
    }

    /// Probabilities of the values of decision `d` (a Bernoulli gives `[P(0), P(1)]`).
    pub fn probabilities(&self, d: usize) -> Vec<f64> {
        let l = self.span(d);
        match &self.decisions[d] {
            Decision::Categorical { .. } => {
                let mx = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = l.iter().map(|x| (x - mx).exp()).collect();
                let s: f64 = e.iter().sum();
                e.iter().map(|x| x / s).collect()
            }
            Decision::Bernoulli { .. } => {
                let p = 1.0 / (1.0 + (-l[0]).exp());
                vec![1.0 - p, p]
            }
        }
    }

    /// Draws one value per decision.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<usize> {
        (0..self.decisions.len())
            .map(|d| {
                let p = self.probabilities(d);
                let u: f64 = rng.gen();
                let mut acc = 0.0;
                for (k, pk) in p.iter().enumerate() {
                    acc += pk;
                    if u < acc {
                        return k;
                    }
                }
                p.len() - 1
            })
            .collect()
    }

    /// log π(`choice`).
    pub fn log_prob(&self, choice: &[usize]) -> f64 {
        (0..self.decisions.len()).map(|d| self.probabilities(d)[choice[d]].ln()).sum()
    }

    /// ∇ log π(`choice`) with respect to the logits: `onehot − softmax` per categorical,
    /// `x − σ(θ)` per Bernoulli.
    pub fn log_prob_grad(&self, choice: &[usize]) -> Vec<f64> {
        let mut g = vec![0.0; self.logits.len()];
        for (d, (dec, &o)) in self.decisions.iter().zip(&self.offsets).enumerate() {
            let p = self.probabilities(d);
            match dec {
                Decision::Categorical { .. } => {
                    for (k, pk) in p.iter().enumerate() {
                        g[o + k] = (if k == choice[d] { 1.0 } else { 0.0 }) - pk;
                    }
                }
                Decision::Bernoulli { .. } => g[o] = choice[d] as f64 - p[1],
            }
        }
        g
    }

    /// The most probable value of every decision.
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.decisions.len())
            .map(|d| {
                let p = self.probabilities(d);
                (0..p.len()).fold(0, |b, k| if p[k] > p[b] { k } else { b })
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
struct TermStats {
    name: String,
    sign: f64,
    weight: f64,
    log: bool,
    mean: f64,
    std: f64,
}

/// Turns score maps into standardised rewards (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Standardiser {
    terms: Vec<TermStats>,
    worst: Option<f64>,
    best: Option<f64>,
}

impl Standardiser {
    /// Fits the per-term mean and std on the warm-up scores.
    pub fn fit(fitness: &Fitness, warmup: &[ScoreMap]) -> Standardiser {
        let terms = fitness
            .reward_terms()
            .into_iter()
            .map(|(name, higher, weight)| {
                let log = LOG_SCALED.contains(&name.as_str());
                let xs: Vec<f64> = warmup
                    .iter()
                    .filter_map(|s| s.get(&name).copied())
                    .map(|x| if log { x.ln() } else { x })
                    .filter(|x| x.is_finite())
                    .collect();
                let (mean, std) = if xs.is_empty() {
                    (0.0, 1.0)
                } else {
                    let n = xs.len() as f64;
                    let mean = xs.iter().sum::<f64>() / n;
                    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                    let sd = var.sqrt();
                    (mean, if xs.len() < 2 || sd.is_nan() || sd <= 0.0 || !sd.is_finite() { 1.0 } else { sd })
                };
                TermStats { name, sign: if higher { 1.0 } else { -1.0 }, weight, log, mean, std }
            })
            .collect();
        Standardiser { terms, worst: None, best: None }
    }

    /// The raw standardised reward of `scores` (may be NaN or infinite; a missing term is
    /// NaN).
    pub fn raw(&self, scores: &ScoreMap) -> f64 {
        self.terms
            .iter()
            .map(|t| {
                let x = scores.get(&t.name).copied().unwrap_or(f64::NAN);
                let x = if t.log { x.ln() } else { x };
                // ±inf is the worst value whichever the sign (proxy::rank_key): a
                // lower-is-better term must not turn a degenerate −inf into +inf.
                let x = if x.is_infinite() { f64::NAN } else { x };
                t.weight * t.sign * (x - t.mean) / t.std
            })
            .sum()
    }

    /// The reward of `scores`, non-finite values replaced (see the module docs); updates
    /// the worst and best seen.
    pub fn reward(&mut self, scores: &ScoreMap) -> f64 {
        let r = self.raw(scores);
        if r.is_finite() {
            self.worst = Some(self.worst.map_or(r, |w| w.min(r)));
            self.best = Some(self.best.map_or(r, |b| b.max(r)));
            r
        } else if r == f64::INFINITY {
            self.best.unwrap_or(0.0) + 1.0
        } else {
            self.invalid()
        }
    }

    /// The reward given to NaN/−inf rewards and undecodable samples: the worst finite
    /// reward seen minus 1 (−1 before any).
    pub fn invalid(&self) -> f64 {
        self.worst.unwrap_or(0.0) - 1.0
    }
}

/// Bias-corrected exponential moving average (the NAS-Bench-201 code's baseline).
#[derive(Clone, Debug)]
pub struct Ema {
    momentum: f64,
    num: f64,
    den: f64,
}

impl Ema {
    /// An empty average with `momentum`.
    pub fn new(momentum: f64) -> Ema {
        Ema { momentum, num: 0.0, den: 0.0 }
    }

    /// Adds a value.
    pub fn update(&mut self, x: f64) {
        self.num = self.momentum * self.num + (1.0 - self.momentum) * x;
        self.den = self.momentum * self.den + (1.0 - self.momentum);
    }

    /// The current average (0 before any value).
    pub fn value(&self) -> f64 {
        if self.den > 0.0 {
            self.num / self.den
        } else {
            0.0
        }
    }
}

/// Runs REINFORCE until the budget of `search` is spent.
pub fn run(search: &mut Search, config: &ReinforceConfig, rng: &mut ChaCha8Rng) -> Result<()> {
    run_with_policy(search, config, rng).map(|_| ())
}

/// Runs REINFORCE and returns the final policy.
pub fn run_with_policy(search: &mut Search, config: &ReinforceConfig, rng: &mut ChaCha8Rng) -> Result<Policy> {
    if config.lr.is_nan() || config.lr <= 0.0 || !(0.0..1.0).contains(&config.momentum) {
        bail!("REINFORCE needs lr > 0 and 0 <= momentum < 1");
    }
    let mut policy = Policy::new(search.space().decisions());
    if config.init_std > 0.0 {
        policy.perturb(config.init_std, rng);
    }
    let warm = config.effective_warmup(search.budget());
    // The warm-up draws do not depend on scores: scored a chunk at a time with a batch
    // scorer. Each policy sample depends on the previous reward, so the rest is sequential.
    let mut warm_scores = Vec::with_capacity(warm);
    search.evaluate_samples(warm, rng, |_, s, _| warm_scores.push(s))?;
    let mut std = Standardiser::fit(search.fitness(), &warm_scores);
    for s in &warm_scores {
        std.reward(s);
    }
    let mut baseline = Ema::new(config.momentum);
    let mut adam = Adam::new(policy.logits.len(), config.lr);
    let mut invalid_run = 0usize;
    while search.remaining() > 0 {
        let choice = policy.sample(rng);
        let reward = match search.space().decode(&choice) {
            Ok(a) => {
                invalid_run = 0;
                let s = search.evaluate(&a)?;
                std.reward(&s)
            }
            Err(_) => {
                invalid_run += 1;
                if invalid_run >= config.max_invalid {
                    bail!("REINFORCE drew {invalid_run} decision vectors in a row that are not architectures of the space");
                }
                std.invalid()
            }
        };
        baseline.update(reward);
        let adv = reward - baseline.value();
        let g = policy.log_prob_grad(&choice);
        let grad: Vec<f64> = g.iter().map(|x| -adv * x).collect();
        adam.step(&mut policy.logits, &grad);
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn adam_minimises_a_quadratic() {
        let mut p = vec![1.0, -2.0];
        let mut a = Adam::new(2, 0.05);
        for _ in 0..2000 {
            let g: Vec<f64> = p.iter().map(|x| 2.0 * x).collect();
            a.step(&mut p, &g);
        }
        assert!(p.iter().all(|x| x.abs() < 1e-2), "{p:?}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut pol = Policy::new(vec![
            Decision::Categorical { name: "a".into(), options: 3 },
            Decision::Bernoulli { name: "b".into() },
        ]);
        pol.perturb(0.5, &mut ChaCha8Rng::seed_from_u64(0));
        let c = [2, 1];
        let g = pol.log_prob_grad(&c);
        for (i, gi) in g.iter().enumerate() {
            let mut q = pol.clone();
            q.logits[i] += 1e-6;
            let fd = (q.log_prob(&c) - pol.log_prob(&c)) / 1e-6;
            assert!((fd - gi).abs() < 1e-4, "{i}: {fd} vs {gi}");
        }
    }

    #[test]
    fn standardiser_logs_and_replaces() {
        let w: Vec<ScoreMap> =
            [1e10, 1e20, 1e30].iter().map(|&x| [("synflow".to_string(), x)].into_iter().collect()).collect();
        let mut s = Standardiser::fit(&Fitness::score("synflow"), &w);
        for x in &w {
            s.reward(x);
        }
        let r = s.raw(&w[1]);
        assert!(r.abs() < 1e-12, "{r}");
        let worst = s.raw(&w[0]);
        let nan: ScoreMap = [("synflow".to_string(), f64::NAN)].into_iter().collect();
        assert_eq!(s.reward(&nan), worst - 1.0);
        let zero: ScoreMap = [("synflow".to_string(), 0.0)].into_iter().collect();
        assert_eq!(s.reward(&zero), worst - 1.0);
        // Lower is better: −inf is still invalid, not the best reward.
        let mut lower = Standardiser::fit(&Fitness::Score { name: "naswot".into(), higher: false }, &[]);
        let ok: ScoreMap = [("naswot".to_string(), 3.0)].into_iter().collect();
        let r = lower.reward(&ok);
        let ninf: ScoreMap = [("naswot".to_string(), f64::NEG_INFINITY)].into_iter().collect();
        assert_eq!(lower.reward(&ninf), r - 1.0);
    }

    #[test]
    fn aggregate_rewards_weigh_first_stage_members() {
        // meco standardised: values 1, 2, 3 → (−1.2247, 0, 1.2247); zen_nas likewise with
        // 10, 20, 40. Weighted 0.5, and the second stage (zico) is not a reward term.
        let w: Vec<ScoreMap> = [(1.0, 10.0, 5.0), (2.0, 20.0, 5.0), (3.0, 40.0, 9.0)]
            .iter()
            .map(|&(m, z, c)| {
                [("meco".to_string(), m), ("zen_nas".to_string(), z), ("zico".to_string(), c)].into_iter().collect()
            })
            .collect();
        let f = Fitness::parse("logrank:meco*0.5,-zen_nas,top50%,zico", crate::space::SpaceKind::Nb201).unwrap();
        assert_eq!(f.reward_terms(), [("meco".to_string(), true, 0.5), ("zen_nas".to_string(), false, 1.0)]);
        let s = Standardiser::fit(&f, &w);
        let z = |x: f64, xs: [f64; 3]| {
            let m = xs.iter().sum::<f64>() / 3.0;
            let sd = (xs.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 3.0).sqrt();
            (x - m) / sd
        };
        for (i, row) in w.iter().enumerate() {
            let want = 0.5 * z(row["meco"], [1.0, 2.0, 3.0]) - z(row["zen_nas"], [10.0, 20.0, 40.0]);
            assert!((s.raw(row) - want).abs() < 1e-12, "row {i}: {} vs {want}", s.raw(row));
        }
    }

    #[test]
    fn ema_is_bias_corrected() {
        let mut e = Ema::new(0.9);
        e.update(5.0);
        assert!((e.value() - 5.0).abs() < 1e-12);
        e.update(5.0);
        assert!((e.value() - 5.0).abs() < 1e-12);
    }
}
