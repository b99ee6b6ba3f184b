//! The `zsnas` command line: parses flags and hands each command to `app::<cmd>::run`.

use clap::{CommandFactory, Parser, Subcommand};
use zsnas::app;
use zsnas::report::progress::stdout_line;

#[derive(Parser)]
#[command(name = "zsnas", version, about = "Zero-shot NAS with training-free proxies (WRCor and friends) on libtorch")]
struct Cli {
    /// libtorch intra-op threads, 1 to 1024 (default: all cores).
    #[arg(long, global = true, allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(1..=1024))]
    threads: Option<i32>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Score architectures with proxies; one JSON line per architecture (or a CSV table).
    Score(app::score::ScoreArgs),
    /// Rank correlation (Spearman, Kendall), Pearson, precision@k with bootstrap
    /// intervals of proxy scores against benchmark accuracy; per-architecture table; plots.
    Correlate(app::correlate::CorrelateArgs),
    /// List the proxies, votes and aggregates: direction, passes, cost, source.
    Proxies,
    /// Dump the embedded NAS-Bench-201 table (index, arch_str, canonical cell, accuracies
    /// in %) as CSV or JSON lines.
    Table(app::table::TableArgs),
    /// Median seconds per architecture of each proxy (and the set) on NAS-Bench-201, with
    /// the ratio to a bare forward + backward of the same network timed in alternation.
    Bench(app::bench::BenchArgs),
    /// Score a seeded sample of NAS-Bench-201 architectures with one proxy on real images
    /// (the embedded CIFAR-10 ones, or --data/--dataset), print the top 10 and the
    /// Spearman ρ against accuracy.
    Demo(app::demo::DemoArgs),
    /// Architecture search (random, evolution, REINFORCE) with a proxy, vote or aggregate as fitness.
    Search(app::search::SearchArgs),
    /// One figure from the --history files of searches: best-so-far test accuracy (mean
    /// ± std over runs) per strategy and fitness.
    Plot(app::plot::PlotArgs),
    /// Write an architecture as JSON plus initialised weights (safetensors or TorchScript)
    /// to train elsewhere.
    Export(app::export::ExportArgs),
    /// Train an architecture (NAS-Bench-201's or the WRCor paper's ImageNet recipe);
    /// resumable, with per-epoch test accuracy, learning curves and exported weights.
    Train(app::train::TrainArgs),
}

fn main() {
    // A closed stdout (`zsnas score | head -1`) ends the program quietly, as for other
    // Unix tools (killed by SIGPIPE, status 141 in the shell), instead of a panic in
    // println!. Rust ignores SIGPIPE by default.
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if threads_given_twice(std::env::args_os()) {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "'--threads' given more than once (one global flag, before or after the command name); give it once",
            )
            .exit();
    }
    let cli = Cli::parse();
    if let Some(t) = cli.threads {
        tch::set_num_threads(t);
    }
    let r = match cli.cmd {
        Cmd::Score(a) => app::score::run(a),
        Cmd::Correlate(a) => app::correlate::run(a),
        Cmd::Proxies => app::proxies::run(),
        Cmd::Table(a) => app::table::run(a),
        Cmd::Bench(a) => app::bench::run(a),
        Cmd::Demo(a) => app::demo::run(a),
        Cmd::Search(a) => app::search::run(a),
        Cmd::Plot(a) => app::plot::run(a),
        Cmd::Export(a) => app::export::run(&a)
            .and_then(|(j, w)| stdout_line(&format!("wrote {} and {}", j.display(), w.display())).map_err(Into::into)),
        Cmd::Train(a) => app::train::run(a).map(|_| ()),
    };
    if let Err(e) = r {
        // Not eprintln!, which panics (exit 101) when stderr cannot be written either.
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
        std::process::exit(1);
    }
}

/// Whether `--threads` occurs more than once before a `--`. The flag is global, so clap
/// takes it before or after the command name, and a second one after the name silently
/// won over the first (two at one level clap refuses itself).
fn threads_given_twice(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    args.skip(1)
        .take_while(|a| a != "--")
        .filter(|a| {
            let a = a.to_string_lossy();
            a == "--threads" || a.starts_with("--threads=")
        })
        .count()
        > 1
}
