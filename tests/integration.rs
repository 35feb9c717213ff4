//! The integration tests that need only the server, its command line and PostgreSQL, as one
//! test binary (one link instead of one per file; each file is a module). The browser tests,
//! the outage and multi-instance tests, the embedded server's and the property tests keep a
//! binary of their own.

mod common;

mod api;
mod cli;
mod exports;
mod form_versions;
mod fraud_flags;
mod kiosks;
mod migrations;
mod privacy;
mod privacy_notice;
mod public_results;
mod raw_data;
mod report;
mod retention;
mod security_headers;
mod small_cells;
mod staff_accounts;
mod staff_auth;
mod staff_comments;
mod staff_exports;
mod staff_matrix;
mod staff_paper;
mod staff_plans;
mod staff_stats;
mod staff_units_desks;
mod stats_data;
mod survey;
mod survey_limits;
mod visit_codes;
