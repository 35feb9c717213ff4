//! The sheets of one-time code slips printed for a desk.

/// Slips per sheet: 3 columns, 7 rows.
pub const COLUMNS: usize = 3;
pub const ROWS: usize = 7;
pub const PER_SHEET: usize = COLUMNS * ROWS;
