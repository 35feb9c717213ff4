//! The use cases (issue 16): each one function taking a connection, the acting account and
//! domain types, doing its transaction and its audit entry. Handlers and CLI commands call
//! these; nothing here knows HTTP or HTML. Use cases move here from the handlers one area at a
//! time (several still live beside their queries as `db::*::*_audited`).

pub mod accounts;
pub mod codes;
pub mod plans;
