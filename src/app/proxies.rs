//! `zsnas proxies`: lists the proxies, votes and aggregates: name, direction, the passes
//! each needs, a typical cost per NAS-Bench-201 architecture on a CPU, and the definition
//! with its source.

use crate::proxy::aggregate;
use crate::proxy::vote::NAMED;
use crate::proxy::Proxy;
use crate::report::progress::stdout_line;
use crate::report::table::{Align, Table};
use anyhow::Result;

/// Typical cost of each proxy computed alone: median seconds per NAS-Bench-201
/// architecture over a seeded sample of 6 cells, batch 64 of real CIFAR-10 images, one
/// CPU thread, on the project's 2-core Intel Xeon VM with AVX-512 (libtorch 2.13.0; two
/// such benches at a time, one per core, nothing else running), measured on 2026-12-06
/// at 8c9b978 with `zsnas --threads 1 bench --data ../shared/data/cifar10/train_4000.bin
/// --proxies P --sample 6 --repeats 1` (`results/speed/issue15_final/`). An orientation,
/// not a promise: other machines differ; run `zsnas bench` there.
const COST_S: [(&str, f64); 30] = [
    ("wrcor", 0.3417),
    ("rcor", 0.3457),
    ("acor", 0.1555),
    ("gcor", 0.2981),
    ("wrcor_official", 0.3928),
    ("naswot", 0.2246),
    ("naswot_paper", 0.2144),
    ("jacob_cov", 0.3606),
    ("synflow", 0.02317),
    ("log_synflow", 0.02275),
    ("grad_norm", 0.4455),
    ("snip", 0.4458),
    ("grasp", 2.209),
    ("fisher", 0.4022),
    ("plain", 0.442),
    ("l2_norm", 0.002253),
    ("zen", 0.3316),
    ("zen_nas", 0.3342),
    ("params", 0.001905),
    ("flops", 0.005605),
    ("params_live", 0.002279),
    ("flops_live", 0.005533),
    ("flops_reference", f64::NAN),
    ("az_expressivity", 0.523),
    ("az_progressivity", 0.52),
    ("az_trainability", 0.5211),
    ("az_complexity", 0.005579),
    ("meco", 0.05579),
    ("zico", 0.43),
    ("swap", 1.935),
];

/// The cost cell of `p`: seconds with 2 significant digits, `—` where not measured
/// (`flops_reference`: mbv2 only).
fn cost(p: Proxy) -> String {
    match COST_S.iter().find(|(n, _)| *n == p.name()).map(|(_, s)| *s) {
        Some(s) if s.is_finite() && s >= 0.1 => format!("{s:.2}"),
        Some(s) if s.is_finite() => format!("{s:.3}"),
        _ => "—".to_string(),
    }
}

/// Prints the table of proxies, then the votes and aggregates. Every score is
/// higher-is-better as zsnas reports it; `-name` reverses one in a vote, aggregate or
/// fitness.
pub fn run() -> Result<()> {
    let mut o = String::new();
    o.push_str(concat!(
        "Every proxy is higher-is-better as zsnas reports it ('-name' reverses one in a vote, aggregate or fitness).",
        "\n"
    ));
    o.push_str(concat!("cost: median s per NAS-Bench-201 architecture computed alone, batch 64, 1 CPU thread, 2-core Intel Xeon VM, December 2026 (`zsnas bench` measures yours).", "\n"));
    o.push('\n');
    let mut t = Table::new(["name", "direction", "pass it needs", "cost (s)", "definition (source)"]);
    t.set_align(3, Align::Right);
    for p in Proxy::ALL {
        t.add_row([p.name().to_string(), "higher".into(), p.pass().into(), cost(p), p.describe().into()]);
    }
    o.push_str(&t.render());
    o.push('\n');
    let mut c = Table::new(["name", "kind", "definition (source)"]);
    for (n, d) in NAMED {
        c.add_row([n, "vote", d]);
    }
    c.add_row([
        "vote:...",
        "vote",
        "a majority vote over any list, e.g. vote:synflow,jacob_cov,wrcor (Copeland ranking of a population)",
    ]);
    for (n, d) in aggregate::NAMED {
        c.add_row([n, "aggregate", d]);
    }
    c.add_row([
        "logrank:...",
        "aggregate",
        "Σ w·ln(rank/m) over the ranked set (AZ-NAS form; rank 1 = worst; member*w weights one, default 1), e.g. logrank:jacob_cov,params_live,zen_nas*0.25",
    ]);
    c.add_row(["meanrank:...", "aggregate", "mean of rank/m over the members, e.g. meanrank:synflow,-params"]);
    c.add_row([
        "...,topP%,...",
        "aggregate",
        "two stages: the best P % by the members before the marker, re-ordered by those after it and put first, e.g. logrank:jacob_cov,params_live,meco,top5%,zen_nas",
    ]);
    o.push_str(&c.render());
    o.push_str(concat!("Votes and aggregates rank a population (the scored set, a search's evaluated set); their members are computed per architecture.", "\n"));
    stdout_line(o.trim_end_matches('\n'))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_proxy_has_a_pass_and_a_cost_entry() {
        for p in Proxy::ALL {
            assert!(!p.pass().is_empty(), "{}", p.name());
            assert!(COST_S.iter().any(|(n, _)| *n == p.name()), "no cost entry for {}", p.name());
            if p != Proxy::FlopsReference {
                assert_ne!(cost(p), "—", "cost of {} not measured", p.name());
            }
        }
        assert_eq!(COST_S.len(), Proxy::ALL.len());
    }
}
