//! Training-free proxies: the registry, and the planner that computes any set of them
//! for one network with shared passes.
//!
//! Response-based proxies (`wrcor`, `rcor`, `acor`, `gcor`, `wrcor_official`, `naswot`,
//! `naswot_paper`, `jacob_cov`) and the loss-gradient ones (`snip`, `grad_norm`, `plain`,
//! `fisher`) share one forward and one backward of the loss (plus one backward of Σ
//! logits for `jacob_cov`); `synflow`, `grasp`, `zen` and `zen_nas` need passes of their own, and so
//! do `meco`, `zico`, `swap` and the AZ-NAS scores (`az_expressivity`, `az_progressivity`
//! and `az_trainability` share one forward and its block-by-block vector-Jacobian
//! products); `l2_norm`, `params`, `flops` and `az_complexity` need no data. Scores are
//! f64; −inf and NaN are values.
//!
//! The four recent proxies (AZ-NAS, MeCo, ZiCo, SWAP) follow their official protocols
//! by default (their own initialisation, input and repeats); [`ProxyOptions`] holds one
//! options struct per proxy to change them.

pub mod aggregate;
pub mod az_nas;
pub mod corr;
pub mod counts;
pub mod fisher;
pub mod gram;
pub mod grasp;
pub mod init;
pub mod jacob_cov;
pub mod meco;
pub mod naswot;
pub mod pass;
pub mod saliency;
pub mod spec;
pub mod swap;
pub mod synflow;
pub mod vote;
pub mod wrcor;
pub mod zen;
pub mod zico;

use crate::data::batch::Batch;
use crate::net::model::Model;
use crate::space::AnyArch;
use anyhow::{bail, Result};
use pass::Needs;
use std::collections::BTreeMap;
use std::time::Instant;

/// Scores of one architecture: proxy (or field) name → value (NaN and ±inf are values).
pub type ScoreMap = BTreeMap<String, f64>;

/// A single proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proxy {
    /// WRCor, the paper's definition.
    Wrcor,
    /// Unweighted response correlation.
    Rcor,
    /// Activation (forward) correlation only.
    Acor,
    /// Gradient (backward) correlation only.
    Gcor,
    /// WRCor as the public reference code computes it.
    WrcorOfficial,
    /// NASWOT with the reference (name-matched) ReLU set.
    Naswot,
    /// NASWOT over genuine ReLUs only.
    NaswotPaper,
    /// JacobCor.
    JacobCov,
    /// SynFlow.
    Synflow,
    /// ln(SynFlow).
    LogSynflow,
    /// Σ‖∂L/∂W‖.
    GradNorm,
    /// SNIP.
    Snip,
    /// GraSP.
    Grasp,
    /// Fisher.
    Fisher,
    /// Σ W·∂L/∂W.
    Plain,
    /// Σ‖W‖.
    L2Norm,
    /// Zen-score (the WRCor repository's measure).
    Zen,
    /// Zen-score under Zen-NAS's own protocol (N(0, 1) re-initialisation).
    ZenNas,
    /// Trainable parameters.
    Params,
    /// Multiply-accumulates of one image.
    Flops,
    /// Trainable parameters of the modules on an input→output path (NAS-Bench-201: of the
    /// canonical cell).
    ParamsLive,
    /// Multiply-accumulates of the modules on an input→output path.
    FlopsLive,
    /// mbv2 only: FLOPs as the reference counter computes them (with its stride quirk).
    FlopsReference,
    /// AZ-NAS expressivity.
    AzExpressivity,
    /// AZ-NAS progressivity.
    AzProgressivity,
    /// AZ-NAS trainability.
    AzTrainability,
    /// AZ-NAS complexity (FLOPs in millions, biases included).
    AzComplexity,
    /// MeCo.
    Meco,
    /// ZiCo.
    Zico,
    /// SWAP.
    Swap,
}

impl Proxy {
    /// Every proxy, in listing order.
    pub const ALL: [Proxy; 30] = [
        Proxy::Wrcor,
        Proxy::Rcor,
        Proxy::Acor,
        Proxy::Gcor,
        Proxy::WrcorOfficial,
        Proxy::Naswot,
        Proxy::NaswotPaper,
        Proxy::JacobCov,
        Proxy::Synflow,
        Proxy::LogSynflow,
        Proxy::GradNorm,
        Proxy::Snip,
        Proxy::Grasp,
        Proxy::Fisher,
        Proxy::Plain,
        Proxy::L2Norm,
        Proxy::Zen,
        Proxy::ZenNas,
        Proxy::Params,
        Proxy::Flops,
        Proxy::ParamsLive,
        Proxy::FlopsLive,
        Proxy::FlopsReference,
        Proxy::AzExpressivity,
        Proxy::AzProgressivity,
        Proxy::AzTrainability,
        Proxy::AzComplexity,
        Proxy::Meco,
        Proxy::Zico,
        Proxy::Swap,
    ];

    /// The field's name of the proxy.
    pub fn name(self) -> &'static str {
        match self {
            Proxy::Wrcor => "wrcor",
            Proxy::Rcor => "rcor",
            Proxy::Acor => "acor",
            Proxy::Gcor => "gcor",
            Proxy::WrcorOfficial => "wrcor_official",
            Proxy::Naswot => "naswot",
            Proxy::NaswotPaper => "naswot_paper",
            Proxy::JacobCov => "jacob_cov",
            Proxy::Synflow => "synflow",
            Proxy::LogSynflow => "log_synflow",
            Proxy::GradNorm => "grad_norm",
            Proxy::Snip => "snip",
            Proxy::Grasp => "grasp",
            Proxy::Fisher => "fisher",
            Proxy::Plain => "plain",
            Proxy::L2Norm => "l2_norm",
            Proxy::Zen => "zen",
            Proxy::ZenNas => "zen_nas",
            Proxy::Params => "params",
            Proxy::Flops => "flops",
            Proxy::ParamsLive => "params_live",
            Proxy::FlopsLive => "flops_live",
            Proxy::FlopsReference => "flops_reference",
            Proxy::AzExpressivity => "az_expressivity",
            Proxy::AzProgressivity => "az_progressivity",
            Proxy::AzTrainability => "az_trainability",
            Proxy::AzComplexity => "az_complexity",
            Proxy::Meco => "meco",
            Proxy::Zico => "zico",
            Proxy::Swap => "swap",
        }
    }

    /// Checks that the proxy is defined on `space`: `flops_reference` only on mbv2 (the
    /// reference FLOPs count of the MobileNetV2 space), `meco` only on NAS-Bench-201 (the
    /// only network whose forward records module outputs in the order of MeCo's hooks).
    ///
    /// Errors: the proxy and the space, in one line.
    pub fn check_space(self, space: crate::space::SpaceKind) -> Result<()> {
        use crate::space::SpaceKind;
        match (self, space) {
            (Proxy::FlopsReference, s) if s != SpaceKind::Mbv2 => {
                bail!("proxy 'flops_reference' is only defined for the mbv2 space (--space mbv2)")
            }
            (Proxy::Meco, s) if s != SpaceKind::Nb201 => {
                bail!("proxy 'meco' is only defined for nb201 (yet), not for --space {}", s.name())
            }
            _ => Ok(()),
        }
    }

    /// Whether computing the proxy with `opts` draws from libtorch's global random
    /// generator (a re-initialisation, Gaussian input or noise, or a model copy whose
    /// constructor initialises): such proxies must not run while another thread builds a
    /// network (`score --jobs`), or the other network's seeded initialisation would
    /// change. MeCo draws only with Gaussian input (its default reads the real batch).
    pub fn draws_randomness(self, opts: &ProxyOptions) -> bool {
        match self {
            Proxy::Meco => opts.meco.input == init::Input::Gaussian,
            _ => matches!(
                self,
                Proxy::Synflow
                    | Proxy::LogSynflow
                    | Proxy::Zen
                    | Proxy::ZenNas
                    | Proxy::AzExpressivity
                    | Proxy::AzProgressivity
                    | Proxy::AzTrainability
                    | Proxy::Swap
            ),
        }
    }

    /// Whether the proxy's value depends on the scoring batch or the initialisation seed.
    /// The shape counts (`params`, `flops`, `flops_reference`, `params_live`,
    /// `flops_live`, `az_complexity`) depend only on the architecture, its head and the
    /// input resolution, so score files of different setups may share them.
    pub fn depends_on_batch_or_seed(self) -> bool {
        !matches!(
            self,
            Proxy::Params
                | Proxy::Flops
                | Proxy::FlopsReference
                | Proxy::ParamsLive
                | Proxy::FlopsLive
                | Proxy::AzComplexity
        )
    }

    /// The passes over the network the proxy needs, as `zsnas proxies` lists them: the
    /// shared forward (+ cross-entropy backward) pass is computed once for every proxy
    /// that needs it; "own" passes are the proxy's alone (shared only with its family).
    pub fn pass(self) -> &'static str {
        match self {
            Proxy::Wrcor | Proxy::Rcor | Proxy::Gcor | Proxy::WrcorOfficial => "shared forward + loss backward",
            Proxy::Acor | Proxy::Naswot | Proxy::NaswotPaper => "shared forward",
            Proxy::JacobCov => "shared forward + backward of Σ logits to the input",
            Proxy::GradNorm | Proxy::Snip | Proxy::Plain | Proxy::Fisher => "shared forward + loss backward",
            Proxy::Synflow | Proxy::LogSynflow => "own forward + backward (|θ|, ones input, f64)",
            Proxy::Grasp => "own: two forward + backward, Hessian-vector product",
            Proxy::Zen => "own: two forwards on Gaussian noise",
            Proxy::ZenNas => "own: N(0,1) re-initialisation, two forwards on Gaussian noise",
            Proxy::L2Norm | Proxy::Params | Proxy::Flops | Proxy::FlopsReference => "none (weights or shapes)",
            Proxy::ParamsLive | Proxy::FlopsLive | Proxy::AzComplexity => "none (shapes)",
            Proxy::AzExpressivity | Proxy::AzProgressivity | Proxy::AzTrainability => {
                "own forward (Gaussian input) + block VJPs, shared by the three"
            }
            Proxy::Meco => "own forward (one image)",
            Proxy::Zico => "own: forward + loss backward on each of two half-batches",
            Proxy::Swap => "own: 32 forwards (re-initialised) on 16 images",
        }
    }

    /// One-line description with the source.
    pub fn describe(self) -> &'static str {
        match self {
            Proxy::Wrcor => "log|det Σ 2^l (|C_act|+|C_grad|)| over ReLU sites (Jing et al. 2025)",
            Proxy::Rcor => "unweighted WRCor: log|det Σ (|C_act|+|C_grad|)|",
            Proxy::Acor => "activation-only response correlation log|det Σ |C_act||",
            Proxy::Gcor => "gradient-only response correlation log|det Σ |C_grad||",
            Proxy::WrcorOfficial => "WRCor as the reference code computes it (wrapper duplicates, conv-output grads)",
            Proxy::Naswot => "NASWOT log|det K_H| over binary ReLU codes (Mellor et al. 2021), reference site set",
            Proxy::NaswotPaper => "NASWOT over genuine ReLUs only (no wrapper duplicates)",
            Proxy::JacobCov => "JacobCor: −Σ ln(λ+k)+1/(λ+k) of corr(∂Σlogits/∂x) (Mellor et al. 2021 v1)",
            Proxy::Synflow => "SynFlow Σ|θ⊙∂R/∂θ| with |θ|, no BN, f64, ones input (Tanaka et al. 2020)",
            Proxy::LogSynflow => "natural log of synflow",
            Proxy::GradNorm => "Σ per-layer ‖∂L/∂W‖₂ (Abdelfattah et al. 2021)",
            Proxy::Snip => "SNIP Σ|W⊙∂L/∂W| (Lee et al. 2019)",
            Proxy::Grasp => "GraSP Σ −W⊙Hg (Wang et al. 2020)",
            Proxy::Fisher => "Fisher Σ ½ mean_n(Σ a·∂L/∂a)² per channel (Turner et al. 2020)",
            Proxy::Plain => "Σ W⊙∂L/∂W (signed)",
            Proxy::L2Norm => "Σ per-layer ‖W‖₂ (no data)",
            Proxy::Zen => "Zen-score: ln‖f(ε)−f(ε+0.01ε')‖₁ + Σ ln √mean(BN var) (Lin et al. 2021)",
            Proxy::ZenNas => "Zen-score under Zen-NAS's protocol: N(0,1) weights, batch-mean L1 (Lin et al. 2021)",
            Proxy::Params => "trainable parameters",
            Proxy::Flops => "multiply-accumulates of one forward pass of one image",
            Proxy::ParamsLive => "trainable parameters of modules on an input→output path (nb201: canonical cell)",
            Proxy::FlopsLive => "multiply-accumulates of modules on an input→output path (nb201: canonical cell)",
            Proxy::FlopsReference => {
                "mbv2 only: FLOPs as the reference counter computes them (BN, SE scaling, stride quirk)"
            }
            Proxy::AzExpressivity => {
                "AZ-NAS expressivity: Σ entropy of the block features' covariance spectra (Lee & Ham, CVPR 2024)"
            }
            Proxy::AzProgressivity => {
                "AZ-NAS progressivity: min increase of that entropy from block to block (Lee & Ham 2024)"
            }
            Proxy::AzTrainability => {
                "AZ-NAS trainability: mean −σ−1/σ+2 of each block's Jacobian probed with ±1 noise (Lee & Ham 2024)"
            }
            Proxy::AzComplexity => {
                "AZ-NAS complexity: FLOPs (millions) of one image, as xautodl counts them (Lee & Ham 2024)"
            }
            Proxy::Meco => {
                "MeCo: Σ min eigenvalue of each module output's channel correlation (Jiang et al., NeurIPS 2023)"
            }
            Proxy::Zico => "ZiCo: Σ ln Σ mean|g|/std(g) of weight gradients over two batches (Li et al., ICLR 2023)",
            Proxy::Swap => "SWAP: distinct sample-wise ReLU activation patterns (Peng et al., ICLR 2024)",
        }
    }

    /// Parses a proxy name. Errors list the valid names. Accepts the reference code's
    /// aliases (`jacov`, `jacob_cor`, `nwot`, `act_hamming`, `act_grad_cor_weighted`,
    /// `zen_score`).
    pub fn from_name(s: &str) -> Result<Proxy> {
        let alias = match s {
            "jacov" | "jacob_cor" => "jacob_cov",
            "nwot" | "act_hamming" => "naswot",
            "act_grad_cor_weighted" => "wrcor_official",
            "zen_score" => "zen",
            x => x,
        };
        if let Some((name, w)) = s.split_once('*') {
            bail!("'{s}': a weight (*{w}) applies only to a member of an aggregate, e.g. logrank:jacob_cov,{name}*{w}");
        }
        Proxy::ALL.iter().copied().find(|p| p.name() == alias).ok_or_else(|| {
            let names: Vec<&str> = Proxy::ALL.iter().map(|p| p.name()).collect();
            anyhow::anyhow!("unknown proxy '{s}' (known: {})", names.join(", "))
        })
    }

    /// Relative difference up to which two scores of this proxy for one architecture and
    /// setup are the same score. libtorch's reductions (weight gradients, sums, norms, f32
    /// correlation of MeCo) split their work by thread, so the proxies built on them move
    /// in their last digits with `--threads`; the WRCor family, NASWOT, jacob_cov and the
    /// counts are bit-identical whatever the thread count (their correlations are computed
    /// one matrix per thread, [`crate::proxy::corr`]). Which proxies move depends on the
    /// CPU: largest differences between `--threads 1` and `2` over 9 NAS-Bench-201 cells at
    /// batch 16 on an Intel Xeon with AVX-512: zico 1.1e-3, grasp 7.1e-5, plain 5.7e-5,
    /// az_progressivity 2.8e-5 (values near 0), meco 1.3e-6, az_trainability 3.2e-7,
    /// az_expressivity 7.8e-8, snip 5.5e-8, grad_norm 4.5e-8, zen 2.6e-8, zen_nas 2.0e-9,
    /// synflow 2.0e-16; on an AMD EPYC without AVX-512 only the weight-gradient proxies
    /// moved (zico 1.1e-4 ... synflow 1.3e-16). The tolerances leave a margin of 10–100×
    /// (`tests/cli_errors.rs` checks every proxy). A degenerate cell can still fall on
    /// either side of −inf (seen once: az_expressivity of index 13337).
    /// The thread-invariant proxies get 1e-9 (the tolerance of any two equal scores). All
    /// of this is measured on NAS-Bench-201; outside it are two corner cases of libtorch's
    /// kernels there (batch size 3, 4×4 images) and the other spaces, whose convolutions
    /// make every proxy thread-dependent (README, "On NAS-Bench-201, scores do not depend
    /// on `--threads`").
    pub fn thread_rtol(self) -> f64 {
        self.thread_dependence().unwrap_or(1e-9)
    }

    /// Whether the proxy's scores are bit-identical whatever `--threads` is (on every CPU
    /// measured; see [`Proxy::thread_rtol`]).
    pub fn thread_invariant(self) -> bool {
        self.thread_dependence().is_none()
    }

    fn thread_dependence(self) -> Option<f64> {
        match self {
            Proxy::Zico | Proxy::Grasp | Proxy::Plain | Proxy::AzProgressivity => Some(1e-2),
            Proxy::Meco | Proxy::AzTrainability | Proxy::AzExpressivity => Some(1e-4),
            Proxy::Zen | Proxy::ZenNas | Proxy::Snip | Proxy::GradNorm => Some(1e-5),
            Proxy::Synflow | Proxy::LogSynflow => Some(1e-12),
            _ => None,
        }
    }

    /// The smallest batch on which the proxy means anything: 3 for the proxies built on
    /// N×N matrices across the batch's samples (the WRCor family, NASWOT, jacob_cov), whose
    /// matrices over 1–2 samples are degenerate; 2 for `zico`, which splits the batch into
    /// two halves of at least one sample each (its default protocol); 1 for the others.
    pub fn min_batch(self) -> usize {
        match self {
            Proxy::Zico => 2,
            Proxy::Wrcor
            | Proxy::Rcor
            | Proxy::Acor
            | Proxy::Gcor
            | Proxy::WrcorOfficial
            | Proxy::Naswot
            | Proxy::NaswotPaper
            | Proxy::JacobCov => 3,
            _ => 1,
        }
    }

    fn needs(self) -> Needs {
        let mut n = Needs::default();
        match self {
            Proxy::Wrcor | Proxy::Rcor | Proxy::Gcor => {
                n.relu_inputs = true;
                n.relu_grads = true;
            }
            Proxy::Acor | Proxy::Naswot | Proxy::NaswotPaper => n.relu_inputs = true,
            Proxy::WrcorOfficial => {
                n.relu_inputs = true;
                n.relu_grads = true;
                n.wrapper_grads = true;
            }
            Proxy::JacobCov => n.input_grad = true,
            Proxy::GradNorm | Proxy::Snip | Proxy::Plain => n.weight_grads = true,
            Proxy::Fisher => n.layer_grads = true,
            Proxy::Synflow
            | Proxy::LogSynflow
            | Proxy::Grasp
            | Proxy::L2Norm
            | Proxy::Zen
            | Proxy::ZenNas
            | Proxy::Params
            | Proxy::Flops
            | Proxy::ParamsLive
            | Proxy::FlopsLive
            | Proxy::FlopsReference
            | Proxy::AzExpressivity
            | Proxy::AzProgressivity
            | Proxy::AzTrainability
            | Proxy::AzComplexity
            | Proxy::Meco
            | Proxy::Zico
            | Proxy::Swap => {}
        }
        n
    }
}

/// A score's key in a ranking where `higher` tells the direction and no non-finite value
/// wins in either direction: `None` for a missing or NaN score (below everything), −inf for
/// ±inf (the worst number: a degenerate network's −inf must not win a lower-is-better
/// ranking by flipping to +inf), else the value, negated when lower is better. Votes,
/// single-score fitnesses and REINFORCE's rewards order scores by it.
pub fn rank_key(score: Option<f64>, higher: bool) -> Option<f64> {
    match score {
        Some(x) if x.is_finite() => Some(if higher { x } else { -x }),
        Some(x) if x.is_infinite() => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// The members of a vote or aggregate `combination` (its full text, for messages) from
/// its comma-separated `list` (the text after `vote:`, `logrank:`, ...), trimmed.
///
/// Errors: an empty member (`vote:,a`, `vote:a,,b`), naming the combination and the
/// member's 1-based position.
pub fn member_list<'a>(combination: &str, list: &'a str) -> Result<Vec<&'a str>> {
    let members: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Some(i) = members.iter().position(|m| m.is_empty()) {
        bail!("'{combination}': member {} is empty (two commas in a row, or a comma at an end)", i + 1);
    }
    Ok(members)
}

/// Errors when a batch of `n` samples is too small for one of `proxies`
/// ([`Proxy::min_batch`]), naming the first such proxy and `--batch-size`.
pub fn check_batch_size(proxies: &[Proxy], n: usize) -> Result<()> {
    if let Some(p) = proxies.iter().find(|p| n < p.min_batch()) {
        if *p == Proxy::Zico {
            anyhow::bail!(
                "--batch-size {n}: zico splits the batch into two halves of at least 1 sample each and needs at least {}",
                p.min_batch()
            );
        }
        anyhow::bail!(
            "--batch-size {n}: {} compares the batch's samples with each other and needs at least {} (matrices over {n} sample(s) are degenerate)",
            p.name(),
            p.min_batch()
        );
    }
    Ok(())
}

/// Options of a scoring call. The defaults are each proxy's official protocol.
#[derive(Clone, Debug, Default)]
pub struct ProxyOptions {
    /// Seed of libtorch's generator for Zen's noise (the reference seeds 0).
    pub zen_seed: i64,
    /// AZ-NAS (expressivity, progressivity, trainability).
    pub az: az_nas::AzOptions,
    /// MeCo.
    pub meco: meco::MecoOptions,
    /// ZiCo.
    pub zico: zico::ZicoOptions,
    /// SWAP.
    pub swap: swap::SwapOptions,
}

/// Scores and the seconds spent on each, keyed by proxy name. Proxies computed in the
/// shared pass are each charged the pass time plus their own post-processing; `total`
/// holds the wall time of the whole call.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// Proxy name → score.
    pub values: BTreeMap<String, f64>,
    /// Proxy name → seconds.
    pub seconds: BTreeMap<String, f64>,
    /// Wall time of the whole call, seconds.
    pub total: f64,
}

/// Computes `proxies` for `model` on `batch`, sharing passes. See the module docs.
pub fn compute(model: &Model, batch: &Batch, proxies: &[Proxy], opts: &ProxyOptions) -> Result<Scores> {
    if proxies.is_empty() {
        bail!("no proxy requested");
    }
    let t_all = Instant::now();
    let mut out = Scores::default();
    let s = batch.images.size();
    let hw = (s[2], s[3]);
    // Zen reads BN running statistics, which every training-mode forward updates: it runs
    // first, on a copy of the model as given.
    if proxies.contains(&Proxy::Zen) {
        let t = Instant::now();
        out.values.insert("zen".into(), zen::score(model, &batch.images, opts.zen_seed)?);
        out.seconds.insert("zen".into(), t.elapsed().as_secs_f64());
    }
    if proxies.contains(&Proxy::ZenNas) {
        let t = Instant::now();
        out.values.insert("zen_nas".into(), zen::score_zen_nas(model, &batch.images, opts.zen_seed)?);
        out.seconds.insert("zen_nas".into(), t.elapsed().as_secs_f64());
    }
    // The shared pass, once per memory layout: proxies whose pass would run channels-last
    // alone (`pass::channels_last`) share one, the others another, so a proxy's value never
    // depends on which other proxies are requested with it.
    let (cl, cf): (Vec<Proxy>, Vec<Proxy>) =
        proxies.iter().filter(|p| !p.needs().is_empty()).partition(|p| pass::channels_last(model, batch, p.needs()));
    for members in [cl, cf] {
        if members.is_empty() {
            continue;
        }
        let needs = members.iter().fold(Needs::default(), |a, p| a.union(p.needs()));
        let t0 = Instant::now();
        let r = pass::run(model, batch, needs);
        let t_pass = t0.elapsed().as_secs_f64();
        let mut cache = wrcor::CorrCache::default();
        let ws = if needs.weight_grads { model.weights() } else { Vec::new() };
        for &p in &members {
            let t = Instant::now();
            let v = tch::no_grad(|| match p {
                Proxy::Wrcor => wrcor::score(&r, wrcor::Variant::Wrcor, &mut cache),
                Proxy::Rcor => wrcor::score(&r, wrcor::Variant::Rcor, &mut cache),
                Proxy::Acor => wrcor::score(&r, wrcor::Variant::Acor, &mut cache),
                Proxy::Gcor => wrcor::score(&r, wrcor::Variant::Gcor, &mut cache),
                Proxy::WrcorOfficial => wrcor::score(&r, wrcor::Variant::WrcorOfficial, &mut cache),
                Proxy::Naswot => naswot::score(&r, true),
                Proxy::NaswotPaper => naswot::score(&r, false),
                Proxy::JacobCov => jacob_cov::score(r.input_grad.as_ref()),
                Proxy::GradNorm => saliency::grad_norm(&ws, &r.weight_grads),
                Proxy::Snip => saliency::snip(&ws, &r.weight_grads),
                Proxy::Plain => saliency::plain(&ws, &r.weight_grads),
                Proxy::Fisher => fisher::score(&r),
                Proxy::Synflow
                | Proxy::LogSynflow
                | Proxy::Grasp
                | Proxy::L2Norm
                | Proxy::Zen
                | Proxy::ZenNas
                | Proxy::Params
                | Proxy::Flops
                | Proxy::ParamsLive
                | Proxy::FlopsLive
                | Proxy::FlopsReference
                | Proxy::AzExpressivity
                | Proxy::AzProgressivity
                | Proxy::AzTrainability
                | Proxy::AzComplexity
                | Proxy::Meco
                | Proxy::Zico
                | Proxy::Swap => unreachable!("proxies with empty needs are skipped above"),
            });
            out.values.insert(p.name().into(), v);
            out.seconds.insert(p.name().into(), t_pass + t.elapsed().as_secs_f64());
        }
    }
    let mut synflow_val: Option<((f64, f64), f64)> = None;
    let mut az_val: Option<(az_nas::AzScores, f64)> = None;
    for &p in proxies {
        if !p.needs().is_empty() {
            continue;
        }
        let t = Instant::now();
        let v = match p {
            Proxy::Synflow | Proxy::LogSynflow => {
                let (sf, secs) = match synflow_val {
                    Some(v) => v,
                    None => {
                        let sf = synflow::scores(model, hw)?;
                        let v = (sf, t.elapsed().as_secs_f64());
                        synflow_val = Some(v);
                        v
                    }
                };
                out.seconds.insert(p.name().into(), secs);
                let v = if p == Proxy::Synflow { sf.0 } else { sf.1 };
                out.values.insert(p.name().into(), v);
                continue;
            }
            Proxy::AzExpressivity | Proxy::AzProgressivity | Proxy::AzTrainability => {
                if az_val.is_none() {
                    let s = az_nas::scores(model, batch, &opts.az)?;
                    az_val = Some((s, t.elapsed().as_secs_f64()));
                }
                let (s, secs) = az_val.as_ref().unwrap();
                out.seconds.insert(p.name().into(), *secs);
                let v = match p {
                    Proxy::AzExpressivity => s.expressivity,
                    Proxy::AzProgressivity => s.progressivity,
                    _ => s.trainability,
                };
                out.values.insert(p.name().into(), v);
                continue;
            }
            Proxy::AzComplexity => az_nas::complexity(model, hw),
            Proxy::Meco => meco::score(model, batch, &opts.meco)?,
            Proxy::Zico => zico::score(model, batch, &opts.zico)?,
            Proxy::Swap => swap::score(model, batch, &opts.swap)?,
            Proxy::Grasp => grasp::score(model, batch),
            Proxy::Zen | Proxy::ZenNas => continue,
            Proxy::L2Norm => saliency::l2_norm(&model.weights()),
            Proxy::Params => counts::params(model),
            Proxy::Flops => counts::flops(model, hw),
            Proxy::ParamsLive => counts::params(counts::live_model(model)?.as_ref().unwrap_or(model)),
            Proxy::FlopsLive => counts::flops(counts::live_model(model)?.as_ref().unwrap_or(model), hw),
            Proxy::FlopsReference => match &model.arch {
                Some(AnyArch::Mbv2(a)) => a.flops_reference(model.num_classes.max(0) as usize),
                _ => bail!("proxy 'flops_reference' is only defined for the mbv2 space (--space mbv2)"),
            },
            Proxy::Wrcor
            | Proxy::Rcor
            | Proxy::Acor
            | Proxy::Gcor
            | Proxy::WrcorOfficial
            | Proxy::Naswot
            | Proxy::NaswotPaper
            | Proxy::JacobCov
            | Proxy::GradNorm
            | Proxy::Snip
            | Proxy::Plain
            | Proxy::Fisher => unreachable!("response proxies are handled above"),
        };
        out.values.insert(p.name().into(), v);
        out.seconds.insert(p.name().into(), t.elapsed().as_secs_f64());
    }
    out.total = t_all.elapsed().as_secs_f64();
    Ok(out)
}
