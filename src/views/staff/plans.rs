//! Pages of the staff area: plans.
