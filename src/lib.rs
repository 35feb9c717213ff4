//! sipas: citizens' satisfaction with the public administration (SIPAS), from the QR code at a
//! reception desk to a stored response, and on to statistics and reports.

// The lower layers under the names the rest of the crate (and the tests) use.
pub use sipas_core::{
    config, disclosure, domain, forms, periods, plans, privacy, small_cells, stats,
};
pub use sipas_db as db;

pub mod app;
pub mod auth;
pub mod background;
pub mod cli;
pub mod demo;
pub mod desk_directory;
pub mod error;
pub mod export;
pub mod report_document;
pub mod reports;
pub mod spool;
pub mod staff;
pub mod startup;
pub mod survey;
pub mod views;
pub mod web;
