//! The identity of the database an instance serves.

/// Which database this is: the cluster's `system_identifier` (set by `initdb`, shared by a
/// physical replica with its primary, new for a cluster restored from a dump) and the
/// database's name. Responses spooled by an instance carry it, so that they are replayed into
/// their own database only (`crate::spool`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DatabaseIdentity {
    pub system_identifier: i64,
    pub database: String,
}

impl std::fmt::Display for DatabaseIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.system_identifier, self.database)
    }
}

impl DatabaseIdentity {
    /// A directory name for this database's own files (the default spool directory): the
    /// identifier and the name, with anything but ASCII letters, digits, `-` and `_` replaced.
    pub fn slug(&self) -> String {
        let name: String = self
            .database
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}-{name}", self.system_identifier)
    }
}
