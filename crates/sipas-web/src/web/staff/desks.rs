//! Staff area: desks. Admins manage every desk, units' staff the desks of their scope, viewers
//! read; the desk page shows the QR code and serves the printable poster.

use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::units::{FormChoice, check_name};
use super::{Empty, html, parse_id, see_other};
use crate::auth::{CsrfForm, Staff};
use crate::db::desks::{Desk, DeskFields, DeskRefusal, DeskRow};
use crate::db::kiosks::{self, KioskLabel};
use crate::db::units::Unit;
use crate::error::AppError;
use crate::export::poster::{Poster, qr_svg};
use crate::views::staff::FieldErrors;
use crate::views::staff::desks::{
    self as views, DEFAULT_KIOSK_LABEL, DeskEdit, DeskForm, DeskPage, DeskView,
    MSG_KIOSK_DESK_CLOSED,
};
use crate::web::AppState;

/// Resolution of the downloadable PNG poster.
const POSTER_DPI: u32 = 300;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/desks").route(web::get().to(list)))
        .service(
            super::resource("/desks/new")
                .route(web::get().to(new_page))
                .route(web::post().to(create)),
        )
        .service(
            super::resource("/desks/{id}")
                .route(web::get().to(show))
                .route(web::post().to(update)),
        )
        .service(super::resource("/desks/{id}/deactivate").route(web::post().to(deactivate)))
        .service(super::resource("/desks/{id}/activate").route(web::post().to(activate)))
        .service(super::resource("/desks/{id}/rotate-code").route(web::post().to(rotate_code)))
        .service(super::resource("/desks/{id}/kiosks").route(web::post().to(enrol_kiosk)))
        .service(
            super::resource("/desks/{id}/kiosks/{kiosk}/revoke")
                .route(web::post().to(revoke_kiosk)),
        )
        .service(super::resource("/desks/{id}/poster.svg").route(web::get().to(poster_svg)))
        .service(super::resource("/desks/{id}/poster.png").route(web::get().to(poster_png)));
}

#[derive(Deserialize)]
struct OkQuery {
    ok: Option<String>,
}

impl OkQuery {
    fn message(&self) -> Option<&'static str> {
        Some(match self.ok.as_deref()? {
            "created" => {
                "Đã thêm quầy tiếp nhận. Tải áp phích mã QR bên dưới để in và đặt tại quầy."
            }
            "updated" => "Đã lưu thay đổi.",
            "deactivated" => "Quầy đã ngừng hoạt động: mã QR của quầy không nhận phiếu nữa.",
            "activated" => "Quầy đã hoạt động trở lại.",
            "rotated" => {
                "Đã đổi mã QR. Mã cũ không còn dùng được: vui lòng in lại áp phích và thay ở quầy."
            }
            "kiosk_revoked" => {
                "Đã thu hồi máy đánh giá: thiết bị đó không nhận phiếu ở chế độ kiosk nữa."
            }
            _ => return None,
        })
    }
}

/// The desk as typed, checked (the form among `choice`).
fn desk_fields(form: &DeskForm, choice: &FormChoice) -> Result<DeskFields, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = check_name(&form.name, "Vui lòng nhập tên quầy.", &mut errors);
    let form_id = choice
        .parse(&form.form)
        .map_err(|message| errors.insert("form", message))
        .ok();
    let opening_hours = match &form.opening_hours {
        None => None,
        Some(text) => crate::domain::opening_hours::parse(text)
            .map_err(|message| errors.insert("opening_hours", message))
            .ok(),
    };
    match (name, form_id) {
        (Some(name), Some(form_id)) if errors.is_empty() => Ok(DeskFields {
            name,
            form_id,
            opening_hours,
        }),
        _ => Err(errors),
    }
}

const MSG_DUPLICATE_NAME: &str = "Đơn vị này đã có một quầy với tên này. Vui lòng chọn tên khác.";
const MSG_UNIT_INACTIVE: &str =
    "Đơn vị này đang ngừng hoạt động, không thể thêm quầy. Vui lòng chọn đơn vị khác.";

fn inherit_label(state: &AppState, inherited: Option<&str>) -> String {
    format!(
        "Kế thừa từ đơn vị ({})",
        title_of(state, inherited.unwrap_or(&state.config.default_form))
    )
}

/// A form's title (its id when it is not loaded).
fn title_of(state: &AppState, form_id: &str) -> String {
    super::form_titles(&state.forms)
        .into_iter()
        .find(|(id, _)| id == form_id)
        .map_or_else(|| form_id.to_string(), |(_, title)| title)
}

fn view<'a>(state: &AppState, desk: &'a DeskRow) -> DeskView<'a> {
    DeskView {
        desk,
        link: desk.code.as_deref().map(|c| state.config.desk_link(c)),
    }
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<OkQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let desks = Desk::find_for_scope(&mut conn, &staff.scope).await?;
    let views: Vec<DeskView<'_>> = desks.iter().map(|d| view(&state, d)).collect();
    Ok(html(
        views::list(
            &staff,
            &views,
            &state.config.default_form,
            &super::form_titles(&state.forms),
            query.message(),
        ),
        200,
    ))
}

async fn render_new(
    state: &AppState,
    staff: &Staff,
    values: &DeskForm,
    errors: &FieldErrors,
    status: u16,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let units = Unit::find_for_scope(&mut conn, &staff.scope).await?;
    let options = FormChoice::new(state, None).options(format!(
        "Kế thừa từ đơn vị (mặc định: {})",
        title_of(state, &state.config.default_form)
    ));
    Ok(html(
        views::new_desk(staff, values, errors, &units, &options),
        status,
    ))
}

#[derive(Deserialize)]
struct NewQuery {
    unit: Option<String>,
}

async fn new_page(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    let mut values = DeskForm::default();
    // Preselect the unit the link came from, when the account may add desks there.
    if let Some(unit) = query.unit.as_deref().and_then(|u| u.parse::<i32>().ok())
        && staff.require_unit(unit).is_ok()
    {
        values.unit = unit.to_string();
    } else if let Some(ids) = staff.scope.unit_ids()
        && ids.len() == 1
    {
        values.unit = ids[0].to_string();
    }
    render_new(&state, &staff, &values, &FieldErrors::new(), 200).await
}

async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<DeskForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    let mut errors = FieldErrors::new();
    // A unit that is not a number, unknown or outside the scope was not offered: 404.
    let unit_id = match form.unit.trim() {
        "" => {
            errors.insert("unit", "Vui lòng chọn đơn vị.".to_string());
            None
        }
        text => {
            let id = parse_id(text)?;
            staff.require_writable_unit(id)?;
            Some(id)
        }
    };
    if let Some(id) = unit_id {
        let mut conn = state.pool.get().await?;
        Unit::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    }
    let choice = FormChoice::new(&state, None);
    let fields = desk_fields(&form, &choice).map_err(|e| errors.extend(e));
    let (Some(unit_id), Ok(fields)) = (unit_id, fields) else {
        return render_new(&state, &staff, &form, &errors, 422).await;
    };
    let mut conn = state.pool.get().await?;
    match crate::app::desks::create(&mut conn, &staff, unit_id, &fields).await? {
        Ok((desk, _)) => Ok(see_other(&format!("/staff/desks/{}?ok=created", desk.id))),
        Err(refusal) => {
            drop(conn);
            match refusal {
                DeskRefusal::DuplicateName => {
                    errors.insert("name", MSG_DUPLICATE_NAME.to_string());
                }
                DeskRefusal::UnitInactive => {
                    errors.insert("unit", MSG_UNIT_INACTIVE.to_string());
                }
            }
            render_new(&state, &staff, &form, &errors, 422).await
        }
    }
}

/// The desk `segment` names, if the account may see it (404 otherwise).
async fn visible_desk(state: &AppState, staff: &Staff, segment: &str) -> Result<DeskRow, AppError> {
    let id = parse_id(segment)?;
    let mut conn = state.pool.get().await?;
    let desk = Desk::find_row(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    staff.require_unit(desk.unit_id)?;
    Ok(desk)
}

/// What was typed into one of the desk page's forms, sent back with its problems.
enum Typed<'a> {
    Desk(&'a DeskForm, &'a FieldErrors),
    Kiosk(&'a str, &'a FieldErrors),
}

async fn render_show(
    state: &AppState,
    staff: &Staff,
    desk: &DeskRow,
    typed: Option<Typed<'_>>,
    message: Option<&str>,
    status: u16,
) -> Result<HttpResponse, AppError> {
    let view = view(state, desk);
    let qr = match &view.link {
        Some(link) => Some(qr_svg(link).map_err(AppError::internal)?),
        None => None,
    };
    let current = DeskForm::of(desk);
    let empty = FieldErrors::new();
    let ((values, errors), (kiosk_label, kiosk_errors)) = match typed {
        Some(Typed::Desk(values, errors)) => ((values, errors), (DEFAULT_KIOSK_LABEL, &empty)),
        Some(Typed::Kiosk(label, errors)) => ((&current, &empty), (label, errors)),
        None => ((&current, &empty), (DEFAULT_KIOSK_LABEL, &empty)),
    };
    let kiosks = {
        let mut conn = state.pool.get().await?;
        kiosks::find_for_desk(&mut conn, desk.desk_id).await?
    };
    let options = FormChoice::new(state, desk.form_id.as_deref())
        .options(inherit_label(state, desk.unit_form_id.as_deref()));
    let titles = super::form_titles(&state.forms);
    let page = DeskPage {
        view,
        qr_svg: qr,
        installation_default: &state.config.default_form,
        titles: &titles,
        message,
        edit: staff
            .require_writable_unit(desk.unit_id)
            .is_ok()
            .then_some(DeskEdit {
                values,
                errors,
                form_options: &options,
                kiosk_label,
                kiosk_errors,
            }),
        kiosks: &kiosks,
    };
    Ok(html(views::show(staff, &page), status))
}

async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<OkQuery>,
) -> Result<HttpResponse, AppError> {
    let desk = visible_desk(&state, &staff, &path).await?;
    render_show(&state, &staff, &desk, None, query.message(), 200).await
}

/// The desk `segment` names, if the account may change it: 404 when unknown or outside the
/// scope, 403 for viewers.
async fn writable_desk(state: &AppState, staff: &Staff, segment: &str) -> Result<Desk, AppError> {
    let id = parse_id(segment)?;
    let mut conn = state.pool.get().await?;
    let desk = Desk::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    staff.require_writable_unit(desk.unit_id)?;
    Ok(desk)
}

async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<DeskForm>,
) -> Result<HttpResponse, AppError> {
    let desk = writable_desk(&state, &staff, &path).await?;
    let choice = FormChoice::new(&state, desk.form_id.as_deref());
    let refused = match desk_fields(&form, &choice) {
        Ok(fields) => {
            let mut conn = state.pool.get().await?;
            match crate::app::desks::update(&mut conn, &staff, desk.id, &fields).await? {
                Ok(_) => return Ok(see_other(&format!("/staff/desks/{}?ok=updated", desk.id))),
                Err(DeskRefusal::DuplicateName | DeskRefusal::UnitInactive) => {
                    FieldErrors::from([("name", MSG_DUPLICATE_NAME.to_string())])
                }
            }
        }
        Err(errors) => errors,
    };
    let row = visible_desk(&state, &staff, &path).await?;
    render_show(
        &state,
        &staff,
        &row,
        Some(Typed::Desk(&form, &refused)),
        None,
        422,
    )
    .await
}

async fn set_active(
    state: &AppState,
    staff: &Staff,
    segment: &str,
    active: bool,
) -> Result<HttpResponse, AppError> {
    let desk = writable_desk(state, staff, segment).await?;
    let mut conn = state.pool.get().await?;
    crate::app::desks::set_active(&mut conn, staff, desk.id, active).await?;
    let ok = if active { "activated" } else { "deactivated" };
    Ok(see_other(&format!("/staff/desks/{}?ok={ok}", desk.id)))
}

async fn deactivate(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    set_active(&state, &staff, &path, false).await
}

async fn activate(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    set_active(&state, &staff, &path, true).await
}

async fn rotate_code(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let desk = writable_desk(&state, &staff, &path).await?;
    let mut conn = state.pool.get().await?;
    crate::app::desks::rotate_code(&mut conn, &staff, desk.id).await?;
    Ok(see_other(&format!("/staff/desks/{}?ok=rotated", desk.id)))
}

#[derive(Deserialize)]
struct KioskForm {
    #[serde(default)]
    label: String,
}

/// Enrols the device that sends this as a kiosk of the desk: the staff member's session on it
/// ends (a tablet left at the desk must not open the staff area), the device keeps the kiosk's
/// cookie (sent to `/k/` only), and it goes on to the desk's kiosk form.
async fn enrol_kiosk(
    state: web::Data<AppState>,
    staff: Staff,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<KioskForm>,
) -> Result<HttpResponse, AppError> {
    let desk = writable_desk(&state, &staff, &path).await?;
    let row = visible_desk(&state, &staff, &path).await?;
    let open_code = row
        .code
        .as_deref()
        .filter(|_| row.active && row.unit_active);
    let (label, code) = match (KioskLabel::try_from(form.label.as_str()), open_code) {
        (Ok(label), Some(code)) => (label, code),
        (label, _) => {
            let message = label
                .err()
                .unwrap_or_else(|| MSG_KIOSK_DESK_CLOSED.to_string());
            let errors = FieldErrors::from([("label", message)]);
            return render_show(
                &state,
                &staff,
                &row,
                Some(Typed::Kiosk(&form.label, &errors)),
                None,
                422,
            )
            .await;
        }
    };
    let mut conn = state.pool.get().await?;
    let (_, device) = crate::app::kiosks::enrol(&mut conn, &staff, desk.id, &label).await?;
    session.purge();
    let cookie = Cookie::build(crate::web::survey::KIOSK_COOKIE, device.value())
        .path("/k/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure)
        .max_age(actix_web::cookie::time::Duration::days(400))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/k/{code}")))
        .cookie(cookie)
        .finish())
}

/// Revokes one of the desk's kiosks (again: nothing changes).
async fn revoke_kiosk(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let (desk_segment, kiosk_segment) = path.into_inner();
    let desk = writable_desk(&state, &staff, &desk_segment).await?;
    let id = parse_id(&kiosk_segment)?;
    let mut conn = state.pool.get().await?;
    if !crate::app::kiosks::revoke(&mut conn, &staff, desk.id, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(see_other(&format!(
        "/staff/desks/{}?ok=kiosk_revoked",
        desk.id
    )))
}

/// What a poster needs, owned, to be rendered on a blocking thread.
struct PosterData {
    unit_name: String,
    desk_name: String,
    parent_name: Option<String>,
    url: String,
    /// File name without extension: the unit code and the desk id (as `sipas qr` names them).
    stem: String,
}

impl PosterData {
    fn poster(&self) -> Poster<'_> {
        Poster {
            unit_name: &self.unit_name,
            desk_name: &self.desk_name,
            url: &self.url,
            parent_name: self.parent_name.as_deref(),
        }
    }
}

async fn poster_data(
    state: &AppState,
    staff: &Staff,
    segment: &str,
) -> Result<PosterData, AppError> {
    let desk = visible_desk(state, staff, segment).await?;
    let code = desk.code.as_deref().ok_or(AppError::NotFound)?;
    Ok(PosterData {
        url: state.config.desk_link(code),
        stem: format!("{}-{}", desk.unit_code, desk.desk_id),
        unit_name: desk.unit_name,
        desk_name: desk.desk_name,
        parent_name: desk.parent_name,
    })
}

fn download(content_type: &str, file_name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        // The code can be rotated: never serve a stale poster.
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

async fn poster_svg(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let data = poster_data(&state, &staff, &path).await?;
    let name = format!("{}.svg", data.stem);
    let svg = web::block(move || data.poster().svg())
        .await
        .map_err(AppError::internal)?;
    Ok(download("image/svg+xml", &name, svg.into_bytes()))
}

async fn poster_png(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let data = poster_data(&state, &staff, &path).await?;
    let name = format!("{}.png", data.stem);
    // Rasterising is CPU work: keep it off the async threads.
    let png = web::block(move || data.poster().png(POSTER_DPI))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    Ok(download("image/png", &name, png))
}
