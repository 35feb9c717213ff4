//! Staff area: the unit tree and its desks from and to a spreadsheet (admins): the template and
//! the export to download, the upload with "Chỉ kiểm tra" (dry run).
//!
//! The upload is a `multipart/form-data` body of at most [`MAX_BODY_BYTES`], read here by a
//! small parser ([`parse_multipart`]: the three fields of our own form, nothing streamed to
//! disk); a body that is too large, not multipart, or unreadable gets the page again with a
//! Vietnamese message and a 4xx status.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::html;
use crate::app::unit_import::{self, ImportedBy, Lines, MAX_FILE_BYTES, Outcome, Problem};
use crate::auth::Staff;
use crate::error::AppError;
use crate::export::unit_sheet::{self, SheetFormat};
use crate::views::staff::units::{self as views, ImportView};
use crate::web::AppState;

/// The largest upload body: the file and the form's other fields.
pub const MAX_BODY_BYTES: usize = MAX_FILE_BYTES + 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource("/units/import")
            .route(web::get().to(page))
            .route(web::post().to(upload)),
    )
    .service(super::resource("/units/import/{file}").route(web::get().to(download)));
}

async fn page(staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    Ok(html(
        views::import_page(
            &staff,
            &ImportView {
                dry_run: true,
                ..ImportView::default()
            },
        ),
        200,
    ))
}

/// template.xlsx, template.csv, export.xlsx, export.csv.
async fn download(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let (what, extension) = path.split_once('.').ok_or(AppError::NotFound)?;
    let format = SheetFormat::of_name(&format!(".{extension}")).ok_or(AppError::NotFound)?;
    let lines = match what {
        "template" => Lines::default(),
        "export" => {
            let mut conn = state.pool.get().await?;
            unit_import::export_lines(&unit_import::load_existing(&mut conn).await?)
        }
        _ => return Err(AppError::NotFound),
    };
    let bytes = unit_sheet::write(&lines, format).map_err(AppError::internal)?;
    let name = match what {
        "template" => "sipas-don-vi-mau",
        _ => "sipas-don-vi",
    };
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{}\"", format.extension()),
        ))
        .body(bytes))
}

/// The page again with a refusal of the whole upload (`status` 4xx).
fn refused(staff: &Staff, status: u16, dry_run: bool, message: &str) -> HttpResponse {
    html(
        views::import_page(
            staff,
            &ImportView {
                dry_run,
                notice: Some(message.to_string()),
                refused: true,
                problems: &[],
            },
        ),
        status,
    )
}

const MSG_NOT_MULTIPART: &str = "Yêu cầu không hợp lệ: vui lòng chọn tệp và gửi bằng biểu mẫu \
     «Nhập từ tệp» trên trang này.";
const MSG_UNREADABLE: &str = "Không đọc được dữ liệu gửi lên. Vui lòng chọn lại tệp và thử lại.";
const MSG_NO_FILE: &str = "Vui lòng chọn một tệp .xlsx hoặc .csv để tải lên.";

async fn upload(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    staff.require_admin()?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = multipart_boundary(content_type) else {
        return Ok(refused(&staff, 415, true, MSG_NOT_MULTIPART));
    };
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Ok(refused(&staff, 400, true, MSG_UNREADABLE)),
        Err(_) => {
            let message = format!(
                "Tệp quá lớn: tối đa {} MB. Hãy chia danh sách thành nhiều tệp.",
                MAX_FILE_BYTES / 1024 / 1024
            );
            return Ok(refused(&staff, 413, true, &message));
        }
    };
    let Some(parts) = parse_multipart(&body, &boundary) else {
        return Ok(refused(&staff, 400, true, MSG_UNREADABLE));
    };
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let token = field(crate::views::CSRF_FIELD).map(|p| String::from_utf8_lossy(p.data));
    if !crate::auth::csrf_matches(&request, token.as_deref()) {
        return Err(AppError::CsrfRejected);
    }
    let dry_run = field("dry_run").is_some();
    let Some(file) = field("file").filter(|p| !p.data.is_empty()) else {
        return Ok(refused(&staff, 422, dry_run, MSG_NO_FILE));
    };
    let lines = match unit_sheet::read(file.data) {
        Ok(lines) => lines,
        Err(problems) => return Ok(problems_page(&staff, dry_run, &problems)),
    };
    let forms = state.forms.form_ids();
    let mut conn = state.pool.get().await?;
    let by = ImportedBy::Account(staff.actor.account_id);
    match unit_import::import(&mut conn, by, &lines, &forms, dry_run).await? {
        Outcome::Refused(problems) => Ok(problems_page(&staff, dry_run, &problems)),
        Outcome::Checked(plan) => {
            let notice = if plan.is_empty() {
                "Tệp hợp lệ. Danh sách trong tệp giống hệt dữ liệu hiện có: không có gì thay đổi."
                    .to_string()
            } else if dry_run {
                format!(
                    "Tệp hợp lệ (chỉ kiểm tra, chưa lưu gì). Khi nhập sẽ {}.",
                    plan.summary()
                )
            } else {
                format!("Đã nhập xong: {}.", plan.summary())
            };
            Ok(html(
                views::import_page(
                    &staff,
                    &ImportView {
                        dry_run,
                        notice: Some(notice),
                        refused: false,
                        problems: &[],
                    },
                ),
                200,
            ))
        }
    }
}

fn problems_page(staff: &Staff, dry_run: bool, problems: &[Problem]) -> HttpResponse {
    let notice = format!(
        "Tệp có {} lỗi; không có gì được lưu. Vui lòng sửa các lỗi dưới đây rồi tải lên lại.",
        problems.len()
    );
    html(
        views::import_page(
            staff,
            &ImportView {
                dry_run,
                notice: Some(notice),
                refused: true,
                problems,
            },
        ),
        422,
    )
}

/// The boundary of a `multipart/form-data` content type (1 to 70 characters).
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (1..=70).contains(&value.len()).then(|| value.to_string())
    })
}

/// One part of a multipart body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub data: &'a [u8],
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..].iter().position(|b| *b == first)?;
        at += offset;
        if haystack.get(at..at + needle.len())? == needle {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// The parts of a `multipart/form-data` body (RFC 7578), at most 16; `None` when it is not
/// one.
pub fn parse_multipart<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<Part<'a>>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut at = find(body, delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(at..at + 2)? == b"--" {
            return Some(parts);
        }
        if body.get(at..at + 2)? != b"\r\n" || parts.len() >= 16 {
            return None;
        }
        at += 2;
        let headers_end = find(body, b"\r\n\r\n", at)?;
        let headers = std::str::from_utf8(&body[at..headers_end]).ok()?;
        let mut name = None;
        let mut filename = None;
        for line in headers.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').to_string();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        }
        let start = headers_end + 4;
        let mut end_delimiter = b"\r\n".to_vec();
        end_delimiter.extend_from_slice(delimiter);
        let end = find(body, &end_delimiter, start)?;
        parts.push(Part {
            name: name?,
            filename,
            data: &body[start..end],
        });
        at = end + end_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_parts() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(
            multipart_boundary("application/x-www-form-urlencoded"),
            None
        );
        assert_eq!(multipart_boundary("multipart/form-data"), None);
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n\
a,b\r\nc\r\n--XyZ--\r\n";
        let parts = parse_multipart(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "_csrf");
        assert_eq!(parts[0].data, b"tok");
        assert_eq!(parts[1].filename.as_deref(), Some("a.csv"));
        assert_eq!(parts[1].data, b"a,b\r\nc");
        assert_eq!(parse_multipart(b"garbage", "XyZ"), None);
        assert_eq!(parse_multipart(&body[..60], "XyZ"), None);
    }
}
