//! Limits on submissions, as the configuration states them and the database enforces them
//! (`db::visits`).

/// A limit on submissions: at most `burst` at once, refilled continuously at `burst` per
/// `per` (a token bucket: "4 per minute" allows 4 in a row, then one every 15 seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per: std::time::Duration,
}

impl Rate {
    /// Submissions regained per second.
    pub fn refill_per_second(&self) -> f64 {
        f64::from(self.burst) / self.per.as_secs_f64()
    }
}

/// The longest a citizen's store may take before the response is spooled instead (a database
/// behind a black-holed network never answers; the pool's own timeouts cover the rest).
pub const STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
