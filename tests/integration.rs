//! The integration tests that need only the server, its command line and PostgreSQL, as one
//! test binary (one link instead of one per file; each file is a module). The browser tests,
//! the outage and multi-instance tests, the embedded server's and the property tests keep a
//! binary of their own.

mod common;

mod alerts;
mod api;
mod backup;
mod cli;
mod exports;
mod form_versions;
mod fraud_flags;
mod kiosks;
mod lineage;
mod metrics;
mod migrations;
mod partitions;
mod privacy;
mod privacy_notice;
mod public_results;
mod ranking;
mod raw_data;
mod release;
mod reorganisations;
mod report;
mod report_files;
mod residence;
mod respondent_filters;
mod retention;
mod security_headers;
mod small_cells;
mod staff_accounts;
mod staff_auth;
mod staff_comments;
mod staff_exports;
mod staff_home;
mod staff_matrix;
mod staff_paper;
mod staff_plans;
mod staff_stats;
mod staff_units_desks;
mod stats_data;
mod survey;
mod survey_limits;
mod unit_import;
mod upgrade;
mod visit_codes;

/// Every file of `tests/` runs: Cargo.toml sets `autotests = false`, so a test file is run only
/// when it is a module here or a `[[test]]` target of its own; one forgotten would pass unseen.
#[test]
fn every_test_file_is_a_module_here_or_a_target_of_its_own() {
    let root = common::manifest_dir();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let here = std::fs::read_to_string(root.join("tests/integration.rs")).unwrap();
    let mut unrun = Vec::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let module = here.lines().any(|l| l == format!("mod {name};"));
        let target = manifest.contains(&format!("path = \"tests/{name}.rs\""));
        if !module && !target {
            unrun.push(name);
        }
    }
    assert!(unrun.is_empty(), "test files that never run: {unrun:?}");
}
