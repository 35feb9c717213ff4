//! A loop that runs beside the server until it is told to stop: the rollup fold, the spool's
//! replay, the desk listener. Each is given the receiving end of its stop signal; stopping
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
