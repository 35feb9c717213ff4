//! End-to-end test harness: a real headless Chromium driven through chromedriver.
//!
//! Self-contained on purpose (it depends on nothing else in `tests/common`).
//!
//! Environment:
//! - `SIPAS_CHROMIUM`: Chromium binary (default `/usr/bin/chromium`).
//! - `SIPAS_CHROMEDRIVER`: chromedriver binary (default: `chromedriver` on `PATH`,
//!   then `/usr/bin/chromedriver`).
//! - `SIPAS_SKIP_BROWSER=1`: lets browser tests pass with a notice when no browser is
//!   installed. Without it, a missing browser is a test failure, never a silent skip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const FALLBACK_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A headless Chromium session plus the chromedriver process that serves it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile_dir: PathBuf,
}

impl Browser {
    /// Spawns chromedriver on a free port, waits for it to be ready, and opens a
    /// headless Chromium session whose viewport (`window.innerWidth`/`innerHeight`)
    /// is exactly `width` x `height` CSS pixels.
    pub async fn start(width: u32, height: u32) -> Result<Self> {
        Self::launch(width, height, false).await
    }

    /// A headless Chromium emulating a phone (chromedriver's `mobileEmulation`): a `width` x
    /// `height` CSS-pixel screen at device pixel ratio 3, touch events and a mobile Android
    /// user agent, so that the page is laid out as on a phone (viewport meta tag included).
    pub async fn start_phone(width: u32, height: u32) -> Result<Self> {
        Self::launch(width, height, true).await
    }

    async fn launch(width: u32, height: u32, phone: bool) -> Result<Self> {
        let chromium = chromium_path();
        let chromedriver = chromedriver_path().ok_or_else(|| {
            anyhow!("chromedriver not found (set SIPAS_CHROMEDRIVER or put it on PATH)")
        })?;
        if !chromium.is_file() {
            bail!(
                "Chromium not found at {} (set SIPAS_CHROMIUM)",
                chromium.display()
            );
        }

        let profile_dir = unique_temp_dir("sipas-chromium")?;
        let port = free_port()?;
        let log_path = profile_dir.join("chromedriver.log");
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(&chromedriver);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        // Own process group, so Drop can also reach the Chromium processes it launches.
        #[cfg(unix)]
        cmd.process_group(0);
        let driver = cmd
            .spawn()
            .with_context(|| format!("spawning {}", chromedriver.display()))?;

        // From here on, `guard` cleans up (process + profile dir) on any early return.
        let mut guard = DriverGuard {
            driver: Some(driver),
            profile_dir: profile_dir.clone(),
        };
        let base = format!("http://127.0.0.1:{port}");
        if let Err(e) = wait_driver_ready(&base, guard.driver.as_mut().unwrap()).await {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(e.context(format!("chromedriver log:\n{}", tail(&log, 2000))));
        }

        let caps = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile_dir.join("profile").display()),
                ],
            },
        });
        let mut caps = caps;
        if phone {
            caps["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 3.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
            });
        }
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        // fantoccini pulls in rustls with aws-lc-rs and reqwest with ring, so rustls cannot
        // pick a process-wide crypto provider by itself (it would panic). Choose ring;
        // an Err only means a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .context("building the WebDriver HTTP client")?
            .capabilities(caps)
            .connect(&base)
            .await
            .map_err(|e| {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                anyhow!(
                    "opening a Chromium session: {e}\nchromedriver log:\n{}",
                    tail(&log, 2000)
                )
            })?;

        let browser = Browser {
            client,
            driver: guard.driver.take().unwrap(),
            profile_dir,
        };
        // An emulated phone has the screen it was given (its viewport is that width once a
        // page with `<meta name="viewport" content="width=device-width">` is loaded: check
        // after navigating); a window is fitted to the viewport.
        let fitted = if phone {
            Ok(())
        } else {
            browser.fit_viewport(width, height).await
        };
        if let Err(e) = fitted {
            let _ = browser.close().await;
            return Err(e);
        }
        Ok(browser)
    }

    /// The page's viewport size in CSS pixels: (`innerWidth`, `innerHeight`).
    pub async fn viewport(&self) -> Result<(u32, u32)> {
        let v = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        let dim = |i: usize| {
            v.get(i)
                .and_then(Value::as_u64)
                .map(|n| n as u32)
                .ok_or_else(|| anyhow!("unexpected viewport value {v}"))
        };
        Ok((dim(0)?, dim(1)?))
    }

    /// Resizes the window until the viewport is exactly `width` x `height`.
    /// Needed: with Chromium 156, `--window-size=360,640` gives a 500x497 viewport
    /// (minimum window width 500, 143 px of emulated browser UI), while a later
    /// WebDriver resize to 360x783 gives exactly 360x640.
    async fn fit_viewport(&self, width: u32, height: u32) -> Result<()> {
        for _ in 0..3 {
            let (iw, ih) = self.viewport().await?;
            if (iw, ih) == (width, height) {
                return Ok(());
            }
            let (ww, wh) = self.client.get_window_size().await?;
            let new_w = (ww as i64 + width as i64 - iw as i64).max(1) as u32;
            let new_h = (wh as i64 + height as i64 - ih as i64).max(1) as u32;
            self.client.set_window_size(new_w, new_h).await?;
        }
        let (iw, ih) = self.viewport().await?;
        if (iw, ih) != (width, height) {
            bail!("viewport is {iw}x{ih}, wanted {width}x{height}");
        }
        Ok(())
    }

    /// Waits up to `timeout` for an element whose text contains `text`; returns its text
    /// (the whole `<body>` text when found there).
    pub async fn wait_for_text(&self, text: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            // Tolerate errors while a navigation is in flight.
            if let Ok(body) = self.client.find(Locator::Css("body")).await
                && let Ok(t) = body.text().await
                && t.contains(text)
            {
                return Ok(t);
            }
            if Instant::now() >= deadline {
                let url = self.client.current_url().await.map(|u| u.to_string());
                bail!("text {text:?} did not appear within {timeout:?} (url: {url:?})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG screenshot of the viewport, creating parent directories.
    pub async fn screenshot_to(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session (Chromium exits), stops chromedriver and removes the profile dir.
    pub async fn close(mut self) -> Result<()> {
        let closed = self.client.clone().close().await;
        // Killing the group also takes any Chromium process left behind by a failed close.
        kill_group(&self.driver);
        let _ = self.driver.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.driver.wait()).await;
        let _ = std::fs::remove_dir_all(&self.profile_dir);
        closed.context("closing the WebDriver session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Best effort when `close` was not called (e.g. a failing test panicked).
        kill_group(&self.driver);
        let _ = self.driver.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

/// Cleans up a half-started driver if `Browser::start` returns early.
struct DriverGuard {
    driver: Option<Child>,
    profile_dir: PathBuf,
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.as_mut() {
            kill_group(driver);
            let _ = driver.start_kill();
            let _ = std::fs::remove_dir_all(&self.profile_dir);
        }
    }
}

/// Kills the process group led by chromedriver (it includes any Chromium it started).
fn kill_group(driver: &Child) {
    #[cfg(unix)]
    if let Some(pid) = driver.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// True when both Chromium and chromedriver are installed.
pub fn browser_available() -> bool {
    chromium_path().is_file() && chromedriver_path().is_some()
}

/// Guard for the start of a browser test: true when the test should run.
///
/// Without a browser, fails the test with a clear message unless
/// `SIPAS_SKIP_BROWSER=1`, in which case it prints a notice and returns false.
pub fn require_browser(test: &str) -> bool {
    if browser_available() {
        return true;
    }
    let what = format!(
        "Chromium ({}) and/or chromedriver ({}) not found",
        chromium_path().display(),
        chromedriver_path().map_or_else(|| "none".into(), |p| p.display().to_string())
    );
    if std::env::var("SIPAS_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("NOTICE: skipping browser test {test}: {what} (SIPAS_SKIP_BROWSER=1)");
        return false;
    }
    panic!(
        "browser test {test} cannot run: {what}. Install with \
         `apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core`, \
         or set SIPAS_SKIP_BROWSER=1 to skip browser tests explicitly."
    );
}

/// Where e2e tests put screenshots and other artifacts: `<crate>/target/e2e/<name>`.
pub fn artifact_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("e2e")
        .join(name)
}

fn chromium_path() -> PathBuf {
    std::env::var_os("SIPAS_CHROMIUM")
        .filter(|s| !s.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from)
}

fn chromedriver_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIPAS_CHROMEDRIVER").filter(|s| !s.is_empty()) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromedriver"))
        .chain(std::iter::once(PathBuf::from(FALLBACK_CHROMEDRIVER)))
        .find(|p| p.is_file())
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn unique_temp_dir(prefix: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Polls chromedriver's `/status` until it reports `ready`.
async fn wait_driver_ready(base: &str, driver: &mut Child) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + DRIVER_READY_TIMEOUT;
    loop {
        if let Some(status) = driver.try_wait()? {
            bail!("chromedriver exited early with {status}");
        }
        if let Ok(resp) = http.get(format!("{base}/status")).send().await
            && let Ok(bytes) = resp.bytes().await
            && let Ok(body) = serde_json::from_slice::<Value>(&bytes)
            && body["value"]["ready"] == Value::Bool(true)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("chromedriver at {base} not ready within {DRIVER_READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
