//! Authorisation of the whole staff side as a matrix of role × route (issue 3: "A unit's account
//! asking for another unit's page, desk, result, comment or export by changing a URL gets 404,
//! never the data. Test this as a matrix of role × route.").
//!
//! [`MATRIX`] lists every staff route (GET and POST apart; "in" = inside the unit account's
//! scope, Xuân Bắc; "out" = outside it, Xuân Định or the district of Biên Hòa) with the status
//! each role must get. Every cell is then requested through HTTP and checked:
//! - the status is the expected one (never a 500);
//! - an error status comes with our Vietnamese error page, never a bare text or an empty body;
//! - anonymous requests are sent to the sign-in page (GET: with `next` to come back);
//! - nothing changed in the database for a GET or a refused POST, and something changed for a
//!   POST that succeeded (units, desks, desk_codes, accounts, account_units, survey_plans,
//!   plan_periods, plan_targets, responses and audit_log compared by count and checksum);
//! - no refused answer, and no answer at all to the unit account, shows out-of-scope data (the
//!   name "Xuân Định", any code of its desk, "Biên Hòa", the account `muc.tieu`).
//!
//! Every wrong cell is collected and reported, not only the first.

use crate::common;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use common::{StaffClient, TEST_PASSWORD, TestApp, full_answers, hidden_field, with_hidden};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";

/// The roles, in the order of the table's columns.
const ROLES: [&str; 4] = ["anonymous", "admin", "viewer", "unit"];
/// The order the cells of a row are requested in: refusals first, then the changes (an admin's
/// change must not hide a refusal that should have left the data as it was).
const REQUEST_ORDER: [usize; 4] = [0, 2, 3, 1];

type Body = &'static [(&'static str, &'static str)];

/// One route of the staff side and the status every role gets.
struct Row {
    route: &'static str,
    post: bool,
    /// With `{placeholders}` filled in per role (see [`Fixture::vars`]).
    path: &'static str,
    /// The form sent with a POST (the CSRF token is added).
    body: Body,
    /// anonymous, admin, viewer, unit (Xuân Bắc).
    expect: [u16; 4],
    /// A successful POST must change stored data (false: sign-in, sign-out).
    writes: bool,
    /// Why a cell is expected as it is, when the code answers otherwise (see the report).
    note: Option<&'static str>,
}

const fn get(route: &'static str, path: &'static str, expect: [u16; 4]) -> Row {
    Row {
        route,
        post: false,
        path,
        body: &[],
        expect,
        writes: false,
        note: None,
    }
}

const fn post(route: &'static str, path: &'static str, body: Body, expect: [u16; 4]) -> Row {
    Row {
        route,
        post: true,
        path,
        body,
        expect,
        writes: true,
        note: None,
    }
}

impl Row {
    /// A POST that changes no table of the snapshot even when it succeeds.
    const fn no_write(self) -> Row {
        Row {
            writes: false,
            ..self
        }
    }

    /// Marks a row whose expectation is the correct behaviour for users, not the code's.
    const fn note(self, note: &'static str) -> Row {
        Row {
            note: Some(note),
            ..self
        }
    }
}

/// The forms sent (placeholders filled in per role; the CSRF token is added).
#[rustfmt::skip]
mod bodies {
    use super::Body;

    pub const NONE: Body = &[];
    pub const NO_LABEL: Body = &[("label", "")];
    pub const RULES: Body = &[
        ("desk_burst_minutes", "10"), ("desk_burst_min", "12"), ("desk_burst_ratio", "5"),
        ("client_burst_minutes", "60"), ("client_burst_min", "3"), ("identical_run_desk", "3"),
        ("identical_run_client", "2"), ("identical_min_items", "8"), ("straight_min_criteria", "5"),
        ("min_seconds_base", "2"), ("min_seconds_per_item", "0,5"),
        ("hours_grace_before_minutes", "15"), ("hours_grace_after_minutes", "60"),
    ];
    pub const RULES_OUT_OF_BOUNDS: Body = &[("client_burst_min", "1")];
    pub const WRONG_SIGN_IN: Body = &[("username", "khong.ton.tai"), ("password", "sai mật khẩu rồi")];
    pub const NEW_UNIT: Body = &[
        ("code", "xuan-loc.don-vi-thu"), ("name", "Đơn vị thử nghiệm"), ("kind", "other"),
        ("parent", "{district}"), ("default_form", ""),
    ];
    // Edits are real changes: the unit's (or desk's) form goes from inherited to explicit.
    pub const EDIT_UNIT_IN: Body = &[
        ("name", "UBND xã Xuân Bắc"), ("kind", "commune"), ("parent", "{district}"),
        ("default_form", "sipas-1001-dich-vu"),
    ];
    pub const EDIT_UNIT_OUT: Body = &[
        ("name", "UBND xã Xuân Định"), ("kind", "commune"), ("parent", "{district}"),
        ("default_form", "sipas-1001-dich-vu"),
    ];
    pub const NEW_DESK_IN: Body = &[("unit", "{unit_in}"), ("name", "Quầy thử nghiệm ({role})"), ("form", "")];
    pub const NEW_DESK_OUT: Body = &[("unit", "{unit_out}"), ("name", "Quầy thử nghiệm ({role})"), ("form", "")];
    pub const EDIT_DESK_IN: Body = &[("name", "{desk_in_name}"), ("form", "sipas-1001-dich-vu")];
    pub const MINT_IN: Body = &[("desk", "{desk_in}"), ("count", "2"), ("dossiers", "")];
    pub const MINT_OUT: Body = &[("desk", "{desk_out}"), ("count", "2"), ("dossiers", "")];
    pub const MINT_NOTHING: Body = &[("desk", "{desk_in}"), ("count", ""), ("dossiers", "")];
    pub const EDIT_DESK_OUT: Body = &[("name", "{desk_out_name}"), ("form", "sipas-1001-dich-vu")];
    /// A complete QĐ 1001 ballot as typed by a clerk (its serial differs per role).
    pub const BALLOT: Body = &[
        ("_v", "{v}"), ("serial", "GIAY-{role}"), ("date", "{today}"),
        ("TC1", "4"), ("TC2", "5"), ("TC3", "4"), ("TC4", "4"), ("TT1", "4"), ("TT2", "4"),
        ("TT3", "4"), ("TT4", "4"), ("CC1", "4"), ("CC2", "4"), ("CC3", "4"), ("CC4", "4"),
        ("CC5", "4"), ("KQ1", "4"), ("KQ2", "4"), ("KQ3", "4"), ("PA1", "0"), ("PA2", "5"),
        ("PA3", "0"), ("MD1", "3"), ("MD2", ""), ("GIOI_TINH", "2"), ("LINH_VUC", "7"),
        ("YK", "Cần thêm ghế chờ."),
    ];
    pub const NEW_PLAN: Body = &[
        ("year", "2031"), ("title", "Kế hoạch khảo sát sự hài lòng năm 2031"),
        ("unit_id", "{district}"), ("form_id", "sipas-1001-dich-vu"), ("margin", "0,05"),
        ("preset", "custom"),
    ];
    pub const NEW_PERIOD: Body = &[("name", "Đợt bổ sung"), ("starts_on", "01/06/2026"), ("ends_on", "30/06/2026")];
    pub const TARGETS_IN: Body = &[("target_{unit_in}", "30"), ("target_{unit_out}", "40")];
    pub const TARGETS_OUT: Body = &[("target_{bien_hoa}", "25")];
    pub const GOALS: Body = &[("goal_label_1", "Mục tiêu của tỉnh: 85%"), ("goal_percent_1", "85")];
    pub const NEW_ACCOUNT: Body = &[("username", "moi.tao"), ("display_name", "Người mới"), ("role", "viewer")];
    pub const EDIT_ACCOUNT: Body = &[
        ("display_name", "Cán bộ mục tiêu (đã sửa)"), ("role", "unit"), ("units", "{unit_out}"),
    ];
    pub const NEW_TOKEN: Body = &[("name", "Mã thử nghiệm ({role})")];
    pub const EMPTY_TOKEN: Body = &[("name", "  ")];
    pub const ALERT: Body = &[("unit", "{unit_in}"), ("email", "canbo@xuanloc.gov.vn"), ("comment", "on"), ("mode", "immediate")];
    pub const NOTE: Body = &[("note", "Đã trả lời người dân ({role})")];
    pub const EMPTY_NOTE: Body = &[("note", "  ")];
    pub const DECIDE: Body = &[("decision", "exclude"), ("note", "Phiếu thử nghiệm ({role})")];
    pub const NO_DECISION: Body = &[("decision", "delete"), ("note", "Không hợp lệ")];
    /// The codebook of Xuân Bắc's (or Xuân Định's) year: small, so it downloads at once.
    pub const EXPORT_IN: Body = &[
        ("year", "2026"), ("period", ""), ("unit", "{unit_in}"), ("form", "sipas-1001-dich-vu"),
        ("format", "codebook"),
    ];
    pub const EXPORT_OUT: Body = &[
        ("year", "2026"), ("period", ""), ("unit", "{unit_out}"), ("form", "sipas-1001-dich-vu"),
        ("format", "codebook"),
    ];
    pub const OWN_PASSWORD: Body = &[
        ("current", "{password}"), ("new", "Mật khẩu mới thật dài 2026"),
        ("confirm", "Mật khẩu mới thật dài 2026"),
    ];
}

use bodies::*;

/// Why the wrong-method rows expect what they do.
const BLANK_405: &str = "a method the path does not take answers like a missing page (sign-in \
    first, then our 404 page), never a bare empty 405: a refused form is shown at this URL, and \
    pressing Enter in the address bar must not give a blank page";

/// The policy. Columns: anonymous, admin, viewer, unit account of Xuân Bắc.
/// "in": Xuân Bắc's unit/desk (the admin works on a second Xuân Bắc desk, so that its changes
/// and the unit account's are both real changes), the district's plan; "out": Xuân Định's
/// unit/desk, the plan of the district of Biên Hòa.
/// 303 for a signed-in role is the redirect after a successful change (Post/Redirect/Get).
#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //   route                                 path                                                   body            anon admin view unit
    get( "sign-in page",                       "/sign-in",                                                            [200, 200, 200, 200]),
    post("sign-in, wrong password",            "/sign-in",                                            WRONG_SIGN_IN,  [401, 401, 401, 401]).no_write(),
    get( "dashboard",                          "/staff",                                                              [303, 200, 200, 200]),
    get( "own password: form",                 "/staff/password",                                                     [303, 200, 200, 200]),
    // Units: everyone reads the units of their scope; only admins change them.
    get( "units: list",                        "/staff/units",                                                        [303, 200, 200, 200]),
    get( "units: new form",                    "/staff/units/new",                                                    [303, 200, 404, 404]),
    post("units: create",                      "/staff/units/new",                                    NEW_UNIT,       [303, 303, 403, 404]),
    get( "units: page in",                     "/staff/units/{unit_in}",                                              [303, 200, 200, 200]),
    get( "units: page out",                    "/staff/units/{unit_out}",                                             [303, 200, 200, 404]),
    get( "units: page of the district above",  "/staff/units/{district}",                                             [303, 200, 200, 404]),
    post("units: edit in",                     "/staff/units/{unit_in}",                              EDIT_UNIT_IN,   [303, 303, 403, 403]),
    post("units: edit out",                    "/staff/units/{unit_out}",                             EDIT_UNIT_OUT,  [303, 303, 403, 404]),
    post("units: deactivate in",               "/staff/units/{unit_in}/deactivate",                   NONE,           [303, 303, 403, 403]),
    post("units: activate in",                 "/staff/units/{unit_in}/activate",                     NONE,           [303, 303, 403, 403]),
    post("units: deactivate out",              "/staff/units/{unit_out}/deactivate",                  NONE,           [303, 303, 403, 404]),
    post("units: activate out",                "/staff/units/{unit_out}/activate",                    NONE,           [303, 303, 403, 404]),
    // Units from a spreadsheet and reorganisations (issue 19): admins only, hidden to others.
    get( "units: import page",                 "/staff/units/import",                                                 [303, 200, 404, 404]),
    get( "units: import template",             "/staff/units/import/{sheet_template}",                                [303, 200, 404, 404]),
    get( "units: export as a spreadsheet",     "/staff/units/import/{sheet_export}",                                  [303, 200, 404, 404]),
    post("units: import without a file",       "/staff/units/import",                                 NONE,           [303, 415, 403, 404]).no_write(),
    get( "reorganisations: list",              "/staff/reorganisations",                                              [303, 200, 404, 404]),
    get( "reorganisations: merge form",        "/staff/reorganisations/{act_merge}",                                  [303, 200, 404, 404]),
    post("reorganisations: empty preview",     "/staff/reorganisations/{act_merge}/preview",          NONE,           [303, 422, 403, 404]).no_write(),
    post("reorganisations: empty apply",       "/staff/reorganisations/{act_merge}/apply",            NONE,           [303, 422, 403, 404]).no_write(),
    // Desks: units' staff manage the desks of their scope, viewers read.
    get( "desks: list",                        "/staff/desks",                                                        [303, 200, 200, 200]),
    get( "desks: new form",                    "/staff/desks/new",                                                    [303, 200, 403, 200]),
    get( "desks: new form, unit out",          "/staff/desks/new?unit={unit_out}",                                    [303, 200, 403, 200]),
    post("desks: create in",                   "/staff/desks/new",                                    NEW_DESK_IN,    [303, 303, 403, 303]),
    post("desks: create out",                  "/staff/desks/new",                                    NEW_DESK_OUT,   [303, 303, 403, 404]),
    get( "desks: page in",                     "/staff/desks/{desk_in}",                                              [303, 200, 200, 200]),
    get( "desks: page out",                    "/staff/desks/{desk_out}",                                             [303, 200, 200, 404]),
    post("desks: edit in",                     "/staff/desks/{desk_in}",                              EDIT_DESK_IN,   [303, 303, 403, 303]),
    post("desks: edit out",                    "/staff/desks/{desk_out}",                             EDIT_DESK_OUT,  [303, 303, 403, 404]),
    get( "desks: poster SVG in",               "/staff/desks/{desk_in}/poster.svg",                                   [303, 200, 200, 200]),
    get( "desks: poster SVG out",              "/staff/desks/{desk_out}/poster.svg",                                  [303, 200, 200, 404]),
    get( "desks: poster PNG in",               "/staff/desks/{desk_in}/poster.png",                                   [303, 200, 200, 200]),
    get( "desks: poster PNG out",              "/staff/desks/{desk_out}/poster.png",                                  [303, 200, 200, 404]),
    post("desks: new QR code in",              "/staff/desks/{desk_in}/rotate-code",                  NONE,           [303, 303, 403, 303]),
    post("desks: new QR code out",             "/staff/desks/{desk_out}/rotate-code",                 NONE,           [303, 303, 403, 404]),
    post("desks: deactivate in",               "/staff/desks/{desk_in}/deactivate",                   NONE,           [303, 303, 403, 303]),
    post("desks: activate in",                 "/staff/desks/{desk_in}/activate",                     NONE,           [303, 303, 403, 303]),
    post("desks: deactivate out",              "/staff/desks/{desk_out}/deactivate",                  NONE,           [303, 303, 403, 404]),
    post("desks: activate out",                "/staff/desks/{desk_out}/activate",                    NONE,           [303, 303, 403, 404]),
    // Kiosks: admins and units' staff enrol the device they are on as a desk's kiosk (without a
    // label: 422, past the role checks; a success signs the device out, see tests/kiosks.rs)
    // and revoke a desk's kiosks ({kiosk_{role}}); another desk's kiosk is not found.
    post("kiosks: enrol in, no label",         "/staff/desks/{desk_in}/kiosks",                       NO_LABEL,       [303, 422, 403, 422]),
    post("kiosks: enrol out, no label",        "/staff/desks/{desk_out}/kiosks",                      NO_LABEL,       [303, 422, 403, 404]),
    post("kiosks: revoke in",                  "/staff/desks/{desk_in}/kiosks/{kiosk_{role}}/revoke", NONE,           [303, 303, 403, 303]),
    post("kiosks: revoke another desk's",      "/staff/desks/{desk_in}/kiosks/{kiosk_out}/revoke",    NONE,           [303, 404, 403, 404]),
    post("kiosks: revoke out",                 "/staff/desks/{desk_out}/kiosks/{kiosk_out}/revoke",   NONE,           [303, 303, 403, 404]),
    // Paper ballots: typed in by admins and units' staff, for the desks of their scope.
    get( "paper: choose a desk",               "/staff/paper",                                                        [303, 200, 403, 200]),
    get( "paper: choose desk in",              "/staff/paper?desk={desk_in}",                                         [303, 303, 403, 303]),
    get( "paper: choose desk out",             "/staff/paper?desk={desk_out}",                                        [303, 303, 403, 422]),
    get( "paper: entry screen in",             "/staff/paper/{desk_in}",                                              [303, 200, 403, 200]),
    get( "paper: entry screen out",            "/staff/paper/{desk_out}",                                             [303, 200, 403, 404]),
    post("paper: store a ballot in",           "/staff/paper/{desk_in}",                              BALLOT,         [303, 303, 403, 303]),
    post("paper: store a ballot out",          "/staff/paper/{desk_out}",                             BALLOT,         [303, 303, 403, 404]),
    // Plans: everyone reads the plans above their units (unit accounts: their own rows only);
    // only admins change them (viewers 403, unit accounts 404).
    get( "plans: list",                        "/staff/plans",                                                        [303, 200, 200, 200]),
    get( "plans: new form",                    "/staff/plans/new",                                                    [303, 200, 404, 404]),
    post("plans: create",                      "/staff/plans",                                        NEW_PLAN,       [303, 303, 403, 404]),
    get( "plans: page in",                     "/staff/plans/{plan_in}",                                              [303, 200, 200, 200]),
    get( "plans: page out",                    "/staff/plans/{plan_out}",                                             [303, 200, 200, 404]),
    get( "plans: progress in",                 "/staff/plans/{plan_in}/progress?period={period_in}",                  [303, 200, 200, 200]),
    get( "plans: progress out",                "/staff/plans/{plan_out}/progress?period={period_out}",                [303, 200, 200, 404]),
    get( "plans: progress in, period of out",  "/staff/plans/{plan_in}/progress?period={period_out}",                 [303, 404, 404, 404]),
    post("plans: add a period in",             "/staff/plans/{plan_in}/periods",                      NEW_PERIOD,     [303, 303, 403, 404]),
    post("plans: add a period out",            "/staff/plans/{plan_out}/periods",                     NEW_PERIOD,     [303, 303, 403, 404]),
    post("plans: targets in",                  "/staff/plans/{plan_in}/periods/{period_in}/targets",  TARGETS_IN,     [303, 303, 403, 404]),
    post("plans: targets out",                 "/staff/plans/{plan_out}/periods/{period_out}/targets", TARGETS_OUT,   [303, 303, 403, 404]),
    post("plans: goals in",                    "/staff/plans/{plan_in}/goals",                        GOALS,          [303, 303, 403, 404]),
    post("plans: goals out",                   "/staff/plans/{plan_out}/goals",                       GOALS,          [303, 303, 403, 404]),
    post("plans: targets in, period of out",   "/staff/plans/{plan_in}/periods/{period_out}/targets", TARGETS_IN,     [303, 404, 403, 404]),
    post("plans: remove in, period of out",    "/staff/plans/{plan_in}/periods/{period_out}/remove",  NONE,           [303, 404, 403, 404]),
    post("plans: remove a period in",          "/staff/plans/{plan_in}/periods/{period_rm_in}/remove", NONE,          [303, 303, 403, 404]),
    post("plans: remove a period out",         "/staff/plans/{plan_out}/periods/{period_rm_out}/remove", NONE,        [303, 303, 403, 404]),
    // Accounts and the audit log: admins only, 404 to everyone else (viewers included).
    get( "accounts: list",                     "/staff/accounts",                                                     [303, 200, 404, 404]),
    get( "accounts: new form",                 "/staff/accounts/new",                                                 [303, 200, 404, 404]),
    post("accounts: create (password shown)",  "/staff/accounts/new",                                 NEW_ACCOUNT,    [303, 201, 404, 404]),
    get( "accounts: page",                     "/staff/accounts/{account}",                                           [303, 200, 404, 404]),
    post("accounts: edit",                     "/staff/accounts/{account}",                           EDIT_ACCOUNT,   [303, 303, 404, 404]),
    post("accounts: lock",                     "/staff/accounts/{account}/disable",                   NONE,           [303, 303, 404, 404]),
    post("accounts: unlock",                   "/staff/accounts/{account}/enable",                    NONE,           [303, 303, 404, 404]),
    post("accounts: reset password (shown)",   "/staff/accounts/{account}/reset-password",            NONE,           [303, 200, 404, 404]),
    get( "audit log",                          "/staff/audit",                                                        [303, 200, 404, 404]),
    get( "audit log, filtered on desk out",    "/staff/audit?entity=desk&entity_id={desk_out}",                       [303, 200, 404, 404]),
    // Comments: everyone reads the comments of their scope; admins and unit accounts mark them
    // handled with a note or re-open them (viewers 403, another unit's comment 404). "In": a
    // Xuân Bắc comment per role ({resp_{role}}), so that each change is a real one.
    get( "comments: list",                     "/staff/comments",                                                     [303, 200, 200, 200]),
    get( "comments: list, unit in",            "/staff/comments?unit={unit_in}&state=unhandled",                      [303, 200, 200, 200]),
    get( "comments: list, unit out",           "/staff/comments?unit={unit_out}",                                     [303, 200, 200, 422]),
    get( "comments: page in",                  "/staff/comments/{resp_unit}/{item_yk}",                               [303, 200, 200, 200]),
    get( "comments: page out",                 "/staff/comments/{resp_out}/{item_yk}",                                [303, 200, 200, 404]),
    post("comments: empty note in",            "/staff/comments/{resp_{role}}/{item_yk}/handle",      EMPTY_NOTE,     [303, 422, 403, 422]),
    post("comments: handle in",                "/staff/comments/{resp_{role}}/{item_yk}/handle",      NOTE,           [303, 303, 403, 303]),
    post("comments: handle out",               "/staff/comments/{resp_out}/{item_yk}/handle",         NOTE,           [303, 303, 403, 404]),
    post("comments: reopen in",                "/staff/comments/{resp_{role}}/{item_yk}/reopen",      NONE,           [303, 303, 403, 303]),
    post("comments: reopen out",               "/staff/comments/{resp_out}/{item_yk}/reopen",         NONE,           [303, 303, 403, 404]),
    // Results ("Kết quả khảo sát"): everyone reads the figures of their scope; another unit's
    // page or comparison is a 404 to a unit account, another unit in the filter a 422.
    get( "stats: overview",                    "/staff/stats",                                                        [303, 200, 200, 200]),
    get( "stats: overview, unit in",           "/staff/stats?unit={unit_in}&period=q1",                               [303, 200, 200, 200]),
    get( "stats: overview, unit out",          "/staff/stats?unit={unit_out}",                                        [303, 200, 200, 422]),
    get( "stats: unit page in",                "/staff/stats/units/{unit_in}",                                        [303, 200, 200, 200]),
    get( "stats: unit page out",               "/staff/stats/units/{unit_out}",                                       [303, 200, 200, 404]),
    get( "stats: unit page of the district",   "/staff/stats/units/{district}",                                       [303, 200, 200, 404]),
    get( "stats: non-numeric unit id",         "/staff/stats/units/abc",                                              [303, 404, 404, 404]),
    get( "stats: compare, landing",            "/staff/stats/compare",                                                [303, 200, 200, 200]),
    get( "stats: compare units in and out",    "/staff/stats/compare?units={unit_in}&units={unit_out}",               [303, 200, 200, 404]),
    get( "stats: compare periods in",          "/staff/stats/compare?unit={unit_in}&periods=2026&periods=2025",       [303, 200, 200, 200]),
    get( "stats: compare periods out",         "/staff/stats/compare?unit={unit_out}&periods=2026&periods=2025",      [303, 200, 200, 404]),
    post("POST on stats",                      "/staff/stats",                                        NONE,           [303, 404, 404, 404]),
    get( "report: default",                    "/staff/report",                                                       [303, 200, 200, 200]),
    get( "report: unit in, a quarter",         "/staff/report?unit={unit_in}&period=q1",                              [303, 200, 200, 200]),
    get( "report: unit out",                   "/staff/report?unit={unit_out}",                                       [303, 200, 200, 422]),
    post("POST on report",                     "/staff/report",                                       NONE,           [303, 404, 404, 404]),
    get( "report: Word file",                  "/staff/report.docx",                                                  [303, 200, 200, 200]),
    get( "report: Word file, unit out",        "/staff/report.docx?unit={unit_out}",                                  [303, 200, 200, 422]),
    get( "report: PDF, bad year",              "/staff/report.pdf?year=abc",                                          [303, 422, 422, 422]),
    // Bad input in URLs: our page, never a 500 or a bare text.
    get( "bogus ?ok on units list",            "/staff/units?ok=%zz",                                                 [303, 200, 200, 200]),
    get( "bogus ?ok on unit page",             "/staff/units/{unit_in}?ok=%zz",                                       [303, 200, 200, 200]),
    get( "bogus ?ok on desk page",             "/staff/desks/{desk_in}?ok=%zz",                                       [303, 200, 200, 200]),
    get( "bogus ?ok on plan page",             "/staff/plans/{plan_in}?ok=%zz",                                       [303, 200, 200, 200]),
    get( "bogus ?ok on accounts",              "/staff/accounts?ok=%zz",                                              [303, 200, 404, 404]),
    get( "bogus ?ok on paper entry",           "/staff/paper/{desk_in}?ok=%zz",                                       [303, 200, 403, 200]),
    get( "bogus ?before on audit log",         "/staff/audit?before=%zz&account=x",                                   [303, 200, 404, 404]),
    get( "non-numeric comment id",             "/staff/comments/abc/{item_yk}",                                       [303, 404, 404, 404]),
    post("non-numeric comment item",           "/staff/comments/{resp_unit}/abc/handle",              NOTE,           [303, 404, 404, 404]),
    get( "repeated ?ok on desks list",         "/staff/desks?ok=a&ok=b",                                              [303, 400, 400, 400]),
    get( "non-numeric unit id",                "/staff/units/abc",                                                    [303, 404, 404, 404]),
    get( "too large unit id",                  "/staff/units/99999999999",                                            [303, 404, 404, 404]),
    get( "non-numeric desk id (poster)",       "/staff/desks/abc/poster.png",                                         [303, 404, 404, 404]),
    get( "unknown desk id",                    "/staff/desks/999999",                                                 [303, 404, 404, 404]),
    get( "non-numeric plan id",                "/staff/plans/abc",                                                    [303, 404, 404, 404]),
    get( "non-numeric period in progress",     "/staff/plans/{plan_in}/progress?period=abc",                          [303, 404, 404, 404]),
    get( "non-numeric account id",             "/staff/accounts/abc",                                                 [303, 404, 404, 404]),
    get( "non-numeric paper desk id",          "/staff/paper/abc",                                                    [303, 404, 403, 404]),
    post("non-numeric unit id",                "/staff/units/abc/deactivate",                         NONE,           [303, 404, 404, 404]),
    post("non-numeric desk id",                "/staff/desks/abc",                                    EDIT_DESK_IN,   [303, 404, 404, 404]),
    post("non-numeric period id",              "/staff/plans/{plan_in}/periods/abc/remove",           NONE,           [303, 404, 403, 404]),
    post("non-numeric paper desk id",          "/staff/paper/abc",                                    BALLOT,         [303, 404, 403, 404]),
    post("non-numeric account id",             "/staff/accounts/abc/disable",                         NONE,           [303, 404, 404, 404]),
    get( "unknown staff page",                 "/staff/nope",                                                         [404, 404, 404, 404]),
    // A method the path does not take.
    get( "GET on accounts: lock",              "/staff/accounts/{account}/disable",                                   [303, 404, 404, 404]),
    post("POST on audit log",                  "/staff/audit",                                        NONE,           [303, 404, 404, 404]),
    post("POST on comments: list",             "/staff/comments",                                     NONE,           [303, 404, 404, 404]),
    get( "GET on comments: handle",            "/staff/comments/{resp_unit}/{item_yk}/handle",                        [303, 404, 404, 404]),
    get( "GET on units: deactivate",           "/staff/units/{unit_in}/deactivate",                                   [303, 404, 404, 404]).note(BLANK_405),
    get( "GET on desks: new QR code",          "/staff/desks/{desk_in}/rotate-code",                                  [303, 404, 404, 404]).note(BLANK_405),
    get( "GET on plans: add a period",         "/staff/plans/{plan_in}/periods",                                      [303, 404, 404, 404]).note(BLANK_405),
    get( "GET on plans: targets",              "/staff/plans/{plan_in}/periods/{period_in}/targets",                  [303, 404, 404, 404]).note(BLANK_405),
    post("POST on units: list",                "/staff/units",                                        NONE,           [303, 404, 404, 404]).note(BLANK_405),
    // One-time codes ("mã đánh giá"): units' staff mint and print them for their desks, viewers
    // read; another unit's desk, batch or code is not found.
    get( "codes: list",                        "/staff/codes",                                                        [303, 200, 200, 200]),
    post("codes: mint in",                     "/staff/codes",                                        MINT_IN,        [303, 303, 403, 303]),
    post("codes: mint out",                    "/staff/codes",                                        MINT_OUT,       [303, 303, 403, 404]),
    post("codes: mint nothing",                "/staff/codes",                                        MINT_NOTHING,   [303, 422, 403, 422]).no_write(),
    get( "codes: batch in",                    "/staff/codes/batches/{batch_in}",                                     [303, 200, 200, 200]),
    get( "codes: batch out",                   "/staff/codes/batches/{batch_out}",                                    [303, 200, 200, 404]),
    get( "codes: sheet SVG in",                "/staff/codes/batches/{batch_in}/slips.svg",                           [303, 200, 200, 200]),
    get( "codes: sheet SVG out",               "/staff/codes/batches/{batch_out}/slips.svg?page=1",                   [303, 200, 200, 404]),
    get( "codes: sheet PNG in",                "/staff/codes/batches/{batch_in}/slips.png",                           [303, 200, 200, 200]),
    get( "codes: sheet PNG out",               "/staff/codes/batches/{batch_out}/slips.png",                          [303, 200, 200, 404]),
    get( "codes: no second sheet",             "/staff/codes/batches/{batch_in}/slips.svg?page=2",                    [303, 404, 404, 404]),
    get( "codes: unknown batch",               "/staff/codes/batches/00000000-0000-0000-0000-000000000000",           [303, 404, 404, 404]),
    get( "codes: slip SVG in",                 "/staff/codes/{vcode_in}/slip.svg",                                    [303, 200, 200, 200]),
    get( "codes: slip SVG out",                "/staff/codes/{vcode_out}/slip.svg",                                   [303, 200, 200, 404]),
    get( "codes: slip PNG in",                 "/staff/codes/{vcode_in}/slip.png",                                    [303, 200, 200, 200]),
    get( "codes: slip PNG out",                "/staff/codes/{vcode_out}/slip.png",                                   [303, 200, 200, 404]),
    // API tokens: every account manages its own (viewers too: the API only reads), admins see
    // and revoke every account's; another account's token is not found. "Own": {token_{role}}.
    get( "tokens: list",                       "/staff/tokens",                                                       [303, 200, 200, 200]),
    post("tokens: create (shown once)",        "/staff/tokens",                                       NEW_TOKEN,      [303, 201, 201, 201]),
    post("tokens: empty name",                 "/staff/tokens",                                       EMPTY_TOKEN,    [303, 422, 422, 422]),
    post("tokens: revoke own",                 "/staff/tokens/{token_{role}}/revoke",                 NONE,           [303, 303, 303, 303]),
    post("tokens: revoke another's",           "/staff/tokens/{token_other}/revoke",                  NONE,           [303, 303, 404, 404]),
    post("non-numeric token id",               "/staff/tokens/abc/revoke",                            NONE,           [303, 404, 404, 404]),
    get( "GET on tokens: revoke",              "/staff/tokens/{token_other}/revoke",                                  [303, 404, 404, 404]),
    // E-mail alerts: every account subscribes itself (viewers too: a subscription only reads).
    // This server has no SMTP server, so the form stores nothing (tests/alerts.rs runs them
    // with one); an unknown or another account's subscription is not found.
    get( "alerts: page",                       "/staff/alerts",                                                       [303, 200, 200, 200]),
    post("alerts: subscribe (no SMTP here)",   "/staff/alerts",                                       ALERT,          [303, 422, 422, 422]).no_write(),
    post("alerts: delete another's",           "/staff/alerts/{alert_other}/delete",                  NONE,           [303, 404, 404, 404]),
    post("alerts: delete unknown",             "/staff/alerts/999999999/delete",                      NONE,           [303, 404, 404, 404]),
    post("non-numeric alert id",               "/staff/alerts/abc/delete",                            NONE,           [303, 404, 404, 404]),
    get( "GET on alerts: delete",              "/staff/alerts/{alert_other}/delete",                                  [303, 404, 404, 404]),
    // Flagged responses ("Phiếu nghi vấn"): admins only, 404 to everyone else, for reading as
    // for deciding.
    get( "flags: list",                        "/staff/flags",                                                        [303, 200, 404, 404]),
    get( "flags: list, filtered",              "/staff/flags?unit={unit_out}&reason=too_fast&state=excluded",         [303, 200, 404, 404]),
    get( "flags: page",                        "/staff/flags/{flagged}",                                              [303, 200, 404, 404]),
    post("flags: no decision",                 "/staff/flags/{flagged}/decide",                       NO_DECISION,    [303, 422, 404, 404]).no_write(),
    post("flags: decide",                      "/staff/flags/{flagged}/decide",                       DECIDE,         [303, 303, 404, 404]),
    get( "flags: thresholds",                  "/staff/flags/rules",                                                  [303, 200, 404, 404]),
    post("flags: thresholds out of bounds",    "/staff/flags/rules",                                  RULES_OUT_OF_BOUNDS, [303, 422, 404, 404]).no_write(),
    post("flags: thresholds",                  "/staff/flags/rules",                                  RULES,          [303, 303, 404, 404]),
    get( "flags: unknown response",            "/staff/flags/999999999",                                              [303, 404, 404, 404]),
    get( "non-numeric flagged id",             "/staff/flags/abc",                                                    [303, 404, 404, 404]),
    get( "GET on flags: decide",               "/staff/flags/{flagged}/decide",                                       [303, 404, 404, 404]),
    post("POST on flags: list",                "/staff/flags",                                        NONE,           [303, 404, 404, 404]),
    // Publishing results ("công khai kết quả"): admins only, 404 to everyone else.
    get( "publish: list",                      "/staff/publish",                                                      [303, 200, 404, 404]),
    get( "publish: period in",                 "/staff/publish/{period_in}",                                          [303, 200, 404, 404]),
    post("publish: publish in",                "/staff/publish/{period_in}",                          NONE,           [303, 303, 404, 404]),
    post("publish: unpublish in",              "/staff/publish/{period_in}/unpublish",                NONE,           [303, 303, 404, 404]),
    post("publish: publish out",               "/staff/publish/{period_out}",                         NONE,           [303, 303, 404, 404]),
    get( "publish: unknown period",            "/staff/publish/999999",                                               [303, 404, 404, 404]),
    get( "non-numeric period to publish",      "/staff/publish/abc",                                                  [303, 404, 404, 404]),
    get( "GET on publish: unpublish",          "/staff/publish/{period_in}/unpublish",                                [303, 404, 404, 404]),
    // Exports ("Xuất dữ liệu"): every role exports within its scope (viewers too: an export
    // only reads); a small one answers with the file (200). Jobs belong to the account that
    // asked, admins included: another's job is a 404. "Own": {export_{role}}.
    get( "exports: form",                      "/staff/exports",                                                      [303, 200, 200, 200]),
    get( "exports: form, unit in",             "/staff/exports?unit={unit_in}&format=xlsx",                           [303, 200, 200, 200]),
    get( "exports: form, unit out",            "/staff/exports?unit={unit_out}&format=xlsx",                          [303, 200, 200, 422]),
    post("exports: create in",                 "/staff/exports",                                      EXPORT_IN,      [303, 200, 200, 200]),
    post("exports: create out",                "/staff/exports",                                      EXPORT_OUT,     [303, 200, 200, 422]),
    get( "exports: job page, own",             "/staff/exports/{export_{role}}",                                      [303, 200, 200, 200]),
    get( "exports: download, own",             "/staff/exports/{export_{role}}/download",                             [303, 200, 200, 200]),
    get( "exports: job page of another",       "/staff/exports/{export_other}",                                       [303, 404, 404, 404]),
    get( "exports: download of another",       "/staff/exports/{export_other}/download",                              [303, 404, 404, 404]),
    get( "non-numeric export id",              "/staff/exports/abc",                                                  [303, 404, 404, 404]),
    post("POST on exports: job page",          "/staff/exports/{export_unit}",                        NONE,           [303, 404, 404, 404]),
    // One's own password (each role changes its own; the session goes on), then signing out.
    post("own password: change",               "/staff/password",                                     OWN_PASSWORD,   [303, 200, 200, 200]),
    post("sign out",                           "/sign-out",                                           NONE,           [303, 303, 303, 303]),
    get( "dashboard after signing out",        "/staff",                                                              [303, 303, 303, 303]),
];

/// The tables a staff action may change, each with the order its rows are summed in.
const TABLES: [(&str, &str); 12] = [
    ("units", "id"),
    ("desks", "id"),
    ("kiosks", "id"),
    ("desk_codes", "code"),
    ("accounts", "id"),
    ("account_units", "account_id, unit_id"),
    ("survey_plans", "id"),
    ("plan_periods", "id"),
    ("plan_targets", "period_id, unit_id"),
    ("responses", "id"),
    ("response_texts", "response_id, item_id"),
    ("audit_log", "id"),
];

/// Row count and checksum of each table in [`TABLES`].
type Snapshot = BTreeMap<String, (i64, String)>;

async fn snapshot(db: &tokio_postgres::Client) -> Snapshot {
    let sql = TABLES
        .iter()
        .map(|(table, order)| {
            format!(
                "SELECT '{table}', count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY {order}), '')) \
                 FROM {table} t"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    db.query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

fn changed_tables(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    before
        .iter()
        .filter(|(table, value)| after.get(*table) != Some(value))
        .map(|(table, _)| table.clone())
        .collect()
}

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
}

/// The id at the end of a redirect's path: "/staff/units/7?ok=created" gives 7.
fn redirected_id(response: &reqwest::Response, prefix: &str) -> i32 {
    let to = location(response).unwrap_or_else(|| panic!("no redirect ({})", response.status()));
    to.strip_prefix(prefix)
        .and_then(|rest| rest.split(['?', '#', '/']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redirect {to}"))
}

async fn id_of(db: &tokio_postgres::Client, sql: &str, key: &str) -> i32 {
    db.query_one(sql, &[&key])
        .await
        .unwrap_or_else(|e| panic!("{sql} with {key}: {e}"))
        .get(0)
}

/// The signed-in clients and the ids the table's placeholders stand for.
struct Fixture {
    clients: [StaffClient; 4],
    vars: Vec<(&'static str, String)>,
    /// Xuân Bắc's demo desk (the unit account's) and the admin's second Xuân Bắc desk.
    desk_in: (i32, String),
    admin_desk_in: (i32, String),
}

impl Fixture {
    async fn build(app: &TestApp, db: &tokio_postgres::Client) -> Fixture {
        let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
        let viewer = app.staff_with_role("lanh.dao.huyen", "viewer", &[]).await;
        let unit = app
            .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
            .await;
        app.create_account("muc.tieu", "unit", &[XUAN_DINH]).await;
        let account = id_of(
            db,
            "SELECT id FROM accounts WHERE username = $1",
            "muc.tieu",
        )
        .await;

        let unit_id = "SELECT id FROM units WHERE code = $1";
        let unit_in = id_of(db, unit_id, XUAN_BAC).await;
        let unit_out = id_of(db, unit_id, XUAN_DINH).await;
        let district = id_of(db, unit_id, "xuan-loc").await;
        let province = id_of(db, unit_id, "dong-nai").await;
        let first_desk = "SELECT d.id FROM desks d JOIN units u ON u.id = d.unit_id \
                          WHERE u.code = $1 ORDER BY d.id LIMIT 1";
        let desk_in = id_of(db, first_desk, XUAN_BAC).await;
        let desk_out = id_of(db, first_desk, XUAN_DINH).await;
        let desk_name = |id: i32| async move {
            db.query_one("SELECT name FROM desks WHERE id = $1", &[&id])
                .await
                .unwrap()
                .get::<_, String>(0)
        };
        let desk_in_name = desk_name(desk_in).await;
        let desk_out_name = desk_name(desk_out).await;

        // Set up through the admin's pages: a second desk of Xuân Bắc, another district with a
        // desk, a plan for each district with a period to target and a period to remove.
        let admin_desk_name = "Quầy tiếp nhận số 2 xã Xuân Bắc".to_string();
        let created = admin
            .post(
                "/staff/desks/new",
                &[
                    ("unit", &unit_in.to_string()),
                    ("name", &admin_desk_name),
                    ("form", ""),
                ],
            )
            .await;
        let admin_desk = redirected_id(&created, "/staff/desks/");
        let created = admin
            .post(
                "/staff/units/new",
                &[
                    ("code", "bien-hoa"),
                    ("name", "UBND thành phố Biên Hòa"),
                    ("kind", "district"),
                    ("parent", &province.to_string()),
                    ("default_form", ""),
                ],
            )
            .await;
        let bien_hoa = redirected_id(&created, "/staff/units/");
        let created = admin
            .post(
                "/staff/desks/new",
                &[
                    ("unit", &bien_hoa.to_string()),
                    ("name", "Bộ phận Một cửa thành phố Biên Hòa"),
                    ("form", ""),
                ],
            )
            .await;
        assert_eq!(created.status(), 303, "a desk for Biên Hòa");
        let mut plans = Vec::new();
        for (owner, title) in [
            (district, "Kế hoạch khảo sát sự hài lòng năm 2026"),
            (bien_hoa, "Kế hoạch khảo sát thành phố Biên Hòa 2026"),
        ] {
            let created = admin
                .post(
                    "/staff/plans",
                    &[
                        ("year", "2026"),
                        ("title", title),
                        ("unit_id", &owner.to_string()),
                        ("form_id", "sipas-1001-dich-vu"),
                        ("margin", "0,05"),
                        ("preset", "custom"),
                    ],
                )
                .await;
            let plan = redirected_id(&created, "/staff/plans/");
            let mut periods = Vec::new();
            for (name, starts, ends) in [
                ("Đợt 1", "01/01/2026", "31/03/2026"),
                ("Đợt sẽ xóa", "01/04/2026", "30/04/2026"),
            ] {
                let added = admin
                    .post(
                        &format!("/staff/plans/{plan}/periods"),
                        &[("name", name), ("starts_on", starts), ("ends_on", ends)],
                    )
                    .await;
                let to = location(&added).expect("a redirect after adding a period");
                let period: i32 = to
                    .rsplit_once("#period-")
                    .and_then(|(_, id)| id.parse().ok())
                    .unwrap_or_else(|| panic!("unexpected redirect {to}"));
                periods.push(period);
            }
            plans.push((plan, periods));
        }
        // The form version the entry screen offers (the same for every Xuân Bắc/Định desk).
        let screen = admin.get(&format!("/staff/paper/{desk_in}")).await;
        assert_eq!(screen.status(), 200);
        let version = hidden_field(&screen.text().await.unwrap(), "_v");
        // Comments sent by citizens through the survey: one at Xuân Bắc for each role (the
        // anonymous and the viewer are refused on the unit account's), one at Xuân Định.
        let comment = async |unit_code: &str, text: &str| -> String {
            let code = app.desk_code(unit_code).await;
            let (_, token, version) = app.open_survey(&code).await;
            let mut fields = full_answers("4");
            fields.push(("YK", text.to_string()));
            let sent = app
                .post_form(
                    &format!("/s/{code}"),
                    &with_hidden(&token, &version, &fields),
                )
                .await;
            assert_eq!(sent.status(), 200, "a comment at {unit_code}");
            let id: i64 = db
                .query_one(
                    "SELECT id FROM responses WHERE submission_key::text = $1",
                    &[&token],
                )
                .await
                .unwrap()
                .get(0);
            id.to_string()
        };
        let resp_unit = comment(XUAN_BAC, "Góp ý thứ nhất tại Xuân Bắc").await;
        let resp_admin = comment(XUAN_BAC, "Góp ý thứ hai tại Xuân Bắc").await;
        let resp_out = comment(XUAN_DINH, "Góp ý tại xã Xuân Định").await;
        let item_yk: i32 = db
            .query_one(
                "SELECT DISTINCT item_id FROM response_texts WHERE response_id = $1::text::int8",
                &[&resp_out],
            )
            .await
            .unwrap()
            .get(0);
        // A flagged response (the admin's Xuân Bắc comment, flagged "too fast" by hand; the
        // signals themselves are tested in tests/fraud_flags.rs).
        db.batch_execute(&format!(
            "INSERT INTO response_flags (response_id, reason, severity, detail) \
             VALUES ({resp_admin}, 'too_fast', 'strong', '{{\"seconds\": 1, \"minimum\": 19, \"items\": 34}}') \
             ON CONFLICT DO NOTHING; \
             INSERT INTO response_reviews (response_id, excluded_by_default) \
             VALUES ({resp_admin}, true) ON CONFLICT (response_id) DO NOTHING"
        ))
        .await
        .unwrap();
        let flagged = resp_admin.clone();
        let today = (Utc::now() + Duration::hours(7))
            .format("%d/%m/%Y")
            .to_string();

        // An API token of each account (the anonymous tries the unit account's) and one of
        // Xuân Định's account.
        let token_of = async |username: &str| -> String {
            let id: i32 = db
                .query_one(
                    "INSERT INTO api_tokens (account_id, name, token_sha256) \
                     SELECT id, 'Mã của ma trận', sha256(convert_to(username, 'UTF8')) \
                     FROM accounts WHERE username = $1 RETURNING id",
                    &[&username],
                )
                .await
                .unwrap()
                .get(0);
            id.to_string()
        };
        let tokens = [
            ("token_admin", token_of("qt.phong.noi.vu").await),
            ("token_viewer", token_of("lanh.dao.huyen").await),
            ("token_unit", token_of("can.bo.xuan.bac").await),
            ("token_other", token_of("muc.tieu").await),
        ];

        // A batch of one-time codes at each side (the pages are tested in tests/visit_codes.rs).
        db.batch_execute(&format!(
            "INSERT INTO visit_codes (code, desk_id, batch) VALUES \
             ('matranvea22', {desk_in}, '11111111-1111-4111-8111-111111111111'), \
             ('matranvea23', {desk_in}, '11111111-1111-4111-8111-111111111111'), \
             ('matranrea22', {desk_out}, '22222222-2222-4222-8222-222222222222')"
        ))
        .await
        .unwrap();

        // An export of each account (the anonymous tries the unit account's), and one of Xuân
        // Định's account.
        let mut exports = Vec::new();
        for (client, username) in [
            (&admin, "qt.phong.noi.vu"),
            (&viewer, "lanh.dao.huyen"),
            (&unit, "can.bo.xuan.bac"),
        ] {
            let made = client
                .post(
                    "/staff/exports",
                    &[
                        ("year", "2026"),
                        ("unit", &unit_in.to_string()),
                        ("form", "sipas-1001-dich-vu"),
                        ("format", "codebook"),
                    ],
                )
                .await;
            assert_eq!(made.status(), 200, "an export by {username}");
            let id = id_of(
                db,
                "SELECT j.id FROM export_jobs j JOIN accounts a ON a.id = j.account_id \
                 WHERE a.username = $1 ORDER BY j.id DESC LIMIT 1",
                username,
            )
            .await;
            exports.push(id.to_string());
        }
        let export_other = id_of(
            db,
            "INSERT INTO export_jobs (account_id, scope, unit_id, year, period, form_id, format, \
                 label, status, file_name, byte_size, finished_at, expires_at) \
             SELECT a.id, ARRAY[u.id], u.id, 2026, '2026', 'sipas-1001-dich-vu', 'codebook', \
                 'Xuất của tài khoản khác', 'done', 'x.csv', 1, now(), now() + interval '1 day' \
             FROM accounts a, units u WHERE a.username = 'muc.tieu' AND u.code = $1 RETURNING id",
            XUAN_DINH,
        )
        .await;
        let mut vars = vec![
            ("export_admin", exports[0].clone()),
            ("export_viewer", exports[1].clone()),
            ("export_unit", exports[2].clone()),
            ("export_anonymous", exports[2].clone()),
            ("export_other", export_other.to_string()),
            (
                "batch_in",
                "11111111-1111-4111-8111-111111111111".to_string(),
            ),
            (
                "batch_out",
                "22222222-2222-4222-8222-222222222222".to_string(),
            ),
            ("vcode_in", "matranvea22".to_string()),
            ("vcode_out", "matranrea22".to_string()),
            ("unit_in", unit_in.to_string()),
            ("unit_out", unit_out.to_string()),
            ("desk_out", desk_out.to_string()),
            ("desk_out_name", desk_out_name),
            ("district", district.to_string()),
            ("bien_hoa", bien_hoa.to_string()),
            ("plan_in", plans[0].0.to_string()),
            ("period_in", plans[0].1[0].to_string()),
            ("period_rm_in", plans[0].1[1].to_string()),
            ("plan_out", plans[1].0.to_string()),
            ("period_out", plans[1].1[0].to_string()),
            ("period_rm_out", plans[1].1[1].to_string()),
            ("account", account.to_string()),
            ("v", version),
            ("today", today),
            ("password", TEST_PASSWORD.to_string()),
            ("resp_unit", resp_unit.clone()),
            ("resp_viewer", resp_unit.clone()),
            ("resp_anonymous", resp_unit),
            ("resp_admin", resp_admin),
            ("resp_out", resp_out),
            ("item_yk", item_yk.to_string()),
            ("flagged", flagged),
            ("act_merge", "merge".to_string()),
            ("sheet_template", "template.csv".to_string()),
            ("sheet_export", "export.xlsx".to_string()),
        ];
        vars.push(("token_anonymous", tokens[2].1.clone()));
        // An e-mail alert subscription of Xuân Định's account (this server has no SMTP server:
        // stored directly).
        let alert_other: i32 = db
            .query_one(
                "INSERT INTO alert_subscriptions \
                 (account_id, unit_id, email, on_very_dissatisfied, on_comment, mode) \
                 SELECT a.id, u.id, 'muc.tieu@xuanloc.gov.vn', true, true, 'immediate' \
                 FROM accounts a, units u WHERE a.username = 'muc.tieu' AND u.code = $1 RETURNING id",
                &[&XUAN_DINH],
            )
            .await
            .unwrap()
            .get(0);
        vars.push(("alert_other", alert_other.to_string()));
        // Kiosks to revoke: the admin's on its Xuân Bắc desk, the unit account's (also asked
        // for by the viewer and anonymously, both refused first) and one of Xuân Định.
        let kiosk = |desk: i32| async move {
            db.query_one(
                "INSERT INTO kiosks (desk_id, label, secret_hash, enrolled_by) \
                 SELECT $1, 'Máy thử nghiệm', sha256('matrix'::bytea), id FROM accounts \
                 WHERE username = 'qt.phong.noi.vu' RETURNING id",
                &[&desk],
            )
            .await
            .unwrap()
            .get::<_, i32>(0)
            .to_string()
        };
        let kiosk_unit = kiosk(desk_in).await;
        vars.extend([
            ("kiosk_admin", kiosk(admin_desk).await),
            ("kiosk_out", kiosk(desk_out).await),
            ("kiosk_viewer", kiosk_unit.clone()),
            ("kiosk_anonymous", kiosk_unit.clone()),
            ("kiosk_unit", kiosk_unit),
        ]);
        vars.extend(tokens);
        Fixture {
            clients: [StaffClient::new(&app.address), admin, viewer, unit],
            vars,
            desk_in: (desk_in, desk_in_name),
            admin_desk_in: (admin_desk, admin_desk_name),
        }
    }

    /// `template` with every `{name}` replaced for `role`.
    fn fill(&self, template: &str, role: usize) -> String {
        let (desk_in, desk_in_name) = if ROLES[role] == "admin" {
            &self.admin_desk_in
        } else {
            &self.desk_in
        };
        let mut text = template
            .replace("{role}", ROLES[role])
            .replace("{desk_in}", &desk_in.to_string())
            .replace("{desk_in_name}", desk_in_name);
        for (name, value) in &self.vars {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        assert!(!text.contains('{'), "an unknown placeholder in {template}");
        text
    }
}

/// What the unit account must never see, nor anyone in a refused answer: Xuân Định's name and
/// every code its desk ever had, the other district, the account of Xuân Định.
async fn secrets(db: &tokio_postgres::Client) -> Vec<String> {
    let mut secrets: Vec<String> = vec!["Xuân Định".into(), "Biên Hòa".into(), "muc.tieu".into()];
    for row in db
        .query(
            "SELECT c.code FROM desk_codes c JOIN desks d ON d.id = c.desk_id \
             JOIN units u ON u.id = d.unit_id WHERE u.code = $1",
            &[&XUAN_DINH],
        )
        .await
        .unwrap()
    {
        secrets.push(row.get(0));
    }
    secrets
}

/// The heading of our error page for `status`.
fn error_heading(status: u16) -> &'static str {
    match status {
        404 => "Không tìm thấy trang",
        403 => "Không được phép",
        _ => "Yêu cầu không hợp lệ",
    }
}

/// What a 403 says when the role may not do it.
const FORBIDDEN_NOTICE: &str = "Tài khoản của Anh/Chị không có quyền thực hiện thao tác này.";

/// Requests one cell and says what is wrong with it, if anything.
async fn check_cell(
    fixture: &Fixture,
    db: &tokio_postgres::Client,
    row: &Row,
    role: usize,
) -> Option<String> {
    let client = &fixture.clients[role];
    let path = fixture.fill(row.path, role);
    let body: Vec<(String, String)> = row
        .body
        .iter()
        .map(|(k, v)| (fixture.fill(k, role), fixture.fill(v, role)))
        .collect();
    let expected = row.expect[role];
    let before = snapshot(db).await;
    let response = if row.post {
        let pairs: Vec<(&str, &str)> = body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        client.post(&path, &pairs).await
    } else {
        client.get(&path).await
    };
    let status = response.status().as_u16();
    let to = location(&response);
    let html = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/html"));
    let text = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
    let after = snapshot(db).await;

    let mut problems = Vec::new();
    if status != expected {
        let excerpt: String = text.chars().take(120).collect();
        problems.push(format!("expected {expected}, got {status} {excerpt:?}"));
    }
    if status >= 400 && status != 401 && status != 422 {
        if !html || !text.contains("lang=\"vi\"") || !text.contains(error_heading(status)) {
            problems.push(format!("{status} is not our Vietnamese error page"));
        }
        // A refusal for the role, not a refused CSRF token (403 as well).
        if status == 403 && !text.contains(FORBIDDEN_NOTICE) {
            problems.push("403 without the role's refusal (CSRF?)".to_string());
        }
    }
    if status == 303 && (role == 0 || to.as_deref().is_some_and(|l| l.starts_with("/sign-in"))) {
        let want = if row.post {
            "/sign-in".to_string()
        } else {
            format!(
                "/sign-in?next={}",
                percent_encoding::utf8_percent_encode(&path, percent_encoding::NON_ALPHANUMERIC)
            )
        };
        if to.as_deref() != Some(want.as_str()) {
            problems.push(format!("sent to {to:?}, expected {want}"));
        }
    }
    let success = role != 0 && matches!(expected, 200 | 201 | 303) && status == expected;
    let changed = changed_tables(&before, &after);
    if row.post && row.writes && success {
        if changed.is_empty() {
            problems.push(format!("answered {status} but changed nothing"));
        }
    } else if !changed.is_empty() {
        problems.push(format!("changed {}", changed.join(", ")));
    }
    // (A 422 is no refusal: the page of the form sent, which the role may see, with its
    // problems.)
    if ROLES[role] == "unit" || !((200..300).contains(&expected) || expected == 422) {
        // The place-of-residence question (paper entry) lists every commune of the province,
        // as the citizens' own form does: public names, not another unit's data.
        let text = without_residence_select(&text);
        for secret in secrets(db).await {
            if text.contains(&secret) {
                problems.push(format!("the answer ({status}) shows {secret:?}"));
            }
        }
    }
    let method = if row.post { "POST" } else { "GET" };
    (!problems.is_empty()).then(|| {
        format!(
            "{:>9} {method} {path}: {}",
            ROLES[role],
            problems.join("; ")
        )
    })
}

#[tokio::test]
async fn every_role_on_every_staff_route() {
    let started = Instant::now();
    // Exported files go to a directory of this test (removed after the server).
    let data_dir = common::TempDir::new("matrix");
    let data_path = data_dir.path().to_path_buf();
    let app = TestApp::spawn_on(common::TestDatabase::create().await, move |url| {
        let mut config = common::test_config(url);
        config.data_dir = data_path.clone();
        config
    })
    .await;
    let db = app.sql().await;
    let fixture = Fixture::build(&app, &db).await;

    let mut problems = Vec::new();
    let mut wrong = 0;
    let mut cells = 0;
    for row in MATRIX {
        let mut row_problems = Vec::new();
        for role in REQUEST_ORDER {
            row_problems.extend(check_cell(&fixture, &db, row, role).await);
            cells += 1;
        }
        if !row_problems.is_empty() {
            wrong += row_problems.len();
            problems.push(format!("{}:", row.route));
            if let Some(note) = row.note {
                problems.push(format!("  {note}"));
            }
            problems.extend(row_problems.into_iter().map(|p| format!("  {p}")));
        }
    }
    eprintln!(
        "{cells} cells of {} routes in {:.1} s",
        MATRIX.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{wrong} wrong cell(s) of {cells}:\n{}",
        problems.join("\n")
    );
}

/// The table itself: anonymous requests to staff pages go to the sign-in page, no route is
/// listed twice, and every route registered in `crates/sipas-web/src/web/staff/` (path and method) has a row: a
/// route added later fails here until its cells are written down.
#[test]
fn the_matrix_is_well_formed_and_lists_every_staff_route() {
    let mut seen = std::collections::HashSet::new();
    for row in MATRIX {
        assert!(
            seen.insert((row.post, row.path, row.route)),
            "{} listed twice",
            row.route
        );
        if row.path.starts_with("/staff/") && row.path != "/staff/nope" {
            assert_eq!(row.expect[0], 303, "{}: anonymous", row.route);
        }
    }
    let registered = registered_routes();
    assert!(registered.len() >= 40, "{registered:?}");
    let missing: Vec<_> = registered
        .iter()
        .filter(|(post, path)| {
            !MATRIX
                .iter()
                .any(|row| row.post == *post && covers(path, row.path))
        })
        .collect();
    assert!(missing.is_empty(), "routes without a row: {missing:?}");
}

/// (is POST, path) of every route the staff side registers, read from its source.
fn registered_routes() -> Vec<(bool, String)> {
    let dir = common::manifest_dir().join("crates/sipas-web/src/web/staff");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        let source = std::fs::read_to_string(&file).unwrap();
        let top_level = file.file_name().is_some_and(|n| n == "mod.rs");
        let quoted = |text: &str| text.split('"').nth(1).unwrap_or_default().to_string();
        // `web::resource("...")` or the staff `resource("...")` helper, up to the next
        // resource: its `.route(web::get()...)`s.
        for chunk in source.split("resource(\"").skip(1) {
            let path = chunk.split('"').next().unwrap_or_default().to_string();
            let chunk = chunk.split("web::scope(").next().unwrap();
            let full = if top_level {
                path
            } else {
                format!("/staff{path}")
            };
            for (method, post) in [("web::get()", false), ("web::post()", true)] {
                if chunk.contains(method) {
                    routes.push((post, full.clone()));
                }
            }
        }
        // `#[get("...")]` handlers, inside the /staff scope.
        for (marker, post) in [("#[get(", false), ("#[post(", true)] {
            for chunk in source.split(marker).skip(1) {
                routes.push((post, format!("/staff{}", quoted(chunk))));
            }
        }
    }
    routes.sort();
    routes
}

/// Whether a row's path (placeholders, maybe a query) requests the registered `route`: the
/// same segments, a `{...}` of the route only by a `{...}` of the row.
fn covers(route: &str, row: &str) -> bool {
    let row = row.split('?').next().unwrap();
    let (a, b): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), row.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(r, p)| r == p || (r.starts_with('{') && p.starts_with('{') && p.ends_with('}')))
}

/// `html` without the `<select name="NOI_CU_TRU">` of the place-of-residence question.
fn without_residence_select(html: &str) -> String {
    let Some(name) = html.find("name=\"NOI_CU_TRU\"") else {
        return html.to_string();
    };
    let (Some(start), Some(end)) = (
        html[..name].rfind("<select"),
        html[name..].find("</select>"),
    ) else {
        return html.to_string();
    };
    format!("{}{}", &html[..start], &html[name + end..])
}
