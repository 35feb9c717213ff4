//! Pages of the staff area: accounts.
