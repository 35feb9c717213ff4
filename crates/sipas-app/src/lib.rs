//! sipas's use cases (issue 16): each one function taking a connection, the acting account and
//! domain types, doing its transaction and its audit entry; and the services the web and the
//! command line share (the citizen's store and its spool, the desk directory, reports, the
//! printable report's data, the loops beside the server). Nothing here knows HTTP or HTML: the
//! crate depends on no web framework or HTML templates, and its errors are plain values
//! ([`Error`]).

// The lower layers under the names the code uses (`crate::db::units::Unit`, ...).
pub use sipas_core::{config, disclosure, domain, forms, periods, privacy, small_cells, stats};
pub use sipas_db as db;

pub mod accounts;
pub mod alerts;
pub mod background;
pub mod codes;
pub mod comments;
pub mod desk_directory;
pub mod desks;
mod error;
pub mod export_files;
pub mod exports;
pub mod flags;
pub mod kiosks;
pub mod metrics;
pub mod password;
pub mod plans;
pub mod publish;
pub mod reorganisations;
pub mod report_document;
pub mod reports;
pub mod residence;
pub mod retention;
pub mod selection;
pub mod signed_in;
pub mod spool;
pub mod staff;
pub mod survey;
pub mod tokens;
pub mod unit_import;
pub mod units;

pub use error::Error;
