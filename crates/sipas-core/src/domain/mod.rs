//! The pure core: domain types and rules, with no actix, maud or diesel (issue 16). Modules move
//! here as they are freed from the layers above.

pub mod access;
pub mod channel;
pub mod format;
pub mod instance;
pub mod limits;
pub mod retention;
pub mod time;
pub mod tree;
