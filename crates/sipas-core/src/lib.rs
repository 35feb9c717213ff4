//! sipas's pure core: the domain types and rules, the survey forms, the statistics, the privacy
//! rules and the configuration. Nothing here knows HTTP, HTML or SQL: the crate depends on
//! no web framework, HTML templates or database crate, so a wrong-way import is a compile error.

pub mod config;
pub mod disclosure;
pub mod domain;
pub mod forms;
pub mod goals;
pub mod lineage;
pub mod periods;
pub mod plans;
pub mod privacy;
pub mod reports;
pub mod residence;
pub mod respondent_filter;
pub mod selection;
pub mod small_cells;
pub mod stats;
