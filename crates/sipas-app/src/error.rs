//! The errors of the use cases: what went wrong, not how a page shows it (the web layer maps
//! each to its status and page, the command line to its message).

/// A use case's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was asked for does not exist, or not within the account's scope.
    #[error("not found")]
    NotFound,
    /// The database is down, unreachable or the pool is exhausted.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything unexpected.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Error::Internal(e.into())
    }

    /// The error for the database's `error`, just returned on `conn`, on the citizen's path
    /// (where an outage must spool or answer 503, never 500): an outage when the session did
    /// not survive it, whatever language the server speaks ([`crate::db::failed_for_outage`]);
    /// otherwise as `From` gives it.
    pub async fn from_db(
        conn: &mut diesel_async::AsyncPgConnection,
        error: diesel::result::Error,
    ) -> Self {
        if crate::db::failed_for_outage(conn, &error).await {
            Error::Unavailable(error.into())
        } else {
            error.into()
        }
    }

    /// `result` of a query just run on `conn`, its error told apart as [`Error::from_db`]
    /// does.
    pub async fn classify<T>(
        conn: &mut diesel_async::AsyncPgConnection,
        result: diesel::QueryResult<T>,
    ) -> Result<T, Self> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(Self::from_db(conn, error).await),
        }
    }
}

/// `result` of a write, with a unique violation (the same name or code stored at the same
/// moment by another request) turned into the use case's `refusal`.
pub(crate) fn refused_if_duplicate<T, R>(
    result: diesel::QueryResult<Result<T, R>>,
    refusal: R,
) -> diesel::QueryResult<Result<T, R>> {
    use diesel::result::{DatabaseErrorKind, Error as E};
    match result {
        Err(E::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(Err(refusal)),
        other => other,
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::Error as E;
        match e {
            E::NotFound => Error::NotFound,
            // A lost or refused connection, a server shutting down, a statement timeout.
            unreachable if crate::db::is_unreachable(&unreachable) => {
                Error::Unavailable(unreachable.into())
            }
            other => Error::Internal(other.into()),
        }
    }
}

impl From<crate::db::PoolError> for Error {
    fn from(e: crate::db::PoolError) -> Self {
        Error::Unavailable(anyhow::anyhow!("{e}"))
    }
}
