//! Pages of the staff area: paper.
