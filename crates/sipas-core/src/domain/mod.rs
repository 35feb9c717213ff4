//! The domain types and rules: who may do what, Vietnam's calendar, the channels, the unit
//! tree, Vietnamese formatting, limits and keeping rules.

pub mod access;
pub mod alerts;
pub mod channel;
pub mod export_format;
pub mod fields;
pub mod flags;
pub mod format;
pub mod instance;
pub mod limits;
pub mod opening_hours;
pub mod reorganisation;
pub mod retention;
pub mod slips;
pub mod time;
pub mod tree;
