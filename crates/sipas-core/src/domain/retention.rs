//! How long the service keeps each kind of personal or linkable data (issue 15): the settings,
//! their defaults and their allowed ranges. The purge that applies them is `db::retention`.

use serde::Serialize;

/// How many days each kind of data is kept (the `SIPAS_*_KEEP_DAYS` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// `SIPAS_COMMENTS_KEEP_DAYS`: open answers, from the response's submission.
    pub comments_days: u32,
    /// `SIPAS_CLIENT_KEYS_KEEP_DAYS`: responses' client keys and the sign-in throttle's rows.
    pub client_keys_days: u32,
    /// `SIPAS_LIMITS_KEEP_DAYS`: submission-limit buckets, from their last use.
    pub limits_days: u32,
    /// `SIPAS_FLAG_EVIDENCE_KEEP_DAYS`: the details behind fraud flags and the form's start time.
    pub flag_evidence_days: u32,
    /// `SIPAS_DOSSIER_KEEP_DAYS`: dossier numbers of one-time codes, from minting.
    pub dossier_days: u32,
    /// `SIPAS_EXPORT_KEEP_DAYS`: exported files, from the export's end.
    pub exports_days: u32,
}

/// The defaults (their reasons are in docs/privacy.md, "Retention").
pub const DEFAULTS: Rules = Rules {
    comments_days: 730,
    client_keys_days: 30,
    limits_days: 2,
    flag_evidence_days: 400,
    dossier_days: 7,
    exports_days: 7,
};

// The annual report needs a whole year of comments, whatever day of the year they came.
const _: () = assert!(DEFAULTS.comments_days >= 366);

/// The allowed range (inclusive) of each setting.
pub struct Ranges {
    pub comments_days: (u32, u32),
    pub client_keys_days: (u32, u32),
    pub limits_days: (u32, u32),
    pub flag_evidence_days: (u32, u32),
    pub dossier_days: (u32, u32),
}

/// Comments: from a month (an installation that reports monthly) to ten years. Client keys: the
/// fraud detection needs them for an hour. Limit buckets: a bucket untouched for a day (the
/// longest limit period) is full again, and the citizen's path forgets buckets after two days
/// anyway (`db::visits::prune_limits`). Evidence: at least a month for the review. Dossier
/// numbers: at most three months (slips are printed the day they are minted).
pub const RANGES: Ranges = Ranges {
    comments_days: (30, 3650),
    client_keys_days: (1, 400),
    limits_days: (1, 2),
    flag_evidence_days: (30, 3650),
    dossier_days: (1, 90),
};
