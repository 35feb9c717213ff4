//! Upgrading a database an older release filled (issue 18, "Data safety over years").
//!
//! The database is built at the schema of migration `2026-11-27-000012_kiosks` (diesel's own
//! harness, running the embedded migrations up to that one: `sipas::db::run_migrations_through`)
//! and filled with SQL written against that schema, as that release stored its data: a province,
//! a district with three communes and a department, their desks and public codes (one retired),
//! the QĐ 1001 form as a stored version with its items, accounts (an admin, a data-entry clerk
//! of the district), a kiosk, an API token, the 2026 survey plan with its periods and targets,
//! and November 2026's responses: online through the desks' QR codes (client key, start time),
//! through one-time codes (linked both ways, as then), and paper ballots typed in by the clerk,
//! with open comments, some handled, and an audit entry.
//!
//! Then the service starts as it does in production (`Services::open`: the pending migrations
//! under the advisory lock, the forms synced), and
//! - every row of the old tables is still there and equal, column by column, except the columns
//!   migration 13 drops on purpose (the links between a response and its one-time code, the
//!   code's time of use; the code stays "used"); the plan gains the national goals (migration
//!   15); nothing else of the data changes;
//! - the old admin signs in with the old password, and `GET /api/v1/stats` for November gives,
//!   for the district and each unit below it, the number of forms, the factor indices and the
//!   SIPAS index computed here from the inserted answers with the formulas of
//!   docs/methodology.md ("The formulas"), written again below (not `sipas::stats`), to 1e-12.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Weekday};
use common::{Instance, StaffClient, TestDatabase};
use serde_json::Value;
use sipas::forms::{Form, ItemKind, SectionRole};

/// The last migration of the older release (2026-11-27-000012_kiosks).
const OLD_SCHEMA: &str = "20261127000012";
const FORM: &str = "sipas-1001-dich-vu";
const ADMIN: &str = "qt.cam-my";
const CLERK: &str = "nhap.lieu.cm";
const PASSWORD: &str = "mật khẩu năm 2026 của Cẩm Mỹ";
const DISTRICT: &str = "cam-my";

/// (code, name, kind, parent code, share of satisfied answers to a criterion).
const UNITS: [(&str, &str, &str, Option<&str>, f64); 6] = [
    ("dong-nai", "Tỉnh Đồng Nai", "province", None, 0.0),
    ("cam-my", "Huyện Cẩm Mỹ", "district", Some("dong-nai"), 0.0),
    (
        "cam-my.long-giao",
        "Xã Long Giao",
        "commune",
        Some("cam-my"),
        0.88,
    ),
    (
        "cam-my.nhan-nghia",
        "Xã Nhân Nghĩa",
        "commune",
        Some("cam-my"),
        0.62,
    ),
    (
        "cam-my.xuan-que",
        "Xã Xuân Quế",
        "commune",
        Some("cam-my"),
        0.74,
    ),
    (
        "cam-my.van-phong",
        "Văn phòng HĐND và UBND huyện",
        "department",
        Some("cam-my"),
        0.80,
    ),
];

/// (unit code, desk name, active public code, responses per working day).
const DESKS: [(&str, &str, &str, usize); 5] = [
    ("cam-my.long-giao", "Bộ phận Một cửa", "cmlonggiao01", 7),
    ("cam-my.nhan-nghia", "Bộ phận Một cửa", "cmnhannghia01", 6),
    ("cam-my.xuan-que", "Bộ phận Một cửa", "cmxuanque02", 5),
    ("cam-my.van-phong", "Bộ phận Một cửa", "cmvanphong01", 6),
    ("cam-my.van-phong", "Quầy đất đai", "cmvanphong02", 4),
];
/// The code of Xuân Quế's desk before it was rotated (its responses keep it).
const RETIRED_CODE: &str = "cmxuanque01";

const COMMENTS: [&str; 6] = [
    "Cán bộ hướng dẫn tận tình, hồ sơ được trả đúng hẹn.",
    "Phải chờ lâu, nên có thêm ghế ngồi cho người dân.",
    "Thủ tục còn rườm rà, đề nghị công khai rõ các giấy tờ cần nộp.",
    "Rất hài lòng, cảm ơn Bộ phận Một cửa!",
    "Hẹn trả kết quả trễ 2 ngày, không được báo trước.",
    "Nhân viên lịch sự, nhưng máy lấy số thứ tự hay hỏng.",
];

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn bytes(&mut self) -> Vec<u8> {
        (0..4).flat_map(|_| self.next().to_le_bytes()).collect()
    }
}

/// One coded item of the stored form version, in `answer_index` order.
struct Coded {
    section: String,
    criterion: bool,
    not_applicable: bool,
    /// The codes of its scale.
    codes: Vec<i16>,
}

fn coded_items(form: &Form) -> Vec<Coded> {
    form.items()
        .filter_map(|(section, item)| match &item.kind {
            ItemKind::Choice {
                scale,
                not_applicable,
            } => Some(Coded {
                section: section.code.clone(),
                criterion: section.role == SectionRole::Factor,
                not_applicable: *not_applicable,
                codes: form.scales[scale].options.iter().map(|o| o.code).collect(),
            }),
            ItemKind::Text { .. } | ItemKind::Residence { .. } => None,
        })
        .collect()
}

/// How a response came in.
#[derive(Clone, Copy, PartialEq)]
enum Door {
    Qr,
    Code,
    Paper,
}

struct Visit {
    unit: &'static str,
    desk: usize,
    at: chrono::DateTime<FixedOffset>,
    door: Door,
    answers: Vec<Option<i16>>,
    comment: Option<&'static str>,
}

fn vn(day: NaiveDate, minutes: u32) -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(7 * 3600)
        .unwrap()
        .from_local_datetime(&day.and_hms_opt(minutes / 60, minutes % 60, 0).unwrap())
        .unwrap()
}

/// November 2026's visits: each working day, each desk its number of citizens between 07:30
/// and 16:30 (Vietnam's time); a criterion is satisfied (4 or 5) with the unit's share, "Không
/// áp dụng" is common for the feedback items, a few items are skipped.
fn visits(items: &[Coded]) -> Vec<Visit> {
    let mut rng = Rng(20261127);
    let mut visits = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    while day.month() == 11 {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            for (desk, (unit, _, _, per_day)) in DESKS.iter().enumerate() {
                let satisfied = UNITS.iter().find(|u| u.0 == *unit).unwrap().4;
                for _ in 0..(*per_day as u64 - 1 + rng.below(3)) {
                    let minutes = 7 * 60 + 30 + rng.below(9 * 60) as u32;
                    let door = match rng.below(100) {
                        0..=11 => Door::Paper,
                        12..=17 => Door::Code,
                        _ => Door::Qr,
                    };
                    let answers = items
                        .iter()
                        .map(|item| {
                            if rng.chance(0.03) {
                                None
                            } else if item.not_applicable && rng.chance(0.55) {
                                Some(0)
                            } else if item.criterion {
                                Some(if rng.chance(satisfied) {
                                    4 + rng.below(2) as i16
                                } else {
                                    [1, 2, 2, 3, 3, 3][rng.below(6) as usize]
                                })
                            } else {
                                Some(item.codes[rng.below(item.codes.len() as u64) as usize])
                            }
                        })
                        .collect();
                    let comment = rng
                        .chance(0.15)
                        .then(|| COMMENTS[rng.below(COMMENTS.len() as u64) as usize]);
                    visits.push(Visit {
                        unit,
                        desk,
                        at: vn(day, minutes),
                        door,
                        answers,
                        comment,
                    });
                }
            }
        }
        day = day.succ_opt().unwrap();
    }
    visits.sort_by_key(|v| v.at);
    visits
}

/// Fills the database at the old schema, as the older release stored its data.
async fn fill_old_database(
    sql: &mut tokio_postgres::Client,
    form: &Form,
    items: &[Coded],
    visits: &[Visit],
) {
    let tx = sql.transaction().await.unwrap();
    let mut rng = Rng(18);
    // The form as a stored version (crates/sipas-db/src/forms.rs then and now): the whole
    // validated definition, its content hash, one row per item with the coded items numbered.
    tx.execute("INSERT INTO forms (id) VALUES ($1)", &[&FORM])
        .await
        .unwrap();
    let definition = serde_json::to_string(form).unwrap();
    let version_id: i32 = tx
        .query_one(
            "INSERT INTO form_versions (form_id, version, content_sha256, definition, source_file) \
             VALUES ($1, $2, $3, $4::text::jsonb, 'survey-forms/sipas-1001-dich-vu.toml') \
             RETURNING id",
            &[
                &FORM,
                &form.version,
                &form.content_hash().to_vec(),
                &definition,
            ],
        )
        .await
        .unwrap()
        .get(0);
    let mut answer_index: i16 = 0;
    let mut text_item = None;
    for (position, (section, item)) in form.items().enumerate() {
        let index = item.is_choice().then(|| {
            answer_index += 1;
            answer_index
        });
        let id: i32 = tx
            .query_one(
                "INSERT INTO form_items (form_version_id, code, section_code, section_role, kind, \
                     position, answer_index) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &version_id,
                    &item.code,
                    &section.code,
                    &section.role.as_str(),
                    &if item.is_choice() { "choice" } else { "text" },
                    &(position as i16 + 1),
                    &index,
                ],
            )
            .await
            .unwrap()
            .get(0);
        if !item.is_choice() && text_item.is_none() {
            text_item = Some(id);
        }
    }
    assert_eq!(answer_index as usize, items.len());
    let text_item = text_item.expect("the form has an open question");

    // The unit tree, the district naming the form.
    let mut unit_ids = BTreeMap::new();
    for (code, name, kind, parent, _) in UNITS {
        let parent_id: Option<i32> = parent.map(|p| unit_ids[p]);
        let default_form = (code == DISTRICT).then_some(FORM);
        let id: i32 = tx
            .query_one(
                "INSERT INTO units (parent_id, code, name, kind, default_form_id) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&parent_id, &code, &name, &kind, &default_form],
            )
            .await
            .unwrap()
            .get(0);
        unit_ids.insert(code, id);
    }
    let mut desk_ids = Vec::new();
    for (unit, name, code, _) in DESKS {
        let id: i32 = tx
            .query_one(
                "INSERT INTO desks (unit_id, name) VALUES ($1, $2) RETURNING id",
                &[&unit_ids[unit], &name],
            )
            .await
            .unwrap()
            .get(0);
        if code == "cmxuanque02" {
            tx.execute(
                "INSERT INTO desk_codes (code, desk_id, created_at, retired_at) \
                 VALUES ($1, $2, '2026-10-01T08:00:00+07', '2026-11-16T07:00:00+07')",
                &[&RETIRED_CODE, &id],
            )
            .await
            .unwrap();
        }
        tx.execute(
            "INSERT INTO desk_codes (code, desk_id) VALUES ($1, $2)",
            &[&code, &id],
        )
        .await
        .unwrap();
        desk_ids.push(id);
    }

    // Accounts: the office's admin, the district's data-entry clerk.
    let hash = sipas::app::password::hash(PASSWORD).unwrap();
    let admin: i32 = tx
        .query_one(
            "INSERT INTO accounts (username, display_name, role, password_hash) \
             VALUES ($1, 'Phòng Nội vụ huyện Cẩm Mỹ', 'admin', $2) RETURNING id",
            &[&ADMIN, &hash],
        )
        .await
        .unwrap()
        .get(0);
    let clerk: i32 = tx
        .query_one(
            "INSERT INTO accounts (username, display_name, role, password_hash) \
             VALUES ($1, 'Nguyễn Thị Hoa', 'unit', $2) RETURNING id",
            &[&CLERK, &hash],
        )
        .await
        .unwrap()
        .get(0);
    tx.execute(
        "INSERT INTO account_units (account_id, unit_id) VALUES ($1, $2)",
        &[&clerk, &unit_ids[DISTRICT]],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO api_tokens (account_id, name, token_sha256) VALUES ($1, 'Phần mềm một cửa', $2)",
        &[&admin, &rng.bytes()],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO kiosks (desk_id, label, secret_hash, enrolled_by) \
         VALUES ($1, 'Máy tính bảng quầy đất đai', $2, $3)",
        &[&desk_ids[4], &rng.bytes(), &admin],
    )
    .await
    .unwrap();

    // The 2026 plan of the district: two quarters, a target for each unit below it.
    let plan: i32 = tx
        .query_one(
            "INSERT INTO survey_plans (unit_id, year, title, form_id) \
             VALUES ($1, 2026, 'Kế hoạch khảo sát sự hài lòng năm 2026', $2) RETURNING id",
            &[&unit_ids[DISTRICT], &FORM],
        )
        .await
        .unwrap()
        .get(0);
    for (name, from, to) in [
        ("Quý III", "2026-07-01", "2026-09-30"),
        ("Quý IV", "2026-10-01", "2026-12-31"),
    ] {
        let period: i32 = tx
            .query_one(
                "INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
                 VALUES ($1, $2, $3::text::date, $4::text::date) RETURNING id",
                &[&plan, &name, &from, &to],
            )
            .await
            .unwrap()
            .get(0);
        for (code, ..) in &UNITS[2..] {
            tx.execute(
                "INSERT INTO plan_targets (period_id, unit_id, target, expected_dossiers) \
                 VALUES ($1, $2, 150, 240)",
                &[&period, &unit_ids[code]],
            )
            .await
            .unwrap();
        }
    }
    tx.execute(
        "INSERT INTO audit_log (account_id, action, entity, entity_id, after) \
         VALUES ($1, 'plan.create', 'survey_plan', $2, '{\"year\": 2026}')",
        &[&admin, &plan.to_string()],
    )
    .await
    .unwrap();

    // The responses, in the order they came in.
    let alphabet: Vec<char> = "abcdefghjkmnpqrstuvwxyz23456789".chars().collect();
    for (n, v) in visits.iter().enumerate() {
        let desk_id = desk_ids[v.desk];
        let (_, _, active_code, _) = DESKS[v.desk];
        let desk_code = if active_code == "cmxuanque02" && v.at.day() < 16 {
            RETIRED_CODE
        } else {
            active_code
        };
        let at = v.at.to_rfc3339();
        let id: i64 = match v.door {
            Door::Paper => {
                // Dated by its day, as staff type it in; entered the same evening.
                let day = v.at.date_naive();
                let dated = vn(day, 0).to_rfc3339();
                let entered = vn(day, 17 * 60 + 15).to_rfc3339();
                tx.query_one(
                    "INSERT INTO responses (submission_key, unit_id, desk_id, form_version_id, \
                         channel, submitted_at, answers, entered_by, entered_at, paper_serial) \
                     VALUES (gen_random_uuid(), $1, $2, $3, 'paper', $4::text::timestamptz, $5, \
                             $6, $7::text::timestamptz, $8) RETURNING id",
                    &[
                        &unit_ids[v.unit],
                        &desk_id,
                        &version_id,
                        &dated,
                        &v.answers,
                        &clerk,
                        &entered,
                        &format!("PK-{:04}", n + 1),
                    ],
                )
                .await
                .unwrap()
                .get(0)
            }
            Door::Qr | Door::Code => {
                let code_id: Option<i64> = if v.door == Door::Code {
                    let code: String = (0..10)
                        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                        .collect();
                    let minted = (v.at - Duration::minutes(40)).to_rfc3339();
                    Some(
                        tx.query_one(
                            "INSERT INTO visit_codes (code, desk_id, batch, dossier_no, created_by, \
                                 created_at) \
                             VALUES ($1, $2, gen_random_uuid(), $3, $4, $5::text::timestamptz) \
                             RETURNING id",
                            &[
                                &code,
                                &desk_id,
                                &format!("H12.{:05}", 30000 + n),
                                &admin,
                                &minted,
                            ],
                        )
                        .await
                        .unwrap()
                        .get(0),
                    )
                } else {
                    None
                };
                let started = (v.at - Duration::seconds(150 + rng.below(300) as i64)).to_rfc3339();
                let via = if code_id.is_some() { "code" } else { "desk" };
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO responses (submission_key, unit_id, desk_id, desk_code, \
                             form_version_id, channel, submitted_at, answers, client_key, \
                             started_at, visit_code_id, via) \
                         VALUES (gen_random_uuid(), $1, $2, $3, $4, 'qr', $5::text::timestamptz, \
                                 $6, $7, $8::text::timestamptz, $9, $10) RETURNING id",
                        &[
                            &unit_ids[v.unit],
                            &desk_id,
                            &desk_code,
                            &version_id,
                            &at,
                            &v.answers,
                            &rng.bytes(),
                            &started,
                            &code_id,
                            &via,
                        ],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if let Some(code_id) = code_id {
                    tx.execute(
                        "UPDATE visit_codes SET used_at = $1::text::timestamptz, response_id = $2 \
                         WHERE id = $3",
                        &[&at, &id, &code_id],
                    )
                    .await
                    .unwrap();
                }
                id
            }
        };
        if let Some(comment) = v.comment {
            tx.execute(
                "INSERT INTO response_texts (response_id, item_id, body) VALUES ($1, $2, $3)",
                &[&id, &text_item, &comment],
            )
            .await
            .unwrap();
            if n % 3 == 0 {
                tx.execute(
                    "UPDATE response_texts SET handled_at = '2026-12-01T09:00:00+07', \
                         handled_by = $1, handling_note = 'Đã chuyển bộ phận liên quan xử lý.' \
                     WHERE response_id = $2",
                    &[&admin, &id],
                )
                .await
                .unwrap();
            }
        }
    }
    // Minted and never used.
    tx.execute(
        "INSERT INTO visit_codes (code, desk_id, batch, created_by) \
         VALUES ('chuadung234', $1, gen_random_uuid(), $2)",
        &[&desk_ids[0], &admin],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The base tables of schema public (without diesel's), with their columns in order.
async fn tables(sql: &tokio_postgres::Client) -> BTreeMap<String, Vec<String>> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in sql
        .query(
            "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
               AND c.table_name <> '__diesel_schema_migrations' \
             ORDER BY c.table_name, c.ordinal_position",
            &[],
        )
        .await
        .unwrap()
    {
        tables.entry(row.get(0)).or_default().push(row.get(1));
    }
    tables
}

/// A row as the text of each of its columns.
type Row = Vec<Option<String>>;

/// Every row of `table`, each column as text.
async fn rows(sql: &tokio_postgres::Client, table: &str, columns: &[String]) -> Vec<Row> {
    let list = columns
        .iter()
        .map(|c| format!("\"{c}\"::text"))
        .collect::<Vec<_>>()
        .join(", ");
    sql.query(&format!("SELECT {list} FROM {table}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (0..columns.len()).map(|i| r.get(i)).collect())
        .collect()
}

/// `rows` over the columns `kept` of `columns`, sorted.
fn project(rows: &[Row], columns: &[String], kept: &[String]) -> Vec<Row> {
    let at: Vec<usize> = kept
        .iter()
        .map(|k| columns.iter().position(|c| c == k).unwrap())
        .collect();
    let mut projected: Vec<Row> = rows
        .iter()
        .map(|r| at.iter().map(|i| r[*i].clone()).collect())
        .collect();
    projected.sort();
    projected
}

/// Every embedded migration's version, from migrations/.
fn all_versions() -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(common::manifest_dir().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| name.split('_').next().unwrap().replace('-', ""))
        .collect();
    versions.sort();
    versions
}

/// The figures of one unit, from the inserted answers, by docs/methodology.md ("The
/// formulas"): a criterion's index is the share of 4 and 5 among its valid answers (1 to 5; 0
/// "Không áp dụng" and unanswered are not valid), a factor's the unweighted mean of its
/// criteria's indices (criteria without a valid answer left out), the SIPAS index the
/// unweighted mean of the factors' indices.
struct Expected {
    responses: usize,
    factors: Vec<f64>,
    index: f64,
}

fn expected(items: &[Coded], answers: &[&Vec<Option<i16>>]) -> Expected {
    let mut sections: Vec<&str> = Vec::new();
    for item in items.iter().filter(|i| i.criterion) {
        if !sections.contains(&item.section.as_str()) {
            sections.push(&item.section);
        }
    }
    let mut factors = Vec::new();
    for section in sections {
        let mut indices = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if !item.criterion || item.section != section {
                continue;
            }
            let valid: Vec<i16> = answers
                .iter()
                .filter_map(|a| a[i])
                .filter(|v| (1..=5).contains(v))
                .collect();
            if !valid.is_empty() {
                let satisfied = valid.iter().filter(|v| **v >= 4).count();
                indices.push(satisfied as f64 / valid.len() as f64);
            }
        }
        factors.push(indices.iter().sum::<f64>() / indices.len() as f64);
    }
    let index = factors.iter().sum::<f64>() / factors.len() as f64;
    Expected {
        responses: answers.len(),
        factors,
        index,
    }
}

fn assert_figures(what: &str, api: &Value, expected: &Expected) {
    assert_eq!(
        api["responses"].as_u64(),
        Some(expected.responses as u64),
        "{what}: forms"
    );
    assert_eq!(api["excluded"].as_u64(), Some(0), "{what}: forms left out");
    let factors: Vec<f64> = api["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_f64().unwrap())
        .collect();
    assert_eq!(factors.len(), expected.factors.len(), "{what}: factors");
    for (n, (got, want)) in factors.iter().zip(&expected.factors).enumerate() {
        assert!(
            (got - want).abs() < 1e-12,
            "{what}: factor {n} is {got}, expected {want}"
        );
    }
    let index = api["index"].as_f64().unwrap();
    assert!(
        (index - expected.index).abs() < 1e-12,
        "{what}: index {index}, expected {}",
        expected.index
    );
}

/// Folds every stored response into the rollups (as `TestApp::settle_rollups`).
async fn settle_rollups(pool: &sipas::db::Pool, sql: &tokio_postgres::Client) {
    let mut conn = pool.get().await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let report = sipas::db::rollup::refresh(&mut conn).await.unwrap();
        let newest: i64 = sql
            .query_one("SELECT coalesce(max(id), 0) FROM responses", &[])
            .await
            .unwrap()
            .get(0);
        if report.is_done() && report.to_id >= newest {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the rollups did not catch up: {report:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn data_written_by_an_older_release_survives_the_upgrade_with_its_figures() {
    let started = std::time::Instant::now();
    let database = TestDatabase::create_empty().await;
    let versions = all_versions();
    let old: Vec<String> = versions
        .iter()
        .filter(|v| v.as_str() <= OLD_SCHEMA)
        .cloned()
        .collect();
    let applied = sipas::db::run_migrations_through(&database.url, OLD_SCHEMA)
        .await
        .unwrap();
    assert_eq!(
        applied, old,
        "the older release's migrations, and only them"
    );
    assert!(
        old.len() < versions.len(),
        "the upgrade has migrations to run"
    );
    assert!(
        sipas::db::run_migrations_through(&database.url, "20261127000099")
            .await
            .is_err(),
        "an unknown version is refused"
    );

    let files = sipas::forms::load_dir(&common::manifest_dir().join("survey-forms")).unwrap();
    let form = files
        .iter()
        .map(|(_, f)| f)
        .find(|f| f.id == FORM)
        .unwrap()
        .clone();
    let items = coded_items(&form);
    let visits = visits(&items);
    assert!(visits.len() > 500, "{} responses", visits.len());
    let mut sql = common::connect(&database.url).await;
    fill_old_database(&mut sql, &form, &items, &visits).await;
    println!(
        "the older release's database: {} responses ({:.1} s)",
        visits.len(),
        started.elapsed().as_secs_f64()
    );
    let count = async |sql: &tokio_postgres::Client, query: &str| -> i64 {
        sql.query_one(query, &[]).await.unwrap().get(0)
    };
    assert!(count(&sql, "SELECT count(*) FROM response_texts").await > 50);
    assert!(
        count(
            &sql,
            "SELECT count(*) FROM responses WHERE visit_code_id IS NOT NULL"
        )
        .await
            > 10
    );

    let before_tables = tables(&sql).await;
    let mut before = BTreeMap::new();
    for (table, columns) in &before_tables {
        before.insert(table.clone(), rows(&sql, table, columns).await);
    }

    // The upgrade: the service starts as in production.
    let upgrading = std::time::Instant::now();
    let services = sipas::startup::Services::open(common::test_config(&database.url))
        .await
        .expect("the service starts on the old database");
    println!(
        "upgrade at start-up: {:.2} s",
        upgrading.elapsed().as_secs_f64()
    );
    let recorded: Vec<String> = sql
        .query(
            "SELECT version FROM __diesel_schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(recorded, versions, "every migration has run");

    // Every old row is still there and equal, over the columns that are still there.
    let after_tables = tables(&sql).await;
    let mut dropped = BTreeSet::new();
    for (table, columns) in &before_tables {
        let kept: Vec<String> = match after_tables.get(table) {
            Some(now) => columns
                .iter()
                .filter(|c| {
                    let kept = now.contains(c);
                    if !kept {
                        dropped.insert(format!("{table}.{c}"));
                    }
                    kept
                })
                .cloned()
                .collect(),
            None => panic!("table {table} is gone after the upgrade"),
        };
        let old_rows = project(&before[table], columns, &kept);
        let now = project(&rows(&sql, table, &kept).await, &kept, &kept);
        if table.starts_with("form") {
            // The forms in the files the old database did not have are added at start-up.
            for row in &old_rows {
                assert!(
                    now.contains(row),
                    "{table}: the row {row:?} is gone or changed"
                );
            }
        } else {
            assert_eq!(now.len(), old_rows.len(), "{table}: the number of rows");
            if let Some((was, is)) = old_rows.iter().zip(&now).find(|(a, b)| a != b) {
                panic!("{table} is not what it was ({kept:?}): {was:?} became {is:?}");
            }
        }
    }
    assert_eq!(
        dropped.into_iter().collect::<Vec<_>>(),
        [
            "responses.visit_code_id",
            "visit_codes.response_id",
            "visit_codes.used_at"
        ],
        "only the links between responses and one-time codes are dropped (migration 13)"
    );
    assert_eq!(
        count(&sql, "SELECT count(*) FROM visit_codes WHERE used").await,
        visits.iter().filter(|v| v.door == Door::Code).count() as i64,
        "a used code stays used"
    );
    assert_eq!(
        count(&sql, "SELECT count(*) FROM plan_goals").await,
        2,
        "the plan gets the national goals"
    );

    // The figures, through the real server and an old account.
    let instance = Instance::start(services).await;
    settle_rollups(&instance.pool, &sql).await;
    assert_eq!(
        count(&sql, "SELECT count(*) FROM response_reviews WHERE excluded").await,
        0,
        "no old response is left out by the fraud checks"
    );
    let admin = StaffClient::new(&instance.address);
    let signed_in = admin.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(
        signed_in.status(),
        303,
        "the old admin signs in with the old password"
    );
    let district: i32 = sql
        .query_one("SELECT id FROM units WHERE code = $1", &[&DISTRICT])
        .await
        .unwrap()
        .get(0);
    let response = admin
        .get(&format!(
            "/api/v1/stats?from=2026-11-01&to=2026-11-30&form={FORM}&unit={district}"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let api: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let all: Vec<&Vec<Option<i16>>> = visits.iter().map(|v| &v.answers).collect();
    assert_figures(DISTRICT, &api["total"], &expected(&items, &all));
    let api_rows = api["rows"].as_array().unwrap();
    assert_eq!(api_rows.len(), 4, "the district's four units");
    for (code, ..) in &UNITS[2..] {
        let row = api_rows
            .iter()
            .find(|r| r["unit"]["code"] == *code)
            .unwrap_or_else(|| panic!("no row for {code}"));
        let mine: Vec<&Vec<Option<i16>>> = visits
            .iter()
            .filter(|v| v.unit == *code)
            .map(|v| &v.answers)
            .collect();
        let want = expected(&items, &mine);
        assert_figures(code, row, &want);
        println!(
            "{code}: {} forms, index {:.4} (API {:.4})",
            want.responses,
            want.index,
            row["index"].as_f64().unwrap()
        );
    }
    instance.stop().await;
    println!(
        "upgrade test: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}
