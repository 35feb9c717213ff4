//! Pages of the staff area: audit.
