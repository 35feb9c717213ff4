//! The citizen's path under load: concurrent citizens drive the real server (release build,
//! real PostgreSQL) exactly as a phone does, and, in the same run, the same rows are inserted
//! straight into PostgreSQL through the pool without HTTP, for the ratio between the two.
//!
//! ```text
//! cargo bench --bench load                                        # 64 citizens, 10 s
//! SIPAS_LOAD_CLIENTS=128 SIPAS_LOAD_SECONDS=30 cargo bench --bench load
//! SIPAS_LOAD_SUBMISSIONS=20000 cargo bench --bench load           # a fixed count instead
//! ```
//!
//! What it does:
//! 1. creates a fresh database (from `SIPAS_TEST_DATABASE_URL`, default
//!    `postgres://postgres@127.0.0.1:5432/postgres`, as the tests), migrates it, creates the
//!    demo district (every active desk code of it is used) and starts the real server
//!    (`Application::build` on port 0, the production pool size unless `SIPAS_DB_POOL_SIZE`);
//! 2. each virtual citizen, in a loop: `GET /s/{desk code}` without cookies (a new visitor),
//!    parses the form of the page (every hidden input sent back as given, text inputs such as
//!    a honeypot sent as the page has them, one option per radio group, sometimes a comment in
//!    a text area), keeps the cookies the page set and `POST`s the answers to the form's
//!    action, as a browser does; so the tool keeps working when fields are added to the form;
//! 3. warm-up, then two raw PostgreSQL phases with the same concurrency, the same pool size
//!    and the rows the server stored during the warm-up (same columns, same answers and
//!    texts, new submission and client keys: each row a visitor of its own, as each citizen
//!    is): the bare rows through `sipas::db::responses::store` (how paper ballots and the
//!    spool are stored), and the submission's whole database work through
//!    `sipas::survey::store_online` with both per-client limits (what the server does after a
//!    citizen's POST, each row a new person at a new address). Then the measured HTTP phase.
//!    Each raw phase runs on its own copy of the database made before the server started,
//!    given the warm-up's rows first and folded every 3 s as the server folds its own: each
//!    phase starts from the same data, and no phase's rows sit in the windows of another's
//!    fraud detection. Before each measured phase the databases come to rest (the fold caught
//!    up, `VACUUM (ANALYZE)`, `CHECKPOINT`: see [`settle`]). The target ratio is taken against
//!    the bare rows; the second ratio shows what HTTP itself costs.
//!    Before the HTTP phase, the database steps of a submission are timed alone with the same
//!    concurrency and pool (the desk lookup a page makes when its desk is not remembered, the
//!    limits' upsert, an empty transaction), to show what the steps of a submission cost;
//! 4. the count check: every submission answered with the thank-you page is looked up in the
//!    database by its submission key, and the rows the HTTP phase added are counted: lost must
//!    be 0 (the run fails otherwise).
//!
//! The load generator runs in the same process as the server, on the same two cores: its own
//! cost (HTTP client, parsing 23 KB pages) is charged to the HTTP figures. The background
//! fold with its fraud detection runs in both phases (the traffic of either is, rightly, a
//! burst by the detector's rules: its cost grows with the responses around each batch).
//!
//! Each citizen sends `X-Forwarded-For` with an address of its own, as the reverse proxy in
//! front of the service does in production (docs/deployment.md), and starts without cookies,
//! so per-client limits count each virtual citizen as one person (the server trusts the
//! header from a loopback peer, as from a proxy listed in `SIPAS_TRUSTED_PROXIES`). The one
//! difference from production is `SIPAS_MIN_FILL_SECONDS=0` (see [`server_vars`]): the signed
//! start time is still rendered, sent back and verified, the limits and the honeypot run as in
//! production. Every other `SIPAS_*` variable of the environment is passed to the server's
//! configuration (e.g. `SIPAS_DB_POOL_SIZE`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sipas::background::Background;
use sipas::config::Config;
use sipas::db::responses::{NewResponse, store};
use sipas::db::visits::{LimitCheck, LimitKind, Rate};
use sipas::forms::submission::TOKEN_FIELD;
use sipas::startup::{Application, ROLLUP_REFRESH_INTERVAL, Services};
use sipas::survey::store_online;

/// The server's allocator (src/main.rs): the server runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CLIENTS: usize = 64;
const DEFAULT_SECONDS: f64 = 10.0;
const WARMUP_SECONDS: f64 = 3.0;

/// Targets of issue 6 on the 2-core reference machine.
const TARGET_RATE: f64 = 1000.0;
const TARGET_P99_MS: f64 = 100.0;
const TARGET_RATIO: f64 = 0.5;

#[path = "support/mod.rs"]
mod support;
use support::{DropDatabase, admin_url, connect};

fn env_number<T: FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name}: \"{v}\" is not a number")),
        _ => Ok(None),
    }
}

/// The server's configuration: production defaults, with what a load test from one machine
/// needs. `SIPAS_*` variables of the environment override everything here.
fn server_vars(database_url: &str) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url.to_string()),
        ("SIPAS_BIND", "127.0.0.1:0".to_string()),
        (
            "SIPAS_DATA_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/bench-data").to_string(),
        ),
        // Behind a proxy, as in production: every instance shares the key.
        ("SIPAS_SESSION_KEY", "5a".repeat(64)),
        // The one difference from production: virtual citizens answer at machine speed, so
        // the minimum completion time (a comparison of the signed start time with the clock)
        // is off. The start time is still signed, sent back and verified; the limits run as
        // in production (each citizen has its own address and cookie; see `citizen`).
        ("SIPAS_MIN_FILL_SECONDS", "0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (key, value) in std::env::vars() {
        if key.starts_with("SIPAS_") && !key.starts_with("SIPAS_LOAD_") && key != "SIPAS_BIND" {
            vars.insert(key, value);
        }
    }
    vars
}

// ---------------------------------------------------------------------------------------------
// The page's form, as a browser sees it.
// ---------------------------------------------------------------------------------------------

// Borrowed from the page's text, so that parsing the 23 KB page of each visit costs the load
// generator (which shares the two cores with the server) no more than it must.

#[derive(Debug, Default, Clone)]
struct RadioGroup<'a> {
    name: Cow<'a, str>,
    values: Vec<Cow<'a, str>>,
    required: bool,
}

#[derive(Debug, Default, Clone)]
struct PageForm<'a> {
    action: Cow<'a, str>,
    /// Hidden and text inputs (a honeypot among them), sent back as the page has them.
    fixed: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    radios: Vec<RadioGroup<'a>>,
    /// Text areas: name and maximum length.
    texts: Vec<(Cow<'a, str>, usize)>,
}

impl PageForm<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        self.fixed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }
}

fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The attributes of one start tag (`attrs` is what follows the tag name up to `>`): names as
/// written (compare them without regard to case), values unescaped.
fn attributes(attrs: &str) -> Vec<(&str, Option<Cow<'_, str>>)> {
    let mut out = Vec::new();
    let bytes = attrs.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' {
            i += 1;
        }
        if start == i {
            break;
        }
        let name = &attrs[start..i];
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            let value = if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                i += 1;
                let from = i;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                let v = &attrs[from..i];
                i += 1;
                v
            } else {
                let from = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &attrs[from..i]
            };
            out.push((name, Some(unescape(value))));
        } else {
            out.push((name, None));
        }
    }
    out
}

/// The value of attribute `key` (lower case) among `attrs`.
fn attr<'a>(attrs: &[(&'a str, Option<Cow<'a, str>>)], key: &str) -> Option<Cow<'a, str>> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.clone())
}

/// The first `<form method="post">` of the page, or `None`. Works on the page's bytes: only the
/// tags of the form are read as text.
fn parse_form(html: &[u8]) -> Option<PageForm<'_>> {
    let mut form: Option<PageForm> = None;
    let mut groups: Vec<RadioGroup> = Vec::new();
    let mut rest = html;
    while let Some(at) = memchr::memchr(b'<', rest) {
        rest = &rest[at + 1..];
        let end = memchr::memchr(b'>', rest)?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let name_end = tag
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(tag.len());
        let tag_name = &tag[..name_end];
        let is = |name: &str| tag_name.eq_ignore_ascii_case(name.as_bytes());
        let wanted = match form {
            None => is("form"),
            Some(_) => is("/form") || is("input") || is("textarea"),
        };
        if !wanted {
            continue;
        }
        let attrs = attributes(std::str::from_utf8(&tag[name_end..]).ok()?);
        match form.as_mut() {
            None => {
                if attr(&attrs, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")) {
                    form = Some(PageForm {
                        action: attr(&attrs, "action").unwrap_or_default(),
                        ..PageForm::default()
                    });
                }
            }
            Some(page) if is("/form") => {
                page.radios = groups;
                return form;
            }
            Some(page) if is("input") => {
                let Some(name) = attr(&attrs, "name") else {
                    continue;
                };
                let kind = attr(&attrs, "type").unwrap_or(Cow::Borrowed("text"));
                let value = attr(&attrs, "value").unwrap_or_default();
                match kind.to_ascii_lowercase().as_str() {
                    "radio" => {
                        let required = attrs
                            .iter()
                            .any(|(k, _)| k.eq_ignore_ascii_case("required"));
                        match groups.iter_mut().find(|g| g.name == name) {
                            Some(group) => {
                                group.values.push(value);
                                group.required |= required;
                            }
                            None => groups.push(RadioGroup {
                                name,
                                values: vec![value],
                                required,
                            }),
                        }
                    }
                    // Unchecked boxes are not sent; buttons only when clicked.
                    "checkbox" | "submit" | "button" | "reset" | "image" | "file" => {}
                    _ => page.fixed.push((name, value)),
                }
            }
            Some(page) => {
                // A text area.
                if let Some(name) = attr(&attrs, "name") {
                    let max = attr(&attrs, "maxlength")
                        .and_then(|m| m.parse().ok())
                        .unwrap_or(500);
                    page.texts.push((name, max));
                }
            }
        }
    }
    None
}

const COMMENTS: &[&str] = &[
    "Cán bộ hướng dẫn tận tình, chu đáo.",
    "Thời gian chờ đến lượt còn lâu, đề nghị bổ sung thêm quầy tiếp nhận vào buổi sáng.",
    "Hồ sơ được trả đúng hẹn. Cảm ơn bộ phận một cửa.",
    "Nên có thêm ghế ngồi và nước uống cho người dân trong lúc chờ.",
    "Đề nghị niêm yết rõ hơn các khoản phí, lệ phí của từng thủ tục.",
    "Tôi phải bổ sung hồ sơ hai lần vì lần đầu không được hướng dẫn đầy đủ.",
    "Rất hài lòng, thủ tục nhanh gọn.",
    "Máy lấy số thứ tự bị hỏng, người dân phải tự xếp hàng.",
    "Cần hướng dẫn nộp hồ sơ trực tuyến cho người lớn tuổi.",
    "Thái độ phục vụ tốt, nhưng bãi giữ xe quá chật.",
];

/// A citizen's answers to the page's form: one general level of satisfaction per visit,
/// varied per question, sometimes "not applicable", optional questions sometimes skipped,
/// a comment now and then.
fn answers<'a>(form: &PageForm<'a>, rng: &mut StdRng) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
    let mut fields = form.fixed.clone();
    let mood: i32 = match rng.random_range(0..100) {
        0..3 => 1,
        3..10 => 2,
        10..25 => 3,
        25..65 => 4,
        _ => 5,
    };
    for group in &form.radios {
        if !group.required && rng.random_bool(0.1) {
            continue;
        }
        let numeric: Vec<i32> = group.values.iter().filter_map(|v| v.parse().ok()).collect();
        let has_na = group.values.iter().any(|v| v == "na");
        let value: Cow<str> = if has_na && rng.random_bool(0.05) {
            Cow::Borrowed("na")
        } else if numeric.len() == 5 && numeric.iter().max() == Some(&5) {
            let noise = match rng.random_range(0..10) {
                0 | 1 => -1,
                2 => 1,
                _ => 0,
            };
            Cow::Owned((mood + noise).clamp(1, 5).to_string())
        } else {
            let options: Vec<&Cow<str>> = group.values.iter().filter(|v| *v != "na").collect();
            let options = if options.is_empty() {
                group.values.iter().collect()
            } else {
                options
            };
            options[rng.random_range(0..options.len())].clone()
        };
        fields.push((group.name.clone(), value));
    }
    for (name, max) in &form.texts {
        let comment: Cow<str> = if rng.random_bool(0.25) {
            Cow::Owned(
                COMMENTS[rng.random_range(0..COMMENTS.len())]
                    .chars()
                    .take(*max)
                    .collect(),
            )
        } else {
            Cow::Borrowed("")
        };
        // A browser sends an empty text area too.
        fields.push((name.clone(), comment));
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Virtual citizens.
// ---------------------------------------------------------------------------------------------

/// When a phase ends: after a time or a number of submissions (started).
#[derive(Clone, Copy)]
enum Until {
    Time(Instant),
    Count(u64),
}

impl Until {
    fn new(seconds: f64, count: Option<u64>) -> Self {
        match count {
            Some(n) => Until::Count(n),
            None => Until::Time(Instant::now() + Duration::from_secs_f64(seconds)),
        }
    }

    fn go(&self, started: &AtomicU64) -> bool {
        let n = started.fetch_add(1, Ordering::Relaxed);
        match self {
            Until::Time(at) => Instant::now() < *at,
            Until::Count(max) => n < *max,
        }
    }
}

/// Completed submissions by whole second since the phase began: whether a phase's rate held
/// steady, or one slow stretch pulled it down.
#[derive(Default)]
struct PerSecond(Vec<u64>);

impl PerSecond {
    fn count(&mut self, since: Instant) {
        let second = since.elapsed().as_secs() as usize;
        if self.0.len() <= second {
            self.0.resize(second + 1, 0);
        }
        self.0[second] += 1;
    }

    fn merge(&mut self, other: &PerSecond) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine += theirs;
        }
    }

    /// "1 310 · 1 290 · …" (a last second under half full, the phase's end, left out).
    fn line(&self) -> String {
        let full = match self.0.as_slice() {
            [rest @ .., last] if rest.last().is_some_and(|before| *last * 2 < *before) => rest,
            all => all,
        };
        full.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

#[derive(Default)]
struct CitizenLog {
    per_second: PerSecond,
    accepted: Vec<String>,
    post_latency: Vec<Duration>,
    get_latency: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    comments: u64,
    forms: BTreeMap<String, u64>,
}

impl CitizenLog {
    fn merge(&mut self, other: CitizenLog) {
        self.per_second.merge(&other.per_second);
        self.accepted.extend(other.accepted);
        self.post_latency.extend(other.post_latency);
        self.get_latency.extend(other.get_latency);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.forms {
            *self.forms.entry(k).or_default() += v;
        }
        self.comments += other.comments;
    }

    fn error(&mut self, what: String) {
        *self.errors.entry(what).or_default() += 1;
    }
}

/// What the page says is wrong (its alert box, or its first heading), for the error table.
fn alert(html: &str) -> String {
    let start = html
        .find("role=\"alert\"")
        .or_else(|| html.find("<h1"))
        .unwrap_or(html.len());
    let mut text = String::new();
    // Both starting points are inside a tag.
    let mut in_tag = true;
    for c in html[start..].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
        if text.len() > 400 {
            break;
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    format!(
        "\"{}\"",
        words.join(" ").chars().take(120).collect::<String>()
    )
}

fn cookies_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

async fn citizen(
    id: usize,
    client: reqwest::Client,
    base: Arc<String>,
    desks: Arc<Vec<String>>,
    until: Until,
    started: Arc<AtomicU64>,
    phase_began: Instant,
) -> CitizenLog {
    let mut rng = StdRng::seed_from_u64(0x5150_0000 + id as u64);
    let mut log = CitizenLog::default();
    let mut visit: u32 = 0;
    while until.go(&started) {
        visit += 1;
        // A new visitor: no cookies, an address of its own (carrier-grade NAT space).
        let address = format!(
            "100.{}.{}.{}",
            64 + (visit / 250) % 64,
            id % 250,
            1 + visit % 250
        );
        let desk = &desks[rng.random_range(0..desks.len())];
        let t = Instant::now();
        let page = match client
            .get(format!("{base}/s/{desk}"))
            .header("X-Forwarded-For", &address)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => {
                log.error(format!("GET {}", r.status().as_u16()));
                continue;
            }
            Err(e) => {
                log.error(format!("GET transport error: {e}"));
                continue;
            }
        };
        let cookies = cookies_of(&page);
        let Ok(body) = page.bytes().await else {
            log.error("GET body unreadable".to_string());
            continue;
        };
        log.get_latency.push(t.elapsed());
        let Some(form) = parse_form(&body) else {
            log.error("GET page without a form".to_string());
            continue;
        };
        let key = form.field(TOKEN_FIELD).map(str::to_string);
        let fields = answers(&form, &mut rng);
        if fields
            .iter()
            .any(|(n, v)| !v.is_empty() && form.texts.iter().any(|(t, _)| t == n))
        {
            log.comments += 1;
        }
        *log.forms
            .entry(format!("{} questions", form.radios.len()))
            .or_default() += 1;
        let body = serde_urlencoded::to_string(&fields).expect("encodable fields");
        let action = if form.action.starts_with("http") {
            form.action.to_string()
        } else {
            format!("{base}{}", form.action)
        };
        let mut post = client
            .post(action)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Forwarded-For", &address)
            .body(body);
        if !cookies.is_empty() {
            post = post.header(reqwest::header::COOKIE, cookies);
        }
        let t = Instant::now();
        match post.send().await {
            Ok(r) => {
                let status = r.status();
                let body = r.bytes().await.unwrap_or_default();
                let elapsed = t.elapsed();
                log.post_latency.push(elapsed);
                if status == 200 {
                    match key {
                        Some(key) => {
                            log.per_second.count(phase_began);
                            log.accepted.push(key);
                        }
                        None => log.error("POST 200 without a submission key".to_string()),
                    }
                } else {
                    log.error(format!(
                        "POST {} {}",
                        status.as_u16(),
                        alert(&String::from_utf8_lossy(&body))
                    ));
                }
            }
            Err(e) => log.error(format!("POST transport error: {e}")),
        }
    }
    log
}

struct HttpRun {
    log: CitizenLog,
    elapsed: Duration,
}

async fn run_citizens(
    clients: usize,
    base: &str,
    desks: &Arc<Vec<String>>,
    until: Until,
) -> HttpRun {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = Arc::new(base.to_string());
    let started = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            tokio::spawn(citizen(
                id,
                client.clone(),
                base.clone(),
                desks.clone(),
                until,
                started.clone(),
                t,
            ))
        })
        .collect();
    let mut log = CitizenLog::default();
    for task in tasks {
        log.merge(task.await.expect("a citizen task"));
    }
    HttpRun {
        log,
        elapsed: t.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw PostgreSQL: the same rows through the pool, no HTTP.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Row {
    unit_id: i32,
    desk_id: Option<i32>,
    desk_code: Option<String>,
    form_version_id: i32,
    channel: String,
    answers: Vec<Option<i16>>,
    texts: Vec<(i32, String)>,
    client_key: Option<Vec<u8>>,
    /// Microseconds since the epoch.
    started_at: Option<i64>,
    via: Option<String>,
}

async fn stored_rows(sql: &tokio_postgres::Client) -> Vec<Row> {
    sql.query(
        "SELECT r.unit_id, r.desk_id, r.desk_code, r.form_version_id, r.channel, r.answers, \
                coalesce(array_agg(t.item_id ORDER BY t.item_id) FILTER (WHERE t.item_id IS NOT NULL), '{}'), \
                coalesce(array_agg(t.body ORDER BY t.item_id) FILTER (WHERE t.item_id IS NOT NULL), '{}'), \
                r.client_key, (extract(epoch FROM r.started_at) * 1000000)::int8, r.via \
         FROM responses r LEFT JOIN response_texts t ON t.response_id = r.id \
         GROUP BY r.id ORDER BY r.id",
        &[],
    )
    .await
    .expect("reading the stored rows")
    .into_iter()
    .map(|r| {
        let ids: Vec<i32> = r.get(6);
        let bodies: Vec<String> = r.get(7);
        Row {
            unit_id: r.get(0),
            desk_id: r.get(1),
            desk_code: r.get(2),
            form_version_id: r.get(3),
            channel: r.get(4),
            answers: r.get(5),
            texts: ids.into_iter().zip(bodies).collect(),
            client_key: r.get(8),
            started_at: r.get(9),
            via: r.get(10),
        }
    })
    .collect()
}

struct RawRun {
    per_second: PerSecond,
    inserted: u64,
    latency: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
}

/// The limits of the citizen's path: (per person, per address), either off.
type Limits = (Option<Rate>, Option<Rate>);

/// Stores `rows` with `clients` tasks until `until`: through [`store`] (the bare rows), or,
/// given `limits`, through [`store_online`] as the server does after a citizen's POST (the
/// rows and the two limits' buckets in one transaction), each row from a new person at a new
/// address, as in the HTTP phase.
async fn run_raw(
    pool: &sipas::db::Pool,
    clients: usize,
    rows: Arc<Vec<Row>>,
    until: Until,
    limits: Option<Limits>,
) -> RawRun {
    let started = Arc::new(AtomicU64::new(0));
    let phase_began = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let pool = pool.clone();
            let rows = rows.clone();
            let started = started.clone();
            tokio::spawn(async move {
                let mut latency = Vec::new();
                let mut per_second = PerSecond::default();
                let mut errors = 0u64;
                let mut next = id;
                let mut rng = StdRng::seed_from_u64(0x5241_5700 + id as u64);
                while until.go(&started) {
                    let row = &rows[next % rows.len()];
                    next += clients;
                    // Each of the server's responses comes from a visitor of its own (a new
                    // address and cookie, a new keyed hash): so does each row here, or the rows
                    // replayed from one warm-up visit would be one client's burst of identical
                    // answers to the fraud detection, which the HTTP phase never is.
                    let client_key: Option<Vec<u8>> = row.client_key.as_ref().map(|key| {
                        let mut fresh = vec![0u8; key.len()];
                        rng.fill(&mut fresh[..]);
                        fresh
                    });
                    let texts: Vec<(i32, &str)> =
                        row.texts.iter().map(|(i, b)| (*i, b.as_str())).collect();
                    let new = NewResponse {
                        submission_key: uuid::Uuid::new_v4(),
                        unit_id: row.unit_id,
                        desk_id: row.desk_id,
                        desk_code: row.desk_code.as_deref(),
                        form_version_id: row.form_version_id,
                        channel: &row.channel,
                        answers: &row.answers,
                        submitted_at: None,
                        entered_by: None,
                        entered_at: None,
                        paper_serial: None,
                        client_key: client_key.as_deref(),
                        started_at: row
                            .started_at
                            .and_then(chrono::DateTime::from_timestamp_micros),
                        visit_code_id: None,
                        keep_original_texts: false,
                        via: row.via.as_deref(),
                        residence_unit_id: None,
                        residence_code: None,
                    };
                    // A new person at a new address (only made when the limits are taken: the
                    // bare phase does nothing the server would not).
                    let keys = limits.map(|_| {
                        let address: [u8; 32] = rng.random();
                        (
                            client_key.clone().unwrap_or_else(|| address.to_vec()),
                            address,
                        )
                    });
                    let checks: Vec<LimitCheck> = match (&keys, limits) {
                        (Some((person, address)), Some((per_person, per_address))) => [
                            per_person.map(|rate| LimitCheck {
                                kind: LimitKind::Person,
                                key: person,
                                rate,
                            }),
                            per_address.map(|rate| LimitCheck {
                                kind: LimitKind::Address,
                                key: address,
                                rate,
                            }),
                        ]
                        .into_iter()
                        .flatten()
                        .collect(),
                        _ => Vec::new(),
                    };
                    let t = Instant::now();
                    let stored = match pool.get().await {
                        Ok(mut conn) if limits.is_some() => {
                            store_online(&mut conn, &new, &texts, &checks).await.is_ok()
                        }
                        Ok(mut conn) => store(&mut conn, &new, &texts).await.is_ok(),
                        Err(_) => false,
                    };
                    latency.push(t.elapsed());
                    if stored {
                        per_second.count(phase_began);
                    } else {
                        errors += 1;
                    }
                }
                (latency, errors, per_second)
            })
        })
        .collect();
    let mut run = RawRun {
        per_second: PerSecond::default(),
        inserted: 0,
        latency: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (latency, errors, per_second) = task.await.expect("a raw task");
        run.per_second.merge(&per_second);
        run.inserted += latency.len() as u64 - errors;
        run.errors += errors;
        run.latency.extend(latency);
    }
    run.elapsed = phase_began.elapsed();
    run
}

/// The database work of one step of the citizen's path, alone, with the same concurrency and
/// the same pool: operations per second and latency, to see where the time of a submission goes.
async fn run_step<F, Fut>(
    pool: &sipas::db::Pool,
    clients: usize,
    seconds: f64,
    step: F,
) -> (u64, f64, [f64; 4])
where
    F: Fn(sipas::db::Connection, usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let until = Until::new(seconds, None);
    let started = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let pool = pool.clone();
            let started = started.clone();
            let step = step.clone();
            tokio::spawn(async move {
                let mut latency = Vec::new();
                let mut n = 0u64;
                while until.go(&started) {
                    let t = Instant::now();
                    let ok = match pool.get().await {
                        Ok(conn) => step(conn, id, n).await,
                        Err(_) => false,
                    };
                    n += 1;
                    if ok {
                        latency.push(t.elapsed());
                    }
                }
                latency
            })
        })
        .collect();
    let mut latency = Vec::new();
    for task in tasks {
        latency.extend(task.await.expect("a step task"));
    }
    let elapsed = t.elapsed().as_secs_f64();
    let n = latency.len() as u64;
    (n, n as f64 / elapsed, percentiles(&mut latency))
}

/// Creates `copy` from `source` (no session may be connected to `source`: the pool of the
/// services that just closed may take a moment to let go).
async fn clone_database(source: &str, copy: &str) -> anyhow::Result<()> {
    let admin = connect(&admin_url()).await;
    let mut tries = 0;
    loop {
        match admin
            .batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {source}"))
            .await
        {
            Ok(()) => return Ok(()),
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("copying {source} to {copy}: {e}")),
        }
    }
}

/// The rollup fold of a database no server runs on, every [`ROLLUP_REFRESH_INTERVAL`] as the
/// server's.
fn fold(pool: sipas::db::Pool) -> Background {
    Background::spawn(|mut stopped| async move {
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep(ROLLUP_REFRESH_INTERVAL) => {}
            }
            if let Ok(mut conn) = pool.get().await {
                let _ = sipas::db::rollup::refresh(&mut conn).await;
            }
        }
        pool.close();
    })
}

fn database_url(name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&admin_url())?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// A copy of the benchmark's database for a raw phase, made before the server starts (no
/// session may be connected to the source) and dropped however the run ends.
struct RawCopy {
    url: String,
    _guard: DropDatabase,
}

impl RawCopy {
    async fn of(source: &str, suffix: &str) -> anyhow::Result<Self> {
        let name = format!("{source}_{suffix}");
        clone_database(source, &name).await?;
        Ok(RawCopy {
            url: database_url(&name)?,
            _guard: DropDatabase(name),
        })
    }

    /// Gives the copy the warm-up's rows (untimed) and folds them, as the server has folded
    /// its own by the time its phase starts.
    async fn prepare(
        &self,
        clients: usize,
        pool_size: usize,
        session_limits: sipas::db::SessionLimits,
        rows: &Arc<Vec<Row>>,
    ) -> anyhow::Result<RawDatabase> {
        let pool = sipas::db::build_pool(&self.url, pool_size)?;
        run_raw(
            &pool,
            clients,
            rows.clone(),
            Until::Count(rows.len() as u64),
            None,
        )
        .await;
        let fold_pool = sipas::db::build_pool_with(&self.url, 1, session_limits)?;
        let mut conn = fold_pool.get().await?;
        sipas::db::rollup::refresh(&mut conn).await?;
        drop(conn);
        Ok(RawDatabase {
            pool,
            fold_pool,
            sql: connect(&self.url).await,
        })
    }
}

/// A prepared copy: the pool of the raw phase, the fold's own, and a plain connection.
struct RawDatabase {
    pool: sipas::db::Pool,
    fold_pool: sipas::db::Pool,
    sql: tokio_postgres::Client,
}

impl RawDatabase {
    /// One measured raw phase (see [`run_raw`]), the copy at rest first and folded every
    /// few seconds meanwhile, as the server folds its own.
    async fn phase(
        &self,
        clients: usize,
        rows: &Arc<Vec<Row>>,
        until: Until,
        limits: Option<Limits>,
    ) -> anyhow::Result<RawRun> {
        settle(&[&self.sql]).await?;
        let folding = fold(self.fold_pool.clone());
        let run = run_raw(&self.pool, clients, rows.clone(), until, limits).await;
        folding.stop(Duration::from_secs(10)).await;
        Ok(run)
    }
}

/// Lets the databases come to rest before a measured phase, so that neither phase pays for
/// what the one before it left behind: the fold has caught up with every response (the
/// server's own fold, or the one just run on the raw copy), the statistics and visibility maps
/// are fresh (no autovacuum or autoanalyze starting in the middle of a phase) and the dirty
/// pages are written (no checkpoint forced by the phase before).
async fn settle(databases: &[&tokio_postgres::Client]) -> anyhow::Result<()> {
    for sql in databases {
        let waited = Instant::now();
        loop {
            let behind: i64 = sql
                .query_one(
                    "SELECT count(*) FROM responses \
                     WHERE id > (SELECT last_response_id FROM rollup_state)",
                    &[],
                )
                .await?
                .get(0);
            if behind == 0 || waited.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sql.batch_execute(
            "VACUUM (ANALYZE) responses, response_texts, response_flags, visit_limits",
        )
        .await?;
    }
    if let Some(sql) = databases.first() {
        sql.batch_execute("CHECKPOINT").await?;
    }
    Ok(())
}

async fn total(sql: &tokio_postgres::Client) -> Result<i64, tokio_postgres::Error> {
    sql.query_one("SELECT count(*) FROM responses", &[])
        .await
        .map(|r| r.get(0))
}

// ---------------------------------------------------------------------------------------------
// Figures.
// ---------------------------------------------------------------------------------------------

/// Percentiles (nearest rank) of `samples`, in milliseconds: p50, p95, p99, max.
fn percentiles(samples: &mut [Duration]) -> [f64; 4] {
    if samples.is_empty() {
        return [f64::NAN; 4];
    }
    samples.sort_unstable();
    let n = samples.len();
    let rank = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    [rank(0.50), rank(0.95), rank(0.99), samples[n - 1]].map(|d| d.as_secs_f64() * 1000.0)
}

/// Which phase starts now, on stderr (the table comes at the end, on stdout): to follow a
/// run, or to attach a profiler to one phase.
fn progress(phase: &str) {
    eprintln!("[{}] {phase}", chrono::Utc::now().format("%H:%M:%S"));
}

fn mark(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clients: usize = env_number("SIPAS_LOAD_CLIENTS")?.unwrap_or(DEFAULT_CLIENTS);
    let seconds: f64 = env_number("SIPAS_LOAD_SECONDS")?.unwrap_or(DEFAULT_SECONDS);
    let count: Option<u64> = env_number("SIPAS_LOAD_SUBMISSIONS")?;
    anyhow::ensure!(clients > 0, "SIPAS_LOAD_CLIENTS must be at least 1");

    let name = format!("sipas_load_{}", uuid::Uuid::new_v4().simple());
    connect(&admin_url())
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let _guard = DropDatabase(name.clone());
    let url = database_url(&name)?;

    let vars = server_vars(&url);
    let config = Config::from_lookup(|k| vars.get(k).cloned())?;
    let pool_size = config.db_pool_size;
    let session_limits = config.session_limits();
    {
        let services = Services::open(config.clone()).await?;
        let mut conn = services.database.pool.get().await?;
        sipas::demo::seed(&mut conn).await?;
        drop(conn);
        services.close().await;
    }
    // The raw phase runs on a copy of this state, so that neither phase's rows sit in the
    // other's way: the background fold's fraud detection looks at the responses around each
    // new batch, and would otherwise find the raw phase's rows in the HTTP phase's windows.
    let raw_copy = RawCopy::of(&name, "raw").await?;
    let online_copy = RawCopy::of(&name, "online").await?;
    let limits: Limits = (config.visits.person, config.visits.address);
    let services = Services::open(config).await?;
    let app = Application::build(services).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());

    let sql = connect(&url).await;
    let desks: Vec<String> = sql
        .query(
            "SELECT c.code FROM desk_codes c JOIN desks d ON d.id = c.desk_id \
             JOIN units u ON u.id = d.unit_id \
             WHERE c.retired_at IS NULL AND d.active AND u.active ORDER BY c.code",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    anyhow::ensure!(!desks.is_empty(), "the demo district has no active desk");
    let desks = Arc::new(desks);

    let phase = match count {
        Some(n) => format!("{n} submissions"),
        None => format!("{seconds} s"),
    };
    println!(
        "sipas load test: {clients} concurrent citizens, {phase} per phase after {WARMUP_SECONDS} s of warm-up; \
         {} desks; pool {pool_size} connections; {} cores",
        desks.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Warm-up: the server's caches, PostgreSQL's buffers, the rows for the raw phase.
    progress("warm-up");
    let warmup = run_citizens(clients, &base, &desks, Until::new(WARMUP_SECONDS, None)).await;
    let rows = Arc::new(stored_rows(&sql).await);
    anyhow::ensure!(
        !rows.is_empty(),
        "the warm-up stored nothing (errors: {:?})",
        warmup.log.errors
    );

    // Raw PostgreSQL: the same rows, the same concurrency, a pool of the same size, on the
    // copies made before the server started (see `RawCopy`).
    let raw_db = raw_copy
        .prepare(clients, pool_size, session_limits, &rows)
        .await?;
    let online_db = online_copy
        .prepare(clients, pool_size, session_limits, &rows)
        .await?;
    settle(&[&sql]).await?;
    progress("raw PostgreSQL");
    let mut raw = raw_db
        .phase(clients, &rows, Until::new(seconds, count), None)
        .await?;
    // The same rows with the submission's whole database work (both limits taken in the same
    // transaction), on the second copy.
    progress("raw PostgreSQL with both limits");
    let mut online = online_db
        .phase(clients, &rows, Until::new(seconds, count), Some(limits))
        .await?;
    online_db.pool.close();

    // Where the time goes: the database steps of the citizen's path, alone (same concurrency,
    // same pool size), beside the full store above.
    let step_pool = raw_db.pool;
    let step_seconds = 2.0;
    progress("steps of a submission");
    let desk_codes = desks.clone();
    let lookup = run_step(&step_pool, clients, step_seconds, move |mut conn, id, n| {
        let code = desk_codes[(id + n as usize) % desk_codes.len()].clone();
        async move {
            matches!(
                sipas::db::desks::Desk::find_by_code(&mut conn, &code).await,
                Ok(Some(_))
            )
        }
    })
    .await;
    let rate = sipas::db::visits::Rate {
        burst: 100_000,
        per: Duration::from_secs(1),
    };
    let limit = run_step(
        &step_pool,
        clients,
        step_seconds,
        move |conn, id, n| async move {
            use sipas::db::visits::{LimitCheck, LimitKind, take_all};
            let person = format!("load {id} {n}").into_bytes();
            let address = format!("load {id}").into_bytes();
            let limits = [
                LimitCheck {
                    kind: LimitKind::Person,
                    key: &person,
                    rate,
                },
                LimitCheck {
                    kind: LimitKind::Address,
                    key: &address,
                    rate,
                },
            ];
            take_all(&conn, &limits).await.is_ok()
        },
    )
    .await;
    let empty = run_step(
        &step_pool,
        clients,
        step_seconds,
        |mut conn, _, _| async move {
            use diesel_async::SimpleAsyncConnection;
            conn.batch_execute("BEGIN; COMMIT").await.is_ok()
        },
    )
    .await;
    step_pool.close();

    // The citizens, measured.
    settle(&[&sql]).await?;
    let before = total(&sql).await?;
    progress("HTTP");
    let mut http = run_citizens(clients, &base, &desks, Until::new(seconds, count)).await;

    // The count check: every thank-you page is a stored response (waiting a little for a
    // spool to be replayed, if the server spooled any).
    let accepted: HashSet<&str> = http.log.accepted.iter().map(String::as_str).collect();
    let keys: Vec<&str> = accepted.iter().copied().collect();
    let waited = Instant::now();
    let (found, added) = loop {
        let found: i64 = sql
            .query_one(
                "SELECT count(*) FROM responses WHERE submission_key = ANY($1::text[]::uuid[])",
                &[&keys],
            )
            .await?
            .get(0);
        let added = total(&sql).await? - before;
        if found as usize == accepted.len() || waited.elapsed() > Duration::from_secs(30) {
            break (found, added);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let lost = accepted.len() as i64 - found;
    let duplicates = http.log.accepted.len() - accepted.len();

    handle.stop(true).await;
    let _ = server.await;

    // The table.
    let http_rate = http.log.accepted.len() as f64 / http.elapsed.as_secs_f64();
    let raw_rate = raw.inserted as f64 / raw.elapsed.as_secs_f64();
    let ratio = http_rate / raw_rate;
    let online_rate = online.inserted as f64 / online.elapsed.as_secs_f64();
    let post = percentiles(&mut http.log.post_latency);
    let get = percentiles(&mut http.log.get_latency);
    let raw_p = percentiles(&mut raw.latency);
    let online_p = percentiles(&mut online.latency);
    println!();
    println!(
        "  {:<40} {:>9} {:>8} {:>11} {:>8} {:>8} {:>8} {:>8}",
        "", "stored", "seconds", "per second", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let line = |label: &str, n: u64, secs: f64, rate: Option<f64>, p: [f64; 4]| {
        println!(
            "  {:<40} {:>9} {:>8} {:>11} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            label,
            if n > 0 { n.to_string() } else { String::new() },
            if secs > 0.0 {
                format!("{secs:.1}")
            } else {
                String::new()
            },
            rate.map_or(String::new(), |r| format!("{r:.0}")),
            p[0],
            p[1],
            p[2],
            p[3]
        );
    };
    line(
        "HTTP: citizens, POST /s/{code}",
        http.log.accepted.len() as u64,
        http.elapsed.as_secs_f64(),
        Some(http_rate),
        post,
    );
    line("      the GET /s/{code} before it", 0, 0.0, None, get);
    line(
        "raw PostgreSQL: responses::store",
        raw.inserted,
        raw.elapsed.as_secs_f64(),
        Some(raw_rate),
        raw_p,
    );
    line(
        "  the same + both limits (store_online)",
        online.inserted,
        online.elapsed.as_secs_f64(),
        Some(online_rate),
        online_p,
    );
    println!("  per second:");
    for (label, per_second) in [
        ("    HTTP", &http.log.per_second),
        ("    raw PostgreSQL", &raw.per_second),
        ("    the same + both limits", &online.per_second),
    ] {
        println!("  {label:<28} {}", per_second.line());
    }
    println!("  steps of a submission, alone:");
    for (label, (n, rate, p)) in [
        ("  desk lookup (Desk::find_by_code)", lookup),
        ("  both limits (visits::take_all, autocommit)", limit),
        ("  empty transaction (BEGIN; COMMIT)", empty),
    ] {
        line(label, n, step_seconds, Some(rate), p);
    }
    println!();
    println!("  ratio HTTP / raw PostgreSQL          {ratio:>8.3}");
    println!(
        "  ratio HTTP / the same with limits    {:>8.3}   (the submission's database work without HTTP)",
        http_rate / online_rate
    );
    println!(
        "  answers: {} with a comment ({:.0}%); forms: {}",
        http.log.comments,
        100.0 * http.log.comments as f64 / http.log.accepted.len().max(1) as f64,
        http.log
            .forms
            .iter()
            .map(|(k, v)| format!("{v} × {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if http.log.errors.is_empty() && raw.errors == 0 && online.errors == 0 {
        println!("  errors: none");
    } else {
        println!(
            "  errors: {}{}",
            http.log
                .errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            if raw.errors + online.errors > 0 {
                format!(
                    "; raw store failures: {}, with limits: {}",
                    raw.errors, online.errors
                )
            } else {
                String::new()
            }
        );
    }
    println!(
        "  count check: accepted {}, found by submission key {found}, rows added {added}, \
         lost {lost}, same key accepted twice {duplicates}",
        accepted.len()
    );
    println!();
    println!(
        "  targets: >= {TARGET_RATE:.0}/s {}, p99 < {TARGET_P99_MS:.0} ms {}, ratio >= {TARGET_RATIO} {}, zero lost {}",
        mark(http_rate >= TARGET_RATE),
        mark(post[2] < TARGET_P99_MS),
        mark(ratio >= TARGET_RATIO),
        mark(lost == 0)
    );
    anyhow::ensure!(lost == 0, "{lost} accepted submissions are not stored");
    if added != found {
        println!(
            "  note: the HTTP phase added {added} rows for {found} accepted submissions \
             (a POST whose answer did not arrive may still have been stored)"
        );
    }
    Ok(())
}
