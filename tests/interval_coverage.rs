//! The fast version of the coverage study (`sipas::stats::coverage`, full run:
//! `cargo bench --bench intervals`): a few hundred replications at n = 30 and 100, and every
//! published interval must contain its true value 92–98% of the time. With 300 replications the
//! Monte-Carlo standard error of a pooled coverage is at most about 0.7 point (one unit index
//! per unit and replication, 900 in all), so the band is more than four standard errors wide
//! on each side of 95%; an interval half as wide as it should be covers about 70% and fails.

use sipas::stats::coverage::{self, Kind, Study};

#[test]
fn published_intervals_cover_their_true_values() {
    let rows = coverage::run(&Study {
        sizes: vec![30, 100],
        replications: 300,
        seed: 20_261_205,
    });
    let table = coverage::table(&rows);
    println!("{table}");
    for kind in Kind::ALL.into_iter().filter(|k| !k.previous()) {
        for n in [30, 100] {
            let row = rows
                .iter()
                .find(|r| r.kind == kind && r.n == n)
                .unwrap_or_else(|| panic!("no row for {kind:?} at n = {n}\n{table}"));
            assert!(
                row.intervals >= 300,
                "{kind:?} n = {n}: too few intervals\n{table}"
            );
            assert!(
                (0.92..=0.98).contains(&row.coverage),
                "{} at n = {n}: coverage {:.1}% outside 92–98%\n{table}",
                kind.label(),
                100.0 * row.coverage
            );
        }
    }
}
