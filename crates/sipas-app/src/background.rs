//! A loop that runs beside the server until it is told to stop: the rollup fold, the spool's
//! replay, the desk listener, the daily retention purge ([`RetentionTask`]), the yearly
//! partitions of responses kept ready ([`PartitionTask`]). Each is given the receiving end of its stop signal; stopping
//! waits for the loop within a grace period, then aborts it; a loop dropped without being
//! stopped (an application that never ran) is aborted.

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running background loop (see the module documentation).
pub struct Background {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Background {
    /// Spawns `body`, which must end soon after its receiver fires.
    pub fn spawn<F, Fut>(body: F) -> Self
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        Background {
            stop: Some(stop),
            handle: Some(tokio::spawn(body(stopped))),
        }
    }

    /// Tells the loop to stop and waits for it at most `grace`, then aborts it.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let abort = handle.abort_handle();
            if tokio::time::timeout(grace, handle).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// When the retention task first looks whether a purge is due after the server starts (not at
/// once: a server restarted in a loop should not purge in a loop, and a short-lived server, a
/// test's, never does).
pub const RETENTION_FIRST_CHECK: Duration = Duration::from_secs(10 * 60);
/// How often it looks again.
pub const RETENTION_CHECK_EVERY: Duration = Duration::from_secs(3600);
/// A purge recorded less than this long ago (by any instance, or `sipas purge`) makes the
/// next one not due: about one purge a day between all instances.
pub const RETENTION_MIN_INTERVAL: Duration = Duration::from_secs(23 * 3600);

/// The daily retention purge ([`crate::retention`]): every [`RETENTION_CHECK_EVERY`] it
/// purges if no purge was recorded in the last [`RETENTION_MIN_INTERVAL`], under the purge's
/// advisory lock (with several instances on one database, one purges and the others see it
/// busy or done), then deletes the expired exports' files. Errors are logged, never
/// propagated. Stops with the server.
pub struct RetentionTask(Background);

impl RetentionTask {
    pub fn start(
        pool: crate::db::Pool,
        rules: crate::db::retention::Rules,
        export_dir: std::path::PathBuf,
        first_check: Duration,
        every: Duration,
    ) -> Self {
        RetentionTask(Background::spawn(|mut stopped| async move {
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + first_check, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = interval.tick() => {}
                }
                // In a task of its own: a panic ends that purge, not the loop.
                let pool = pool.clone();
                let export_dir = export_dir.clone();
                let purge = tokio::spawn(async move {
                    purge_when_due(&pool, &rules, &export_dir, RETENTION_MIN_INTERVAL).await
                });
                tokio::select! {
                    _ = &mut stopped => break,
                    outcome = purge => match outcome {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("retention purge: {e}"),
                        Err(e) => tracing::error!("the retention purge failed: {e}"),
                    },
                }
            }
        }))
    }

    /// Stops the loop (a purge in progress is one transaction: cut off, it changes nothing).
    pub async fn stop(self) {
        self.0.stop(Duration::from_secs(5)).await;
    }
}

/// One step of the daily task: purges when due (see [`crate::retention::purge_if_due`]),
/// deletes the files of the exports it expired, and logs the counts.
pub async fn purge_when_due(
    pool: &crate::db::Pool,
    rules: &crate::db::retention::Rules,
    export_dir: &std::path::Path,
    min_interval: Duration,
) -> anyhow::Result<crate::db::retention::Due> {
    use crate::db::retention::Due;
    let mut conn = pool
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
    let due = crate::retention::purge_if_due(&mut conn, rules, min_interval).await?;
    drop(conn);
    if let Due::Purged(purge) = &due {
        crate::export_files::delete_files(export_dir, &purge.expired_files).await;
        tracing::info!(counts = ?purge.counts, "retention purge done");
    }
    Ok(due)
}

/// How often the partition task makes sure this year's and the coming year's partitions of
/// responses exist (the start-up did it once: `db::Database::open`).
pub const PARTITIONS_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Keeps the partitions of responses ready ahead (`crate::db::partitions`): every
/// [`PARTITIONS_CHECK_EVERY`], creates this year's and the next year's partition if missing
/// (moving into it any row of that year in the default partition). Idempotent and safe with
/// several instances (an advisory lock in the database). Errors are logged. Stops with the
/// server.
pub struct PartitionTask(Background);

impl PartitionTask {
    pub fn start(pool: crate::db::Pool, every: Duration) -> Self {
        PartitionTask(Background::spawn(|mut stopped| async move {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = interval.tick() => {}
                }
                tokio::select! {
                    _ = &mut stopped => break,
                    outcome = keep_partitions_ahead(&pool) => if let Err(e) = outcome {
                        tracing::warn!("partitions of responses: {e}");
                    },
                }
            }
        }))
    }

    pub async fn stop(self) {
        self.0.stop(Duration::from_secs(5)).await;
    }
}

/// One step of [`PartitionTask`]: this year's and the coming year's partitions (Vietnam's
/// calendar), created when missing; returns those created with the rows moved into them.
pub async fn keep_partitions_ahead(pool: &crate::db::Pool) -> anyhow::Result<Vec<(i32, i64)>> {
    let mut conn = pool
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
    let created =
        crate::db::partitions::ensure_ahead(&mut conn, crate::domain::time::today_in_vietnam())
            .await?;
    for (year, moved) in &created {
        tracing::info!(year, moved, "created the partition of responses for a year");
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_loop_stops_when_told_and_is_aborted_past_its_grace() {
        let (tx, rx) = oneshot::channel::<&str>();
        let polite = Background::spawn(|stopped| async move {
            let _ = stopped.await;
            let _ = tx.send("stopped");
        });
        polite.stop(Duration::from_secs(5)).await;
        assert_eq!(rx.await, Ok("stopped"));

        let stubborn = Background::spawn(|_stopped| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let t = std::time::Instant::now();
        stubborn.stop(Duration::from_millis(50)).await;
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
