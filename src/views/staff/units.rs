//! Pages of the staff area: units.
