//! `zsnas proxies`: lists the proxies and votes with their sources.

use crate::proxy::aggregate;
use crate::proxy::vote::NAMED;
use crate::proxy::Proxy;
use anyhow::Result;

/// Prints one line per proxy (name, description with source), then the votes.
pub fn run() -> Result<()> {
    for p in Proxy::ALL {
        println!("{:16} {}", p.name(), p.describe());
    }
    for (n, d) in NAMED {
        println!("{:16} vote: {}", n, d);
    }
    println!(
        "{:16} a vote over any list, e.g. vote:synflow,jacob_cov,wrcor (prefix '-' = lower is better)",
        "vote:..."
    );
    for (n, d) in aggregate::NAMED {
        println!("{:16} aggregate: {}", n, d);
    }
    println!(
        "{:16} rank aggregate Σ ln(rank/m) over the ranked set (AZ-NAS form), e.g. logrank:jacob_cov,params_live",
        "logrank:..."
    );
    println!("{:16} mean of rank/m over the members, e.g. meanrank:synflow,-params", "meanrank:...");
    Ok(())
}
