//! HTML printed to PDF by headless Chromium, for `sipas report --pdf` and
//! `GET /staff/report.pdf` alike: the page's own `@page` rules set the paper (A4), each print
//! in a fresh profile in a directory of its own, killed with the processes it started after
//! [`TIMEOUT`]. Chromium runs as a child process awaited by tokio (no thread of the async
//! runtime waits for it), and at most [`MAX_CONCURRENT`] prints run at once in a process, so
//! that a burst of downloads cannot take the server's memory and cores.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long Chromium may take to print a report.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// How many prints run at once in one process; the others wait their turn.
pub const MAX_CONCURRENT: usize = 2;

pub const MSG_NO_CHROMIUM: &str =
    "chromium not found; install it or use --out report.html and print from a browser";

static PRINTS: Semaphore = Semaphore::const_new(MAX_CONCURRENT);

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// No Chromium to print with (the message says where it was looked for).
    #[error("{0}")]
    NoChromium(String),
    #[error("chromium did not finish printing within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("chromium could not print the report ({status}):\n{log}")]
    Failed { status: String, log: String },
    #[error("printing to PDF: {0}")]
    Io(#[from] std::io::Error),
}

/// The Chromium to print with: `configured` (`SIPAS_CHROMIUM`) when set, else `chromium` or
/// `chromium-browser` on `PATH`.
pub fn find_chromium(configured: Option<&Path>) -> Result<PathBuf, PdfError> {
    chromium_in(
        configured.map(|p| p.as_os_str().to_owned()),
        std::env::var_os("PATH"),
    )
}

/// [`find_chromium`] with the `PATH` given.
pub fn chromium_in(
    configured: Option<OsString>,
    path: Option<OsString>,
) -> Result<PathBuf, PdfError> {
    if let Some(configured) = configured.filter(|c| !c.is_empty()) {
        let configured = PathBuf::from(configured);
        if configured.is_file() {
            return Ok(configured);
        }
        return Err(PdfError::NoChromium(format!(
            "SIPAS_CHROMIUM={}: no such file; {MSG_NO_CHROMIUM}",
            configured.display()
        )));
    }
    path.iter()
        .flat_map(std::env::split_paths)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| PdfError::NoChromium(MSG_NO_CHROMIUM.to_string()))
}

/// Prints `html` (a self-contained page: its stylesheet inlined) to an A4 PDF, waiting for a
/// free print slot first; the PDF's bytes.
pub async fn print_html(chromium: &Path, html: &str) -> Result<Vec<u8>, PdfError> {
    let _permit = PRINTS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let work = std::env::temp_dir().join(format!("sipas-report-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::create_dir_all(&work).await?;
    let printed = print_in(chromium, html, &work).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    printed
}

async fn print_in(chromium: &Path, html: &str, work: &Path) -> Result<Vec<u8>, PdfError> {
    let page = work.join("report.html");
    tokio::fs::write(&page, html).await?;
    let pdf = work.join("report.pdf");
    let log_path = work.join("chromium.log");
    let log = std::fs::File::create(&log_path)?;
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    // Its own process group, so that a timeout also ends the processes it starts.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| {
        PdfError::Io(std::io::Error::new(
            e.kind(),
            format!("starting {}: {e}", chromium.display()),
        ))
    })?;
    let status = match tokio::time::timeout(TIMEOUT, child.wait()).await {
        Ok(status) => status?,
        Err(_) => {
            kill_process_group(&child);
            let _ = child.kill().await;
            return Err(PdfError::Timeout);
        }
    };
    let bytes = tokio::fs::read(&pdf).await.unwrap_or_default();
    if !status.success() || bytes.is_empty() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        return Err(PdfError::Failed {
            status: status.to_string(),
            log: tail,
        });
    }
    Ok(bytes)
}

/// Kills the process group led by `child` (Chromium and the processes it started).
fn kill_process_group(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_is_looked_up_or_named_precisely() {
        let dir = std::env::temp_dir().join(format!("sipas-pdf-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let error = chromium_in(None, Some(dir.as_os_str().to_owned())).unwrap_err();
        assert_eq!(error.to_string(), MSG_NO_CHROMIUM);
        let browser = dir.join("chromium-browser");
        std::fs::write(&browser, "").unwrap();
        assert_eq!(
            chromium_in(None, Some(dir.as_os_str().to_owned())).unwrap(),
            browser
        );
        let missing = dir.join("nothing");
        let error = chromium_in(Some(missing.as_os_str().to_owned()), None).unwrap_err();
        assert!(matches!(error, PdfError::NoChromium(_)));
        assert!(error.to_string().starts_with("SIPAS_CHROMIUM="), "{error}");
        assert!(error.to_string().ends_with(MSG_NO_CHROMIUM));
        assert_eq!(
            chromium_in(Some(browser.as_os_str().to_owned()), None).unwrap(),
            browser
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A browser that fails to print is reported with its exit status and the end of its
    /// output (the timeout, 120 s, is too long for a unit test).
    #[cfg(unix)]
    #[tokio::test]
    async fn a_failing_browser_is_reported_with_its_output() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sipas-pdf-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("chromium");
        std::fs::write(&fake, "#!/bin/sh\necho 'no display here' >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = print_html(&fake, "<p>x</p>").await.unwrap_err();
        match error {
            PdfError::Failed { status, log } => {
                assert!(status.contains('3'), "{status}");
                assert!(log.contains("no display here"), "{log}");
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
