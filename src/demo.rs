//! The demo district: Xuân Lộc, Đồng Nai, with its departments, communes and town, and a
//! reception desk for each. Seeding is idempotent: running it again changes nothing.

use chrono::{Datelike, NaiveDate};
use diesel::sql_types::{Array, Date, Float8, Int4, Int8, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::desks::{Desk, NewDesk};
use crate::db::units::{NewUnit, Unit};
use crate::forms::FormRegistry;

/// The installation default form, set on the district so that its units inherit it.
const DISTRICT_FORM: &str = "sipas-1001-dich-vu";
/// The quick per-visit rating, shown by one extra desk at the district one-stop office.
const QUICK_RATING_FORM: &str = "danh-gia-mot-cua";

/// District bodies: (code suffix, name). The first nine are named in plan 157/KH-UBND
/// (2019); the last four are the other usual departments of a rural district.
const DEPARTMENTS: [(&str, &str); 13] = [
    ("phong-noi-vu", "Phòng Nội vụ"),
    ("phong-tu-phap", "Phòng Tư pháp"),
    ("van-phong-hdnd-ubnd", "Văn phòng HĐND và UBND huyện"),
    ("phong-van-hoa-thong-tin", "Phòng Văn hóa và Thông tin"),
    ("phong-tai-chinh-ke-hoach", "Phòng Tài chính - Kế hoạch"),
    (
        "phong-tai-nguyen-moi-truong",
        "Phòng Tài nguyên và Môi trường",
    ),
    ("phong-giao-duc-dao-tao", "Phòng Giáo dục và Đào tạo"),
    ("thanh-tra-huyen", "Thanh tra huyện"),
    ("dai-truyen-thanh", "Đài Truyền thanh huyện"),
    (
        "phong-lao-dong-tbxh",
        "Phòng Lao động - Thương binh và Xã hội",
    ),
    ("phong-y-te", "Phòng Y tế"),
    ("phong-kinh-te-ha-tang", "Phòng Kinh tế - Hạ tầng"),
    (
        "phong-nong-nghiep-ptnt",
        "Phòng Nông nghiệp và Phát triển nông thôn",
    ),
];

/// The 14 communes of Xuân Lộc: (code suffix, name).
const COMMUNES: [(&str, &str); 14] = [
    ("bao-hoa", "Bảo Hòa"),
    ("lang-minh", "Lang Minh"),
    ("suoi-cao", "Suối Cao"),
    ("suoi-cat", "Suối Cát"),
    ("xuan-bac", "Xuân Bắc"),
    ("xuan-dinh", "Xuân Định"),
    ("xuan-hiep", "Xuân Hiệp"),
    ("xuan-hoa", "Xuân Hòa"),
    ("xuan-hung", "Xuân Hưng"),
    ("xuan-phu", "Xuân Phú"),
    ("xuan-tam", "Xuân Tâm"),
    ("xuan-thanh", "Xuân Thành"),
    ("xuan-tho", "Xuân Thọ"),
    ("xuan-truong", "Xuân Trường"),
];

pub const DISTRICT_DESK: &str = "Bộ phận Tiếp nhận và Trả kết quả huyện";
pub const QUICK_RATING_DESK: &str = "Quầy đánh giá nhanh - Bộ phận Một cửa huyện";

/// Creates (or brings up to date) the demo district and its desks.
pub async fn seed(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let province = Unit::upsert(
        conn,
        &NewUnit {
            parent_id: None,
            code: "dong-nai",
            name: "UBND tỉnh Đồng Nai",
            kind: "province",
            default_form_id: None,
            admin_code: None,
            valid_from: None,
            valid_until: None,
        },
    )
    .await?;
    let district = Unit::upsert(
        conn,
        &NewUnit {
            parent_id: Some(province.id),
            code: "xuan-loc",
            name: "UBND huyện Xuân Lộc",
            kind: "district",
            default_form_id: Some(DISTRICT_FORM),
            admin_code: None,
            valid_from: None,
            valid_until: None,
        },
    )
    .await?;
    for (suffix, name) in DEPARTMENTS {
        let code = format!("xuan-loc.{suffix}");
        let unit = Unit::upsert(
            conn,
            &NewUnit {
                parent_id: Some(district.id),
                code: &code,
                name,
                kind: "department",
                default_form_id: None,
                admin_code: None,
                valid_from: None,
                valid_until: None,
            },
        )
        .await?;
        if suffix == "van-phong-hdnd-ubnd" {
            ensure_desk(conn, unit.id, DISTRICT_DESK, None).await?;
            ensure_desk(conn, unit.id, QUICK_RATING_DESK, Some(QUICK_RATING_FORM)).await?;
        } else {
            ensure_desk(conn, unit.id, "Bộ phận tiếp nhận hồ sơ", None).await?;
        }
    }
    let town = Unit::upsert(
        conn,
        &NewUnit {
            parent_id: Some(district.id),
            code: "xuan-loc.gia-ray",
            name: "UBND thị trấn Gia Ray",
            kind: "town",
            default_form_id: None,
            admin_code: None,
            valid_from: None,
            valid_until: None,
        },
    )
    .await?;
    ensure_desk(
        conn,
        town.id,
        "Bộ phận Tiếp nhận và Trả kết quả thị trấn Gia Ray",
        None,
    )
    .await?;
    for (suffix, name) in COMMUNES {
        let code = format!("xuan-loc.{suffix}");
        let unit_name = format!("UBND xã {name}");
        let unit = Unit::upsert(
            conn,
            &NewUnit {
                parent_id: Some(district.id),
                code: &code,
                name: &unit_name,
                kind: "commune",
                default_form_id: None,
                admin_code: None,
                valid_from: None,
                valid_until: None,
            },
        )
        .await?;
        let desk = format!("Bộ phận Tiếp nhận và Trả kết quả xã {name}");
        ensure_desk(conn, unit.id, &desk, None).await?;
    }
    Ok(())
}

async fn ensure_desk(
    conn: &mut AsyncPgConnection,
    unit_id: i32,
    name: &str,
    form_id: Option<&str>,
) -> anyhow::Result<()> {
    if Desk::find_for_unit_by_name(conn, unit_id, name)
        .await?
        .is_none()
    {
        Desk::create(
            conn,
            &NewDesk {
                unit_id,
                name,
                form_id,
            },
        )
        .await?;
    }
    Ok(())
}

/// User name of the demo administrator.
pub const DEMO_ADMIN: &str = "admin";

/// Creates the demo administrator if it does not exist; returns its new password (to be shown
/// once) or None when it already existed.
pub async fn seed_admin(conn: &mut AsyncPgConnection) -> anyhow::Result<Option<String>> {
    if crate::db::accounts::Account::find_by_username(conn, DEMO_ADMIN)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let password = crate::auth::password::generate();
    crate::staff::create_account(
        conn,
        &crate::staff::AccountRequest {
            username: DEMO_ADMIN,
            display_name: "Quản trị Phòng Nội vụ (demo)",
            role: "admin",
            password: &password,
            unit_codes: &[],
        },
    )
    .await?;
    Ok(Some(password))
}

// ---------------------------------------------------------------------------------------------
// Synthetic responses
// ---------------------------------------------------------------------------------------------

/// The unit whose desk receives the most responses: the district one-stop office.
pub const BUSIEST_UNIT: &str = "xuan-loc.van-phong-hdnd-ubnd";
/// Communes clearly better than the rest of the district.
pub const BETTER_UNITS: [&str; 2] = ["xuan-loc.xuan-hiep", "xuan-loc.bao-hoa"];
/// Units clearly worse than the rest of the district (a commune whose desk improves over the
/// year, another commune, and the land office).
pub const WORSE_UNITS: [&str; 3] = [
    "xuan-loc.xuan-tam",
    "xuan-loc.suoi-cao",
    "xuan-loc.phong-tai-nguyen-moi-truong",
];
/// User name of the (inactive) account that "typed in" the synthetic paper ballots.
pub const DEMO_DATA_ENTRY: &str = "demo.nhap-lieu";
/// Responses per INSERT statement (one transaction each).
const GENERATE_BATCH: u64 = 50_000;

/// Which synthetic responses to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    /// The seed: the same seed gives the same responses.
    pub seed: i64,
    /// How many.
    pub count: u64,
    /// Index of the first response in the seed's stream (the stream is infinite: response k of
    /// a seed is always the same; a second run with the same seed and range adds nothing).
    pub first: u64,
    /// Days the visits fall on (working days, Monday to Friday, office hours, Vietnam's
    /// time), both ends included.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What [`generate_responses`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Generated {
    /// New responses.
    pub inserted: u64,
    /// Responses of the stream that were already stored (same seed and index).
    pub already_there: u64,
    /// Open comments stored with the new responses.
    pub comments: u64,
}

/// How a desk's responses are drawn: its share of the traffic, the mean satisfaction level of
/// its visitors (on the 1-5 scale), its share of paper ballots and the change of level from
/// the first to the last day of the range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeskProfile {
    pub weight: f64,
    pub quality: f64,
    pub paper: f64,
    pub trend: f64,
}

/// The profile of a desk of unit `unit_code` (`quick_rating`: the per-visit rating desk).
/// Units not in the demo district get an ordinary commune's profile.
pub fn desk_profile(unit_code: &str, quick_rating: bool) -> DeskProfile {
    let commune = DeskProfile {
        weight: 3.0,
        quality: 4.45,
        paper: 0.18,
        trend: 0.0,
    };
    let department = DeskProfile {
        weight: 0.5,
        quality: 4.45,
        paper: 0.12,
        trend: 0.0,
    };
    let suffix = unit_code.strip_prefix("xuan-loc.").unwrap_or(unit_code);
    match suffix {
        "van-phong-hdnd-ubnd" if quick_rating => DeskProfile {
            weight: 8.0,
            quality: 4.5,
            paper: 0.0,
            trend: 0.0,
        },
        "van-phong-hdnd-ubnd" => DeskProfile {
            weight: 22.0,
            quality: 4.55,
            paper: 0.08,
            trend: 0.0,
        },
        "gia-ray" => DeskProfile {
            weight: 8.0,
            ..commune
        },
        "xuan-hiep" => DeskProfile {
            quality: 4.85,
            ..commune
        },
        "bao-hoa" => DeskProfile {
            quality: 4.75,
            weight: 2.5,
            ..commune
        },
        "xuan-tam" => DeskProfile {
            quality: 3.7,
            trend: 0.6,
            ..commune
        },
        "suoi-cao" => DeskProfile {
            quality: 3.85,
            weight: 2.0,
            paper: 0.3,
            ..commune
        },
        "lang-minh" => DeskProfile {
            trend: -0.5,
            ..commune
        },
        "xuan-bac" | "xuan-dinh" | "xuan-hoa" => DeskProfile {
            weight: 3.5,
            ..commune
        },
        "phong-tai-nguyen-moi-truong" => DeskProfile {
            weight: 2.0,
            quality: 3.95,
            ..department
        },
        "phong-tu-phap" => DeskProfile {
            weight: 1.5,
            quality: 4.6,
            ..department
        },
        "phong-lao-dong-tbxh" => DeskProfile {
            weight: 1.2,
            ..department
        },
        "phong-kinh-te-ha-tang" | "phong-tai-chinh-ke-hoach" => DeskProfile {
            weight: 0.8,
            quality: 4.3,
            ..department
        },
        "thanh-tra-huyen" | "dai-truyen-thanh" | "phong-y-te" => DeskProfile {
            weight: 0.15,
            ..department
        },
        _ if COMMUNES.iter().any(|(c, _)| *c == suffix) => commune,
        _ if DEPARTMENTS.iter().any(|(c, _)| *c == suffix) => department,
        _ => commune,
    }
}

/// The working days (Monday to Friday) of `from..=to`; every day when there is none.
pub fn working_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let all: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    let working: Vec<NaiveDate> = all
        .iter()
        .copied()
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .collect();
    if working.is_empty() { all } else { working }
}

/// Creates the inactive account the synthetic paper ballots are attributed to (a unit account
/// of the district, with a random password nobody knows), or finds it. Returns its id.
pub async fn ensure_data_entry_account(conn: &mut AsyncPgConnection) -> anyhow::Result<i32> {
    use crate::db::accounts::Account;
    if let Some(account) = Account::find_by_username(conn, DEMO_DATA_ENTRY).await? {
        return Ok(account.id);
    }
    let account = crate::staff::create_account(
        conn,
        &crate::staff::AccountRequest {
            username: DEMO_DATA_ENTRY,
            display_name: "Nhập liệu phiếu giấy (dữ liệu mẫu)",
            role: "unit",
            password: &crate::auth::password::generate(),
            unit_codes: &["xuan-loc".to_string()],
        },
    )
    .await?;
    {
        use crate::db::schema::accounts;
        use diesel::{ExpressionMethods, QueryDsl};
        diesel::update(accounts::table.filter(accounts::id.eq(account.id)))
            .set(accounts::active.eq(false))
            .execute(conn)
            .await?;
    }
    Ok(account.id)
}

/// Generates synthetic responses at every active desk, in SQL (`INSERT … SELECT` from
/// `generate_series`, in batches of 50,000), with real differences between units (see
/// [`desk_profile`]): each respondent has a satisfaction level drawn around their desk's
/// quality (and its trend over the range), and answers each criterion around that level on the
/// form's scale; "Tiếp nhận, xử lý phản ánh, kiến nghị" is often "not applicable";
/// expectations and respondent questions are answered at plausible rates; some respondents
/// leave a comment in Vietnamese (more often the dissatisfied ones); most come through the QR
/// code, some on paper (typed in by [`DEMO_DATA_ENTRY`] the same day).
///
/// Every random draw is a hash of (seed, response index, draw), not a sequential random
/// stream, so the result does not depend on the batch size, the query plan or the order of
/// evaluation: the same seed gives the same responses.
pub async fn generate_responses(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ResponseSpec,
) -> anyhow::Result<Generated> {
    anyhow::ensure!(spec.from <= spec.to, "the range of days is empty");
    let desks = Desk::list_active(conn).await?;
    anyhow::ensure!(
        !desks.is_empty(),
        "no active desk: seed the demo district first"
    );
    let mut desk_ids = Vec::new();
    let mut unit_ids = Vec::new();
    let mut codes = Vec::new();
    let mut versions = Vec::new();
    let mut profiles = Vec::new();
    for desk in &desks {
        let Some(context) = Desk::find_context(conn, desk.desk_id).await? else {
            continue;
        };
        let form_id = context.form_id.as_deref().unwrap_or(DISTRICT_FORM);
        let Some(version) = forms.latest(form_id) else {
            continue;
        };
        desk_ids.push(desk.desk_id);
        unit_ids.push(context.unit_id);
        codes.push(desk.code.clone());
        versions.push(version.id);
        profiles.push(desk_profile(&desk.unit_code, form_id == QUICK_RATING_FORM));
    }
    anyhow::ensure!(!desk_ids.is_empty(), "no desk shows a known form");
    let total: f64 = profiles.iter().map(|p| p.weight).sum();
    let mut thresholds = Vec::with_capacity(profiles.len().saturating_sub(1));
    let mut cumulative = 0.0;
    for p in &profiles[..profiles.len() - 1] {
        cumulative += p.weight / total;
        thresholds.push(cumulative);
    }
    let quality: Vec<f64> = profiles.iter().map(|p| p.quality).collect();
    let paper: Vec<f64> = profiles.iter().map(|p| p.paper).collect();
    let trend: Vec<f64> = profiles.iter().map(|p| p.trend).collect();
    let days = working_days(spec.from, spec.to);
    let entered_by = ensure_data_entry_account(conn).await?;

    let mut generated = Generated::default();
    let end = spec.first.saturating_add(spec.count);
    let mut start = spec.first;
    while start < end {
        let stop = (start + GENERATE_BATCH).min(end);
        let row: BatchRow = diesel::sql_query(GENERATE_SQL)
            .bind::<Int8, _>(spec.seed)
            .bind::<Int8, _>(i64::try_from(start)?)
            .bind::<Int8, _>(i64::try_from(stop)?)
            .bind::<Array<Date>, _>(&days)
            .bind::<Int4, _>(entered_by)
            .bind::<Array<Int4>, _>(&desk_ids)
            .bind::<Array<Int4>, _>(&unit_ids)
            .bind::<Array<Text>, _>(&codes)
            .bind::<Array<Int4>, _>(&versions)
            .bind::<Array<Float8>, _>(&thresholds)
            .bind::<Array<Float8>, _>(&quality)
            .bind::<Array<Float8>, _>(&paper)
            .bind::<Array<Float8>, _>(&trend)
            .get_result(conn)
            .await?;
        let inserted = row.inserted.max(0) as u64;
        generated.inserted += inserted;
        generated.already_there += (stop - start) - inserted;
        generated.comments += row.comments.max(0) as u64;
        tracing::debug!(start, stop, inserted, "generated synthetic responses");
        start = stop;
    }
    Ok(generated)
}

#[derive(diesel::QueryableByName)]
struct BatchRow {
    #[diesel(sql_type = Int8)]
    inserted: i64,
    #[diesel(sql_type = Int8)]
    comments: i64,
}

/// One batch of synthetic responses: k in [$2, $3) of seed $1. See [`generate_responses`].
/// $4 working days; $5 the data-entry account; per desk: $6 desk id, $7 unit id, $8 public
/// code, $9 form version, $11 quality, $12 paper share, $13 trend; $10 cumulative traffic
/// shares (one fewer than the desks) for `width_bucket`.
const GENERATE_SQL: &str = r#"
WITH desks AS (
    SELECT *
    FROM unnest($6::int4[], $7::int4[], $8::text[], $9::int4[], $11::float8[], $12::float8[],
                $13::float8[])
         WITH ORDINALITY AS s (desk_id, unit_id, desk_code, form_version_id, quality, paper,
                               trend, i)
),
-- How each choice item is answered: criteria around the respondent's level (item_offset moves
-- an item up or down); respondent questions from a categorical distribution (cumulative
-- thresholds), answered with probability `answered`.
rules AS MATERIALIZED (
    SELECT rr.form_version_id, rr.answer_index, rr.section_role, rr.criterion,
           rr.not_applicable, rr.codes, cardinality(rr.codes) AS n_codes,
           coalesce(o.item_offset, 0) AS item_offset, o.answered, o.thresholds
    FROM rollup_rules rr
    LEFT JOIN (VALUES
        ('TC1', -0.10, NULL::float8, NULL::float8[]),
        ('TC4', -0.30, NULL, NULL),
        ('TT3',  0.15, NULL, NULL),
        ('TT4', -0.15, NULL, NULL),
        ('CC1',  0.10, NULL, NULL),
        ('KQ1', -0.20, NULL, NULL),
        ('PA1', -0.30, NULL, NULL),
        ('PA2', -0.40, NULL, NULL),
        ('PA3', -0.50, NULL, NULL),
        ('GIOI_TINH',   0, 0.92, ARRAY[0.47]),
        ('DO_TUOI',     0, 0.88, ARRAY[0.12, 0.38, 0.72, 0.90]),
        ('DAN_TOC',     0, 0.80, ARRAY[0.91]),
        ('HOC_VAN',     0, 0.75, ARRAY[0.10, 0.32, 0.62, 0.80, 0.97]),
        ('NGHE_NGHIEP', 0, 0.78, ARRAY[0.10, 0.16, 0.55, 0.60, 0.78, 0.93]),
        ('HINH_THUC',   0, 0.85, ARRAY[0.62, 0.77, 0.97]),
        ('LINH_VUC',    0, 0.90, ARRAY[0.28, 0.52, 0.76, 0.82, 0.87, 0.93])
    ) AS o (item_code, item_offset, answered, thresholds) ON o.item_code = rr.item_code
),
comments (positive, negative) AS (
    SELECT ARRAY[
        'Cán bộ hướng dẫn tận tình, chu đáo.',
        'Thủ tục nhanh gọn, trả kết quả đúng hẹn.',
        'Cảm ơn Bộ phận một cửa đã hỗ trợ nhiệt tình.',
        'Nên bố trí thêm ghế ngồi chờ cho người dân.',
        'Đề nghị lắp thêm quạt ở khu vực chờ, buổi trưa rất nóng.',
        'Nên có bảng hướng dẫn thủ tục rõ ràng hơn ở cửa vào.',
        'Mong cơ quan mở rộng việc nộp hồ sơ trực tuyến.',
        'Công chức thân thiện, giải thích dễ hiểu.',
        'Đề nghị bố trí chỗ để xe rộng hơn.',
        'Rất hài lòng với thái độ phục vụ.',
        'Nên có máy lấy số thứ tự tự động.',
        'Đề nghị cập nhật bảng niêm yết phí, lệ phí mới.'
    ], ARRAY[
        'Phải chờ quá lâu mới được tiếp nhận hồ sơ.',
        'Trả kết quả trễ hẹn mà không được báo trước.',
        'Công chức hướng dẫn chưa rõ, phải đi lại nhiều lần.',
        'Thái độ của công chức chưa niềm nở.',
        'Yêu cầu bổ sung giấy tờ không có trong quy định.',
        'Khu vực chờ chật, nóng, thiếu ghế ngồi.',
        'Gọi điện đến Bộ phận một cửa không ai nghe máy.',
        'Đã phản ánh nhưng chưa thấy trả lời.',
        'Hồ sơ đất đai giải quyết quá chậm.',
        'Máy tra cứu hồ sơ thường xuyên bị hỏng.'
    ]
),
draws AS (
    -- u(j) = a uniform number in (0, 1), a pure function of (seed, k, j).
    SELECT k,
           ((hashint8extended(k, $1 * 1024 + 1) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_desk,
           ((hashint8extended(k, $1 * 1024 + 2) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_day,
           ((hashint8extended(k, $1 * 1024 + 3) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_half,
           ((hashint8extended(k, $1 * 1024 + 4) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_minute,
           ((hashint8extended(k, $1 * 1024 + 5) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_channel,
           ((hashint8extended(k, $1 * 1024 + 6) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_z1,
           ((hashint8extended(k, $1 * 1024 + 7) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_z2,
           ((hashint8extended(k, $1 * 1024 + 8) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_entry,
           ((hashint8extended(k, $1 * 1024 + 9) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_comment,
           ((hashint8extended(k, $1 * 1024 + 10) & 2147483647)::float8 + 0.5) / 2147483648.0::float8 AS u_text,
           (lpad(to_hex(hashint8extended(k, $1 * 1024 + 11)), 16, '0')
            || lpad(to_hex(hashint8extended(k, $1 * 1024 + 12)), 16, '0'))::uuid AS submission_key
    FROM generate_series($2::int8, $3::int8 - 1) AS k
),
visits AS (
    SELECT d.*, s.desk_id, s.unit_id, s.desk_code, s.form_version_id, s.quality, s.paper,
           s.trend,
           ($4::date[])[1 + floor(d.u_day * cardinality($4::date[]))::int] AS day,
           floor(d.u_day * cardinality($4::date[]))
               / greatest(cardinality($4::date[]) - 1, 1) AS progress
    FROM draws d
    JOIN desks s ON s.i = 1 + width_bucket(d.u_desk, $10::float8[])
),
respondents AS (
    SELECT v.*,
           -- The respondent's own level: the desk's quality (moved by its trend over the
           -- range) plus a personal deviation (Box-Muller).
           v.quality + v.trend * (v.progress - 0.5)
               + 0.55 * sqrt(-2 * ln(v.u_z1)) * cos(2 * pi() * v.u_z2) AS level,
           v.u_channel < v.paper AS on_paper,
           -- Office hours: 7:30-11:30 and 13:30-17:00.
           (v.day + interval '1 minute' * CASE WHEN v.u_half < 0.62 THEN 450 + v.u_minute * 240
                                               ELSE 810 + v.u_minute * 210 END)
               AT TIME ZONE 'Asia/Ho_Chi_Minh' AS visit_at
    FROM visits v
),
generated AS MATERIALIZED (
    SELECT r.submission_key, r.unit_id, r.desk_id, r.form_version_id,
           CASE WHEN r.on_paper THEN 'paper' ELSE 'qr' END AS channel,
           CASE WHEN r.on_paper THEN NULL ELSE r.desk_code END AS desk_code,
           -- A paper ballot is dated by its day (midnight), as typed in by staff.
           CASE WHEN r.on_paper THEN r.day::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
                ELSE r.visit_at END AS submitted_at,
           a.answers,
           CASE WHEN r.on_paper THEN $5::int4 END AS entered_by,
           CASE WHEN r.on_paper
                THEN (r.day + interval '16 hours 30 minutes' + interval '1 minute' * (r.u_entry * 40))
                     AT TIME ZONE 'Asia/Ho_Chi_Minh' END AS entered_at,
           CASE WHEN r.on_paper THEN 'MAU-' || $1 || '-' || r.k END AS paper_serial,
           CASE WHEN r.u_comment < CASE WHEN r.level < 3.8 THEN 0.20 ELSE 0.04 END
                THEN CASE WHEN r.level < 3.8
                          THEN c.negative[1 + floor(r.u_text * cardinality(c.negative))::int]
                          ELSE c.positive[1 + floor(r.u_text * cardinality(c.positive))::int]
                     END
           END AS comment
    FROM respondents r
    CROSS JOIN comments c
    CROSS JOIN LATERAL (
        SELECT array_agg(
            CASE
                WHEN ru.criterion THEN
                    CASE WHEN ru.not_applicable AND x.u1 < 0.62 THEN 0::smallint
                         ELSE ru.codes[1 + least(greatest(round(
                                  (r.level + ru.item_offset + 0.75 * x.z - 1) / 4 * (ru.n_codes - 1)),
                                  0), ru.n_codes - 1)::int]
                    END
                WHEN ru.section_role = 'expectation' THEN
                    CASE WHEN x.u1 < 0.82 THEN
                        ru.codes[1 + least(greatest(round(
                            1.05 + 0.35 * (4.3 - r.level) + 0.7 * x.z), 0), ru.n_codes - 1)::int]
                    END
                WHEN ru.section_role = 'respondent' THEN
                    CASE WHEN x.u1 < coalesce(ru.answered, 0.7) THEN
                        ru.codes[1 + least(CASE WHEN ru.thresholds IS NULL
                                                THEN floor(x.u2 * ru.n_codes)::int
                                                ELSE width_bucket(x.u2, ru.thresholds) END,
                                           ru.n_codes - 1)]
                    END
            END
            ORDER BY ru.answer_index) AS answers
        FROM rules ru
        CROSS JOIN LATERAL (
            SELECT ((hashint8extended(r.k, $1 * 1024 + 100 + 3 * ru.answer_index) & 2147483647)::float8 + 0.5)
                       / 2147483648.0::float8 AS u1,
                   ((hashint8extended(r.k, $1 * 1024 + 101 + 3 * ru.answer_index) & 2147483647)::float8 + 0.5)
                       / 2147483648.0::float8 AS u2,
                   ((hashint8extended(r.k, $1 * 1024 + 102 + 3 * ru.answer_index) & 2147483647)::float8 + 0.5)
                       / 2147483648.0::float8 AS u3
        ) u
        CROSS JOIN LATERAL (SELECT u.u1, u.u2, sqrt(-2 * ln(u.u2)) * cos(2 * pi() * u.u3) AS z) x
        WHERE ru.form_version_id = r.form_version_id
    ) a
),
inserted AS (
    INSERT INTO responses (submission_key, unit_id, desk_id, desk_code, form_version_id, channel,
                           submitted_at, answers, entered_by, entered_at, paper_serial)
    SELECT submission_key, unit_id, desk_id, desk_code, form_version_id, channel, submitted_at,
           coalesce(answers, '{}'), entered_by, entered_at, paper_serial
    FROM generated
    -- Responses of this seed already stored (same key or serial) are left as they are.
    ON CONFLICT DO NOTHING
    RETURNING id, submission_key, form_version_id
),
texts AS (
    INSERT INTO response_texts (response_id, item_id, body)
    SELECT i.id, t.item_id, g.comment
    FROM inserted i
    JOIN generated g ON g.submission_key = i.submission_key
    CROSS JOIN LATERAL (
        SELECT fi.id AS item_id FROM form_items fi
        WHERE fi.form_version_id = i.form_version_id AND fi.kind = 'text'
        ORDER BY fi.position LIMIT 1
    ) t
    WHERE g.comment IS NOT NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM texts) AS comments
"#;

/// The unit whose desk receives the demo's manufactured burst: a commune at the bottom of the
/// ranking, whose figures someone would be tempted to lift.
pub const BURST_UNIT: &str = "xuan-loc.xuan-tam";
/// Responses in the demo's manufactured burst.
pub const BURST_SIZE: i64 = 12;

/// A small, clearly manufactured burst for the "Phiếu nghi vấn" page (`crate::db::flags`): 12
/// responses answering "Rất hài lòng" to every criterion, from one phone, each sent 8 seconds
/// after the form was shown, within six minutes at [`BURST_UNIT`]'s desk, at 12:10 (the lunch break, when the demo has no visitor) on the last
/// working day of `from..=to`. Deterministic per seed (a second run adds nothing). The fold
/// flags them (a burst at the desk and from one client, identical answers in a row, too fast)
/// and leaves them out of the figures, so the demo's figures do not move. Returns the number
/// of new responses.
pub async fn generate_burst(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    seed: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<u64> {
    let Some(day) = working_days(from, to).last().copied() else {
        return Ok(0);
    };
    let Some(version) = forms.latest(DISTRICT_FORM) else {
        return Ok(0);
    };
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = Int8)]
        inserted: i64,
    }
    let row: Inserted = diesel::sql_query(
        r#"
WITH desk AS (
    SELECT d.id AS desk_id, d.unit_id, c.code
    FROM desks d
    JOIN units u ON u.id = d.unit_id
    LEFT JOIN desk_codes c ON c.desk_id = d.id AND c.retired_at IS NULL
    WHERE u.code = $1 AND d.active
    ORDER BY d.id
    LIMIT 1
),
answers AS (
    SELECT array_agg(CASE WHEN rr.criterion THEN 5::int2 END ORDER BY rr.answer_index) AS answers
    FROM rollup_rules rr
    WHERE rr.form_version_id = $2
),
inserted AS (
    INSERT INTO responses (submission_key, unit_id, desk_id, desk_code, form_version_id, channel,
                           submitted_at, started_at, client_key, via, answers)
    SELECT (lpad(to_hex(hashint8extended(k, $3 * 1024 + 901)), 16, '0')
            || lpad(to_hex(hashint8extended(k, $3 * 1024 + 902)), 16, '0'))::uuid,
           d.unit_id, d.desk_id, d.code, $2, 'qr',
           t.at, t.at - interval '8 seconds',
           sha256(convert_to('demo-burst-' || $3, 'UTF8')), 'desk', a.answers
    FROM desk d
    CROSS JOIN answers a
    CROSS JOIN generate_series(1, $5::int8) AS k
    CROSS JOIN LATERAL (
        SELECT ($4::date + interval '12 hours 10 minutes' + interval '30 seconds' * k)
               AT TIME ZONE 'Asia/Ho_Chi_Minh' AS at
    ) t
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) AS inserted FROM inserted
"#,
    )
    .bind::<Text, _>(BURST_UNIT)
    .bind::<Int4, _>(version.id)
    .bind::<Int8, _>(seed)
    .bind::<Date, _>(day)
    .bind::<Int8, _>(BURST_SIZE)
    .get_result(conn)
    .await?;
    Ok(row.inserted.max(0) as u64)
}
