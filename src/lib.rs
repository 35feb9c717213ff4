//! sipas: citizens' satisfaction with the public administration (SIPAS), from the QR code at a
//! reception desk to a stored response, and on to statistics and reports.

// The lower layers under the names the rest of the crate (and the tests) use.
pub use sipas_app as app;
pub use sipas_app::{background, desk_directory, report_document, reports, spool, staff, survey};
pub use sipas_core::{
    config, disclosure, domain, forms, periods, plans, privacy, small_cells, stats,
};
pub use sipas_db as db;
pub use sipas_export as export;
pub use sipas_views as views;
pub use sipas_web::{auth, error, startup, web};

pub mod cli;
pub mod demo;
pub mod doctor;
