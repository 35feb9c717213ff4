//! The coverage study of the published 95% intervals (`sipas::stats::coverage`): synthetic
//! units with known true values, analysed by the service's own interval functions, many
//! replications. Prints the true values and a Markdown table of coverage (± Monte-Carlo
//! standard error), the lowest unit or pair, and the mean width per interval and sample size.
//!
//! ```text
//! cargo bench --bench intervals
//! SIPAS_COVERAGE_REPS=500 cargo bench --bench intervals     # a quick look
//! ```
//!
//! Single-threaded and deterministic: the same seed (`SIPAS_COVERAGE_SEED`, default
//! 20261205) gives the same table. The table in `docs/methodology.md` is this bench's output.

use std::time::Instant;

use sipas::stats::coverage::{self, Study};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid number")),
        Err(_) => default,
    }
}

fn main() {
    let study = Study {
        sizes: vec![10, 30, 100, 300, 1000, 2000],
        replications: env_or("SIPAS_COVERAGE_REPS", 4000),
        seed: env_or("SIPAS_COVERAGE_SEED", 20_261_205),
    };
    println!(
        "coverage study: {} replications per size, seed {}, sizes {:?}",
        study.replications, study.seed, study.sizes
    );
    print!("{}", coverage::truths());
    let started = Instant::now();
    let rows = coverage::run(&study);
    println!();
    print!("{}", coverage::table(&rows));
    println!("\n({:.1} s)", started.elapsed().as_secs_f64());
}
