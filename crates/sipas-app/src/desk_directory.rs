//! The desks behind the public codes, as this instance knows them.
//!
//! Every page of the citizen's path needs the desk its code names (`/s/{code}`, `/k/{code}`:
//! the form to show, the unit to store the answers under). Looking it up in PostgreSQL for the
//! page and again for the submission was a quarter of the database's work per citizen
//! (`cargo bench --bench load`), for facts that change a few times a year. So each instance
//! remembers the desks it looked up, and trusts what it remembers only while it is sure to hear
//! of every change:
//!
//! * a trigger on `desks`, `desk_codes` and `units` (migration 9) notifies the channel
//!   `sipas_desks` when a change commits, whichever instance or tool made it;
//! * [`DeskListener`] listens on a connection of its own; each notification moves the
//!   directory to a new *generation*, and only desks remembered in the current generation are
//!   trusted. While the listener is not connected (at start, after losing the connection)
//!   nothing is trusted and every page looks its desk up, as it did before;
//! * a staff change on this instance moves the generation at once, before its answer is sent
//!   (the staff scope's middleware), so the next page already sees it;
//! * a lookup that was under way when the generation moved is remembered in the old one, so
//!   it is not trusted either.
//!
//! Nothing remembered is trusted for longer than [`TRUST_FOR`], so a listener connection that
//! died without a word (a network cut) costs at most that much staleness.
//!
//! The same memory is the snapshot that keeps citizens' forms working while the database is
//! unreachable (`crate::spool`): then a desk is taken as last seen, whatever its generation.
//! The snapshot of every active code is reloaded when the listener (re)connects and every
//! [`SNAPSHOT_INTERVAL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::StreamExt;

use crate::Error;
use crate::background::Background;
use crate::db::Pool;
use crate::db::desks::{Desk, DeskContext};
use crate::spool::Spool;

/// The channel the triggers of migration 9 notify.
pub const CHANNEL: &str = "sipas_desks";
/// The `application_name` of the listening session.
pub const APPLICATION_NAME: &str = "sipas desk listener";
/// The longest a remembered desk is trusted without being looked up again.
pub const TRUST_FOR: Duration = Duration::from_secs(60);
/// How often the snapshot of every active code is reloaded (and the listener's connection
/// checked).
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(30);
/// The longest the listener waits for its connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The wait before connecting the listener again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Known {
    desk: DeskContext,
    generation: u64,
    seen: Instant,
}

/// What this instance knows of the desks (see the module documentation).
#[derive(Debug, Default)]
pub struct DeskDirectory {
    known: RwLock<HashMap<String, Known>>,
    generation: AtomicU64,
    listening: AtomicBool,
}

impl DeskDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current generation: it moves whenever the desks may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Forgets whether anything remembered is still true (kept for outages only).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether change notifications are being received (only then is memory trusted).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    fn set_listening(&self, listening: bool) {
        // Either way, what was remembered before cannot be trusted: changes may have been
        // missed while not listening.
        self.invalidate();
        self.listening.store(listening, Ordering::SeqCst);
    }

    /// The desk behind `code`, when it may be trusted without asking the database.
    pub fn trusted(&self, code: &str) -> Option<DeskContext> {
        if !self.is_listening() {
            return None;
        }
        let generation = self.generation();
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known
            .get(code)
            .filter(|k| k.generation == generation && k.seen.elapsed() < TRUST_FOR)
            .map(|k| k.desk.clone())
    }

    /// The desk behind `code` as last seen in the database, however long ago (for outages).
    pub fn last_known(&self, code: &str) -> Option<DeskContext> {
        self.known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(code)
            .map(|k| k.desk.clone())
    }

    /// Remembers the desk behind an active code, as looked up in `generation` (read before the
    /// lookup started).
    pub fn remember(&self, code: &str, desk: &DeskContext, generation: u64) {
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        known.insert(
            code.to_string(),
            Known {
                desk: desk.clone(),
                generation,
                seen: Instant::now(),
            },
        );
    }

    /// Forgets a code the database no longer knows.
    pub fn forget(&self, code: &str) {
        let known = self
            .known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(code);
        if known {
            self.known
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(code);
        }
    }

    /// Replaces what is known with every active code's desk, read now.
    pub async fn reload(&self, pool: &Pool) -> Result<usize, Error> {
        let generation = self.generation();
        let mut conn = pool.get().await?;
        let rows = crate::db::desks::all_contexts(&mut conn).await?;
        let count = rows.len();
        let seen = Instant::now();
        let snapshot: HashMap<String, Known> = rows
            .into_iter()
            .map(|(code, desk)| {
                (
                    code,
                    Known {
                        desk,
                        generation,
                        seen,
                    },
                )
            })
            .collect();
        *self.known.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
        Ok(count)
    }

    /// The active desk behind a public code: remembered, else from the database, else, while
    /// the database is unreachable, as last seen (`spool` keeps the memory of the outage).
    pub async fn find(
        &self,
        spool: &Spool,
        pool: &Pool,
        code: &str,
    ) -> Result<Option<DeskContext>, Error> {
        if let Some(desk) = self.trusted(code) {
            return Ok(Some(desk));
        }
        // While an outage is fresh, a known desk is not looked up again.
        if spool.outage_is_recent()
            && let Some(desk) = self.last_known(code)
        {
            return Ok(Some(desk));
        }
        let generation = self.generation();
        let looked_up = async {
            let mut conn = pool.get().await?;
            let found = Desk::find_by_code(&mut conn, code).await;
            Error::classify(&mut conn, found).await
        }
        .await;
        match looked_up {
            Ok(Some(desk)) => {
                self.remember(code, &desk, generation);
                Ok(Some(desk))
            }
            Ok(None) => {
                self.forget(code);
                Ok(None)
            }
            Err(Error::Unavailable(cause)) => {
                spool.note_outage();
                match self.last_known(code) {
                    Some(desk) => Ok(Some(desk)),
                    None => Err(Error::Unavailable(cause)),
                }
            }
            Err(other) => Err(other),
        }
    }
}

/// The task that listens for desk changes and reloads the snapshot. Stops with the server;
/// aborted if dropped.
pub struct DeskListener(Background);

impl DeskListener {
    /// Starts listening on a connection of its own to `url`; `pool` serves the reloads.
    pub fn start(directory: Arc<DeskDirectory>, url: String, pool: Pool) -> Self {
        DeskListener(Background::spawn(|mut stopped| async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = listen(&directory, &url, &pool) => {}
                }
                directory.set_listening(false);
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(RECONNECT_AFTER) => {}
                }
            }
            directory.set_listening(false);
        }))
    }

    pub async fn stop(self) {
        self.0.stop(Duration::from_secs(10)).await;
    }
}

/// One connection's life: LISTEN, reload, then a new generation per notification, until the
/// connection fails.
async fn listen(directory: &DeskDirectory, url: &str, pool: &Pool) {
    use diesel_async::RunQueryDsl;
    // Bounded: a database behind a black-holed network would hold a connect for minutes.
    let connecting = tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(url));
    let mut conn = match connecting.await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            tracing::debug!("desk listener: connecting: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("desk listener: connecting timed out");
            return;
        }
    };
    // Named, so that it is recognised among the sessions (`pg_stat_activity`).
    if let Err(e) = conn
        .batch_execute(&format!(
            "SET application_name = '{APPLICATION_NAME}'; LISTEN {CHANNEL}"
        ))
        .await
    {
        tracing::debug!("desk listener: LISTEN: {e}");
        return;
    }
    // From here on every change is heard; what was remembered before may be stale.
    directory.set_listening(true);
    tracing::debug!("desk listener: listening");
    let mut ticks = tokio::time::interval(SNAPSHOT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The stream borrows the connection only while waiting, so that it can be checked.
        let next = async {
            let mut stream = std::pin::pin!(conn.notifications_stream());
            stream.next().await
        };
        let tick = tokio::select! {
            notification = next => match notification {
                Some(Ok(_)) => {
                    directory.invalidate();
                    false
                }
                Some(Err(e)) => {
                    tracing::debug!("desk listener: {e}");
                    return;
                }
                None => return,
            },
            _ = ticks.tick() => true,
        };
        if tick {
            // A connection cut without a word would never deliver another notification.
            let alive = tokio::time::timeout(
                Duration::from_secs(5),
                diesel::sql_query("SELECT 1").execute(&mut conn),
            )
            .await;
            if !matches!(alive, Ok(Ok(_))) {
                tracing::debug!("desk listener: the connection does not answer");
                return;
            }
            if let Err(e) = directory.reload(pool).await {
                tracing::debug!("desk listener: reloading the desks: {e:#}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk(id: i32) -> DeskContext {
        DeskContext {
            desk_id: id,
            desk_name: format!("Quầy {id}"),
            unit_id: 1,
            unit_name: "UBND xã Xuân Bắc".into(),
            form_id: None,
        }
    }

    #[test]
    fn nothing_is_trusted_while_not_listening() {
        let directory = DeskDirectory::new();
        directory.remember("abcd2345", &desk(1), directory.generation());
        assert_eq!(directory.trusted("abcd2345"), None);
        assert_eq!(directory.last_known("abcd2345"), Some(desk(1)));
        directory.set_listening(true);
        // Remembered before listening started: not trusted.
        assert_eq!(directory.trusted("abcd2345"), None);
        directory.remember("abcd2345", &desk(1), directory.generation());
        assert_eq!(directory.trusted("abcd2345"), Some(desk(1)));
        directory.set_listening(false);
        assert_eq!(directory.trusted("abcd2345"), None);
    }

    #[test]
    fn a_change_during_a_lookup_is_not_trusted() {
        let directory = DeskDirectory::new();
        directory.set_listening(true);
        let before = directory.generation();
        directory.invalidate(); // a notification arrives while the lookup runs
        directory.remember("abcd2345", &desk(1), before);
        assert_eq!(directory.trusted("abcd2345"), None);
        assert_eq!(directory.last_known("abcd2345"), Some(desk(1)));
    }

    #[test]
    fn a_change_forgets_trust_but_keeps_the_outage_snapshot() {
        let directory = DeskDirectory::new();
        directory.set_listening(true);
        directory.remember("abcd2345", &desk(1), directory.generation());
        directory.invalidate();
        assert_eq!(directory.trusted("abcd2345"), None);
        assert_eq!(directory.last_known("abcd2345"), Some(desk(1)));
        directory.forget("abcd2345");
        assert_eq!(directory.last_known("abcd2345"), None);
    }
}
