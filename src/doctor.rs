//! `sipas doctor`: checks an installation's configuration and surroundings without changing
//! anything, and says so in one Vietnamese line per check: `✓` passed, `!` a warning, `✗` a
//! failure, `–` not checked because of a failure above. Each check is a small function
//! returning a [`Check`]; [`run`] gathers them into a [`Report`], which fails when one failed
//! (warnings alone do not).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::config::{Config, ConfigError, VARIABLES};
use crate::db::probe::{MigrationState, Probe, ServerFacts};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Warning,
    Failed,
    /// Not checked: what it needs failed above.
    Skipped,
}

impl Status {
    pub fn mark(self) -> char {
        match self {
            Status::Passed => '✓',
            Status::Warning => '!',
            Status::Failed => '✗',
            Status::Skipped => '–',
        }
    }
}

/// One line of the report: what was checked and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    /// "Cơ sở dữ liệu", "Khóa phiên", ...
    pub subject: &'static str,
    pub detail: String,
}

impl Check {
    fn new(status: Status, subject: &'static str, detail: impl Into<String>) -> Self {
        Check {
            status,
            subject,
            detail: detail.into(),
        }
    }

    fn skipped(subject: &'static str, because: &str) -> Self {
        Check::new(
            Status::Skipped,
            subject,
            format!("không kiểm tra ({because})"),
        )
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.mark(),
            self.subject,
            self.detail
        )
    }
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether a check failed (the command then exits non-zero).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Failed)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        Ok(())
    }
}

/// What the checks read: environment variables (an empty one counts as unset, as for the
/// service) and whether the process runs as root (the default data directory depends on it).
#[derive(Debug, Clone)]
pub struct Environment {
    vars: HashMap<String, String>,
    running_as_root: bool,
}

impl Environment {
    /// This process's environment.
    pub fn from_process() -> Self {
        Environment::new(std::env::vars(), crate::config::running_as_root())
    }

    pub fn new(vars: impl IntoIterator<Item = (String, String)>, running_as_root: bool) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
            running_as_root,
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

/// Variables of the developers' tools (tests, benchmarks, CI), not of the service.
fn is_tooling_variable(name: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "SIPAS_TEST_",
        "SIPAS_SKIP_",
        "SIPAS_BENCH_",
        "SIPAS_LOAD_",
        "SIPAS_COVERAGE_",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || matches!(
            name,
            "SIPAS_AXE_JS" | "SIPAS_REQUIRE_TOOLS" | "SIPAS_CHROMEDRIVER"
        )
}

/// Runs every check.
pub async fn run(env: &Environment) -> Report {
    let mut checks = Vec::new();
    let (config, broken) = configuration(env, &mut checks);
    let Some(config) = config else {
        return Report { checks };
    };
    let is_broken = |name: &str| broken.contains(&name);
    checks.push(session_key(&config, is_broken("SIPAS_SESSION_KEY")));
    let (database_check, url) = database_url(&config, is_broken("DATABASE_URL")).await;
    let probe = match (&database_check, &url) {
        (None, Some(url)) => Some(crate::db::probe::probe(url, config.db_pool_timeout).await),
        _ => None,
    };
    checks.push(match (database_check, &probe, &url) {
        (Some(check), _, _) => check,
        (None, Some(probe), Some(url)) => database(url, probe),
        _ => Check::skipped("Cơ sở dữ liệu", "không có địa chỉ"),
    });
    checks.push(match (&probe, &url) {
        (Some(Probe::Answers(_)), Some(url)) => {
            migrations(crate::db::probe::migration_state(url).await)
        }
        (Some(Probe::MissingDatabase { .. }), _) => match crate::db::probe::embedded_versions() {
            Ok(all) => Check::new(
                Status::Warning,
                "Lược đồ",
                format!(
                    "chưa có: {} migration sẽ được áp dụng khi cơ sở dữ liệu được tạo",
                    all.len()
                ),
            ),
            Err(e) => Check::new(Status::Failed, "Lược đồ", format!("{e:#}")),
        },
        _ => Check::skipped("Lược đồ", "không có cơ sở dữ liệu trả lời"),
    });
    checks.push(forms(&config));
    let facts = match &probe {
        Some(Probe::Answers(facts)) => Some(facts),
        _ => None,
    };
    checks.push(if is_broken("SIPAS_DATA_DIR") {
        Check::skipped("Thư mục dữ liệu", "SIPAS_DATA_DIR không hợp lệ")
    } else {
        data_dir(&config)
    });
    checks.push(
        if is_broken("SIPAS_SPOOL_DIR") || is_broken("SIPAS_DATA_DIR") {
            Check::skipped("Hàng đợi phiếu (spool)", "thư mục không hợp lệ")
        } else {
            spool(&config, facts)
        },
    );
    checks.push(
        if is_broken("SIPAS_PUBLIC_URL") || is_broken("SIPAS_BIND") {
            Check::skipped("Địa chỉ công khai", "SIPAS_PUBLIC_URL không hợp lệ")
        } else {
            public_url(&config)
        },
    );
    checks.push(time_zone(env, facts));
    Report { checks }
}

/// Reads the configuration as the service does, collecting every unusable variable (each is
/// dropped in turn, so that the next one shows): one `✗` line each, or one `✓` line; a `!` line
/// per `SIPAS_*` variable the service does not know. Returns the configuration read without
/// the unusable variables (`None` when even that fails) and their names.
pub fn configuration(
    env: &Environment,
    checks: &mut Vec<Check>,
) -> (Option<Config>, Vec<&'static str>) {
    const SUBJECT: &str = "Cấu hình";
    let mut broken: Vec<&'static str> = Vec::new();
    let mut errors: Vec<ConfigError> = Vec::new();
    let config = loop {
        let lookup = |name: &str| {
            if broken.contains(&name) {
                None
            } else {
                env.get(name)
            }
        };
        match Config::from_lookup_as(lookup, env.running_as_root) {
            Ok(config) => break Some(config),
            Err(e) => {
                let again = broken.contains(&e.name);
                broken.push(e.name);
                errors.push(e);
                if again {
                    break None;
                }
            }
        }
    };
    let mut set: Vec<&str> = VARIABLES
        .iter()
        .copied()
        .filter(|name| env.get(name).is_some())
        .collect();
    set.sort_unstable();
    if errors.is_empty() {
        checks.push(Check::new(
            Status::Passed,
            SUBJECT,
            if set.is_empty() {
                "không biến nào được đặt: dùng các giá trị mặc định".to_string()
            } else {
                format!("{} biến đã đặt, đều hợp lệ ({})", set.len(), set.join(", "))
            },
        ));
    }
    let mut seen = Vec::new();
    for e in errors {
        if seen.contains(&e.to_string()) {
            continue;
        }
        seen.push(e.to_string());
        checks.push(Check::new(
            Status::Failed,
            SUBJECT,
            format!("biến {} không dùng được: {}", e.name, e.problem),
        ));
    }
    let mut unknown: Vec<&String> = env
        .vars
        .keys()
        .filter(|name| {
            name.starts_with("SIPAS_")
                && !VARIABLES.contains(&name.as_str())
                && !is_tooling_variable(name)
        })
        .collect();
    unknown.sort();
    for name in unknown {
        checks.push(Check::new(
            Status::Warning,
            SUBJECT,
            format!("{name} không phải biến của sipas (gõ nhầm?): bị bỏ qua"),
        ));
    }
    (config, broken)
}

/// The fewest distinct byte values a session key may have: 64 random bytes have about 57, a
/// key of one repeated byte or a short repeated pattern far fewer.
pub const MIN_DISTINCT_KEY_BYTES: usize = 16;

/// `SIPAS_SESSION_KEY`: set (else sessions end at every restart and instances cannot share
/// them: a warning), long enough (the configuration checks 64 bytes) and not made of a few
/// repeated bytes.
pub fn session_key(config: &Config, unusable: bool) -> Check {
    const SUBJECT: &str = "Khóa phiên";
    if unusable {
        return Check::skipped(SUBJECT, "SIPAS_SESSION_KEY không hợp lệ, xem trên");
    }
    let Some(key) = &config.session_key else {
        return Check::new(
            Status::Warning,
            SUBJECT,
            "SIPAS_SESSION_KEY chưa đặt: mỗi lần khởi động dùng một khóa ngẫu nhiên, nên phiên đăng nhập mất khi khởi động lại và các máy chủ sau cùng một proxy không dùng chung được; tạo một khóa bằng `openssl rand -hex 64`",
        );
    };
    let mut distinct = [false; 256];
    for byte in key {
        distinct[usize::from(*byte)] = true;
    }
    let distinct = distinct.iter().filter(|d| **d).count();
    if distinct < MIN_DISTINCT_KEY_BYTES {
        return Check::new(
            Status::Failed,
            SUBJECT,
            format!(
                "SIPAS_SESSION_KEY yếu: {} byte nhưng chỉ {distinct} giá trị byte khác nhau (lặp lại, không ngẫu nhiên): tạo khóa mới bằng `openssl rand -hex 64` và đặt cùng một khóa cho mọi máy chủ",
                key.len()
            ),
        );
    }
    Check::new(
        Status::Passed,
        SUBJECT,
        format!("{} byte, {distinct} giá trị byte khác nhau", key.len()),
    )
}

/// The database the service would use: `DATABASE_URL`, else the local server if one answers;
/// else (the service would start a private server) a warning and no URL.
async fn database_url(config: &Config, unusable: bool) -> (Option<Check>, Option<String>) {
    const SUBJECT: &str = "Cơ sở dữ liệu";
    if unusable {
        return (
            Some(Check::skipped(
                SUBJECT,
                "DATABASE_URL không hợp lệ, xem trên",
            )),
            None,
        );
    }
    if let Some(url) = &config.database_url {
        return (None, Some(url.clone()));
    }
    if crate::db::embedded::server_answers(crate::db::DEFAULT_DATABASE_URL).await {
        return (None, Some(crate::db::DEFAULT_DATABASE_URL.to_string()));
    }
    (
        Some(Check::new(
            Status::Warning,
            SUBJECT,
            format!(
                "DATABASE_URL chưa đặt và không có máy chủ PostgreSQL trả lời ở 127.0.0.1:5432: `sipas serve` sẽ chạy một PostgreSQL riêng trong {}",
                config.data_dir.join("postgres").display()
            ),
        )),
        None,
    )
}

/// Whether the database at `url` answered, and the server's version.
pub fn database(url: &str, probe: &Probe) -> Check {
    const SUBJECT: &str = "Cơ sở dữ liệu";
    let shown = crate::db::redact(url);
    let short = |version: &str| version.split_whitespace().next().unwrap_or("").to_string();
    match probe {
        Probe::Answers(facts) => Check::new(
            Status::Passed,
            SUBJECT,
            format!("PostgreSQL {} trả lời ({shown})", short(&facts.version)),
        ),
        Probe::MissingDatabase { name, version } => Check::new(
            Status::Warning,
            SUBJECT,
            format!(
                "máy chủ PostgreSQL{} trả lời nhưng chưa có cơ sở dữ liệu “{name}” ({shown}): `sipas migrate` tạo nó nếu tài khoản có quyền CREATEDB",
                version
                    .as_deref()
                    .map(|v| format!(" {}", short(v)))
                    .unwrap_or_default()
            ),
        ),
        Probe::Unreachable(problem) => Check::new(
            Status::Failed,
            SUBJECT,
            format!("không kết nối được tới {shown}: {problem}"),
        ),
    }
}

/// The migrations the database lacks (applied at the next start) or has from a newer version.
pub fn migrations(state: anyhow::Result<MigrationState>) -> Check {
    const SUBJECT: &str = "Lược đồ";
    match state {
        Err(e) => Check::new(
            Status::Failed,
            SUBJECT,
            format!("không đọc được danh sách migration: {e:#}"),
        ),
        Ok(state) if !state.unknown.is_empty() => Check::new(
            Status::Failed,
            SUBJECT,
            format!(
                "cơ sở dữ liệu có {} migration mà bản sipas này không có ({}): nó đã được một phiên bản mới hơn nâng cấp; hãy dùng phiên bản đó",
                state.unknown.len(),
                state.unknown.join(", ")
            ),
        ),
        Ok(state) if !state.pending.is_empty() => Check::new(
            Status::Warning,
            SUBJECT,
            format!(
                "{} migration chờ áp dụng ({}): `sipas migrate` hoặc lần khởi động tới sẽ áp dụng",
                state.pending.len(),
                state.pending.join(", ")
            ),
        ),
        Ok(state) => Check::new(
            Status::Passed,
            SUBJECT,
            format!("đủ {} migration, không có migration chờ", state.applied),
        ),
    }
}

/// The survey forms: the embedded ones and those of `SIPAS_FORMS_DIR`, each valid, and the
/// default form among them.
pub fn forms(config: &Config) -> Check {
    const SUBJECT: &str = "Mẫu phiếu";
    let loaded = match crate::forms::load(config.embedded_forms, config.forms_dir.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            return Check::new(Status::Failed, SUBJECT, e.to_string().replace('\n', "; "));
        }
    };
    let ids: Vec<&str> = loaded.files.iter().map(|(_, f)| f.id.as_str()).collect();
    if !ids.contains(&config.default_form.as_str()) {
        return Check::new(
            Status::Failed,
            SUBJECT,
            format!(
                "SIPAS_DEFAULT_FORM “{}” không có trong các mẫu ({})",
                config.default_form,
                ids.join(", ")
            ),
        );
    }
    Check::new(
        Status::Passed,
        SUBJECT,
        format!(
            "{} mẫu hợp lệ: {}; mẫu mặc định {}",
            loaded.files.len(),
            loaded.describe(["nhúng sẵn", "SIPAS_FORMS_DIR thay", "SIPAS_FORMS_DIR thêm"]),
            config.default_form
        ),
    )
}

/// What [`probe_dir`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirState {
    /// The directory exists and a file can be written in it.
    Writable,
    /// It does not exist yet, and can be made (and written in): the service makes it.
    Creatable,
}

/// Whether `dir` exists and is writable, or can be made, by this process: tried for real (a
/// file written and removed; missing directories made and removed again), so that read-only
/// mounts, ACLs and a regular file in the way all show. Leaves nothing behind.
pub fn probe_dir(dir: &Path) -> Result<DirState, String> {
    fn write_probe(dir: &Path) -> Result<(), String> {
        let probe = dir.join(format!(".sipas-doctor-{}", std::process::id()));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(|e| format!("không ghi được vào thư mục: {e}"))?;
        std::fs::remove_file(&probe).map_err(|e| format!("không xóa được tệp thử: {e}"))
    }
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => write_probe(dir).map(|()| DirState::Writable),
        Ok(_) => Err("không phải là thư mục".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(format!(
            "không tạo được: một phần của đường dẫn là tệp, không phải thư mục ({e})"
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The directories to make: `dir` and its missing ancestors, deepest first.
            let missing: Vec<&Path> = dir
                .ancestors()
                .take_while(|a| !a.as_os_str().is_empty() && std::fs::symlink_metadata(a).is_err())
                .collect();
            let made = std::fs::create_dir_all(dir)
                .map_err(|e| format!("chưa có và không tạo được: {e}"))
                .and_then(|()| write_probe(dir));
            for path in &missing {
                let _ = std::fs::remove_dir(path);
            }
            made.map(|()| DirState::Creatable)
        }
        Err(e) => Err(format!("không đọc được: {e}")),
    }
}

/// Free space for this process on the file system of `path` (or of its nearest existing
/// ancestor), in bytes.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let existing = path
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    let stat = rustix::fs::statvfs(existing)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// "12,3 GiB".
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = if unit == 0 {
        format!("{bytes}")
    } else if value.fract() < 0.05 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    format!("{} {}", text.replace('.', ","), UNITS[unit])
}

/// Why the data directory is where it is, in the report's words.
fn data_dir_source(source: crate::config::DataDirSource) -> &'static str {
    use crate::config::DataDirSource as S;
    match source {
        S::Variable => "SIPAS_DATA_DIR",
        S::StateDirectory => "STATE_DIRECTORY của systemd",
        S::System => "mặc định khi chạy bằng root",
        S::UserData => "thư mục dữ liệu của người dùng, XDG_DATA_HOME hoặc ~/.local/share",
    }
}

/// The data directory: where it is, why, and that it can be written.
pub fn data_dir(config: &Config) -> Check {
    const SUBJECT: &str = "Thư mục dữ liệu";
    let dir = &config.data_dir;
    let from = data_dir_source(config.data_dir_source);
    match probe_dir(dir) {
        Ok(DirState::Writable) => Check::new(
            Status::Passed,
            SUBJECT,
            format!("{} (theo {from}): ghi được", dir.display()),
        ),
        Ok(DirState::Creatable) => Check::new(
            Status::Passed,
            SUBJECT,
            format!(
                "{} (theo {from}): chưa có, dịch vụ sẽ tạo được",
                dir.display()
            ),
        ),
        Err(problem) => Check::new(
            Status::Failed,
            SUBJECT,
            format!("{} (theo {from}): {problem}", dir.display()),
        ),
    }
}

/// The response spool's directory (its default depends on the database's identity, known when
/// the database answered): writable or creatable, held by no running process, and with room
/// for the spool's cap on its disk.
pub fn spool(config: &Config, facts: Option<&ServerFacts>) -> Check {
    const SUBJECT: &str = "Hàng đợi phiếu (spool)";
    let dir = match facts {
        Some(facts) => config.spool_dir_for(&facts.identity),
        None => config
            .spool_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("spool")),
    };
    let shown = dir.display();
    let state = match probe_dir(&dir) {
        Ok(state) => state,
        Err(problem) => {
            return Check::new(Status::Failed, SUBJECT, format!("{shown}: {problem}"));
        }
    };
    let mut warnings = Vec::new();
    match crate::spool::holder(&dir) {
        Ok(None) => {}
        Ok(Some(holder)) => warnings.push(format!(
            "đang được giữ bởi {holder} (dịch vụ đang chạy? một phiên bản thứ hai dùng thư mục này sẽ bị từ chối)"
        )),
        Err(e) => {
            return Check::new(
                Status::Failed,
                SUBJECT,
                format!("{shown}: không kiểm tra được khóa {}: {e}", crate::spool::LOCK_FILE),
            );
        }
    }
    let cap = config.spool_max_bytes;
    let free = match free_bytes(&dir) {
        Ok(free) => free,
        Err(e) => {
            return Check::new(
                Status::Failed,
                SUBJECT,
                format!("{shown}: không đọc được dung lượng trống: {e}"),
            );
        }
    };
    if free < cap {
        warnings.push(format!(
            "chỉ còn {} trống, ít hơn giới hạn của spool {} (SIPAS_SPOOL_MAX_MB)",
            size(free),
            size(cap)
        ));
    }
    let existing = match state {
        DirState::Writable => "ghi được",
        DirState::Creatable => "chưa có, dịch vụ sẽ tạo được",
    };
    if warnings.is_empty() {
        Check::new(
            Status::Passed,
            SUBJECT,
            format!(
                "{shown}: {existing}, không tiến trình nào giữ, còn trống {} (giới hạn {})",
                size(free),
                size(cap)
            ),
        )
    } else {
        Check::new(
            Status::Warning,
            SUBJECT,
            format!("{shown}: {existing}; {}", warnings.join("; ")),
        )
    }
}

/// `SIPAS_PUBLIC_URL`, what the QR codes encode: reachable by citizens' phones (not this
/// machine's own address), over https, at the root of its host (or the proxy strips the path).
pub fn public_url(config: &Config) -> Check {
    const SUBJECT: &str = "Địa chỉ công khai";
    let url = &config.public_url;
    let host = url.host_str().unwrap_or("");
    let ip: Option<std::net::IpAddr> = host.trim_matches(['[', ']']).parse().ok();
    let mut warnings = Vec::new();
    if host.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback()) {
        warnings.push(
            "đây là địa chỉ của chính máy này: điện thoại của người dân không mở được mã QR; đặt SIPAS_PUBLIC_URL là địa chỉ qua proxy, ví dụ https://sipas.xuanloc.dongnai.gov.vn".to_string(),
        );
    } else if ip.is_some_and(|ip| ip.is_unspecified()) {
        warnings.push(
            "không phải địa chỉ mở được từ bên ngoài: đặt SIPAS_PUBLIC_URL là địa chỉ qua proxy"
                .to_string(),
        );
    } else if url.scheme() == "http" {
        warnings.push(
            "dùng http: câu trả lời của người dân và mật khẩu của cán bộ đi qua mạng không mã hóa; đặt dịch vụ sau một proxy https và SIPAS_PUBLIC_URL=https://…".to_string(),
        );
    }
    let path = url.path();
    if path != "/" {
        warnings.push(format!(
            "có đường dẫn “{path}”: proxy phải chuyển {path}… tới / của dịch vụ"
        ));
    }
    if url.scheme() == "https" && !config.cookie_secure {
        warnings.push(
            "SIPAS_COOKIE_SECURE=false với địa chỉ https: cookie phiên không được đánh dấu Secure"
                .to_string(),
        );
    }
    let link = config.desk_link("{mã quầy}");
    if warnings.is_empty() {
        Check::new(
            Status::Passed,
            SUBJECT,
            format!("{url}: mã QR trỏ tới {link}"),
        )
    } else {
        Check::new(
            Status::Warning,
            SUBJECT,
            format!("{url}: {}", warnings.join("; ")),
        )
    }
}

/// This machine's time zone, by name: `TZ`, else `/etc/timezone`, else the zone
/// `/etc/localtime` links to.
fn machine_zone(env: &Environment) -> Option<String> {
    if let Some(tz) = env.get("TZ") {
        return Some(tz.trim_start_matches(':').to_string());
    }
    if let Ok(text) = std::fs::read_to_string("/etc/timezone")
        && !text.trim().is_empty()
    {
        return Some(text.trim().to_string());
    }
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let text = target.to_string_lossy();
    text.split_once("zoneinfo/")
        .map(|(_, zone)| zone.to_string())
}

/// The clock: days are computed in Vietnam's time (UTC+07:00), whatever the machine's or the
/// database's zone; the database must know Asia/Ho_Chi_Minh (its queries name it) and its
/// clock agree with this machine's.
pub fn time_zone(env: &Environment, facts: Option<&ServerFacts>) -> Check {
    const SUBJECT: &str = "Múi giờ";
    /// Larger differences between the two clocks are worth a warning (signed start times and
    /// the order of responses compare them).
    const MAX_SKEW_SECONDS: f64 = 5.0;
    let used = crate::domain::time::vietnam_offset();
    let local = chrono::Local::now().offset().to_string();
    let zone = machine_zone(env).unwrap_or_else(|| "không rõ".into());
    let mut detail = format!(
        "ngày và giờ tính theo giờ Việt Nam (UTC{used}, Asia/Ho_Chi_Minh, không đổi giờ mùa hè), không theo múi giờ của máy; máy dùng {zone} (UTC{local})"
    );
    let mut status = Status::Passed;
    if let Some(facts) = facts {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let skew = facts.now_epoch - now;
        detail.push_str(&format!(
            "; PostgreSQL dùng {}, đồng hồ lệch {} s",
            facts.time_zone,
            format!("{:.1}", skew.abs()).replace('.', ",")
        ));
        match facts.vietnam_offset_seconds {
            None => {
                status = Status::Failed;
                detail.push_str(
                    "; PostgreSQL không biết múi giờ Asia/Ho_Chi_Minh (thiếu dữ liệu múi giờ): các thống kê theo ngày sẽ lỗi",
                );
            }
            Some(seconds) if seconds != i64::from(used.local_minus_utc()) => {
                status = Status::Warning;
                detail.push_str(&format!(
                    "; dữ liệu múi giờ của PostgreSQL cho Asia/Ho_Chi_Minh lệch UTC {seconds} s, khác với UTC{used}"
                ));
            }
            Some(_) => {}
        }
        if skew.abs() > MAX_SKEW_SECONDS && status == Status::Passed {
            status = Status::Warning;
            detail.push_str(": hãy đồng bộ đồng hồ (NTP, systemd-timesyncd)");
        }
    }
    Check::new(status, SUBJECT, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::new(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([("HOME".to_string(), "/home/nv".to_string())]),
            false,
        )
    }

    fn config(vars: &[(&str, &str)]) -> Config {
        let env = env(vars);
        let mut checks = Vec::new();
        configuration(&env, &mut checks).0.unwrap()
    }

    #[test]
    fn every_unusable_variable_is_named_and_the_rest_read() {
        let vars = env(&[
            ("SIPAS_DB_POOL_SIZE", "0"),
            ("SIPAS_LOG_FORMAT", "xml"),
            ("SIPAS_PUBLIC_URL", "https://hailong.example.gov.vn"),
            ("SIPAS_PUBLC_URL", "https://hailong.example.gov.vn"),
            ("SIPAS_TEST_DATABASE_URL", "postgres://x"),
        ]);
        let mut checks = Vec::new();
        let (config, broken) = configuration(&vars, &mut checks);
        assert_eq!(broken, ["SIPAS_DB_POOL_SIZE", "SIPAS_LOG_FORMAT"]);
        let config = config.unwrap();
        assert_eq!(config.db_pool_size, 16, "the default in its place");
        assert_eq!(
            config.public_url.as_str(),
            "https://hailong.example.gov.vn/"
        );
        let lines: Vec<String> = checks.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("✗ Cấu hình: biến SIPAS_DB_POOL_SIZE không dùng được: \"0\""));
        assert!(lines[1].starts_with("✗ Cấu hình: biến SIPAS_LOG_FORMAT không dùng được"));
        assert_eq!(
            lines[2],
            "! Cấu hình: SIPAS_PUBLC_URL không phải biến của sipas (gõ nhầm?): bị bỏ qua"
        );

        let mut checks = Vec::new();
        let (_, broken) = configuration(&env(&[("SIPAS_BIND", "127.0.0.1:80")]), &mut checks);
        assert!(broken.is_empty());
        assert_eq!(
            checks[0].to_string(),
            "✓ Cấu hình: 1 biến đã đặt, đều hợp lệ (SIPAS_BIND)"
        );
    }

    #[test]
    fn a_session_key_is_set_and_not_a_few_repeated_bytes() {
        let check = |key: Option<String>| {
            let vars: Vec<(&str, &str)> = key
                .as_deref()
                .map(|k| vec![("SIPAS_SESSION_KEY", k)])
                .unwrap_or_default();
            session_key(&config(&vars), false)
        };
        assert_eq!(check(None).status, Status::Warning);
        let weak = check(Some("ab".repeat(64)));
        assert_eq!(weak.status, Status::Failed);
        assert!(weak.detail.contains("chỉ 1 giá trị byte"), "{weak}");
        assert_eq!(
            check(Some("0123456789abcdef".repeat(8))).status,
            Status::Failed
        );
        let strong: String = (0u8..64)
            .map(|b| format!("{:02x}", b.wrapping_mul(37)))
            .collect();
        let strong = check(Some(strong));
        assert_eq!(strong.status, Status::Passed, "{strong}");
        assert_eq!(
            strong.to_string(),
            "✓ Khóa phiên: 64 byte, 64 giá trị byte khác nhau"
        );
    }

    #[test]
    fn the_public_url_is_reachable_by_citizens_and_encrypted() {
        let check = |url: &str| public_url(&config(&[("SIPAS_PUBLIC_URL", url)]));
        let good = check("https://hailong.xuanloc.gov.vn");
        assert_eq!(good.status, Status::Passed, "{good}");
        assert!(
            good.detail
                .ends_with("mã QR trỏ tới https://hailong.xuanloc.gov.vn/s/{mã quầy}"),
            "{good}"
        );
        for (url, says) in [
            ("http://hailong.xuanloc.gov.vn", "dùng http"),
            ("http://127.0.0.1:8080", "chính máy này"),
            ("https://localhost", "chính máy này"),
            ("http://[::1]:8080", "chính máy này"),
            ("http://0.0.0.0:8080", "không phải địa chỉ mở được"),
            ("https://xuanloc.gov.vn/sipas", "đường dẫn “/sipas”"),
        ] {
            let c = check(url);
            assert_eq!(c.status, Status::Warning, "{url}: {c}");
            assert!(c.detail.contains(says), "{url}: {c}");
        }
        // http on the machine itself is a warning for the address, not for the encryption.
        assert!(!check("http://127.0.0.1:8080").detail.contains("dùng http"));
        let insecure = public_url(&config(&[
            ("SIPAS_PUBLIC_URL", "https://hailong.xuanloc.gov.vn"),
            ("SIPAS_COOKIE_SECURE", "false"),
        ]));
        assert!(insecure.detail.contains("Secure"), "{insecure}");
    }

    #[test]
    fn directories_are_probed_for_real_and_left_as_they_were() {
        let base = std::env::temp_dir().join(format!("sipas-doctor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        assert_eq!(probe_dir(&base), Ok(DirState::Writable));
        let deep = base.join("a/b/c");
        assert_eq!(probe_dir(&deep), Ok(DirState::Creatable));
        assert!(!base.join("a").exists(), "what the probe made is removed");
        let file = base.join("tep");
        std::fs::write(&file, "x").unwrap();
        assert!(
            probe_dir(&file)
                .unwrap_err()
                .contains("không phải là thư mục")
        );
        let under_file = file.join("spool");
        let e = probe_dir(&under_file).unwrap_err();
        assert!(
            e.contains("không tạo được: một phần của đường dẫn là tệp"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_dir(&base).unwrap().count(),
            1,
            "only the test's own file"
        );
        assert!(free_bytes(&deep).unwrap() > 0);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn sizes_are_written_the_vietnamese_way() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(256 * 1024 * 1024), "256 MiB");
        assert_eq!(size(13_207_024_435), "12,3 GiB");
    }

    #[test]
    fn the_time_zone_line_says_what_is_used_and_what_the_machine_has() {
        let c = time_zone(&env(&[("TZ", "Europe/Berlin")]), None);
        assert_eq!(c.status, Status::Passed);
        assert!(c.detail.contains("UTC+07:00, Asia/Ho_Chi_Minh"), "{c}");
        assert!(c.detail.contains("máy dùng Europe/Berlin"), "{c}");
        let facts = |offset: Option<i64>, skew: f64| ServerFacts {
            version: "15.14".into(),
            now_epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
                + skew,
            time_zone: "Etc/UTC".into(),
            vietnam_offset_seconds: offset,
            identity: crate::db::DatabaseIdentity {
                system_identifier: 1,
                database: "sipas".into(),
            },
        };
        let env = env(&[]);
        assert_eq!(
            time_zone(&env, Some(&facts(Some(25_200), 0.0))).status,
            Status::Passed
        );
        assert_eq!(
            time_zone(&env, Some(&facts(Some(25_200), 90.0))).status,
            Status::Warning
        );
        assert_eq!(
            time_zone(&env, Some(&facts(None, 0.0))).status,
            Status::Failed
        );
    }
}
