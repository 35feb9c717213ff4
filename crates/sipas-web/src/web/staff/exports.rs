//! Staff area: exports ("Xuất dữ liệu"). Every role may export (viewers too: an export only
//! reads), always within the account's scope: a unit account exports only its units (another
//! unit in the form is refused with a message, 422, as in the statistics filters).
//!
//! A POST queues a job (`crate::app::exports::create`, with an audit entry: data leaving the
//! service is recorded) that the background runner (`crate::export::jobs`) writes to a file.
//! An export estimated at no more than `SIPAS_EXPORT_INLINE_ROWS` responses is awaited for a
//! few seconds and answered with the file itself; a larger one, or one not ready in time, is
//! answered with a redirect to its page, which shows the progress and then the download
//! link. Jobs, their pages and their files belong to the account that asked (admins
//! included): another account's job is a 404, as is a job whose unit has since left the
//! account's scope.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use super::{html, parse_id, resource, see_other};
use crate::auth::{CsrfForm, Staff};
use crate::db::comments;
use crate::db::exports::{self as db_exports, ExportJob, NewExportJob};
use crate::db::plans::{Period, Plan};
use crate::error::AppError;
use crate::export::jobs::{self, INLINE_WAIT};
use crate::export::{self, ExportFormat, ExportSpec, SpecError, SpecRequest, UnitRef};
use crate::plans::{MAX_YEAR, MIN_YEAR, current_year};
use crate::views::staff::FieldErrors;
use crate::views::staff::exports::{self as views, Choices, ExportQuery, ExportsPage, PATH};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/exports")
            .route(web::get().to(form_page))
            .route(web::post().to(create)),
    )
    .service(resource("/exports/{id}").route(web::get().to(job_page)))
    .service(resource("/exports/{id}/download").route(web::get().to(download)));
}

const MSG_YEAR: &str = "Năm không hợp lệ. Vui lòng nhập năm từ 2000 đến 2100, ví dụ 2026.";
const MSG_PERIOD: &str = "Kỳ không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_UNIT: &str = "Đơn vị không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_FORMAT: &str = "Định dạng tệp không hợp lệ. Vui lòng chọn trong danh sách.";
/// How many of the account's exports the form page lists.
const RECENT: i64 = 20;

/// The form, checked on its own (the spec checks the rest against the database).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Typed {
    year: i32,
    /// A period token of `crate::periods`.
    period: String,
    unit: Option<i32>,
    form: Option<String>,
    channel: Option<String>,
    format: ExportFormat,
}

/// The period token of the form's period choice for `year`: "" is the year, "q1".."q4" and
/// "h1"/"h2" its quarters and halves, "p12" a plan period; a full token of the same year
/// ("2026-03") is taken as it is.
fn period_token(choice: &str, year: i32) -> Option<String> {
    let choice = choice.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match choice {
        "" => Some(year.to_string()),
        "q1" | "q2" | "q3" | "q4" | "h1" | "h2" => Some(format!("{year}-{choice}")),
        _ if choice.len() <= 12 && choice.strip_prefix('p').is_some_and(digits) => {
            Some(choice.to_string())
        }
        _ => {
            let resolved = crate::periods::parse_period_token(choice, None)?;
            (choice.starts_with(&year.to_string()) && choice.len() <= 32).then_some(resolved.token)
        }
    }
}

fn check(query: &ExportQuery, staff: &Staff) -> Result<Typed, FieldErrors> {
    let mut errors = FieldErrors::new();
    let year_text = query.year.trim();
    let year = if year_text.is_empty() {
        current_year()
    } else {
        match year_text.parse::<i32>() {
            Ok(y) if (MIN_YEAR..=MAX_YEAR).contains(&y) && year_text.len() == 4 => y,
            _ => {
                errors.insert("year", MSG_YEAR.into());
                current_year()
            }
        }
    };
    let period = period_token(&query.period, year).unwrap_or_else(|| {
        errors.insert("period", MSG_PERIOD.into());
        String::new()
    });
    let unit = match query.unit.trim() {
        "" => None,
        text => match parse_id(text) {
            // Another unit than the account's is refused like one that does not exist.
            Ok(id) if staff.scope.contains(id) => Some(id),
            _ => {
                errors.insert("unit", MSG_UNIT.into());
                None
            }
        },
    };
    let format = match query.format.trim() {
        "" => ExportFormat::Xlsx,
        text => ExportFormat::parse(text).unwrap_or_else(|| {
            errors.insert("format", MSG_FORMAT.into());
            ExportFormat::Xlsx
        }),
    };
    let some = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
    if errors.is_empty() {
        Ok(Typed {
            year,
            period,
            unit,
            form: some(&query.form),
            channel: some(&query.channel),
            format,
        })
    } else {
        Err(errors)
    }
}

/// (form id, title) of every form, sorted by id.
fn form_choices(state: &AppState) -> Vec<(String, String)> {
    let mut forms: Vec<(String, String)> = state
        .forms
        .form_ids()
        .into_iter()
        .filter_map(|id| {
            let version = state.forms.latest(id)?;
            let title = version
                .form
                .short_title
                .clone()
                .unwrap_or_else(|| version.form.title.clone());
            Some((id.to_string(), title))
        })
        .collect();
    forms.sort();
    forms
}

/// The form page with `query` filled in, `errors` shown, answered with `status`.
async fn render(
    conn: &mut crate::db::Connection,
    state: &AppState,
    staff: &Staff,
    query: &ExportQuery,
    errors: &FieldErrors,
    status: u16,
) -> Result<HttpResponse, AppError> {
    let mut query = query.clone();
    if query.year.trim().is_empty() {
        query.year = current_year().to_string();
    }
    let year = query
        .year
        .trim()
        .parse::<i32>()
        .unwrap_or_else(|_| current_year());
    let units = comments::unit_choices(conn, &staff.scope).await?;
    let plans: Vec<_> = Plan::list_for_scope(conn, &staff.scope)
        .await?
        .into_iter()
        .filter(|p| i32::from(p.year) == year)
        .collect();
    let mut plan_periods = Vec::new();
    for plan in &plans {
        for period in Period::for_plan(conn, plan.id).await? {
            let label = views::plan_period_label(
                &period.name,
                period.starts_on,
                period.ends_on,
                (plans.len() > 1).then_some(plan.title.as_str()),
            );
            plan_periods.push((period.id, label));
        }
    }
    let periods = views::period_options(&plan_periods);
    let forms = form_choices(state);
    let jobs = db_exports::list_own(conn, staff.account.id, RECENT).await?;
    let page = ExportsPage {
        query: &query,
        choices: Choices {
            units: &units,
            periods: &periods,
            forms: &forms,
            default_form: &state.config.default_form,
        },
        errors,
        jobs: &jobs,
        inline_rows: state.config.export_inline_rows,
    };
    Ok(html(views::exports(staff, &page), status))
}

/// The form, filled in from the query string (the statistics page's "Xuất Excel" link); a
/// choice that cannot be exported (another unit) is shown with its message (422).
async fn form_page(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let errors = if query.is_empty() {
        FieldErrors::new()
    } else {
        check(&query, &staff).err().unwrap_or_default()
    };
    let status = if errors.is_empty() { 200 } else { 422 };
    let mut conn = state.pool.get().await?;
    render(&mut conn, &state, &staff, &query, &errors, status).await
}

/// Queues the export; answers with the file when it is small and ready within
/// [`INLINE_WAIT`], else with a redirect to the job's page.
async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(query): CsrfForm<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let typed = match check(&query, &staff) {
        Ok(typed) => typed,
        Err(errors) => return render(&mut conn, &state, &staff, &query, &errors, 422).await,
    };
    let request = SpecRequest {
        year: typed.year,
        period: Some(typed.period.clone()),
        unit: typed.unit.map(UnitRef::Id),
        form: typed.form.clone(),
        channel: typed.channel.clone(),
    };
    let spec = match ExportSpec::resolve(
        &mut conn,
        &state.forms,
        &state.config.default_form,
        staff.scope.clone(),
        &request,
    )
    .await
    {
        Ok(spec) => spec,
        Err(SpecError::Database(e)) => return Err(e.into()),
        Err(refused) => {
            let field = match refused.field() {
                "" => "period",
                field => field,
            };
            // Another unit than the account's reads like one that does not exist.
            let message = match refused {
                SpecError::UnknownUnit(_) | SpecError::OutOfScope(_) => MSG_UNIT.to_string(),
                other => other.to_string(),
            };
            let errors = FieldErrors::from([(field, message)]);
            return render(&mut conn, &state, &staff, &query, &errors, 422).await;
        }
    };
    let format = typed.format;
    let rows = if format.reads_responses() {
        export::count(&mut conn, &state.forms, &spec)
            .await
            .map_err(AppError::Internal)?
    } else {
        0
    };
    let root = spec.query.root.ok_or(AppError::NotFound)?;
    let label = format!("{} – {}", spec.unit_name, spec.period_label);
    let file_name = export::file_name(&spec, format);
    let job = NewExportJob {
        account_id: staff.account.id,
        scope: staff.scope.unit_ids().map(<[i32]>::to_vec),
        unit_id: root,
        year: i16::try_from(typed.year).map_err(AppError::internal)?,
        period: &typed.period,
        form_id: &spec.query.form_id,
        channel: spec.query.channel.as_deref(),
        format: format.as_str(),
        label: &label,
        rows_total: Some(i64::try_from(rows).unwrap_or(i64::MAX)),
        file_name: Some(&file_name),
    };
    let details = json!({
        "unit_id": root,
        "year": typed.year,
        "period": typed.period,
        "form_id": spec.query.form_id,
        "channel": spec.query.channel,
        "format": format.as_str(),
        "label": label,
        "responses": rows,
    });
    let created = crate::app::exports::create(&mut conn, &staff, &job, details).await?;
    drop(conn);
    jobs::wake();
    let job_page = format!("{PATH}/{}", created.id);
    if rows > state.config.export_inline_rows {
        return Ok(see_other(&job_page));
    }
    let finished = jobs::wait_finished(&state.pool, created.id, INLINE_WAIT).await?;
    if let Some(job) = finished.filter(ExportJob::is_done)
        && let Some(response) = file_response(&state, &job).await?
    {
        return Ok(response);
    }
    Ok(see_other(&job_page))
}

/// The account's own job `segment`, within its current scope; anything else is a 404.
async fn own_job(state: &AppState, staff: &Staff, segment: &str) -> Result<ExportJob, AppError> {
    let id = parse_id(segment)?;
    let mut conn = state.pool.get().await?;
    let job = db_exports::find_own(&mut conn, id, staff.account.id)
        .await?
        .ok_or(AppError::NotFound)?;
    staff.require_unit(job.unit_id)?;
    Ok(job)
}

async fn job_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let job = own_job(&state, &staff, &path).await?;
    Ok(html(views::job(&staff, &job), 200))
}

async fn download(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let job = own_job(&state, &staff, &path).await?;
    if !job.is_done() {
        return Err(AppError::NotFound);
    }
    file_response(&state, &job).await?.ok_or(AppError::NotFound)
}

/// The characters a `filename*` value may carry unescaped (RFC 5987 attr-char).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` with a plain ASCII `filename` (anything else becomes "_") for old clients and
/// the exact UTF-8 name in `filename*` (RFC 6266 / RFC 5987).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%' | ';') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR_CHAR)
    )
}

/// The file of a done job, streamed; None when it is not on this instance's disk.
async fn file_response(
    state: &AppState,
    job: &ExportJob,
) -> Result<Option<HttpResponse>, AppError> {
    let Some(format) = ExportFormat::parse(&job.format) else {
        return Ok(None);
    };
    let Some(path) = jobs::file_path(&state.config.export_dir(), job) else {
        return Ok(None);
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(job = job.id, file = %path.display(), "the file of a done export is missing");
            return Ok(None);
        }
        Err(e) => return Err(AppError::internal(e)),
    };
    let size = file.metadata().await.map_err(AppError::internal)?.len();
    let name = job
        .file_name
        .clone()
        .unwrap_or_else(|| format!("sipas.{}", format.extension()));
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header(("Content-Disposition", content_disposition(&name)))
        .insert_header(("Cache-Control", "private, no-store"));
    if matches!(format, ExportFormat::Xlsx | ExportFormat::Bundle) {
        // Zip files already: sent as they are, with their length (the text formats are
        // gzipped on the way when the browser accepts it).
        response.insert_header(actix_web::http::header::ContentEncoding::Identity);
    }
    Ok(Some(response.body(FileBody::new(file, size))))
}

/// A file sent in chunks of 64 KiB, never whole in memory.
struct FileBody {
    file: tokio::fs::File,
    size: u64,
    remaining: u64,
    buffer: Box<[u8]>,
}

impl FileBody {
    fn new(file: tokio::fs::File, size: u64) -> Self {
        FileBody {
            file,
            size,
            remaining: size,
            buffer: vec![0; 1 << 16].into_boxed_slice(),
        }
    }
}

impl MessageBody for FileBody {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.size)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        use tokio::io::AsyncRead;
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buffer.len());
        let mut buffer = tokio::io::ReadBuf::new(&mut this.buffer[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut buffer) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let read = buffer.filled();
                if read.is_empty() {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the export file is shorter than when it was opened",
                    ))));
                }
                this.remaining -= read.len() as u64;
                Poll::Ready(Some(Ok(Bytes::copy_from_slice(read))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_choices_become_tokens() {
        assert_eq!(period_token("", 2026).as_deref(), Some("2026"));
        assert_eq!(period_token("q1", 2026).as_deref(), Some("2026-q1"));
        assert_eq!(period_token("h2", 2025).as_deref(), Some("2025-h2"));
        assert_eq!(period_token("p12", 2026).as_deref(), Some("p12"));
        assert_eq!(period_token("2026-03", 2026).as_deref(), Some("2026-03"));
        for bad in ["q5", "2025-q1", "custom", "p", "p1x", "nam 2026", "2026-13"] {
            assert_eq!(period_token(bad, 2026), None, "{bad}");
        }
    }

    #[test]
    fn file_names_for_every_browser() {
        assert_eq!(
            content_disposition("sipas-xuan-loc-2026-q1.xlsx"),
            "attachment; filename=\"sipas-xuan-loc-2026-q1.xlsx\"; \
             filename*=UTF-8''sipas-xuan-loc-2026-q1.xlsx"
        );
        assert_eq!(
            content_disposition("Xuân Lộc \"Q1\".csv"),
            "attachment; filename=\"Xu_n L_c _Q1_.csv\"; \
             filename*=UTF-8''Xu%C3%A2n%20L%E1%BB%99c%20%22Q1%22.csv"
        );
    }
}
