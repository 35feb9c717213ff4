//! Pages of the staff area: desks.
