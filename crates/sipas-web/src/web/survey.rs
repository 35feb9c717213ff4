//! The citizen's path, through three doors that show the same desk's survey:
//!
//! * `/s/{desk code}`: the desk's printed QR code, open to anyone, limited per client (a keyed
//!   hash of the address and a first-party cookie) and per address, in the database;
//! * `/v/{one-time code}`: a code handed out with the receipt, accepted once;
//! * `/k/{desk code}`: the kiosk (a tablet at the desk, enrolled by staff: its cookie names the
//!   kiosk): after the thank-you page it comes back to a fresh form by itself; limited per
//!   kiosk rather than per person. Any other device is turned away.
//!
//! Every form carries a submission key (a double tap stores one response), a signed start time
//! and a honeypot field; see [`submit`] for what is refused and why.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::AppState;
use crate::app::metrics::{Door as Counted, Outcome, Reason};
use crate::db::desks::{Desk, DeskContext, is_plausible_code};
use crate::db::kiosks::{self, DeviceCookie};
use crate::db::responses::Via;
use crate::db::visits::{self, CodeSlip};
use crate::error::AppError;
use crate::forms::FormVersion;
use crate::forms::submission::{
    Problems, RawSubmission, StartedProblem, sign_started, validate, verify_started,
};
use crate::survey::{self, Refusal, Visit};
use crate::views;
use crate::views::survey::SurveyPage;

/// Largest accepted survey body. The QĐ 1001 form with every open answer at its limit is
/// about 20 KiB encoded.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The first-party cookie that tells one browser from another behind a shared address: a
/// random id, HttpOnly, SameSite=Lax, kept for 400 days. Only its keyed hash, together with the
/// address's, is stored.
pub const VISITOR_COOKIE: &str = "sipas_visitor";
/// The cookie of an enrolled kiosk ([`DeviceCookie`]), set on the device when staff enrol it
/// and sent to `/k/` only.
pub const KIOSK_COOKIE: &str = "sipas_kiosk";
/// Seconds before the kiosk's thank-you page returns to a fresh form.
pub const KIOSK_RETURN_SECONDS: u32 = 8;

pub const MSG_HONEYPOT: &str = "Phiếu chưa được ghi nhận vì ô \"Không điền vào ô này\" đã có nội dung. Vui lòng để trống ô đó và bấm \"Gửi phiếu\" lại.";
pub const MSG_STARTED: &str = "Phiếu này đã quá hạn hoặc không hợp lệ. Các câu trả lời của Anh/Chị vẫn được giữ nguyên bên dưới: vui lòng kiểm tra lại và bấm \"Gửi phiếu\".";
pub const MSG_TOO_FAST: &str = "Phiếu được gửi nhanh hơn thời gian cần để đọc các câu hỏi. Vui lòng kiểm tra lại các câu trả lời bên dưới rồi bấm \"Gửi phiếu\" một lần nữa.";
pub const CODE_USED_TITLE: &str = "Mã này đã được sử dụng";
pub const DESK_CLOSED_TITLE: &str = "Quầy này hiện không nhận đánh giá";

/// Which door a citizen came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    Desk,
    Kiosk,
    Code,
}

impl Door {
    fn prefix(self) -> &'static str {
        match self {
            Door::Desk => "/s/",
            Door::Kiosk => "/k/",
            Door::Code => "/v/",
        }
    }

    fn via(self) -> Via {
        match self {
            Door::Desk => Via::Desk,
            Door::Kiosk => Via::Kiosk,
            Door::Code => Via::Code,
        }
    }

    /// The door as the metrics count it.
    fn counted(self) -> Counted {
        self.via().into()
    }
}

/// What a page answered in place of the form counts as, when it answers a submission.
#[derive(Debug, Clone, Copy)]
enum Tally {
    Refused(Reason),
    /// The same form sent again after its code was used by it: thanked again, nothing stored.
    Duplicate,
}

impl Tally {
    fn count(self, state: &AppState, door: Door) {
        match self {
            Tally::Refused(reason) => state.metrics.refused(door.counted(), reason),
            Tally::Duplicate => state.metrics.submission(door.counted(), Outcome::Duplicate),
        }
    }
}

/// The desk behind a door, and the one-time code when it is one.
struct Target {
    door: Door,
    /// The code in the path (a desk code, or a one-time code).
    code: String,
    desk: DeskContext,
    visit_code: Option<CodeSlip>,
    /// The enrolled kiosk the request came from (the kiosk door only).
    kiosk: Option<i32>,
}

impl Target {
    fn action(&self) -> String {
        format!("{}{}", self.door.prefix(), self.code)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    for (door, path) in [
        (Door::Desk, "/s/{code}"),
        (Door::Kiosk, "/k/{code}"),
        (Door::Code, "/v/{code}"),
    ] {
        cfg.service(
            web::resource(path)
                .route(web::get().to(
                    move |state: web::Data<AppState>,
                          code: web::Path<String>,
                          request: HttpRequest| {
                        show(state, code, request, door)
                    },
                ))
                .route(web::post().to(
                    move |state: web::Data<AppState>,
                          code: web::Path<String>,
                          request: HttpRequest,
                          payload: web::Payload| {
                        submit(state, code, request, payload, door)
                    },
                )),
        );
    }
}

async fn desk_by_code(state: &AppState, code: &str) -> Result<DeskContext, AppError> {
    if !is_plausible_code(code) {
        return Err(AppError::NotFound);
    }
    // Nothing lost (issue 6): while the database is unreachable, the spool's desk snapshot.
    state
        .desks
        .find(&state.spool, &state.pool, code)
        .await?
        .ok_or(AppError::NotFound)
}

/// A page for the citizen with a title and a message.
fn notice(status: StatusCode, title: &str, paragraphs: &[&str]) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(views::survey::notice(title, paragraphs).into_string())
}

fn code_used(status: StatusCode) -> HttpResponse {
    notice(
        status,
        CODE_USED_TITLE,
        &[
            "Mỗi mã đánh giá chỉ dùng được một lần, và mã này đã được dùng để gửi một phiếu.",
            "Nếu Anh/Chị chưa gửi phiếu nào, vui lòng liên hệ cán bộ tại Bộ phận Tiếp nhận và Trả kết quả để được cấp mã mới.",
        ],
    )
}

fn desk_closed() -> HttpResponse {
    notice(
        StatusCode::GONE,
        DESK_CLOSED_TITLE,
        &[
            "Quầy tiếp nhận của mã này đã ngừng nhận phiếu đánh giá. Anh/Chị vui lòng hỏi cán bộ tại Bộ phận Tiếp nhận và Trả kết quả.",
        ],
    )
}

/// Unknown one-time codes one client (see `web::client_limit_key`) may try in a row...
pub const CODE_GUESS_BURST: f64 = 10.0;
/// ... and the seconds in which it regains one more try.
pub const CODE_GUESS_REFILL_SECONDS: f64 = 60.0;
/// Clients remembered at most; past it, those whose tries have all come back are forgotten.
const CODE_GUESS_CLIENTS: usize = 100_000;
pub const TOO_MANY_GUESSES_TITLE: &str = "Đã nhập sai mã nhiều lần";

/// Per-client token buckets of unknown one-time codes (`/v/{code}` answering 404), kept in
/// this instance's memory: a code has about 49.5 random bits, so this only has to make
/// guessing slow (ten tries, then one a minute), not exact across instances. Addresses stay
/// in memory, never stored.
#[derive(Debug, Default)]
pub struct CodeGuesses {
    /// Tries left (at the time noted) per client.
    buckets: std::sync::Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

impl CodeGuesses {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (f64, std::time::Instant)>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refilled((tokens, at): (f64, std::time::Instant)) -> f64 {
        (tokens + at.elapsed().as_secs_f64() / CODE_GUESS_REFILL_SECONDS).min(CODE_GUESS_BURST)
    }

    /// Seconds until `client` may try a code again, or `None`: now.
    pub fn wait(&self, client: &str) -> Option<u64> {
        let tokens = Self::refilled(*self.lock().get(client)?);
        (tokens < 1.0).then(|| ((1.0 - tokens) * CODE_GUESS_REFILL_SECONDS).ceil().max(1.0) as u64)
    }

    /// Counts an unknown code against `client`.
    pub fn miss(&self, client: &str) {
        let mut buckets = self.lock();
        if buckets.len() >= CODE_GUESS_CLIENTS && !buckets.contains_key(client) {
            buckets.retain(|_, bucket| Self::refilled(*bucket) < CODE_GUESS_BURST);
            if buckets.len() >= CODE_GUESS_CLIENTS {
                buckets.clear();
            }
        }
        let bucket = buckets
            .entry(client.to_string())
            .or_insert((CODE_GUESS_BURST, std::time::Instant::now()));
        *bucket = (Self::refilled(*bucket) - 1.0, std::time::Instant::now());
    }
}

/// The page for a client that tried too many unknown one-time codes.
fn too_many_guesses(wait: u64) -> HttpResponse {
    let mut response = notice(
        StatusCode::TOO_MANY_REQUESTS,
        TOO_MANY_GUESSES_TITLE,
        &[
            &format!(
                "Thiết bị này đã nhập nhiều mã đánh giá không đúng. Vui lòng kiểm tra lại mã in trên phiếu và thử lại sau khoảng {} phút.",
                wait.div_ceil(60).max(1)
            ),
            "Nếu mã vẫn không dùng được, vui lòng hỏi cán bộ tại Bộ phận Tiếp nhận và Trả kết quả.",
        ],
    );
    if let Ok(value) = wait.to_string().parse() {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// The page for a device that opens a desk's kiosk door without being one of its kiosks.
fn not_a_kiosk(desk_code: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::FORBIDDEN)
        .content_type("text/html; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(views::survey::not_a_kiosk(&format!("/s/{desk_code}")).into_string())
}

/// The enrolled kiosk of `desk` that `request` comes from (`None`: no kiosk cookie, a wrong
/// or revoked one, or another desk's kiosk). While the database cannot be asked, a device this
/// instance verified before is trusted (nothing lost: its responses go to the spool).
async fn kiosk_of(
    state: &AppState,
    request: &HttpRequest,
    desk: &DeskContext,
) -> Result<Option<i32>, AppError> {
    let Some(cookie) = request
        .cookie(KIOSK_COOKIE)
        .and_then(|c| DeviceCookie::parse(c.value()))
    else {
        return Ok(None);
    };
    // While an outage is fresh, a known device is not asked about again (as known desks).
    if state.spool.outage_is_recent()
        && let Some(desk_id) = state.kiosks.desk_of(&cookie)
    {
        return Ok((desk_id == desk.desk_id).then_some(cookie.id));
    }
    let verified = async {
        let mut conn = state.pool.get().await?;
        let kiosk = kiosks::verify(&mut conn, &cookie).await;
        let kiosk = AppError::classify(&mut conn, kiosk).await?;
        // Staff see which tablets are in use (a failure here refuses nothing).
        if let Some(kiosk) = &kiosk
            && kiosk
                .last_seen_at
                .is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(5))
            && let Err(e) = kiosks::seen(&mut conn, kiosk.id).await
        {
            tracing::warn!(error = %e, kiosk = kiosk.id, "noting a kiosk as seen failed");
        }
        Ok::<_, AppError>(kiosk)
    }
    .await;
    let desk_id = match verified {
        Ok(Some(kiosk)) => {
            state.kiosks.remember(&kiosk, &cookie);
            kiosk.desk_id
        }
        Ok(None) => {
            state.kiosks.forget(cookie.id);
            return Ok(None);
        }
        Err(AppError::Unavailable(cause)) => {
            state.spool.note_outage();
            match state.kiosks.desk_of(&cookie) {
                Some(desk_id) => desk_id,
                None => return Err(AppError::Unavailable(cause)),
            }
        }
        Err(other) => return Err(other),
    };
    Ok((desk_id == desk.desk_id).then_some(cookie.id))
}

/// The desk behind `code` at `door`, or the page to answer instead (a used code, a closed
/// desk, a device that is not the desk's kiosk) and what it counts as for a submission.
/// `used_status`: 410 when showing the form, 409 when a submission comes too late.
async fn target(
    state: &AppState,
    request: &HttpRequest,
    door: Door,
    code: &str,
    used_status: StatusCode,
    token: Option<Uuid>,
) -> Result<Result<Target, (HttpResponse, Tally)>, AppError> {
    if door != Door::Code {
        let desk = desk_by_code(state, code).await?;
        let kiosk = match door {
            Door::Kiosk => match kiosk_of(state, request, &desk).await? {
                Some(id) => Some(id),
                None => {
                    return Ok(Err((not_a_kiosk(code), Tally::Refused(Reason::NotAKiosk))));
                }
            },
            _ => None,
        };
        return Ok(Ok(Target {
            door,
            code: code.to_string(),
            desk,
            visit_code: None,
            kiosk,
        }));
    }
    // Guessing codes: a client that tried too many unknown ones waits, whatever it tries.
    let guesser = super::client_limit_key(&state.config, request);
    if let Some(wait) = state.code_guesses.wait(&guesser) {
        tracing::info!(door = ?door, "one-time code refused: too many unknown codes");
        return Ok(Err((
            too_many_guesses(wait),
            Tally::Refused(Reason::TooManyGuesses),
        )));
    }
    if !visits::is_plausible_code(code) {
        state.code_guesses.miss(&guesser);
        return Err(AppError::NotFound);
    }
    // Whatever language the server speaks, an outage here is the 503 page, never a 500.
    let mut conn = state.pool.get().await?;
    let found = visits::find(&mut conn, code).await;
    let Some(slip) = AppError::classify(&mut conn, found).await? else {
        state.code_guesses.miss(&guesser);
        return Err(AppError::NotFound);
    };
    if slip.code.used {
        // The same form sent again (a double tap, a reload): thanked again, nothing stored. The
        // form's own submission key finds its response; nothing links the code to it.
        let sent = match token {
            Some(key) => {
                let sent = visits::sent_with_code(&mut conn, key, slip.code.desk_id).await;
                AppError::classify(&mut conn, sent).await?
            }
            None => None,
        };
        if let Some(at) = sent {
            let page = views::pages::thanks(&views::pages::Thanks {
                unit_name: &slip.unit_name,
                text: None,
                submitted_at: at,
            });
            return Ok(Err((
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .insert_header((CACHE_CONTROL, "no-store"))
                    .body(page.into_string()),
                Tally::Duplicate,
            )));
        }
        return Ok(Err((
            code_used(used_status),
            Tally::Refused(Reason::CodeUsed),
        )));
    }
    let desk = Desk::find_context(&mut conn, slip.code.desk_id).await;
    let Some(desk) = AppError::classify(&mut conn, desk).await? else {
        return Ok(Err((desk_closed(), Tally::Refused(Reason::DeskClosed))));
    };
    Ok(Ok(Target {
        door,
        code: code.to_string(),
        desk,
        visit_code: Some(slip),
        kiosk: None,
    }))
}

/// The version of the desk's form that is shown now.
fn desk_form(state: &AppState, desk: &DeskContext) -> Result<Arc<FormVersion>, AppError> {
    let form_id = desk
        .form_id
        .as_deref()
        .unwrap_or(&state.config.default_form);
    state.forms.latest(form_id).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "desk {} shows form \"{form_id}\", which is not stored",
            desk.desk_id
        ))
    })
}

/// The client, as the limits and the stored key see it.
struct Client {
    /// HMAC of the address and the cookie id: stored with the response.
    person: Vec<u8>,
    /// HMAC of the address alone.
    address: Vec<u8>,
    /// A cookie to set (the browser had none).
    new_cookie: Option<Cookie<'static>>,
}

fn keyed(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn client(state: &AppState, request: &HttpRequest) -> Client {
    let address = super::client_limit_key(&state.config, request);
    let existing = request
        .cookie(VISITOR_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let (id, new_cookie) = match existing {
        Some(id) => (id, None),
        None => {
            let id = hex::encode(rand::random::<[u8; 16]>());
            let cookie = Cookie::build(VISITOR_COOKIE, id.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.config.cookie_secure)
                .max_age(actix_web::cookie::time::Duration::days(400))
                .finish();
            (id, Some(cookie))
        }
    };
    Client {
        person: keyed(
            &state.secret,
            &[b"sipas visit person", address.as_bytes(), id.as_bytes()],
        ),
        address: keyed(&state.secret, &[b"sipas visit address", address.as_bytes()]),
        new_cookie,
    }
}

fn html(status: StatusCode, client: &Client) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .content_type("text/html; charset=utf-8")
        // Each rendering carries its own submission key: never cache it.
        .insert_header((CACHE_CONTROL, "no-store"));
    if let Some(cookie) = &client.new_cookie {
        builder.cookie(cookie.clone());
    }
    builder
}

struct Form<'a> {
    version: &'a FormVersion,
    places: &'a [crate::forms::ResidencePlace],
    token: Uuid,
    started: &'a str,
    values: &'a HashMap<String, String>,
    problems: &'a Problems,
}

fn render(target: &Target, client: &Client, form: &Form<'_>, status: StatusCode) -> HttpResponse {
    let action = target.action();
    let page = views::survey::survey(&SurveyPage {
        unit_name: &target.desk.unit_name,
        desk_name: &target.desk.desk_name,
        action: &action,
        version: form.version,
        token: form.token,
        started: form.started,
        values: form.values,
        problems: form.problems,
        places: form.places,
    });
    html(status, client).body(page.into_string())
}

async fn show(
    state: web::Data<AppState>,
    code: web::Path<String>,
    request: HttpRequest,
    door: Door,
) -> Result<HttpResponse, AppError> {
    let target = match target(&state, &request, door, &code, StatusCode::GONE, None).await? {
        Ok(target) => target,
        Err((page, _)) => return Ok(page),
    };
    let version = desk_form(&state, &target.desk)?;
    let places = state.residence_places(&version.form).await;
    let client = client(&state, &request);
    let token = Uuid::new_v4();
    let started = sign_started(&state.secret, token, Utc::now());
    Ok(render(
        &target,
        &client,
        &Form {
            version: &version,
            places: &places,
            token,
            started: &started,
            values: &HashMap::new(),
            problems: &Problems::default(),
        },
        StatusCode::OK,
    ))
}

fn general(message: impl Into<String>) -> Problems {
    Problems {
        items: Default::default(),
        general: vec![message.into()],
    }
}

/// Stores a submission, or answers why not. Refused, with nothing stored: a body that cannot
/// be read or a form version this desk does not show (422, the form again); a filled-in
/// honeypot (422); a start time that is missing (when a minimum time is required), not signed
/// by us for this form, or in the future (422, the form again with a fresh one); invalid
/// answers (422, each problem at its item); a form sent back sooner than
/// `SIPAS_MIN_FILL_SECONDS` (422: check and send again, the answers and the start kept); over a
/// limit (429, the form again with the answers); a used one-time code (409). In every case
/// with the form, the citizen's answers are on it. Each submission is counted in the metrics
/// by its door and outcome (and a refusal by its reason).
async fn submit(
    state: web::Data<AppState>,
    code: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
    door: Door,
) -> Result<HttpResponse, AppError> {
    let answered = receive(&state, code, request, payload, door).await;
    if let Err(error) = &answered {
        let counted = door.counted();
        match error {
            AppError::NotFound => state.metrics.refused(counted, Reason::UnknownCode),
            AppError::PayloadTooLarge | AppError::BadRequest => {
                state.metrics.refused(counted, Reason::Unreadable)
            }
            _ => state.metrics.submission(counted, Outcome::Failed),
        }
    }
    answered
}

/// [`submit`], counting what it answers (its errors are counted by `submit`).
async fn receive(
    state: &web::Data<AppState>,
    code: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
    door: Door,
) -> Result<HttpResponse, AppError> {
    let decoded = read_submission(&request, payload).await?;
    let sent_token = decoded.as_ref().and_then(|raw| raw.token);
    let target = match target(
        state,
        &request,
        door,
        &code,
        StatusCode::CONFLICT,
        sent_token,
    )
    .await?
    {
        Ok(target) => target,
        Err((page, tally)) => {
            tally.count(state, door);
            return Ok(page);
        }
    };
    let client = client(state, &request);
    let places = state
        .residence_places(&desk_form(state, &target.desk)?.form)
        .await;
    let reply = Reply {
        state,
        target: &target,
        client: &client,
        now: Utc::now(),
        places: &places,
    };
    let checked = match reply.check(decoded, door)? {
        Ok(checked) => checked,
        Err(refused) => return Ok(refused),
    };
    let accepted = store(state, &target, &client, door, &checked).await?;
    reply.outcome(door, &checked, accepted)
}

/// The body, decoded when it is a form (`None`: unreadable or another content type, answered
/// with the form again). Too large: 413.
async fn read_submission(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<Option<RawSubmission>, AppError> {
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(AppError::BadRequest),
        Err(_) => return Err(AppError::PayloadTooLarge),
    };
    let urlencoded = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("application/x-www-form-urlencoded"));
    Ok(if urlencoded {
        RawSubmission::decode(&body).ok()
    } else {
        None
    })
}

/// A submission that passed every check: what is stored, and what the form needs again if a
/// limit refuses it.
struct Checked {
    version: Arc<FormVersion>,
    token: Uuid,
    /// The signed start as sent (or a fresh one when none was required).
    started: String,
    started_at: Option<chrono::DateTime<Utc>>,
    values: HashMap<String, String>,
    answers: crate::forms::submission::ValidAnswers,
}

/// The pages answering one submission, to one client at one target.
struct Reply<'a> {
    state: &'a AppState,
    target: &'a Target,
    client: &'a Client,
    now: chrono::DateTime<Utc>,
    /// The places of residence the form offers again.
    places: &'a [crate::forms::ResidencePlace],
}

impl Reply<'_> {
    /// The form again, with the citizen's `values` and what is wrong.
    fn again(
        &self,
        version: &FormVersion,
        token: Uuid,
        started: &str,
        values: &HashMap<String, String>,
        problems: &Problems,
        status: StatusCode,
    ) -> HttpResponse {
        render(
            self.target,
            self.client,
            &Form {
                version,
                places: self.places,
                token,
                started,
                values,
                problems,
            },
            status,
        )
    }

    fn fresh_started(&self, token: Uuid) -> String {
        sign_started(&self.state.secret, token, self.now)
    }

    /// The checks before anything is stored; a refusal is the form again (422), counted by
    /// its reason.
    fn check(
        &self,
        decoded: Option<RawSubmission>,
        door: Door,
    ) -> Result<Result<Checked, HttpResponse>, AppError> {
        let state = self.state;
        let refused = |reason| state.metrics.refused(door.counted(), reason);
        let current = desk_form(state, &self.target.desk)?;
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let Some(raw) = decoded else {
            refused(Reason::Unreadable);
            let token = Uuid::new_v4();
            return Ok(Err(self.again(
                &current,
                token,
                &self.fresh_started(token),
                &HashMap::new(),
                &Problems::malformed(),
                unprocessable,
            )));
        };
        let values = raw.values();
        // The version that was rendered must be a version of the form this desk shows.
        let rendered = raw
            .version_id
            .and_then(|id| state.forms.version(id))
            .filter(|v| v.form.id == current.form.id);
        let (Some(version), Some(token)) = (rendered, raw.token) else {
            refused(Reason::FormVersion);
            let token = raw.token.unwrap_or_else(Uuid::new_v4);
            return Ok(Err(self.again(
                &current,
                token,
                &self.fresh_started(token),
                &values,
                &Problems::malformed(),
                unprocessable,
            )));
        };
        let min_fill = state.config.visits.min_fill_seconds;
        let started_at =
            match verify_started(&state.secret, token, raw.started.as_deref(), self.now) {
                Ok(at) => Some(at),
                Err(StartedProblem::Missing) if min_fill == 0 => None,
                Err(problem) => {
                    tracing::info!(?problem, door = ?door, "survey refused: start time");
                    refused(Reason::StartTime);
                    return Ok(Err(self.again(
                        &version,
                        token,
                        &self.fresh_started(token),
                        &values,
                        &general(MSG_STARTED),
                        unprocessable,
                    )));
                }
            };
        let started = raw
            .started
            .clone()
            .unwrap_or_else(|| self.fresh_started(token));
        if raw.honeypot_filled() {
            tracing::info!(door = ?door, "survey refused: honeypot");
            refused(Reason::Honeypot);
            let mut kept = values.clone();
            kept.remove(crate::forms::submission::HONEYPOT_FIELD);
            return Ok(Err(self.again(
                &version,
                token,
                &started,
                &kept,
                &general(MSG_HONEYPOT),
                unprocessable,
            )));
        }
        let answers = match validate(&version.form, &raw.fields) {
            Ok(answers) => answers,
            Err(problems) => {
                refused(Reason::Invalid);
                return Ok(Err(self.again(
                    &version,
                    token,
                    &started,
                    &values,
                    &problems,
                    unprocessable,
                )));
            }
        };
        if let Some(at) = started_at
            && self.now - at < chrono::Duration::seconds(i64::from(min_fill))
        {
            refused(Reason::TooFast);
            return Ok(Err(self.again(
                &version,
                token,
                &started,
                &values,
                &general(MSG_TOO_FAST),
                unprocessable,
            )));
        }
        Ok(Ok(Checked {
            version,
            token,
            started,
            started_at,
            values,
            answers,
        }))
    }

    /// The page after the store: thanks, the form again over a limit (429), or the used code
    /// (409).
    fn outcome(
        &self,
        door: Door,
        checked: &Checked,
        accepted: Result<crate::spool::Accepted, Refusal>,
    ) -> Result<HttpResponse, AppError> {
        let (target, client, version) = (self.target, self.client, &checked.version);
        let metrics = &self.state.metrics;
        match &accepted {
            Err(Refusal::CodeUsed) => metrics.refused(door.counted(), Reason::CodeUsed),
            Err(Refusal::OverLimit { .. }) => metrics.refused(door.counted(), Reason::OverLimit),
            // Counted with the error it becomes.
            Err(Refusal::Failed(_)) => {}
            Ok(accepted) => metrics.submission(
                door.counted(),
                match accepted.stored {
                    Some(stored) if stored.new => Outcome::Stored,
                    Some(_) => Outcome::Duplicate,
                    None => Outcome::Spooled,
                },
            ),
        }
        match accepted {
            Err(Refusal::CodeUsed) => Ok(code_used(StatusCode::CONFLICT)),
            Err(Refusal::OverLimit { retry_after }) => {
                let minutes = retry_after.div_ceil(60).max(1);
                let message = match door {
                    Door::Kiosk => format!(
                        "Máy đánh giá tại quầy vừa nhận nhiều phiếu liên tiếp. Vui lòng chờ khoảng {retry_after} giây rồi bấm \"Gửi phiếu\" lại; các câu trả lời vẫn được giữ nguyên."
                    ),
                    _ => format!(
                        "Thiết bị này đã gửi nhiều phiếu trong thời gian ngắn nên phiếu chưa được ghi nhận. Các câu trả lời của Anh/Chị vẫn được giữ nguyên bên dưới: vui lòng thử lại sau khoảng {minutes} phút. Nếu Anh/Chị cần đánh giá thêm một lần giao dịch khác, vui lòng xin mã đánh giá tại quầy."
                    ),
                };
                let mut response = self.again(
                    version,
                    checked.token,
                    &checked.started,
                    &checked.values,
                    &general(message),
                    StatusCode::TOO_MANY_REQUESTS,
                );
                if let Ok(value) = retry_after.to_string().parse() {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                Ok(response)
            }
            Err(Refusal::Failed(e)) => Err(e.into()),
            Ok(accepted) => {
                if door == Door::Kiosk {
                    let next = target.action();
                    let page = views::survey::kiosk_thanks(&views::survey::KioskThanks {
                        unit_name: &target.desk.unit_name,
                        text: version.form.thanks.as_deref(),
                        next: &next,
                        seconds: KIOSK_RETURN_SECONDS,
                    });
                    return Ok(html(StatusCode::OK, client).body(page.into_string()));
                }
                let page = views::pages::thanks(&views::pages::Thanks {
                    unit_name: &target.desk.unit_name,
                    text: version.form.thanks.as_deref(),
                    submitted_at: accepted.submitted_at,
                });
                Ok(html(StatusCode::OK, client).body(page.into_string()))
            }
        }
    }
}

/// Stores a checked submission under the door's limits. Nothing lost (issue 6): when the
/// database is unreachable, the validated response goes to the durable spool (replayed later,
/// exactly once by its key) and the citizen is thanked. A refusal (a used code, a limit) is not
/// an outage: it comes back as a value.
async fn store(
    state: &AppState,
    target: &Target,
    client: &Client,
    door: Door,
    checked: &Checked,
) -> Result<Result<crate::spool::Accepted, Refusal>, AppError> {
    let kiosk_key = target.kiosk.map(visits::kiosk_key);
    let limits = survey::limits_for(
        door.via(),
        &state.config.visits,
        &client.person,
        &client.address,
        kiosk_key.as_ref().map(|k| k.as_slice()),
    );
    let visit = Visit {
        via: door.via(),
        desk_code: (door != Door::Code).then_some(target.code.as_str()),
        client_key: &client.person,
        started_at: checked.started_at,
        visit_code_id: target.visit_code.as_ref().map(|slip| slip.code.id),
        keep_original_texts: state.config.keep_original_comments,
    };
    let version = &checked.version;
    let new = survey::online_response(
        &target.desk,
        version,
        checked.token,
        &checked.answers,
        &visit,
    );
    let texts = survey::text_rows(version, &checked.answers)?;
    Ok(crate::spool::store_or_spool(
        &state.spool,
        || Ok(crate::spool::SpooledResponse::from_new(&new, &texts)),
        async {
            let mut conn = state.pool.get().await?;
            match survey::store_online(&mut conn, &new, &texts, &limits).await {
                Ok(stored) => Ok(Ok(stored)),
                Err(Refusal::Failed(e)) => Err(e),
                Err(refusal) => Ok(Err(refusal)),
            }
        },
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_are_counted_per_client() {
        let guesses = CodeGuesses::default();
        for _ in 0..CODE_GUESS_BURST as usize {
            assert_eq!(guesses.wait("203.0.113.7"), None);
            guesses.miss("203.0.113.7");
        }
        let wait = guesses.wait("203.0.113.7").expect("out of tries");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(guesses.wait("203.0.113.8"), None);
    }

    #[test]
    fn client_keys_never_hold_the_address() {
        let a = keyed(b"secret", &[b"sipas visit address", b"203.0.113.7"]);
        assert_eq!(a.len(), 32);
        assert_ne!(
            a,
            keyed(b"other", &[b"sipas visit address", b"203.0.113.7"])
        );
        // Length-prefixed parts: "ab"+"c" is not "a"+"bc".
        assert_ne!(keyed(b"s", &[b"ab", b"c"]), keyed(b"s", &[b"a", b"bc"]));
        assert!(!a.windows(4).any(|w| w == [203, 0, 113, 7]));
    }
}
