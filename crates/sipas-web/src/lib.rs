//! sipas's web layer: routes and thin handlers ([`web`]), the staff's authentication as an
//! extractor and a scope middleware ([`auth`]), the one web error type ([`error::AppError`],
//! whose pages and statuses live only here) and the application that binds the listener
//! ([`startup`]).

// The lower layers under the names the handlers use (`crate::db::units::Unit`, ...).
use sipas_app::{
    background, config, db, desk_directory, domain, forms, periods, report_document, reports,
    spool, staff, survey,
};
use sipas_core::{plans, selection};
use {sipas_app as app, sipas_export as export, sipas_views as views};

pub mod auth;
pub mod error;
pub mod startup;
pub mod web;
