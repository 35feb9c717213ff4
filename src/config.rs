//! Configuration, read from environment variables once at start-up and checked there.

use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

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
    /// `SIPAS_DATA_DIR`, default `./data`: the embedded PostgreSQL lives here.
    pub data_dir: PathBuf,
    /// `SIPAS_FORMS_DIR`, default `./survey-forms`.
    pub forms_dir: PathBuf,
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
}

/// A variable that is set but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
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

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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
        let cookie_secure = match lookup("SIPAS_COOKIE_SECURE").as_deref().map(str::trim) {
            None => public_url.scheme() == "https",
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(ConfigError {
                    name: "SIPAS_COOKIE_SECURE",
                    problem: format!("\"{other}\" is not true or false"),
                });
            }
        };
        let database_url = lookup("DATABASE_URL");
        if let Some(url) = &database_url {
            Url::parse(url).map_err(|e| ConfigError {
                name: "DATABASE_URL",
                problem: format!("not a URL like postgres://user@host:5432/sipas ({e})"),
            })?;
        }
        Ok(Config {
            database_url,
            bind,
            public_url,
            data_dir: lookup("SIPAS_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from),
            forms_dir: lookup("SIPAS_FORMS_DIR")
                .map_or_else(|| PathBuf::from("survey-forms"), PathBuf::from),
            default_form: lookup("SIPAS_DEFAULT_FORM").unwrap_or_else(|| DEFAULT_FORM.to_string()),
            db_pool_size,
            session_key,
            session_idle_minutes,
            cookie_secure,
        })
    }

    /// The link a desk's QR code encodes.
    pub fn desk_link(&self, desk_code: &str) -> String {
        format!(
            "{}/s/{desk_code}",
            self.public_url.as_str().trim_end_matches('/')
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
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
}
