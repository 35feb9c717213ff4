//! sipas: citizens' satisfaction with the public administration (SIPAS), from the QR code at a
//! reception desk to a stored response, and on to statistics and reports.

pub mod app;
pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod desk_directory;
pub mod disclosure;
pub mod domain;
pub mod error;
pub mod export;
pub mod forms;
pub mod periods;
pub mod plans;
pub mod privacy;
pub mod report_document;
pub mod reports;
pub mod small_cells;
pub mod spool;
pub mod staff;
pub mod startup;
pub mod stats;
pub mod survey;
pub mod views;
pub mod web;
