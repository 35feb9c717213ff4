//! The unit tree and its desks from and to a spreadsheet (issue 19): the export re-imported
//! unchanged changes nothing (CSV and XLSX, and the XLSX after LibreOffice saved it again), the
//! dry run lists every problem by row and column, a refused file leaves nothing stored, a good
//! file is stored whole with one audit entry, hostile uploads get a 4xx page in Vietnamese, and
//! `sipas units export / import` with their exit statuses. The unit form's official code and
//! validity dates. Unit names are made up ("Xã Thử Nghiệm ...").

use std::time::Duration;

use crate::common;

use common::{StaffClient, TempDir, TestApp, html_text};

const BOUNDARY: &str = "----sipasTestBoundary7MA4YWxkTrZu0gW";

/// A multipart body as a browser sends the import form.
fn multipart(csrf: &str, dry_run: bool, file_name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut field = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    field("_csrf", csrf);
    if dry_run {
        field("dry_run", "on");
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn csrf(staff: &StaffClient) -> String {
    staff.csrf().await
}

async fn post_body(staff: &StaffClient, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let response = staff
        .client
        .post(format!("{}/staff/units/import", staff.address))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn upload(staff: &StaffClient, dry_run: bool, name: &str, file: &[u8]) -> (u16, String) {
    let token = csrf(staff).await;
    post_body(
        staff,
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        multipart(&token, dry_run, name, file),
    )
    .await
}

async fn download(staff: &StaffClient, path: &str) -> Vec<u8> {
    let response = staff.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.bytes().await.unwrap().to_vec()
}

/// Every stored column of every unit and desk (and each desk's current code), as text: what
/// must not change when nothing is imported.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let sql = app.sql().await;
    let mut rows: Vec<String> = sql
        .query("SELECT u::text FROM units u ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    rows.extend(
        sql.query(
            "SELECT d::text || coalesce((SELECT string_agg(c::text, ';' ORDER BY c::text) \
             FROM desk_codes c WHERE c.desk_id = d.id), '') FROM desks d ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0)),
    );
    rows
}

async fn audit_entries(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM audit_log").await
}

/// Whether `tool` runs; without it the caller skips (LibreOffice is not everywhere).
fn has_tool(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// LibreOffice converts `file` to `format` (e.g. "xlsx", "fods") into `out`.
fn soffice_convert(dir: &TempDir, file: &std::path::Path, format: &str, out: &str) -> Vec<u8> {
    let profile = format!("file://{}", dir.path().join("lo-profile").display());
    let out_dir = dir.path().join(out);
    let mut cmd = std::process::Command::new("soffice");
    cmd.arg(format!("-env:UserInstallation={profile}"))
        .arg("--headless");
    if file.extension().is_some_and(|e| e == "csv") {
        cmd.arg("--infilter=CSV:44,34,76,1");
    }
    let output = cmd
        .args(["--convert-to", format, "--outdir"])
        .arg(&out_dir)
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stem = file.file_stem().unwrap().to_string_lossy();
    std::fs::read(out_dir.join(format!("{stem}.{format}")))
        .unwrap_or_else(|e| panic!("{e}: {output:?}"))
}

/// Gives the demo tree what the export must carry: an official code with a leading zero,
/// validity dates, a deactivated unit and desk, a desk form, a name that looks like a formula.
async fn enrich(app: &TestApp) {
    let sql = app.sql().await;
    sql.batch_execute(
        "UPDATE units SET admin_code = '02641', valid_from = '2025-07-01' \
           WHERE code = 'xuan-loc.xuan-bac';
         UPDATE units SET valid_until = '2025-07-01', active = false \
           WHERE code = 'xuan-loc.bao-hoa';
         UPDATE desks SET name = '=1+1 Quầy thử', active = false \
           WHERE id = (SELECT min(id) FROM desks);",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_export_imported_unchanged_changes_nothing() {
    let app = TestApp::spawn().await;
    enrich(&app).await;
    let admin = app.staff_with_role("admin-import", "admin", &[]).await;
    let csv = download(&admin, "/staff/units/import/export.csv").await;
    let xlsx = download(&admin, "/staff/units/import/export.xlsx").await;
    let text = String::from_utf8(csv.clone()).unwrap();
    assert_eq!(
        text.lines().next(),
        Some(
            "\u{feff}Loại dòng,Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên,Mã ĐVHC,Hiệu lực từ,Hiệu lực đến,Phiếu mặc định,Tên quầy,Phiếu,Đang hoạt động"
        )
    );
    assert!(
        text.contains("Đơn vị,xuan-loc.xuan-bac,"),
        "a unit row: {text}"
    );
    assert!(text.contains(",02641,01/07/2025,,"), "{text}");
    assert!(
        text.contains(",'=1+1 Quầy thử,"),
        "formula protected: {text}"
    );
    let units = app.count("SELECT count(*) FROM units").await;
    let desks = app.count("SELECT count(*) FROM desks").await;
    assert_eq!(
        text.lines().count() as i64,
        1 + units + desks,
        "one row per unit and desk"
    );

    let before = snapshot(&app).await;
    let entries = audit_entries(&app).await;
    for (name, file) in [("a.csv", &csv), ("a.xlsx", &xlsx)] {
        for dry_run in [true, false] {
            let (status, page) = upload(&admin, dry_run, name, file).await;
            assert_eq!(status, 200, "{name}: {}", html_text(&page));
            assert!(
                html_text(&page).contains("không có gì thay đổi"),
                "{name}: {}",
                html_text(&page)
            );
        }
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(audit_entries(&app).await, entries, "no audit entry");

    // LibreOffice opens both files: no cell of the CSV becomes a formula, and the workbook
    // saved again by LibreOffice still imports to no change.
    if !has_tool("soffice") {
        eprintln!("NOTICE: soffice not found, the LibreOffice part is skipped");
        return;
    }
    let dir = TempDir::new("unit-import-lo");
    std::fs::write(dir.path().join("export.csv"), &csv).unwrap();
    std::fs::write(dir.path().join("export.xlsx"), &xlsx).unwrap();
    let fods = String::from_utf8(soffice_convert(
        &dir,
        &dir.path().join("export.csv"),
        "fods",
        "fods",
    ))
    .unwrap();
    assert!(!fods.contains("table:formula"), "a cell holds a formula");
    assert!(fods.contains("&apos;=1+1 Quầy thử"), "shown as text");
    let resaved = soffice_convert(&dir, &dir.path().join("export.xlsx"), "xlsx", "resaved");
    let (status, page) = upload(&admin, false, "resaved.xlsx", &resaved).await;
    assert_eq!(status, 200, "{}", html_text(&page));
    assert!(html_text(&page).contains("không có gì thay đổi"));
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(audit_entries(&app).await, entries);
}

/// A file with a problem in nearly every column.
const BAD_CSV: &str = "Loại dòng,Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên,Mã ĐVHC,Hiệu lực từ,Hiệu lực đến,Phiếu mặc định,Tên quầy,Phiếu,Đang hoạt động
Đơn vị,thu-nghiem,Tỉnh Thử Nghiệm,Tỉnh,,75,,,,,,có
Đơn vị,thu-nghiem.a,Xã Thử Nghiệm A,Quận,thu-nghiem,,,,,,,
Đơn vị,thu-nghiem.b,Xã Thử Nghiệm B,Xã,khong-co,123456,31/02/2025,,,,,
Đơn vị,thu-nghiem.a,Xã Thử Nghiệm A trùng,Xã,thu-nghiem,,,,mau-khong-co,,,
Đơn vị,Thu Nghiem,Xã Thử Nghiệm C,Xã,thu-nghiem,,01/07/2025,01/01/2025,,,,có lẽ
Quầy,thu-nghiem.z,,,,,,,,Quầy 1,,có
Quầy,thu-nghiem,,,,,,,,Quầy 1,,
Quầy,thu-nghiem,,,,,,,,Quầy 1,,
";

#[tokio::test]
async fn the_dry_run_lists_every_problem_and_a_refused_file_stores_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("admin-import", "admin", &[]).await;
    let before = snapshot(&app).await;
    let entries = audit_entries(&app).await;
    for dry_run in [true, false] {
        let (status, page) = upload(&admin, dry_run, "bad.csv", BAD_CSV.as_bytes()).await;
        assert_eq!(status, 422);
        let text = html_text(&page);
        assert!(
            text.contains("Tệp có 11 lỗi; không có gì được lưu"),
            "{text}"
        );
        for expected in [
            "3 Loại Loại đơn vị «Quận» không có trong danh sách",
            "4 Mã đơn vị cấp trên Không có đơn vị nào mã «khong-co»",
            "4 Mã ĐVHC Mã ĐVHC «123456» không hợp lệ",
            "4 Hiệu lực từ Ngày «31/02/2025» không hợp lệ",
            "5 Mã đơn vị Mã đơn vị «thu-nghiem.a» trùng với dòng 3.",
            "5 Phiếu mặc định Mẫu phiếu «mau-khong-co» không tồn tại.",
            "6 Mã đơn vị Mã đơn vị «Thu Nghiem» không hợp lệ",
            "6 Hiệu lực đến Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.",
            "6 Đang hoạt động «có lẽ» không hợp lệ",
            "7 Mã đơn vị Không có đơn vị nào mã «thu-nghiem.z»",
            "9 Tên quầy Quầy «Quầy 1» của đơn vị «thu-nghiem» trùng với dòng 8.",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        assert_eq!(snapshot(&app).await, before);
        assert_eq!(audit_entries(&app).await, entries);
    }
}

/// code, name, kind, parent code, official code, valid from, active.
type StoredUnit = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

const GOOD_CSV: &str = "Loại dòng,Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên,Mã ĐVHC,Hiệu lực từ,Hiệu lực đến,Phiếu mặc định,Tên quầy,Phiếu,Đang hoạt động
Quầy,thu-nghiem.a,,,,,,,,Quầy một cửa,,có
Đơn vị,thu-nghiem.a,Xã Thử Nghiệm A,xã,thu-nghiem,02642,1/7/2025,,,,,
Đơn vị,thu-nghiem,Trung tâm Thử Nghiệm,Trung tâm Phục vụ hành chính công tỉnh,dong-nai,,2025-07-01,,,,,có
Quầy,thu-nghiem,,,,,,,,Quầy 1,,không
Đơn vị,xuan-loc.xuan-bac,Xã Xuân Bắc (đổi tên thử),Xã,thu-nghiem,,,,,,,có
";

#[tokio::test]
async fn a_good_file_is_stored_whole_with_one_audit_entry() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("admin-import", "admin", &[]).await;
    let before = snapshot(&app).await;
    let entries = audit_entries(&app).await;
    let (status, page) = upload(&admin, true, "good.csv", GOOD_CSV.as_bytes()).await;
    assert_eq!(status, 200, "{}", html_text(&page));
    assert!(
        html_text(&page).contains(
            "Tệp hợp lệ (chỉ kiểm tra, chưa lưu gì). Khi nhập sẽ thêm 2 đơn vị, cập nhật 1 đơn vị, thêm 2 quầy, cập nhật 0 quầy."
        ),
        "{}",
        html_text(&page)
    );
    assert_eq!(snapshot(&app).await, before, "the dry run stores nothing");
    assert_eq!(audit_entries(&app).await, entries);

    let (status, page) = upload(&admin, false, "good.csv", GOOD_CSV.as_bytes()).await;
    assert_eq!(status, 200, "{}", html_text(&page));
    assert!(
        html_text(&page).contains("Đã nhập xong: thêm 2 đơn vị, cập nhật 1 đơn vị, thêm 2 quầy")
    );
    let sql = app.sql().await;
    let rows = sql
        .query(
            "SELECT u.code, u.name, u.kind, p.code, u.admin_code, u.valid_from::text, u.active \
             FROM units u LEFT JOIN units p ON p.id = u.parent_id \
             WHERE u.code IN ('thu-nghiem', 'thu-nghiem.a', 'xuan-loc.xuan-bac') ORDER BY u.code",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<StoredUnit> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect();
    let s = |t: &str| t.to_string();
    assert_eq!(
        got,
        [
            (
                s("thu-nghiem"),
                s("Trung tâm Thử Nghiệm"),
                s("service_centre"),
                Some(s("dong-nai")),
                None,
                Some(s("2025-07-01")),
                true
            ),
            (
                s("thu-nghiem.a"),
                s("Xã Thử Nghiệm A"),
                s("commune"),
                Some(s("thu-nghiem")),
                Some(s("02642")),
                Some(s("2025-07-01")),
                true
            ),
            (
                s("xuan-loc.xuan-bac"),
                s("Xã Xuân Bắc (đổi tên thử)"),
                s("commune"),
                Some(s("thu-nghiem")),
                None,
                None,
                true
            ),
        ]
    );
    let desks = sql
        .query(
            "SELECT u.code, d.name, d.active, (SELECT count(*) FROM desk_codes c \
             WHERE c.desk_id = d.id AND c.retired_at IS NULL) \
             FROM desks d JOIN units u ON u.id = d.unit_id \
             WHERE u.code LIKE 'thu-nghiem%' ORDER BY u.code, d.name",
            &[],
        )
        .await
        .unwrap();
    let desks: Vec<(String, String, bool, i64)> = desks
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        desks,
        [
            (s("thu-nghiem"), s("Quầy 1"), false, 1),
            (s("thu-nghiem.a"), s("Quầy một cửa"), true, 1),
        ]
    );
    let audit = sql
        .query(
            "SELECT a.username, l.entity, (l.after->>'units_created')::int, \
             (l.after->>'desks_created')::int FROM audit_log l JOIN accounts a ON a.id = l.account_id \
             WHERE l.action = 'units.import'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let (user, entity, units, desks): (String, String, i32, i32) = (
        audit[0].get(0),
        audit[0].get(1),
        audit[0].get(2),
        audit[0].get(3),
    );
    assert_eq!(
        (user.as_str(), entity.as_str(), units, desks),
        ("admin-import", "unit", 2, 2)
    );
    assert_eq!(audit_entries(&app).await, entries + 1);
    // The same file again changes nothing.
    let after = snapshot(&app).await;
    let (status, page) = upload(&admin, false, "good.csv", GOOD_CSV.as_bytes()).await;
    assert_eq!(status, 200);
    assert!(html_text(&page).contains("không có gì thay đổi"));
    assert_eq!(snapshot(&app).await, after);
    assert_eq!(audit_entries(&app).await, entries + 1);
    // A move that would make a cycle is refused.
    let cycle = "Loại dòng,Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên,Mã ĐVHC,Hiệu lực từ,Hiệu lực đến,Phiếu mặc định,Tên quầy,Phiếu,Đang hoạt động\n\
                 Đơn vị,thu-nghiem,Trung tâm Thử Nghiệm,Trung tâm Phục vụ hành chính công tỉnh,xuan-loc.xuan-bac,,2025-07-01,,,,,có\n";
    let (status, page) = upload(&admin, false, "cycle.csv", cycle.as_bytes()).await;
    assert_eq!(status, 422);
    assert!(
        html_text(&page).contains("vòng lặp"),
        "{}",
        html_text(&page)
    );
    assert_eq!(snapshot(&app).await, after);
}

#[tokio::test]
async fn hostile_uploads_get_a_4xx_page_in_vietnamese() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("admin-import", "admin", &[]).await;
    let before = snapshot(&app).await;
    let token = csrf(&admin).await;
    let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");

    // Too large: refused while reading, whatever it holds.
    let huge = multipart(&token, false, "huge.csv", &vec![b'a'; 3 * 1024 * 1024]);
    let (status, page) = post_body(&admin, &multipart_type, huge).await;
    assert_eq!(status, 413);
    assert!(
        html_text(&page).contains("Tệp quá lớn: tối đa 2 MB"),
        "{}",
        html_text(&page)
    );
    // Binary junk, an old .xls, a broken zip, an empty file, a CSV in another encoding.
    for (file, expected) in [
        (&b"\x7fELF\x02\x01\x01\0\0\0junk"[..], "dữ liệu nhị phân"),
        (
            &b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"[..],
            "(.xls) không được hỗ trợ",
        ),
        (
            &b"PK\x03\x04not really a zip"[..],
            "Không đọc được tệp XLSX",
        ),
        (&b"Lo\xe1i d\xf2ng,M\xe3\n"[..], "không dùng bảng mã UTF-8"),
        (&b"   \n"[..], "Tệp trống."),
        (&b"Loai dong,Ma\nx,y\n"[..], "Thiếu cột «Loại dòng»"),
    ] {
        let (status, page) = post_body(
            &admin,
            &multipart_type,
            multipart(&token, false, "x.csv", file),
        )
        .await;
        assert_eq!(status, 422, "{expected}");
        assert!(
            html_text(&page).contains(expected),
            "{expected}: {}",
            html_text(&page)
        );
    }
    // Not multipart at all, and a multipart body that does not parse.
    let (status, page) = post_body(
        &admin,
        "application/x-www-form-urlencoded",
        format!("_csrf={token}&file=abc").into_bytes(),
    )
    .await;
    assert_eq!(status, 415);
    assert!(
        html_text(&page).contains("vui lòng chọn tệp"),
        "{}",
        html_text(&page)
    );
    let (status, page) = post_body(&admin, &multipart_type, b"--nothing here".to_vec()).await;
    assert_eq!(status, 400);
    assert!(html_text(&page).contains("Không đọc được dữ liệu gửi lên"));
    // No file chosen.
    let mut no_file = Vec::new();
    no_file.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    let (status, page) = post_body(&admin, &multipart_type, no_file).await;
    assert_eq!(status, 422);
    assert!(html_text(&page).contains("Vui lòng chọn một tệp"));
    // Without the form's token, and by an account that is not an admin.
    let (status, page) = post_body(
        &admin,
        &multipart_type,
        multipart("wrong", false, "good.csv", GOOD_CSV.as_bytes()),
    )
    .await;
    assert_eq!(status, 403);
    assert!(html_text(&page).contains("Phiên làm việc đã hết hạn"));
    let unit_staff = app
        .staff_with_role("unit-import", "unit", &["xuan-loc.xuan-bac"])
        .await;
    // Admin pages do not exist for other accounts (404, as the other admin pages).
    let (status, _) = upload(&unit_staff, false, "good.csv", GOOD_CSV.as_bytes()).await;
    assert_eq!(status, 404);
    assert_eq!(
        unit_staff
            .get("/staff/units/import/export.csv")
            .await
            .status(),
        404
    );
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn the_template_downloads_empty_in_both_formats() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("admin-import", "admin", &[]).await;
    let response = admin.get("/staff/units/import/template.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let xlsx = download(&admin, "/staff/units/import/template.xlsx").await;
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.clone())).unwrap();
    assert_eq!(workbook.sheet_names(), ["Đơn vị", "Quầy", "Hướng dẫn"]);
    let desks = workbook.worksheet_range("Quầy").unwrap();
    let header: Vec<String> = desks
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, ["Mã đơn vị", "Tên quầy", "Phiếu", "Đang hoạt động"]);
    // The empty template is refused as empty (nothing to import).
    let (status, page) = upload(&admin, true, "template.xlsx", &xlsx).await;
    assert_eq!(status, 422);
    assert!(html_text(&page).contains("không có dòng dữ liệu"));
    assert_eq!(
        admin.get("/staff/units/import/other.csv").await.status(),
        404
    );
}

#[tokio::test]
async fn the_unit_form_takes_the_official_code_and_the_validity_dates() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("admin-import", "admin", &[]).await;
    let xuan_bac = app.unit_id("xuan-loc.xuan-bac").await;
    let bao_hoa = app.unit_id("xuan-loc.bao-hoa").await;
    let parent: i32 = app
        .sql()
        .await
        .query_one("SELECT parent_id FROM units WHERE id = $1", &[&xuan_bac])
        .await
        .unwrap()
        .get(0);
    let parent = parent.to_string();
    let edit = |admin_code: &'static str, from: &'static str, until: &'static str| {
        vec![
            ("name", "Xã Thử Nghiệm A"),
            ("kind", "commune_centre"),
            ("default_form", ""),
            ("admin_code", admin_code),
            ("valid_from", from),
            ("valid_until", until),
        ]
    };
    let mut fields = edit("26041", "2025-07-01", "");
    fields.push(("parent", &parent));
    let saved = admin
        .post(&format!("/staff/units/{xuan_bac}"), &fields)
        .await;
    assert_eq!(saved.status(), 303);
    let page = html_text(
        &admin
            .get(&format!("/staff/units/{xuan_bac}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("Mã đơn vị hành chính 26041"), "{page}");
    assert!(page.contains("Hiệu lực từ 01/07/2025"), "{page}");
    assert!(
        page.contains("Loại Trung tâm Phục vụ hành chính công xã"),
        "{page}"
    );
    // Another current unit with the same code is refused; an ended one may have it.
    let mut fields = edit("26041", "", "");
    fields.push(("parent", &parent));
    let refused = admin
        .post(&format!("/staff/units/{bao_hoa}"), &fields)
        .await;
    assert_eq!(refused.status(), 422);
    let text = html_text(&refused.text().await.unwrap());
    assert!(
        text.contains("Mã đơn vị hành chính này đang được dùng cho một đơn vị khác còn hiệu lực."),
        "{text}"
    );
    let mut fields = edit("26041", "2020-01-01", "2025-07-01");
    fields.push(("parent", &parent));
    let ended = admin
        .post(&format!("/staff/units/{bao_hoa}"), &fields)
        .await;
    assert_eq!(ended.status(), 303);
    // Bad codes and dates, each said on its field.
    let mut fields = edit("2604", "2025-13-01", "");
    fields.push(("parent", &parent));
    let refused = admin
        .post(&format!("/staff/units/{bao_hoa}"), &fields)
        .await;
    assert_eq!(refused.status(), 422);
    let text = html_text(&refused.text().await.unwrap());
    assert!(text.contains("Mã đơn vị hành chính gồm 2 chữ số"), "{text}");
    assert!(text.contains("Ngày không hợp lệ"), "{text}");
    let mut fields = edit("", "2025-07-01", "2025-07-01");
    fields.push(("parent", &parent));
    let refused = admin
        .post(&format!("/staff/units/{bao_hoa}"), &fields)
        .await;
    assert_eq!(refused.status(), 422);
    assert!(html_text(&refused.text().await.unwrap()).contains("phải sau ngày bắt đầu"));
    let stored: (Option<String>, Option<String>) = {
        let row = app
            .sql()
            .await
            .query_one(
                "SELECT admin_code, valid_until::text FROM units WHERE id = $1",
                &[&bao_hoa],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(stored, (Some("26041".into()), Some("2025-07-01".into())));
}

#[tokio::test]
async fn the_command_line_exports_and_imports_with_exit_statuses() {
    let app = TestApp::spawn().await;
    let dir = TempDir::new("unit-import-cli");
    let url = app.database.url.clone();
    let run = |args: Vec<String>| {
        let mut cmd = common::sipas_binary(&url, "unit-import");
        cmd.args(&args);
        async move {
            tokio::time::timeout(Duration::from_secs(300), cmd.output())
                .await
                .expect("sipas finishes")
                .expect("sipas runs")
        }
    };
    let path = |name: &str| dir.path().join(name).display().to_string();
    let s = |t: &str| t.to_string();
    let before = snapshot(&app).await;
    let entries = audit_entries(&app).await;
    for name in ["units.csv", "units.xlsx"] {
        let out = run(vec![s("units"), s("export"), s("--out"), path(name)]).await;
        assert!(out.status.success(), "{out:?}");
        let out = run(vec![s("units"), s("import"), path(name)]).await;
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to change"));
    }
    let out = run(vec![s("units"), s("export"), s("--out"), path("units.ods")]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(audit_entries(&app).await, entries);

    std::fs::write(path("bad.csv"), BAD_CSV).unwrap();
    let out = run(vec![
        s("units"),
        s("import"),
        path("bad.csv"),
        s("--dry-run"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Dòng 3, cột «Loại»: Loại đơn vị «Quận»"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 11, "{stdout}");
    let out = run(vec![s("units"), s("import"), path("missing.csv")]).await;
    assert_eq!(out.status.code(), Some(1));

    std::fs::write(path("good.csv"), GOOD_CSV).unwrap();
    let out = run(vec![
        s("units"),
        s("import"),
        path("good.csv"),
        s("--dry-run"),
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(snapshot(&app).await, before);
    let out = run(vec![s("units"), s("import"), path("good.csv")]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported: thêm 2 đơn vị"));
    let by_cli = app
        .count(
            "SELECT count(*) FROM audit_log WHERE action = 'units.import' \
             AND account_id IS NULL AND after->>'by' = 'command line'",
        )
        .await;
    assert_eq!(by_cli, 1);
    assert_eq!(audit_entries(&app).await, entries + 1);
}
