//! Configuration, read from environment variables once at start-up and checked there.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// The shortest statement timeout allowed: twice the time a citizen's store may take before
/// the response is spooled instead.
pub const MIN_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Everything the service can be configured with. See README.md for the variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`. When unset: the default local server, or a private embedded one.
    pub database_url: Option<String>,
    /// `SIPAS_BIND`, default 127.0.0.1:8080.
    pub bind: SocketAddr,
    /// `SIPAS_PUBLIC_URL`: the base URL citizens reach the service at (behind a proxy), used
    /// in QR codes. Default: `http://{bind}`.
    pub public_url: Url,
    /// `SIPAS_DATA_DIR` (made absolute at start-up), else a default that does not depend on
    /// the folder the process starts in ([`default_data_dir`]): the embedded PostgreSQL, the
    /// exported files (`exports/`) and the default spool live here.
    pub data_dir: PathBuf,
    /// Where [`Config::data_dir`] came from (for the start-up log and `sipas doctor`).
    pub data_dir_source: DataDirSource,
    /// `SIPAS_FORMS_DIR`: survey forms that add to the embedded ones or override the embedded
    /// form with the same id (`crate::forms::load`). Unset: the embedded forms only.
    pub forms_dir: Option<PathBuf>,
    /// Whether the forms embedded in the binary are used (not a variable: always true from the
    /// environment; tests that model a release's set of forms with a directory turn it off).
    pub embedded_forms: bool,
    /// `SIPAS_DEFAULT_FORM`: the form a desk shows when neither it nor its units choose one.
    pub default_form: String,
    /// `SIPAS_DB_POOL_SIZE`, default 16.
    pub db_pool_size: usize,
    /// `SIPAS_SESSION_KEY`: 64 bytes or more, hex-encoded, that sign and encrypt the staff
    /// session cookie and key the hashes of client addresses. All instances behind one proxy
    /// must share it. Unset: a random key per process (sessions end at restart), with a warning.
    pub session_key: Option<Vec<u8>>,
    /// `SIPAS_SESSION_IDLE_MINUTES`, default 30: a staff session ends after this much inactivity.
    pub session_idle_minutes: i64,
    /// Whether the session cookie is marked Secure: `SIPAS_COOKIE_SECURE` (true/false), by
    /// default true when `SIPAS_PUBLIC_URL` is https.
    pub cookie_secure: bool,
    /// `SIPAS_KEEP_ORIGINAL_COMMENTS` (true/false, default false): whether a comment in which
    /// personal data was masked is also kept as written, readable by admins only
    /// (`response_text_originals`; docs/privacy.md). Off: only the masked text exists.
    pub keep_original_comments: bool,
    /// `SIPAS_SPOOL_DIR`: where responses wait while the database is unreachable. One per
    /// instance, held locked by it (see `crate::spool`). Unset: `{data_dir}/spool/{database}`,
    /// a directory of the database's own ([`Config::spool_dir_for`]), so that two installations
    /// on one server never share one by default.
    pub spool_dir: Option<PathBuf>,
    /// `SIPAS_SPOOL_MAX_MB`, default 256: the spool's size cap.
    pub spool_max_bytes: u64,
    /// `SIPAS_DB_TIMEOUT_MS`, default 2000: deadpool's wait, create and recycle timeouts.
    pub db_pool_timeout: std::time::Duration,
    /// `SIPAS_DB_STATEMENT_TIMEOUT_SECONDS`, default 60 (0: none): the sessions'
    /// `statement_timeout`.
    pub db_statement_timeout: std::time::Duration,
    /// `SIPAS_EXPORT_INLINE_ROWS`, default 20000: a web export of at most this many responses
    /// (estimated) is answered with the file at once when it is ready within a few seconds;
    /// a larger one goes straight to its progress page. 0 sends every export to the background.
    pub export_inline_rows: u64,
    /// `SIPAS_EXPORT_KEEP_DAYS`, default 7: how long an exported file stays downloadable.
    pub export_keep_days: u32,
    /// One response per visit: the minimum completion time, the submission limits and the
    /// proxies whose `X-Forwarded-For` is believed (see [`VisitSettings`]).
    pub visits: VisitSettings,
    /// How long personal and linkable data is kept (`SIPAS_*_KEEP_DAYS`; see
    /// [`crate::db::retention`]). Its `exports_days` is `SIPAS_EXPORT_KEEP_DAYS`.
    pub retention: crate::domain::retention::Rules,
    /// The privacy notice citizens reach from the form (see [`PrivacySettings`]).
    pub privacy: PrivacySettings,
    /// `SIPAS_SMTP_URL` and `SIPAS_MAIL_FROM`: the staff's e-mail alerts (see
    /// [`MailSettings`]). `None`: alerts are not enabled on this server.
    pub mail: Option<MailSettings>,
    /// `SIPAS_METRICS_TOKEN`: a bearer token that opens `GET /metrics` to a scraper that is
    /// not on this machine (at least [`MIN_METRICS_TOKEN_CHARS`] characters). `None`: only
    /// loopback clients without `X-Forwarded-For` reach it.
    pub metrics_token: Option<MetricsToken>,
    /// `SIPAS_LOG_FORMAT`: `text` (default) or `json` (see [`LogFormat`]).
    pub log_format: LogFormat,
    /// `SIPAS_CHROMIUM`: the Chromium that prints reports to PDF; when unset, `chromium` or
    /// `chromium-browser` on `PATH` (looked up at each print). A path that names no file
    /// means no PDF printing.
    pub chromium: Option<PathBuf>,
}

/// The shortest `SIPAS_METRICS_TOKEN` accepted.
pub const MIN_METRICS_TOKEN_CHARS: usize = 32;

/// The bearer token of `GET /metrics` (`SIPAS_METRICS_TOKEN`). Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

impl MetricsToken {
    /// Reads `SIPAS_METRICS_TOKEN`: `None` when unset; shorter than
    /// [`MIN_METRICS_TOKEN_CHARS`], or holding spaces or control characters (it travels in an
    /// `Authorization` header), an error naming the variable (never quoting the token).
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(text) = lookup("SIPAS_METRICS_TOKEN") else {
            return Ok(None);
        };
        let token = text.trim();
        let problem = |problem: String| ConfigError {
            name: "SIPAS_METRICS_TOKEN",
            problem,
        };
        if token.chars().count() < MIN_METRICS_TOKEN_CHARS {
            return Err(problem(format!(
                "must be at least {MIN_METRICS_TOKEN_CHARS} characters (`openssl rand -hex 32` makes one)"
            )));
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(problem(
                "may hold only visible ASCII characters (no spaces): it is sent in an Authorization header".into(),
            ));
        }
        Ok(Some(MetricsToken(token.to_string())))
    }

    /// The token, to compare a request's with (in constant time).
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The SMTP server the staff's e-mail alerts go through, and their sender.
#[derive(Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `SIPAS_SMTP_URL`, as given: `smtp://user:pass@host:25` (plain, or STARTTLS with
    /// `?tls=required` / `?tls=opportunistic`, port 587 by default then), `smtps://…` (TLS from
    /// the start, port 465 by default). lettre's `AsyncSmtpTransport::from_url` reads it. It
    /// may hold a password: never logged ([`MailSettings`]'s `Debug` hides it).
    pub smtp_url: String,
    /// `SIPAS_MAIL_FROM`: the sender, `sipas@example.gov.vn` or `Tên <sipas@example.gov.vn>`.
    pub from: String,
    /// How often the server's alert task runs ([`DEFAULT_ALERT_EVERY`]; not a variable: tests
    /// lengthen it to run the sender themselves).
    pub every: Duration,
}

/// How often the server sends the alerts due.
pub const DEFAULT_ALERT_EVERY: Duration = Duration::from_secs(60);

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &MailSettings::redacted(&self.smtp_url))
            .field("from", &self.from)
            .field("every", &self.every)
            .finish()
    }
}

impl MailSettings {
    /// Reads `SIPAS_SMTP_URL` and `SIPAS_MAIL_FROM`: `None` when the URL is unset; a URL that
    /// lettre would not take, or a missing or malformed sender, is an error naming its variable.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(text) = lookup("SIPAS_SMTP_URL") else {
            return Ok(None);
        };
        let text = text.trim().to_string();
        let problem = |problem: String| ConfigError {
            name: "SIPAS_SMTP_URL",
            problem,
        };
        let example = "like smtp://user:password@mail.example.gov.vn:587?tls=required or smtps://user:password@mail.example.gov.vn";
        let url = Url::parse(&text).map_err(|e| {
            // Not quoted: it may hold a password.
            problem(format!("not a URL {example} ({e})"))
        })?;
        let tls: Vec<String> = url
            .query_pairs()
            .filter(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned())
            .collect();
        if let Some((key, _)) = url.query_pairs().find(|(k, _)| k != "tls") {
            return Err(problem(format!(
                "unknown parameter \"{key}\" (only tls=required or tls=opportunistic)"
            )));
        }
        match (url.scheme(), tls.as_slice()) {
            ("smtp", [] | [_]) | ("smtps", []) => {}
            (scheme @ ("smtp" | "smtps"), _) => {
                return Err(problem(format!(
                    "{scheme}: takes {} tls parameter",
                    if scheme == "smtp" {
                        "at most one"
                    } else {
                        "no"
                    }
                )));
            }
            (scheme, _) => {
                return Err(problem(format!(
                    "the scheme must be smtp or smtps, not \"{scheme}\" ({example})"
                )));
            }
        }
        if let [mode] = tls.as_slice()
            && !matches!(mode.as_str(), "required" | "opportunistic")
        {
            return Err(problem(format!(
                "tls={mode}: must be tls=required (STARTTLS) or tls=opportunistic"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(problem(format!(
                "\"{}\" names no host",
                Self::redacted(&text)
            )));
        }
        for part in [url.username(), url.password().unwrap_or("")] {
            if percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .is_err()
            {
                return Err(problem(
                    "the user name or password is not UTF-8 once percent-decoded".into(),
                ));
            }
        }
        let from = lookup("SIPAS_MAIL_FROM").ok_or_else(|| ConfigError {
            name: "SIPAS_MAIL_FROM",
            problem: "must be set when SIPAS_SMTP_URL is: the alerts' sender, e.g. \"SIPAS Xuân Lộc <sipas@xuanloc.dongnai.gov.vn>\"".into(),
        })?;
        let from = from.trim().to_string();
        let address = match from.rsplit_once('<') {
            Some((name, rest)) if rest.ends_with('>') && !name.contains(['<', '>', '"']) => {
                &rest[..rest.len() - 1]
            }
            Some(_) => "",
            None => from.as_str(),
        };
        if from.chars().any(char::is_control)
            || crate::domain::alerts::parse_email(address).is_err()
        {
            return Err(ConfigError {
                name: "SIPAS_MAIL_FROM",
                problem: format!(
                    "\"{from}\" is not an address like sipas@example.gov.vn or SIPAS <sipas@example.gov.vn>"
                ),
            });
        }
        Ok(Some(MailSettings {
            smtp_url: text,
            from,
            every: DEFAULT_ALERT_EVERY,
        }))
    }

    /// `url` with its password replaced by `***` (for messages and logs).
    pub fn redacted(url: &str) -> String {
        match Url::parse(url) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            Ok(_) => url.to_string(),
            Err(_) => "(not a URL)".to_string(),
        }
    }
}

/// The installation's privacy notice (`/quyen-rieng-tu`): who collects the answers and whom to
/// contact, and optionally a text of its own in place of the standard explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacySettings {
    /// `SIPAS_PRIVACY_CONTROLLER`: the body that collects and controls the data (the
    /// installation's organisation), e.g. "Phòng Nội vụ, UBND huyện Xuân Lộc".
    pub controller: String,
    /// `SIPAS_PRIVACY_CONTACT`: whom a citizen contacts about their data (address, telephone,
    /// e-mail of the office).
    pub contact: String,
    /// Whether both were set (a notice with the defaults is for the demo; start-up warns).
    pub configured: bool,
    /// `SIPAS_PRIVACY_NOTICE_FILE`: a UTF-8 text that replaces the standard explanation (why,
    /// what, who sees it, the citizen's rights), read once at start-up. Blank lines separate
    /// paragraphs, a line beginning with `## ` is a heading, lines beginning with `- ` a list.
    /// The controller, the retention periods and the contact are always shown from the
    /// configuration around it.
    pub notice_body: Option<String>,
}

/// The controller named by the notice when `SIPAS_PRIVACY_CONTROLLER` is unset (the demo).
pub const DEFAULT_PRIVACY_CONTROLLER: &str =
    "Phòng Nội vụ, cơ quan tổ chức khảo sát sự hài lòng của người dân, tổ chức";
/// The contact named by the notice when `SIPAS_PRIVACY_CONTACT` is unset (the demo).
pub const DEFAULT_PRIVACY_CONTACT: &str =
    "Bộ phận Tiếp nhận và Trả kết quả nơi Anh/Chị đã giải quyết thủ tục, hoặc Phòng Nội vụ";
/// The longest controller or contact text.
pub const MAX_PRIVACY_TEXT: usize = 500;
/// The largest notice file.
pub const MAX_NOTICE_BYTES: u64 = 32 * 1024;

impl PrivacySettings {
    /// Reads `SIPAS_PRIVACY_CONTROLLER`, `SIPAS_PRIVACY_CONTACT` and `SIPAS_PRIVACY_NOTICE_FILE`
    /// (the file is read here, once).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str| -> Result<Option<String>, ConfigError> {
            let Some(value) = lookup(name) else {
                return Ok(None);
            };
            let value = value.trim().to_string();
            let chars = value.chars().count();
            if chars > MAX_PRIVACY_TEXT || value.chars().any(char::is_control) {
                return Err(ConfigError {
                    name,
                    problem: format!(
                        "must be one line of at most {MAX_PRIVACY_TEXT} characters without control characters (it has {chars})"
                    ),
                });
            }
            Ok(Some(value))
        };
        let controller = text("SIPAS_PRIVACY_CONTROLLER")?;
        let contact = text("SIPAS_PRIVACY_CONTACT")?;
        let notice_body = match lookup("SIPAS_PRIVACY_NOTICE_FILE") {
            None => None,
            Some(path) => Some(read_notice_file(std::path::Path::new(path.trim()))?),
        };
        Ok(PrivacySettings {
            configured: controller.is_some() && contact.is_some(),
            controller: controller.unwrap_or_else(|| DEFAULT_PRIVACY_CONTROLLER.to_string()),
            contact: contact.unwrap_or_else(|| DEFAULT_PRIVACY_CONTACT.to_string()),
            notice_body,
        })
    }
}

fn read_notice_file(path: &std::path::Path) -> Result<String, ConfigError> {
    let problem = |problem: String| ConfigError {
        name: "SIPAS_PRIVACY_NOTICE_FILE",
        problem,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > MAX_NOTICE_BYTES {
        return Err(problem(format!(
            "{} is {size} bytes; a notice may have at most {MAX_NOTICE_BYTES}",
            path.display()
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| problem(format!("{} is not UTF-8 text ({e})", path.display())))?;
    if text.trim().is_empty() {
        return Err(problem(format!("{} is empty", path.display())));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(problem(format!(
            "{} holds control characters (only line breaks and tabs are allowed)",
            path.display()
        )));
    }
    Ok(text)
}

/// Reads the retention settings: every `SIPAS_*_KEEP_DAYS` but the exports' (read with the
/// other export settings and passed in).
fn retention_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
    exports_days: u32,
) -> Result<crate::domain::retention::Rules, ConfigError> {
    use crate::domain::retention::{DEFAULTS, RANGES};
    let days = |name: &'static str, default: u32, range: (u32, u32)| -> Result<u32, ConfigError> {
        match lookup(name) {
            None => Ok(default),
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if (range.0..=range.1).contains(&n) => Ok(n),
                _ => Err(ConfigError {
                    name,
                    problem: format!(
                        "\"{text}\" is not a number of days between {} and {}",
                        range.0, range.1
                    ),
                }),
            },
        }
    };
    Ok(crate::domain::retention::Rules {
        comments_days: days(
            "SIPAS_COMMENTS_KEEP_DAYS",
            DEFAULTS.comments_days,
            RANGES.comments_days,
        )?,
        client_keys_days: days(
            "SIPAS_CLIENT_KEYS_KEEP_DAYS",
            DEFAULTS.client_keys_days,
            RANGES.client_keys_days,
        )?,
        limits_days: days(
            "SIPAS_LIMITS_KEEP_DAYS",
            DEFAULTS.limits_days,
            RANGES.limits_days,
        )?,
        flag_evidence_days: days(
            "SIPAS_FLAG_EVIDENCE_KEEP_DAYS",
            DEFAULTS.flag_evidence_days,
            RANGES.flag_evidence_days,
        )?,
        dossier_days: days(
            "SIPAS_DOSSIER_KEEP_DAYS",
            DEFAULTS.dossier_days,
            RANGES.dossier_days,
        )?,
        exports_days,
    })
}

/// The integrity settings of the citizen's path.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitSettings {
    /// `SIPAS_MIN_FILL_SECONDS`, default 3: a form sent back sooner than this after it was
    /// shown is returned (answers kept) with a request to check and send again. 0: no minimum,
    /// and a form without its signed start time is accepted (its start is then unknown).
    pub min_fill_seconds: u32,
    /// `SIPAS_LIMIT_PERSON`, default `3/60m`: responses through a desk's open QR code from one
    /// client (address and cookie). `off`: none.
    pub person: Option<crate::domain::limits::Rate>,
    /// `SIPAS_LIMIT_ADDRESS`, default `60/60m`: the same from one address, whatever the cookie.
    pub address: Option<crate::domain::limits::Rate>,
    /// `SIPAS_LIMIT_KIOSK`, default `4/60s`: responses through one enrolled kiosk (`/k/…`): four
    /// in a row, then one every 15 seconds.
    pub kiosk: Option<crate::domain::limits::Rate>,
    /// `SIPAS_TRUSTED_PROXIES`: addresses (comma-separated) of reverse proxies whose last
    /// `X-Forwarded-For` entry names the client. A loopback peer is always trusted.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl VisitSettings {
    /// Reads the `SIPAS_MIN_FILL_SECONDS`, `SIPAS_LIMIT_*` and `SIPAS_TRUSTED_PROXIES` variables.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let rate = |name: &'static str, default: &str| -> Result<_, ConfigError> {
            let text = lookup(name).unwrap_or_else(|| default.to_string());
            parse_rate(&text).map_err(|problem| ConfigError { name, problem })
        };
        let trusted_proxies = match lookup("SIPAS_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse().map_err(|_| ConfigError {
                        name: "SIPAS_TRUSTED_PROXIES",
                        problem: format!("\"{t}\" is not an IP address"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(VisitSettings {
            min_fill_seconds: number_var(lookup, "SIPAS_MIN_FILL_SECONDS", 3, 0..=600)? as u32,
            person: rate("SIPAS_LIMIT_PERSON", "3/60m")?,
            address: rate("SIPAS_LIMIT_ADDRESS", "60/60m")?,
            kiosk: rate("SIPAS_LIMIT_KIOSK", "4/60s")?,
            trusted_proxies,
        })
    }
}

/// `off`, or `N/DURATION` with N from 1 to 100000 and DURATION a number followed by `s`, `m`
/// or `h` (at most a day): N at once, refilled evenly over DURATION.
pub fn parse_rate(text: &str) -> Result<Option<crate::domain::limits::Rate>, String> {
    let text = text.trim();
    if matches!(text, "off" | "0") {
        return Ok(None);
    }
    let problem = || {
        format!(
            "\"{text}\" is not \"off\" or a limit like 3/60m (N per seconds s, minutes m or hours h, up to 24h)"
        )
    };
    let (n, per) = text.split_once('/').ok_or_else(problem)?;
    let burst: u32 = n.trim().parse().map_err(|_| problem())?;
    let per = per.trim();
    let (amount, unit) = per.split_at(per.len().saturating_sub(1));
    let amount: u64 = amount.parse().map_err(|_| problem())?;
    let seconds = match unit {
        "s" => amount,
        "m" => amount * 60,
        "h" => amount * 3600,
        _ => return Err(problem()),
    };
    if !(1..=100_000).contains(&burst) || !(1..=86_400).contains(&seconds) {
        return Err(problem());
    }
    Ok(Some(crate::domain::limits::Rate {
        burst,
        per: std::time::Duration::from_secs(seconds),
    }))
}

/// Every variable [`Config::from_lookup`] reads (besides `STATE_DIRECTORY`, `XDG_DATA_HOME`
/// and `HOME`, which only place the default data directory, and `RUST_LOG`): `sipas doctor`
/// names a `SIPAS_*` variable that is set but not here (a typo is otherwise silently ignored).
pub const VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "SIPAS_BIND",
    "SIPAS_PUBLIC_URL",
    "SIPAS_DATA_DIR",
    "SIPAS_FORMS_DIR",
    "SIPAS_DEFAULT_FORM",
    "SIPAS_DB_POOL_SIZE",
    "SIPAS_SESSION_KEY",
    "SIPAS_SESSION_IDLE_MINUTES",
    "SIPAS_COOKIE_SECURE",
    "SIPAS_KEEP_ORIGINAL_COMMENTS",
    "SIPAS_SPOOL_DIR",
    "SIPAS_SPOOL_MAX_MB",
    "SIPAS_DB_TIMEOUT_MS",
    "SIPAS_DB_STATEMENT_TIMEOUT_SECONDS",
    "SIPAS_EXPORT_INLINE_ROWS",
    "SIPAS_EXPORT_KEEP_DAYS",
    "SIPAS_COMMENTS_KEEP_DAYS",
    "SIPAS_CLIENT_KEYS_KEEP_DAYS",
    "SIPAS_LIMITS_KEEP_DAYS",
    "SIPAS_FLAG_EVIDENCE_KEEP_DAYS",
    "SIPAS_DOSSIER_KEEP_DAYS",
    "SIPAS_PRIVACY_CONTROLLER",
    "SIPAS_PRIVACY_CONTACT",
    "SIPAS_PRIVACY_NOTICE_FILE",
    "SIPAS_MIN_FILL_SECONDS",
    "SIPAS_LIMIT_PERSON",
    "SIPAS_LIMIT_ADDRESS",
    "SIPAS_LIMIT_KIOSK",
    "SIPAS_TRUSTED_PROXIES",
    "SIPAS_SMTP_URL",
    "SIPAS_MAIL_FROM",
    "SIPAS_METRICS_TOKEN",
    "SIPAS_LOG_FORMAT",
    "SIPAS_CHROMIUM",
];

/// How the log (standard error) is written: `SIPAS_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Lines for people: coloured only when standard error is a terminal.
    #[default]
    Text,
    /// One JSON object per line (journald, Loki, any log shipper).
    Json,
}

impl LogFormat {
    /// Reads `SIPAS_LOG_FORMAT`: `text` (the default) or `json`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match lookup("SIPAS_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(ConfigError {
                name: "SIPAS_LOG_FORMAT",
                problem: format!(
                    "\"{other}\" is not text (lines, the default) or json (one JSON object per line, for journald or Loki)"
                ),
            }),
        }
    }
}

/// Where the data directory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirSource {
    /// `SIPAS_DATA_DIR`.
    Variable,
    /// `$STATE_DIRECTORY`, which systemd sets for a unit with `StateDirectory=sipas`
    /// (`/var/lib/sipas`).
    StateDirectory,
    /// `/var/lib/sipas`: the process runs as root (whose home the `postgres` account that runs
    /// an embedded server cannot reach).
    System,
    /// The user's data directory: `$XDG_DATA_HOME/sipas`, else `~/.local/share/sipas`.
    UserData,
}

impl DataDirSource {
    /// What set it, as the log and `sipas doctor` say it.
    pub fn describe(self) -> &'static str {
        match self {
            DataDirSource::Variable => "SIPAS_DATA_DIR",
            DataDirSource::StateDirectory => "STATE_DIRECTORY (systemd StateDirectory=)",
            DataDirSource::System => "the default for root",
            DataDirSource::UserData => {
                "the user's data directory (XDG_DATA_HOME or ~/.local/share)"
            }
        }
    }
}

/// The system-wide data directory (also systemd's `StateDirectory=sipas`).
pub const SYSTEM_DATA_DIR: &str = "/var/lib/sipas";

/// The data directory when `SIPAS_DATA_DIR` is unset, whatever the folder the process starts
/// in: `$STATE_DIRECTORY` (its first entry) when systemd set it; `/var/lib/sipas` for root;
/// else `$XDG_DATA_HOME/sipas` or `$HOME/.local/share/sipas`. Relative values of these
/// variables are ignored (the XDG specification's rule); with none left it is an error asking
/// for `SIPAS_DATA_DIR`.
pub fn default_data_dir(
    lookup: &impl Fn(&str) -> Option<String>,
    running_as_root: bool,
) -> Result<(PathBuf, DataDirSource), ConfigError> {
    let absolute = |name: &str| {
        lookup(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    if let Some(state) = lookup("STATE_DIRECTORY")
        .and_then(|list| list.split(':').next().map(PathBuf::from))
        .filter(|path| path.is_absolute())
    {
        return Ok((state, DataDirSource::StateDirectory));
    }
    if running_as_root {
        return Ok((PathBuf::from(SYSTEM_DATA_DIR), DataDirSource::System));
    }
    if let Some(data_home) = absolute("XDG_DATA_HOME") {
        return Ok((data_home.join("sipas"), DataDirSource::UserData));
    }
    if let Some(home) = absolute("HOME") {
        return Ok((home.join(".local/share/sipas"), DataDirSource::UserData));
    }
    Err(ConfigError {
        name: "SIPAS_DATA_DIR",
        problem: "unset, and neither STATE_DIRECTORY, XDG_DATA_HOME nor HOME names a directory: set it to where sipas may keep its data (e.g. /var/lib/sipas)".into(),
    })
}

/// Whether this process runs as root (the owner of `/proc/self` is its effective user).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A variable that is set but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// An on/off setting `name` whose value (if set) is `value`: true/1/yes or false/0/no.
fn switch(name: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            problem: format!("\"{other}\" is not true or false"),
        }),
    }
}
pub const DEFAULT_FORM: &str = "sipas-1001-dich-vu";

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_binding(None)
    }

    /// Reads the configuration from the process environment, with `bind` (from the command
    /// line) in place of `SIPAS_BIND`; the default public URL follows it.
    pub fn from_env_binding(bind: Option<SocketAddr>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| match (name, bind) {
            ("SIPAS_BIND", Some(bind)) => Some(bind.to_string()),
            _ => std::env::var(name).ok().filter(|v| !v.trim().is_empty()),
        })
    }

    /// Reads the configuration through `lookup` (tests pass a map); the data directory's
    /// default depends on whether the process runs as root ([`default_data_dir`]).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_as(lookup, running_as_root())
    }

    /// [`Config::from_lookup`] for a process that runs as root or not.
    pub fn from_lookup_as(
        lookup: impl Fn(&str) -> Option<String>,
        running_as_root: bool,
    ) -> Result<Self, ConfigError> {
        let bind_text = lookup("SIPAS_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind_text.trim().parse().map_err(|e| ConfigError {
            name: "SIPAS_BIND",
            problem: format!("\"{bind_text}\" is not an address like 127.0.0.1:8080 ({e})"),
        })?;
        let public_url = match lookup("SIPAS_PUBLIC_URL") {
            Some(text) => parse_public_url(&text)?,
            None => parse_public_url(&format!("http://{bind}"))?,
        };
        let db_pool_size = match lookup("SIPAS_DB_POOL_SIZE") {
            None => 16,
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        name: "SIPAS_DB_POOL_SIZE",
                        problem: format!("\"{text}\" is not a number between 1 and 1000"),
                    });
                }
            },
        };
        let session_key = match lookup("SIPAS_SESSION_KEY") {
            None => None,
            Some(text) => match hex::decode(text.trim()) {
                Ok(bytes) if bytes.len() >= 64 => Some(bytes),
                _ => {
                    return Err(ConfigError {
                        name: "SIPAS_SESSION_KEY",
                        problem: "must be at least 64 bytes written in hex (128 hex digits; `openssl rand -hex 64` makes one)".into(),
                    });
                }
            },
        };
        let session_idle_minutes = match lookup("SIPAS_SESSION_IDLE_MINUTES") {
            None => 30,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(n) if (1..=24 * 60).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        name: "SIPAS_SESSION_IDLE_MINUTES",
                        problem: format!(
                            "\"{text}\" is not a number of minutes between 1 and 1440"
                        ),
                    });
                }
            },
        };
        let cookie_secure = switch(
            "SIPAS_COOKIE_SECURE",
            lookup("SIPAS_COOKIE_SECURE"),
            public_url.scheme() == "https",
        )?;
        let keep_original_comments = switch(
            "SIPAS_KEEP_ORIGINAL_COMMENTS",
            lookup("SIPAS_KEEP_ORIGINAL_COMMENTS"),
            false,
        )?;
        let export_inline_rows = match lookup("SIPAS_EXPORT_INLINE_ROWS") {
            None => 20_000,
            Some(text) => text.trim().parse::<u64>().map_err(|_| ConfigError {
                name: "SIPAS_EXPORT_INLINE_ROWS",
                problem: format!("\"{text}\" is not a number of responses (0 or more)"),
            })?,
        };
        let export_keep_days = match lookup("SIPAS_EXPORT_KEEP_DAYS") {
            None => 7,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if (1..=366).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        name: "SIPAS_EXPORT_KEEP_DAYS",
                        problem: format!("\"{text}\" is not a number of days between 1 and 366"),
                    });
                }
            },
        };
        let number = |name, default, range| number_var(&lookup, name, default, range);
        let spool_max_bytes = number("SIPAS_SPOOL_MAX_MB", 256, 1..=1_000_000)? * 1024 * 1024;
        let db_pool_timeout =
            std::time::Duration::from_millis(number("SIPAS_DB_TIMEOUT_MS", 2000, 100..=60_000)?);
        let db_statement_timeout = std::time::Duration::from_secs(number(
            "SIPAS_DB_STATEMENT_TIMEOUT_SECONDS",
            60,
            0..=86_400,
        )?);
        // A citizen's store gives up (and spools) after `spool::STORE_TIMEOUT`: a statement
        // timeout that could cancel it first would make an outage look like a refusal.
        if !db_statement_timeout.is_zero() && db_statement_timeout < MIN_STATEMENT_TIMEOUT {
            return Err(ConfigError {
                name: "SIPAS_DB_STATEMENT_TIMEOUT_SECONDS",
                problem: format!(
                    "must be 0 (none) or at least {} seconds (a citizen's store waits {} seconds before the response is spooled)",
                    MIN_STATEMENT_TIMEOUT.as_secs(),
                    crate::domain::limits::STORE_TIMEOUT.as_secs()
                ),
            });
        }
        let (data_dir, data_dir_source) = match lookup("SIPAS_DATA_DIR") {
            Some(dir) => (PathBuf::from(dir.trim()), DataDirSource::Variable),
            None => default_data_dir(&lookup, running_as_root)?,
        };
        // A relative SIPAS_DATA_DIR is taken from the folder the process starts in, once.
        let data_dir = std::path::absolute(&data_dir).map_err(|e| ConfigError {
            name: "SIPAS_DATA_DIR",
            problem: format!("cannot make {} absolute ({e})", data_dir.display()),
        })?;
        let spool_dir = match lookup("SIPAS_SPOOL_DIR") {
            None => None,
            Some(dir) => Some(std::path::absolute(dir.trim()).map_err(|e| ConfigError {
                name: "SIPAS_SPOOL_DIR",
                problem: format!("cannot make {dir} absolute ({e})"),
            })?),
        };
        let database_url = lookup("DATABASE_URL");
        if let Some(url) = &database_url {
            check_database_url(url).map_err(|e| ConfigError {
                name: "DATABASE_URL",
                problem: format!("not a URL like postgres://user@host:5432/sipas ({e})"),
            })?;
        }
        Ok(Config {
            database_url,
            bind,
            public_url,
            data_dir,
            data_dir_source,
            forms_dir: lookup("SIPAS_FORMS_DIR").map(PathBuf::from),
            embedded_forms: true,
            default_form: lookup("SIPAS_DEFAULT_FORM").unwrap_or_else(|| DEFAULT_FORM.to_string()),
            db_pool_size,
            session_key,
            session_idle_minutes,
            cookie_secure,
            keep_original_comments,
            spool_dir,
            spool_max_bytes,
            db_pool_timeout,
            db_statement_timeout,
            export_inline_rows,
            export_keep_days,
            visits: VisitSettings::from_lookup(&lookup)?,
            retention: retention_from_lookup(&lookup, export_keep_days)?,
            privacy: PrivacySettings::from_lookup(&lookup)?,
            mail: MailSettings::from_lookup(&lookup)?,
            metrics_token: MetricsToken::from_lookup(&lookup)?,
            log_format: LogFormat::from_lookup(&lookup)?,
            chromium: lookup("SIPAS_CHROMIUM")
                .filter(|c| !c.is_empty())
                .map(PathBuf::from),
        })
    }

    /// The spool directory of an instance on the database `identity`: `SIPAS_SPOOL_DIR`, or
    /// `{SIPAS_DATA_DIR}/spool/{identifier}-{database name}`.
    pub fn spool_dir_for(&self, identity: &crate::domain::instance::DatabaseIdentity) -> PathBuf {
        self.spool_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("spool").join(identity.slug()))
    }

    /// Where exported files are kept: `SIPAS_DATA_DIR/exports`.
    pub fn export_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }

    /// The limits of the database sessions (`sipas_db::build_pool_with`).
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            pool_timeout: self.db_pool_timeout,
            statement_timeout: self.db_statement_timeout,
            fill_time_signal: self.visits.min_fill_seconds > 0,
            person_signal: self.visits.person.is_some(),
        }
    }

    /// The link a desk's QR code encodes.
    pub fn desk_link(&self, desk_code: &str) -> String {
        format!(
            "{}/s/{desk_code}",
            self.public_url.as_str().trim_end_matches('/')
        )
    }
}

/// `name` as a whole number in `range`, `default` when unset.
fn number_var(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError {
                name,
                problem: format!(
                    "\"{text}\" is not a number between {} and {}",
                    range.start(),
                    range.end()
                ),
            }),
        },
    }
}

fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    let problem = |p: String| ConfigError {
        name: "SIPAS_PUBLIC_URL",
        problem: p,
    };
    let url = Url::parse(text.trim()).map_err(|e| {
        problem(format!(
            "\"{text}\" is not a URL like https://sipas.example.gov.vn ({e})"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(problem(format!(
            "\"{text}\" must be an http(s) URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(problem(format!(
            "\"{text}\" must not have a query or fragment"
        )));
    }
    Ok(url)
}

/// How long a request waits for a connection before the database counts as unreachable: for a
/// free slot in the pool, to open a new connection, and to check an idle one. A citizen whose
/// database is down waits at most about twice this before the response is spooled.
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `statement_timeout` of the application's sessions.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The limits of the application's database sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Deadpool's wait, create and recycle timeouts.
    pub pool_timeout: Duration,
    /// `statement_timeout` (and `idle_in_transaction_session_timeout`) set on every pooled
    /// connection; zero: none.
    pub statement_timeout: Duration,
    /// Fraud signals that depend on the citizen's path (`sipas_db::flags`): the completion
    /// time (off when `SIPAS_MIN_FILL_SECONDS` is 0) and bursts from one client (off when
    /// `SIPAS_LIMIT_PERSON` is off). Set on every pooled connection as `sipas.fill_time` and
    /// `sipas.person` (`on`/`off`), read by the detection in the rollup fold.
    pub fill_time_signal: bool,
    pub person_signal: bool,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            pool_timeout: DEFAULT_POOL_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            fill_time_signal: true,
            person_signal: true,
        }
    }
}

/// Checks `DATABASE_URL` as a URL. PostgreSQL's URLs may leave the host out after a user name
/// (`postgres://sipas@/sipas?host=/var/run/postgresql`: the Unix socket, as libpq and
/// tokio-postgres read it), which the `url` crate refuses ("empty host"): such a URL is checked
/// with a placeholder host in its place.
fn check_database_url(text: &str) -> Result<(), url::ParseError> {
    match Url::parse(text) {
        Err(url::ParseError::EmptyHost) => {
            let (scheme, rest) = text.split_once("://").ok_or(url::ParseError::EmptyHost)?;
            if !matches!(scheme, "postgres" | "postgresql") {
                return Err(url::ParseError::EmptyHost);
            }
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let (user, host) = authority
                .rsplit_once('@')
                .ok_or(url::ParseError::EmptyHost)?;
            // No host at all, or only a port: the socket directory (or the default one).
            if !(host.is_empty() || host.starts_with(':')) {
                return Err(url::ParseError::EmptyHost);
            }
            Url::parse(&format!("{scheme}://{user}@localhost{host}{tail}")).map(drop)
        }
        other => other.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("HOME".into())
            .or_insert_with(|| "/home/test".into());
        Config::from_lookup_as(|k| map.get(k).cloned(), false)
    }

    #[test]
    fn defaults_and_links() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.desk_link("abc123"), "http://127.0.0.1:8080/s/abc123");
        let c = config(&[("SIPAS_PUBLIC_URL", "https://hailong.xuanloc.gov.vn/sipas/")]).unwrap();
        assert_eq!(
            c.desk_link("abc123"),
            "https://hailong.xuanloc.gov.vn/sipas/s/abc123"
        );
    }

    #[test]
    fn the_data_directory_does_not_depend_on_the_working_folder() {
        let dir = |vars: &[(&str, &str)], root: bool| {
            let map: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::from_lookup_as(|k| map.get(k).cloned(), root)
                .map(|c| (c.data_dir, c.data_dir_source))
        };
        let home = ("HOME", "/home/nv");
        assert_eq!(
            dir(&[home], false).unwrap(),
            (
                PathBuf::from("/home/nv/.local/share/sipas"),
                DataDirSource::UserData
            )
        );
        assert_eq!(
            dir(&[home, ("XDG_DATA_HOME", "/data/nv")], false).unwrap(),
            (PathBuf::from("/data/nv/sipas"), DataDirSource::UserData)
        );
        // A relative XDG_DATA_HOME is ignored, as the specification says.
        assert_eq!(
            dir(&[home, ("XDG_DATA_HOME", "data")], false).unwrap().0,
            PathBuf::from("/home/nv/.local/share/sipas")
        );
        // Root: the system's directory, not /root (the postgres account cannot reach it).
        assert_eq!(
            dir(&[("HOME", "/root")], true).unwrap(),
            (PathBuf::from("/var/lib/sipas"), DataDirSource::System)
        );
        // systemd's StateDirectory= (several are separated by colons) comes first.
        for root in [false, true] {
            assert_eq!(
                dir(
                    &[home, ("STATE_DIRECTORY", "/var/lib/sipas:/var/lib/other")],
                    root
                )
                .unwrap(),
                (
                    PathBuf::from("/var/lib/sipas"),
                    DataDirSource::StateDirectory
                )
            );
        }
        // SIPAS_DATA_DIR wins; a relative one is made absolute once, at start-up.
        assert_eq!(
            dir(
                &[
                    home,
                    ("SIPAS_DATA_DIR", "/srv/sipas"),
                    ("STATE_DIRECTORY", "/x")
                ],
                true
            )
            .unwrap(),
            (PathBuf::from("/srv/sipas"), DataDirSource::Variable)
        );
        let relative = dir(&[("SIPAS_DATA_DIR", "du-lieu")], false).unwrap().0;
        assert_eq!(relative, std::env::current_dir().unwrap().join("du-lieu"));
        // Nothing to go by: an error naming SIPAS_DATA_DIR.
        let e = dir(&[], false).unwrap_err();
        assert_eq!(e.name, "SIPAS_DATA_DIR");
        assert!(dir(&[], true).is_ok());
    }

    #[test]
    fn every_variable_read_is_listed() {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let answers: HashMap<&str, &str> = [
            ("HOME", "/home/test"),
            ("SIPAS_SMTP_URL", "smtp://127.0.0.1"),
            ("SIPAS_MAIL_FROM", "sipas@x.vn"),
        ]
        .into();
        Config::from_lookup_as(
            |name| {
                asked.borrow_mut().insert(name.to_string());
                answers.get(name).map(|v| v.to_string())
            },
            false,
        )
        .unwrap();
        let placing_the_data_dir = ["STATE_DIRECTORY", "XDG_DATA_HOME", "HOME"];
        let unlisted: Vec<String> = asked
            .into_inner()
            .into_iter()
            .filter(|name| {
                !VARIABLES.contains(&name.as_str())
                    && !placing_the_data_dir.contains(&name.as_str())
            })
            .collect();
        assert!(unlisted.is_empty(), "add to VARIABLES: {unlisted:?}");
    }

    #[test]
    fn a_database_url_may_name_a_unix_socket_instead_of_a_host() {
        for url in [
            "postgres://sipas@/sipas?host=/var/run/postgresql",
            "postgresql://sipas:secret@/sipas?host=/var/run/postgresql",
            "postgres://sipas@:5433/sipas?host=/tmp",
            "postgres:///sipas?host=/var/run/postgresql&user=sipas",
            "postgres://sipas@127.0.0.1:5432/sipas",
        ] {
            let config = config(&[("DATABASE_URL", url)])
                .unwrap_or_else(|e| panic!("{url}: {}: {}", e.name, e.problem));
            assert_eq!(config.database_url.as_deref(), Some(url));
        }
        for url in [
            "postgres://sipas@:port/sipas",
            "https://user@/x",
            "not a url",
        ] {
            let e = config(&[("DATABASE_URL", url)]).unwrap_err();
            assert_eq!(e.name, "DATABASE_URL", "{url}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&[("SIPAS_BIND", "localhost")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_BIND");
        let e = config(&[("SIPAS_PUBLIC_URL", "ftp://x")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_PUBLIC_URL");
        let e = config(&[("SIPAS_DB_POOL_SIZE", "0")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_DB_POOL_SIZE");
        let e = config(&[("DATABASE_URL", "not a url")]).unwrap_err();
        assert_eq!(e.name, "DATABASE_URL");
        let e = config(&[("SIPAS_SESSION_KEY", "abcd")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_SESSION_KEY");
        let e = config(&[("SIPAS_COOKIE_SECURE", "maybe")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_COOKIE_SECURE");
        let e = config(&[("SIPAS_EXPORT_INLINE_ROWS", "-1")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_EXPORT_INLINE_ROWS");
        let e = config(&[("SIPAS_EXPORT_KEEP_DAYS", "0")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_EXPORT_KEEP_DAYS");
        let e = config(&[("SIPAS_LIMIT_PERSON", "3 per hour")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_LIMIT_PERSON");
        let e = config(&[("SIPAS_TRUSTED_PROXIES", "10.0.0.1, proxy")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_TRUSTED_PROXIES");
        let e = config(&[("SIPAS_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_LOG_FORMAT");
        assert!(e.problem.contains("\"xml\" is not text"), "{e}");
        assert_eq!(config(&[]).unwrap().log_format, LogFormat::Text);
        assert_eq!(
            config(&[("SIPAS_LOG_FORMAT", "json")]).unwrap().log_format,
            LogFormat::Json
        );
        let ok = config(&[
            ("SIPAS_LIMIT_KIOSK", "off"),
            ("SIPAS_LIMIT_ADDRESS", "10/2h"),
        ])
        .unwrap();
        assert_eq!(ok.visits.kiosk, None);
        assert_eq!(ok.visits.address.unwrap().per.as_secs(), 7200);
        assert_eq!(ok.visits.min_fill_seconds, 3);
    }

    #[test]
    fn retention_and_the_privacy_notice_are_checked_at_start_up() {
        let c = config(&[]).unwrap();
        assert_eq!(c.retention, crate::domain::retention::DEFAULTS);
        assert!(!c.privacy.configured);
        assert_eq!(c.privacy.controller, DEFAULT_PRIVACY_CONTROLLER);
        for (name, bad) in [
            ("SIPAS_COMMENTS_KEEP_DAYS", "29"),
            ("SIPAS_COMMENTS_KEEP_DAYS", "two years"),
            ("SIPAS_CLIENT_KEYS_KEEP_DAYS", "0"),
            ("SIPAS_LIMITS_KEEP_DAYS", "3"),
            ("SIPAS_FLAG_EVIDENCE_KEEP_DAYS", "-1"),
            ("SIPAS_DOSSIER_KEEP_DAYS", "91"),
        ] {
            let e = config(&[(name, bad)]).unwrap_err();
            assert_eq!(e.name, name);
            assert!(e.problem.contains("number of days between"), "{e}");
            assert!(e.to_string().starts_with(name), "{e}");
        }
        let c = config(&[
            ("SIPAS_COMMENTS_KEEP_DAYS", "400"),
            ("SIPAS_DOSSIER_KEEP_DAYS", "3"),
            ("SIPAS_EXPORT_KEEP_DAYS", "2"),
            ("SIPAS_PRIVACY_CONTROLLER", "UBND xã Xuân Lộc"),
            ("SIPAS_PRIVACY_CONTACT", "0251 3871 234"),
        ])
        .unwrap();
        assert_eq!(c.retention.comments_days, 400);
        assert_eq!(c.retention.dossier_days, 3);
        assert_eq!(c.retention.exports_days, 2);
        assert!(c.privacy.configured);
        let e = config(&[("SIPAS_PRIVACY_CONTACT", "a\u{7}b")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_PRIVACY_CONTACT");
        let e = config(&[("SIPAS_PRIVACY_CONTROLLER", "x".repeat(501).as_str())]).unwrap_err();
        assert_eq!(e.name, "SIPAS_PRIVACY_CONTROLLER");
        let e = config(&[("SIPAS_PRIVACY_NOTICE_FILE", "/nonexistent/notice.txt")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_PRIVACY_NOTICE_FILE");
        assert!(e.problem.contains("/nonexistent/notice.txt"), "{e}");
    }

    #[test]
    fn the_session_cookie_is_secure_behind_https() {
        assert!(!config(&[]).unwrap().cookie_secure);
        let https = config(&[("SIPAS_PUBLIC_URL", "https://sipas.example.gov.vn")]).unwrap();
        assert!(https.cookie_secure);
        let key = "ab".repeat(64);
        assert_eq!(
            config(&[("SIPAS_SESSION_KEY", &key)])
                .unwrap()
                .session_key
                .unwrap()
                .len(),
            64
        );
    }

    #[test]
    fn the_smtp_server_of_the_alerts_is_checked_at_start_up() {
        assert_eq!(config(&[]).unwrap().mail, None);
        let from = (
            "SIPAS_MAIL_FROM",
            "SIPAS Xuân Lộc <sipas@xuanloc.dongnai.gov.vn>",
        );
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://user:p%40ss@mail.example.gov.vn:587?tls=required",
            "smtp://mail.example.gov.vn?tls=opportunistic",
            "smtps://user:secret@mail.example.gov.vn",
        ] {
            let c = config(&[("SIPAS_SMTP_URL", ok), from]).unwrap();
            let mail = c.mail.unwrap();
            assert_eq!(mail.smtp_url, ok);
            assert!(!format!("{mail:?}").contains("secret"), "{mail:?}");
        }
        for (bad, says) in [
            ("mail.example.gov.vn", "not a URL"),
            ("http://mail.example.gov.vn", "scheme must be smtp or smtps"),
            ("smtp://mail.example.gov.vn?tls=yes", "tls=yes"),
            (
                "smtps://mail.example.gov.vn?tls=required",
                "no tls parameter",
            ),
            (
                "smtp://mail.example.gov.vn?timeout=5",
                "unknown parameter \"timeout\"",
            ),
            ("smtp://:secret@/", "empty host"),
            ("smtp:mail.example.gov.vn", "names no host"),
        ] {
            let e = config(&[("SIPAS_SMTP_URL", bad), from]).unwrap_err();
            assert_eq!(e.name, "SIPAS_SMTP_URL", "{bad}");
            assert!(e.problem.contains(says), "{bad}: {e}");
            assert!(!e.problem.contains("secret"), "{e}");
        }
        let e = config(&[("SIPAS_SMTP_URL", "smtp://127.0.0.1")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_MAIL_FROM");
        for bad in ["sipas", "SIPAS <sipas@x.vn", "a@x.vn>", "<<a@x.vn>"] {
            let e = config(&[
                ("SIPAS_SMTP_URL", "smtp://127.0.0.1"),
                ("SIPAS_MAIL_FROM", bad),
            ])
            .unwrap_err();
            assert_eq!(e.name, "SIPAS_MAIL_FROM", "{bad}");
        }
        let plain = config(&[
            ("SIPAS_SMTP_URL", "smtp://127.0.0.1"),
            ("SIPAS_MAIL_FROM", "sipas@x.vn"),
        ])
        .unwrap();
        assert_eq!(plain.mail.unwrap().from, "sipas@x.vn");
    }

    #[test]
    fn the_metrics_token_is_long_enough_and_never_shown() {
        assert_eq!(config(&[]).unwrap().metrics_token, None);
        let long = "0123456789abcdef0123456789abcdef";
        let c = config(&[("SIPAS_METRICS_TOKEN", long)]).unwrap();
        let token = c.metrics_token.unwrap();
        assert_eq!(token.expose(), long.as_bytes());
        assert!(!format!("{token:?}").contains("0123"), "{token:?}");
        for bad in [&long[1..], "short", "0123456789abcdef 0123456789abcdef"] {
            let e = config(&[("SIPAS_METRICS_TOKEN", bad)]).unwrap_err();
            assert_eq!(e.name, "SIPAS_METRICS_TOKEN", "{bad}");
            assert!(!e.problem.contains("0123"), "{e}");
        }
    }

    #[test]
    fn originals_of_masked_comments_are_kept_only_when_the_office_says_so() {
        assert!(!config(&[]).unwrap().keep_original_comments);
        for yes in ["true", "1", "yes", " true "] {
            let c = config(&[("SIPAS_KEEP_ORIGINAL_COMMENTS", yes)]).unwrap();
            assert!(c.keep_original_comments, "{yes}");
        }
        assert!(
            !config(&[("SIPAS_KEEP_ORIGINAL_COMMENTS", "no")])
                .unwrap()
                .keep_original_comments
        );
        let e = config(&[("SIPAS_KEEP_ORIGINAL_COMMENTS", "có")]).unwrap_err();
        assert_eq!(e.name, "SIPAS_KEEP_ORIGINAL_COMMENTS");
    }
}
