//! The raw data reproduces the published figures (issue 13, point 3).
//!
//! Responses are inserted with SQL at controlled instants (as `tests/fraud_flags.rs` does), in
//! three units: varied honest answers with "Không áp dụng" and unanswered items, responses the
//! fraud checks flag (too fast: excluded by default; straight-lined, outside opening hours:
//! flagged but counted), one excluded response an admin includes and one counted response an
//! admin excludes (through `/staff/flags/{id}/decide`). They are folded by the real path, then
//! exported (`sipas::export::write`, what `sipas export` and the web's jobs call).
//!
//! - `raw_data_says_which_responses_count_and_why`: every response is in the raw data, with
//!   `counted`, `excluded_reason`, `flags` and `admin_decision` as the review states them;
//!   "Không áp dụng" is the code 0, unanswered an empty cell; the codebook, the workbook's
//!   "Dữ liệu" and "Mã hóa" sheets and the SPSS syntax (MISSING VALUES, value labels) say so.
//! - `the_csv_alone_reproduces_every_figure_of_the_api`: from the CSV and its codebook only,
//!   with the formulas written below (NOT `sipas::stats`), every figure of every row and of
//!   the total of `GET /api/v1/stats` for the same selection is recomputed and compared.
//! - `the_worked_example_of_the_methodology_is_what_the_service_publishes`: the example of
//!   docs/methodology.md, read from the page, gives the figures the page states.

use crate::common;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use common::{StaffClient, TempDir, TestApp};
use serde_json::Value;
use sipas::auth::Scope;
use sipas::export::{self, ExportFormat, ExportSpec, SpecRequest};

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const GIA_RAY: &str = "xuan-loc.gia-ray";
const UNITS: [&str; 3] = [XUAN_BAC, XUAN_DINH, GIA_RAY];

fn vn(d: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
    // November 2026: the 23rd is a Monday.
    NaiveDate::from_ymd_opt(2026, 11, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
        .and_local_timezone(FixedOffset::east_opt(7 * 3600).unwrap())
        .unwrap()
}

/// One coded item of the form: (item code, criterion, codes).
type Items = Vec<(String, bool, Vec<i16>)>;

struct Fixture {
    app: TestApp,
    admin: StaffClient,
    /// The special responses by name.
    named: HashMap<&'static str, i64>,
    /// Every inserted response id.
    all: Vec<i64>,
}

/// A flagged response: (name, unit, when, seconds to fill in, answers).
type Special = (
    &'static str,
    &'static str,
    DateTime<FixedOffset>,
    i64,
    Vec<Option<i16>>,
);

/// A deterministic generator (LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Varied answers: every criterion 1..5 (a few left unanswered), the feedback items
/// sometimes "Không áp dụng" (0), the other items one of their codes or unanswered.
fn varied(items: &Items, seed: u64) -> Vec<Option<i16>> {
    let mut g = Lcg(seed);
    let skip = g.next(19);
    let na = g.next(3) == 0;
    let mut criterion = 0;
    items
        .iter()
        .map(|(code, is_criterion, codes)| {
            if *is_criterion {
                criterion += 1;
                if code.starts_with("PA") && na {
                    return Some(0);
                }
                if criterion == skip + 1 && seed % 4 == 1 {
                    return None;
                }
                Some(1 + g.next(5) as i16)
            } else if g.next(6) == 0 {
                None
            } else {
                Some(codes[g.next(codes.len())])
            }
        })
        .collect()
}

/// Every criterion `value` (the feedback items "Không áp dụng"), nothing else answered.
fn straight(items: &Items, value: i16) -> Vec<Option<i16>> {
    items
        .iter()
        .map(
            |(code, is_criterion, _)| match (*is_criterion, code.starts_with("PA")) {
                (true, true) => Some(0),
                (true, false) => Some(value),
                _ => None,
            },
        )
        .collect()
}

async fn insert(
    db: &tokio_postgres::Client,
    version: i32,
    unit: &str,
    at: DateTime<FixedOffset>,
    took: i64,
    client: u8,
    answers: &[Option<i16>],
) -> i64 {
    let started = (at - Duration::seconds(took)).to_rfc3339();
    db.query_one(
        "INSERT INTO responses (submission_key, unit_id, desk_id, form_version_id, channel, \
             submitted_at, started_at, client_key, via, answers) \
         SELECT gen_random_uuid(), u.id, (SELECT min(d.id) FROM desks d WHERE d.unit_id = u.id), \
                $2, 'qr', $3::text::timestamptz, $4::text::timestamptz, $5, 'desk', $6 \
         FROM units u WHERE u.code = $1 RETURNING id",
        &[
            &unit,
            &version,
            &at.to_rfc3339(),
            &started,
            &vec![client; 32],
            &answers,
        ],
    )
    .await
    .unwrap()
    .get(0)
}

async fn decide(admin: &StaffClient, id: i64, decision: &str) {
    let sent = admin
        .post(
            &format!("/staff/flags/{id}/decide"),
            &[
                ("decision", decision),
                ("note", "Kiểm tra lại số liệu thô."),
            ],
        )
        .await;
    assert_eq!(sent.status(), 303, "decide {decision} on {id}");
}

async fn fixture() -> Fixture {
    // The installation's completion-time check (the test configuration turns it off), so
    // that "too fast" is a signal.
    let app = TestApp::spawn_on(common::TestDatabase::create().await, |url| {
        let mut config = common::test_config(url);
        config.visits.min_fill_seconds = 3;
        config
    })
    .await;
    let db = app.sql().await;
    let version = app.forms.latest(FORM).unwrap().id;
    let items: Items = db
        .query(
            "SELECT item_code, criterion, codes FROM rollup_rules WHERE form_version_id = $1 \
             ORDER BY answer_index",
            &[&version],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(items.len(), 34, "the QĐ 1001 form has 34 coded items");
    let mut named = HashMap::new();
    let mut all = Vec::new();
    // Honest responses: one every 20 minutes per unit over the week's working hours, each from
    // its own phone, filled in over two minutes or more.
    for (u, unit) in UNITS.iter().enumerate() {
        for k in 0..16u32 {
            let at = vn(23 + k % 5, 8 + k / 5 * 2, 5 + 20 * (u as u32));
            let seed = 1000 * u as u64 + u64::from(k);
            let client = (u * 40) as u8 + k as u8;
            let id = insert(&db, version, unit, at, 150, client, &varied(&items, seed)).await;
            all.push(id);
        }
    }
    // Flagged ones, at minutes the honest ones do not use, each from its own phone.
    let specials: [Special; 7] = [
        // Too fast: strong, excluded by default (one stays so, an admin includes the other).
        ("fast", XUAN_BAC, vn(24, 9, 47), 1, varied(&items, 77)),
        (
            "fast_included",
            XUAN_BAC,
            vn(25, 10, 47),
            1,
            varied(&items, 78),
        ),
        // Straight-lined: weak, counted (an admin excludes the second).
        (
            "straight",
            XUAN_DINH,
            vn(24, 9, 52),
            200,
            straight(&items, 5),
        ),
        (
            "straight_excluded",
            XUAN_DINH,
            vn(26, 14, 52),
            200,
            straight(&items, 4),
        ),
        (
            "fast_dinh",
            XUAN_DINH,
            vn(27, 15, 52),
            1,
            varied(&items, 79),
        ),
        // Outside opening hours (QR): weak, counted; with too fast: excluded.
        ("late", GIA_RAY, vn(24, 21, 30), 300, varied(&items, 80)),
        ("late_fast", GIA_RAY, vn(25, 21, 40), 1, varied(&items, 81)),
    ];
    for (k, (name, unit, at, took, answers)) in specials.into_iter().enumerate() {
        let id = insert(&db, version, unit, at, took, 200 + k as u8, &answers).await;
        named.insert(name, id);
        all.push(id);
    }
    app.settle_rollups().await;
    let admin = app.staff_with_role("qt.so.lieu", "admin", &[]).await;
    decide(&admin, named["fast_included"], "include").await;
    decide(&admin, named["straight_excluded"], "exclude").await;
    app.settle_rollups().await;
    Fixture {
        app,
        admin,
        named,
        all,
    }
}

async fn spec(app: &TestApp) -> ExportSpec {
    let mut conn = app.pool.get().await.unwrap();
    ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &SpecRequest {
            year: 2026,
            period: Some("2026-11".into()),
            ..SpecRequest::default()
        },
    )
    .await
    .unwrap()
}

async fn write(app: &TestApp, spec: &ExportSpec, format: ExportFormat, dir: &TempDir) -> Vec<u8> {
    std::fs::read(app.export(spec, format, dir).await).unwrap()
}

/// A CSV with a BOM, as (header, rows of name → cell).
fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<HashMap<String, String>>) {
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test]
async fn raw_data_says_which_responses_count_and_why() {
    let fx = fixture().await;
    let spec = spec(&fx.app).await;
    let dir = TempDir::new("raw-data");
    let (header, rows) = read_csv(&write(&fx.app, &spec, ExportFormat::Csv, &dir).await);
    assert_eq!(
        &header[..11],
        [
            "response_id",
            "submitted_at",
            "unit_code",
            "desk_code",
            "form_id",
            "form_version",
            "channel",
            "counted",
            "excluded_reason",
            "flags",
            "admin_decision"
        ]
    );
    // Every response, counted or not.
    let mut ids: Vec<i64> = rows
        .iter()
        .map(|r| r["response_id"].parse().unwrap())
        .collect();
    ids.sort_unstable();
    let mut all = fx.all.clone();
    all.sort_unstable();
    assert_eq!(ids, all, "the raw data holds every response");
    let row = |name: &str| {
        let id = fx.named[name].to_string();
        rows.iter().find(|r| r["response_id"] == id).unwrap()
    };
    let state = |name: &str| {
        let r = row(name);
        [
            r["counted"].as_str(),
            r["excluded_reason"].as_str(),
            r["flags"].as_str(),
            r["admin_decision"].as_str(),
        ]
        .map(String::from)
    };
    assert_eq!(state("fast"), ["0", "too_fast", "too_fast", ""]);
    assert_eq!(state("fast_included"), ["1", "", "too_fast", "include"]);
    assert_eq!(state("straight"), ["1", "", "straight_line", ""]);
    assert_eq!(
        state("straight_excluded"),
        [
            "0",
            "admin_excluded;straight_line",
            "straight_line",
            "exclude"
        ]
    );
    assert_eq!(state("fast_dinh"), ["0", "too_fast", "too_fast", ""]);
    assert_eq!(state("late"), ["1", "", "outside_hours", ""]);
    assert_eq!(
        state("late_fast"),
        ["0", "too_fast;outside_hours", "too_fast;outside_hours", ""]
    );
    let unflagged: Vec<&HashMap<String, String>> =
        rows.iter().filter(|r| r["flags"].is_empty()).collect();
    assert_eq!(unflagged.len(), 48);
    assert!(unflagged.iter().all(|r| r["counted"] == "1"
        && r["excluded_reason"].is_empty()
        && r["admin_decision"].is_empty()));
    // "Không áp dụng" is 0, unanswered is empty, and both occur.
    let straight = row("straight");
    assert_eq!(straight["PA1"], "0");
    assert_eq!(straight["TC1"], "5");
    assert_eq!(straight["MD1"], "", "unanswered stays empty");
    let cells = |code: &str| -> Vec<String> { rows.iter().map(|r| r[code].clone()).collect() };
    assert!(cells("PA2").iter().any(|c| c == "0"));
    assert!(cells("PA2").iter().any(|c| c == "4" || c == "5"));
    assert!(
        header
            .iter()
            .filter(|h| !h.starts_with("PA"))
            .all(|h| !cells(h).iter().any(|c| c == "0") || h.as_str() == "counted"),
        "only the items that offer it have a 0"
    );
    assert!(
        ["TC", "TT", "CC", "KQ"].iter().any(|p| header
            .iter()
            .filter(|h| h.starts_with(p))
            .any(|h| cells(h).iter().any(|c| c.is_empty()))),
        "some criteria are unanswered"
    );

    // The codebook describes the new columns and codes.
    let (_, codebook) = read_csv(&write(&fx.app, &spec, ExportFormat::Codebook, &dir).await);
    let describe = |column: &str| {
        codebook
            .iter()
            .find(|r| r["Cột"] == column)
            .unwrap_or_else(|| panic!("no codebook row {column}"))
            .clone()
    };
    assert_eq!(describe("counted")["Mã và nhãn"], "1 = Có; 0 = Không");
    assert!(describe("excluded_reason")["Nội dung"].contains("admin_excluded"));
    assert!(describe("flags")["Nội dung"].contains("dấu hiệu nghi vấn"));
    assert_eq!(describe("admin_decision")["Kiểu"], "Chữ");
    let pa1 = describe("PA1")["Mã và nhãn"].clone();
    assert!(
        pa1.ends_with(
            "5 = Rất hài lòng; 0 = Không áp dụng (giá trị thiếu: không tính vào mẫu số); \
             trống = không trả lời"
        ),
        "{pa1}"
    );
    let tc1 = describe("TC1")["Mã và nhãn"].clone();
    assert!(
        tc1.ends_with("5 = Rất hài lòng; trống = không trả lời"),
        "{tc1}"
    );

    // The SPSS syntax: labels, and 0 declared missing for the items that offer it.
    let sps = String::from_utf8(write(&fx.app, &spec, ExportFormat::Sps, &dir).await).unwrap();
    assert!(sps.contains("    counted F8.0\n"), "{sps}");
    assert!(sps.contains("  counted 1 'Có' 0 'Không'"), "{sps}");
    assert!(
        sps.contains("  PA1 1 'Rất không hài lòng' 2 'Không hài lòng' 3 'Bình thường' 4 'Hài lòng' 5 'Rất hài lòng' 0 'Không áp dụng'"),
        "{sps}"
    );
    let missing = &sps[sps.find("MISSING VALUES\n").expect("MISSING VALUES")..];
    let missing = &missing[..missing.find(".\n").unwrap()];
    assert_eq!(
        missing, "MISSING VALUES\n  PA1 (0)\n  /  PA2 (0)\n  /  PA3 (0)\n  /  NOI_CU_TRU (-2)",
        "only the items offering “Không áp dụng”, and the place of residence's “Không muốn trả lời”"
    );
    assert!(sps.find("MISSING VALUES").unwrap() < sps.rfind("EXECUTE.").unwrap());

    // The workbook's "Dữ liệu" and "Mã hóa" carry the same.
    let path = dir
        .path()
        .join(export::file_name(&spec, ExportFormat::Xlsx));
    write(&fx.app, &spec, ExportFormat::Xlsx, &dir).await;
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let data = book.worksheet_range("Dữ liệu").unwrap();
    let top = export::xlsx::HEADER_ROW as usize;
    let col = |name: &str| {
        (0..data.width())
            .find(|c| matches!(data.get((top, *c)), Some(Data::String(s)) if s == name))
            .unwrap_or_else(|| panic!("no {name} in Dữ liệu"))
    };
    let (id_col, counted_col, pa1_col) = (col("response_id"), col("counted"), col("PA1"));
    let straight_row = (top + 1..data.height())
        .find(|r| {
            matches!(data.get((*r, id_col)), Some(Data::Float(f)) if *f as i64 == fx.named["straight_excluded"])
        })
        .unwrap();
    assert_eq!(
        data.get((straight_row, counted_col)),
        Some(&Data::Float(0.0))
    );
    assert_eq!(data.get((straight_row, pa1_col)), Some(&Data::Float(0.0)));
    let codes = book.worksheet_range("Mã hóa").unwrap();
    let counted_described = (top + 1..codes.height()).any(|r| {
        matches!(codes.get((r, 0)), Some(Data::String(s)) if s == "counted")
            && matches!(codes.get((r, 4)), Some(Data::String(s)) if s == "1 = Có; 0 = Không")
    });
    assert!(counted_described, "Mã hóa describes counted");
}

// ---------------------------------------------------------------------------------------------
// The figures, recomputed from the raw data alone.
//
// Provenance of the formulas: /work/shared/domain/SIPAS.md "How the indices are computed"
// (Quyết định 1001/QĐ-BNV), survey-forms/README.md "The index" and "Not applicable and
// unanswered", and docs/methodology.md (which follows them step by step):
// - a row counts when `counted` = 1; the forms of a unit ("số phiếu") are its counted rows,
//   those left out (`counted` = 0) are reported beside them;
// - valid answers of an item: its cells holding a scale code (1..5 for satisfaction); empty
//   (unanswered) and 0 ("Không áp dụng") are not valid and not in any denominator;
// - criterion index = (answers 4 "Hài lòng" or 5 "Rất hài lòng") / valid answers; share of a
//   level = its answers / valid answers; mean = mean of the valid codes;
// - factor index = unweighted mean of the indices of its criteria that have one;
// - SIPAS index of a unit = unweighted mean of its factors' indices that exist;
// - expectation index = (answers "Nhiều" or "Rất nhiều") / valid answers;
// - intervals (95%): Wilson score interval of a criterion's index, Student t interval of a
//   mean; the unit index's interval is the index ± the half-width of the t interval of the
//   respondents' scores (a score: Σ w·[4 or 5] / Σ w over the criteria answered validly, with
//   w = 1 / (5 · criteria of the factor)), clipped to [0, 1] (crates/sipas-core/src/stats/mod.rs documents the
//   method; the code here is written from that text, not called).
// The factor of a criterion is its section in the codebook ("Nhóm câu hỏi"), the five factor
// titles of SIPAS.md; a unit row of the API holds the unit and the units below it, whose codes
// extend its code with ".".
// ---------------------------------------------------------------------------------------------

const FACTORS: [&str; 5] = [
    "Tiếp cận dịch vụ",
    "Thủ tục hành chính",
    "Công chức trực tiếp giải quyết công việc",
    "Kết quả giải quyết công việc",
    "Tiếp nhận, xử lý phản ánh, kiến nghị",
];
const EXPECTATIONS: &str = "Nhu cầu, mong đợi";
const RESPONDENTS: &str = "Thông tin người trả lời";
/// The two-sided 95% normal critical value, scipy.stats.norm.ppf(0.975).
const Z95: f64 = 1.959_963_984_540_054;

/// The Student t quantile t(0.975; df), by bisection on the regularized incomplete beta
/// function (statrs' special function, not its distribution inverse).
fn t975(df: f64) -> f64 {
    // P(T <= t) = 1 - ½ I_{df/(df+t²)}(df/2, ½) for t >= 0.
    let cdf =
        |t: f64| 1.0 - 0.5 * statrs::function::beta::beta_reg(df / 2.0, 0.5, df / (df + t * t));
    let (mut lo, mut hi) = (0.0f64, 100.0f64);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if cdf(mid) < 0.975 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The Student t 95% interval of a mean from values.
fn t_interval(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len() as f64;
    if values.len() < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = t975(n - 1.0) * (var / n).sqrt();
    Some((mean - half, mean + half))
}

/// The 95% interval of a mean of codes bounded by `(low, high)`, the scale's first and last
/// codes (docs/methodology.md, "Confidence intervals"): the Student t interval taken on the
/// logit of the mean rescaled to [0, 1], with half-width t·sd/√n ÷ ((high − low)·u(1 − u)),
/// transformed back; when the mean is on a bound or the codes are all equal, the t interval
/// clipped to the bounds.
fn bounded_t_interval(values: &[f64], (low, high): (f64, f64)) -> Option<(f64, f64)> {
    let (a, b) = t_interval(values)?;
    let (mean, half) = ((a + b) / 2.0, (b - a) / 2.0);
    let range = high - low;
    let u = (mean - low) / range;
    if range > 0.0 && u > 0.0 && u < 1.0 && half > 1e-12 {
        let centre = (u / (1.0 - u)).ln();
        let half_logit = half / (range * u * (1.0 - u));
        let back = |x: f64| low + range / (1.0 + (-x).exp());
        Some((back(centre - half_logit), back(centre + half_logit)))
    } else {
        Some((a.clamp(low, high), b.clamp(low, high)))
    }
}

/// The 95% interval of a unit's SIPAS index (docs/methodology.md, "Confidence intervals"):
/// variance v = s²/n (the respondents' scores) + Σ_c w_c² p_c(1 − p_c)(1/N_c − 1/n) over the
/// criteria with valid answers (share p_c of N_c valid answers; w_c = 1/(F·n_f), F the factors
/// with an index, n_f the criteria of the factor), and the Student t interval (n − 1 degrees of
/// freedom) of logit(index) with standard error √v / (index(1 − index)), transformed back;
/// `index ± t√v` clipped to [0, 1] when the index is 0 or 1 or v is 0.
fn index_interval(index: f64, scores: &[f64], factors: &[Vec<(f64, f64)>]) -> Option<(f64, f64)> {
    let n = scores.len() as f64;
    if scores.len() < 2 {
        return None;
    }
    let mean = scores.iter().sum::<f64>() / n;
    let s2 = scores.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let counted: Vec<&Vec<(f64, f64)>> = factors.iter().filter(|f| !f.is_empty()).collect();
    let mut v = s2 / n;
    for criteria in &counted {
        let w = 1.0 / (counted.len() as f64 * criteria.len() as f64);
        for &(p, k) in criteria.iter() {
            v += w * w * p * (1.0 - p) * (1.0 / k - 1.0 / n).max(0.0);
        }
    }
    let t = t975(n - 1.0);
    if v <= 1e-15 || index <= 0.0 || index >= 1.0 {
        let half = t * v.max(0.0).sqrt();
        return Some(((index - half).max(0.0), (index + half).min(1.0)));
    }
    let logit = (index / (1.0 - index)).ln();
    let half = t * v.sqrt() / (index * (1.0 - index));
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    Some((expit(logit - half), expit(logit + half)))
}

fn wilson(x: f64, n: f64) -> Option<(f64, f64)> {
    if n == 0.0 {
        return None;
    }
    let p = x / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    let low = if x == 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if x == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some((low, high))
}

/// What the codebook says of a coded column: its section and its codes with labels.
struct Coded {
    section: String,
    codes: Vec<(i16, String)>,
}

fn codebook(rows: &[HashMap<String, String>]) -> BTreeMap<String, Coded> {
    rows.iter()
        .filter(|r| r["Kiểu"] == "Số" && !r["Nhóm câu hỏi"].is_empty())
        .map(|r| {
            let codes = r["Mã và nhãn"]
                .split("; ")
                .filter_map(|part| {
                    let (code, label) = part.split_once(" = ")?;
                    Some((code.parse().ok()?, label.to_string()))
                })
                .collect();
            (
                r["Cột"].clone(),
                Coded {
                    section: r["Nhóm câu hỏi"].clone(),
                    codes,
                },
            )
        })
        .collect()
}

/// The figures of one item over `rows`, with the codes that are valid and the positive ones.
struct ItemFigures {
    n_valid: f64,
    not_applicable: f64,
    counts: BTreeMap<i16, f64>,
    positive: f64,
    sum: f64,
    values: Vec<f64>,
    /// The scale's first and last codes (the bounds of a mean).
    bounds: (f64, f64),
}

fn item_figures(
    rows: &[&HashMap<String, String>],
    column: &str,
    valid: &[i16],
    positive: &[i16],
) -> ItemFigures {
    let mut f = ItemFigures {
        n_valid: 0.0,
        not_applicable: 0.0,
        counts: BTreeMap::new(),
        positive: 0.0,
        sum: 0.0,
        values: Vec::new(),
        bounds: (
            f64::from(*valid.iter().min().unwrap()),
            f64::from(*valid.iter().max().unwrap()),
        ),
    };
    for r in rows {
        let cell = &r[column];
        if cell.is_empty() {
            continue;
        }
        let code: i16 = cell.parse().unwrap();
        if code == 0 {
            f.not_applicable += 1.0;
            continue;
        }
        assert!(valid.contains(&code), "{column}: code {code}");
        f.n_valid += 1.0;
        *f.counts.entry(code).or_default() += 1.0;
        f.sum += f64::from(code);
        f.values.push(f64::from(code));
        if positive.contains(&code) {
            f.positive += 1.0;
        }
    }
    f
}

/// Compares figures and keeps the largest difference.
#[derive(Default)]
struct Compare {
    figures: usize,
    max_diff: f64,
    worst: String,
}

impl Compare {
    fn num(&mut self, what: &str, api: &Value, ours: Option<f64>) {
        match (api.as_f64(), ours) {
            (Some(a), Some(b)) => {
                let d = (a - b).abs();
                assert!(d < 1e-9, "{what}: API {a}, raw data {b}");
                if d > self.max_diff {
                    self.max_diff = d;
                    self.worst = what.to_string();
                }
            }
            (None, None) => assert!(api.is_null(), "{what}: {api}"),
            (a, b) => panic!("{what}: API {a:?}, raw data {b:?}"),
        }
        self.figures += 1;
    }

    fn interval(&mut self, what: &str, api: &Value, ours: Option<(f64, f64)>) {
        self.num(&format!("{what}.low"), &api["low"], ours.map(|i| i.0));
        self.num(&format!("{what}.high"), &api["high"], ours.map(|i| i.1));
    }
}

/// Every figure of one row of the API against `rows` (the raw data of its units).
fn compare_unit(
    c: &mut Compare,
    api: &Value,
    rows: &[&HashMap<String, String>],
    book: &BTreeMap<String, Coded>,
) {
    let name = api["unit"]["code"].as_str().unwrap().to_string();
    let counted: Vec<&HashMap<String, String>> = rows
        .iter()
        .copied()
        .filter(|r| r["counted"] == "1")
        .collect();
    let left_out = rows
        .iter()
        .filter(|r| r["counted"] == "0" && r["excluded_reason"] != "pending")
        .count();
    c.num(
        &format!("{name} responses"),
        &api["responses"],
        Some(counted.len() as f64),
    );
    c.num(
        &format!("{name} excluded"),
        &api["excluded"],
        Some(left_out as f64),
    );

    let scale = |column: &str| -> Vec<i16> {
        book[column]
            .codes
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != 0)
            .collect()
    };
    let positive_by_label = |column: &str, labels: &[&str]| -> Vec<i16> {
        book[column]
            .codes
            .iter()
            .filter(|(_, l)| labels.contains(&l.as_str()))
            .map(|(k, _)| *k)
            .collect()
    };
    // Criteria and factors.
    let mut factor_indices = Vec::new();
    let mut factor_shares: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut criteria_of: Vec<Vec<String>> = Vec::new();
    let api_factors = api["factors"].as_array().unwrap();
    assert_eq!(api_factors.len(), FACTORS.len());
    for (title, api_factor) in FACTORS.iter().zip(api_factors) {
        assert_eq!(api_factor["title"], *title);
        let columns: Vec<String> = book
            .iter()
            .filter(|(_, coded)| coded.section == *title)
            .map(|(column, _)| column.clone())
            .collect();
        let api_criteria = api_factor["criteria"].as_array().unwrap();
        assert_eq!(api_criteria.len(), columns.len(), "{title}");
        let mut indices = Vec::new();
        let mut shares = Vec::new();
        for api_item in api_criteria {
            let column = api_item["code"].as_str().unwrap();
            assert!(columns.iter().any(|c| c == column), "{column} in {title}");
            let what = format!("{name} {column}");
            let f = item_figures(&counted, column, &scale(column), &[4, 5]);
            let index = (f.n_valid > 0.0).then(|| f.positive / f.n_valid);
            compare_item(c, &what, api_item, &f, index);
            if let Some(i) = index {
                indices.push(i);
                shares.push((i, f.n_valid));
            }
        }
        factor_shares.push(shares);
        let factor =
            (!indices.is_empty()).then(|| indices.iter().sum::<f64>() / indices.len() as f64);
        c.num(
            &format!("{name} factor {title}"),
            &api_factor["index"],
            factor,
        );
        if let Some(f) = factor {
            factor_indices.push(f);
        }
        criteria_of.push(columns);
    }
    let index = (!factor_indices.is_empty())
        .then(|| factor_indices.iter().sum::<f64>() / factor_indices.len() as f64);
    c.num(&format!("{name} index"), &api["index"], index);

    // The interval of the index: the respondents' scores.
    let scores: Vec<f64> = counted
        .iter()
        .filter_map(|r| {
            let (mut w_sum, mut sat_sum) = (0.0, 0.0);
            for columns in &criteria_of {
                let w = 1.0 / (FACTORS.len() as f64 * columns.len() as f64);
                for column in columns {
                    match r[column].as_str() {
                        "" | "0" => {}
                        code => {
                            w_sum += w;
                            if matches!(code, "4" | "5") {
                                sat_sum += w;
                            }
                        }
                    }
                }
            }
            (w_sum > 0.0).then(|| sat_sum / w_sum)
        })
        .collect();
    let index_ci = index.and_then(|index| index_interval(index, &scores, &factor_shares));
    c.interval(&format!("{name} index_ci"), &api["index_ci"], index_ci);

    // Expectations: "Nhiều" or "Rất nhiều".
    let api_expectations = api["expectations"].as_array().unwrap();
    let expectation_columns: Vec<&String> = book
        .iter()
        .filter(|(_, coded)| coded.section == EXPECTATIONS)
        .map(|(column, _)| column)
        .collect();
    assert_eq!(api_expectations.len(), expectation_columns.len());
    for api_item in api_expectations {
        let column = api_item["code"].as_str().unwrap();
        let positive = positive_by_label(column, &["Nhiều", "Rất nhiều"]);
        assert_eq!(positive.len(), 2);
        let f = item_figures(&counted, column, &scale(column), &positive);
        let index = (f.n_valid > 0.0).then(|| f.positive / f.n_valid);
        compare_item(c, &format!("{name} {column}"), api_item, &f, index);
    }

    // Respondents: counts per code.
    for api_item in api["respondents"].as_array().unwrap() {
        let column = api_item["code"].as_str().unwrap();
        assert_eq!(book[column].section, RESPONDENTS);
        let f = item_figures(&counted, column, &scale(column), &[]);
        for entry in api_item["counts"].as_array().unwrap() {
            let code = entry[0].as_i64().unwrap() as i16;
            c.num(
                &format!("{name} {column}={code}"),
                &entry[2],
                Some(f.counts.get(&code).copied().unwrap_or(0.0)),
            );
        }
        c.num(
            &format!("{name} {column} answered"),
            &api_item["answered"],
            Some(f.n_valid),
        );
    }
}

fn compare_item(
    c: &mut Compare,
    what: &str,
    api_item: &Value,
    f: &ItemFigures,
    index: Option<f64>,
) {
    let stats = &api_item["stats"];
    c.num(
        &format!("{what} n_valid"),
        &stats["n_valid"],
        Some(f.n_valid),
    );
    c.num(
        &format!("{what} not_applicable"),
        &api_item["not_applicable"],
        Some(f.not_applicable),
    );
    for share in stats["shares"].as_array().unwrap() {
        let code = share[0].as_i64().unwrap() as i16;
        let ours = if f.n_valid > 0.0 {
            f.counts.get(&code).copied().unwrap_or(0.0) / f.n_valid
        } else {
            0.0
        };
        c.num(&format!("{what} share {code}"), &share[1], Some(ours));
    }
    c.num(
        &format!("{what} mean"),
        &stats["mean"],
        (f.n_valid > 0.0).then(|| f.sum / f.n_valid),
    );
    c.interval(
        &format!("{what} mean_ci"),
        &stats["mean_ci"],
        bounded_t_interval(&f.values, f.bounds),
    );
    c.num(&format!("{what} index"), &stats["index"], index);
    c.interval(
        &format!("{what} index_ci"),
        &stats["index_ci"],
        wilson(f.positive, f.n_valid),
    );
}

#[tokio::test]
async fn the_csv_alone_reproduces_every_figure_of_the_api() {
    let fx = fixture().await;
    let spec = spec(&fx.app).await;
    let dir = TempDir::new("raw-data-figures");
    let (_, rows) = read_csv(&write(&fx.app, &spec, ExportFormat::Csv, &dir).await);
    let (_, described) = read_csv(&write(&fx.app, &spec, ExportFormat::Codebook, &dir).await);
    let book = codebook(&described);
    let response = fx
        .admin
        .get(&format!(
            "/api/v1/stats?from=2026-11-01&to=2026-11-30&form={FORM}"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let api: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(
        api["root"]["id"].as_i64(),
        spec.query.root.map(i64::from),
        "the same selection"
    );

    let mut c = Compare::default();
    let api_rows = api["rows"].as_array().unwrap();
    let mut units_with_data = 0;
    for api_row in api_rows {
        let code = api_row["unit"]["code"].as_str().unwrap();
        let prefix = format!("{code}.");
        let mine: Vec<&HashMap<String, String>> = rows
            .iter()
            .filter(|r| r["unit_code"] == code || r["unit_code"].starts_with(&prefix))
            .collect();
        if !mine.is_empty() {
            units_with_data += 1;
        }
        compare_unit(&mut c, api_row, &mine, &book);
    }
    assert_eq!(
        units_with_data, 3,
        "the three units of the fixture are rows"
    );
    let all: Vec<&HashMap<String, String>> = rows.iter().collect();
    compare_unit(&mut c, &api["total"], &all, &book);

    // The flagged units: what issue 13 could not reproduce.
    let row_of = |code: &str| api_rows.iter().find(|r| r["unit"]["code"] == code).unwrap();
    assert_eq!(row_of(XUAN_BAC)["responses"], 17);
    assert_eq!(row_of(XUAN_BAC)["excluded"], 1);
    assert_eq!(row_of(XUAN_DINH)["responses"], 17);
    assert_eq!(row_of(XUAN_DINH)["excluded"], 2);
    assert_eq!(row_of(GIA_RAY)["responses"], 17);
    assert_eq!(row_of(GIA_RAY)["excluded"], 1);
    assert!(c.figures > 1000, "{} figures compared", c.figures);
    println!(
        "{} figures of GET /api/v1/stats recomputed from the CSV; largest difference {:e} ({})",
        c.figures, c.max_diff, c.worst
    );
}

/// The worked example of docs/methodology.md, read from the page itself, is what the service
/// publishes for those rows (`sipas::reports::unit_report`, the function behind the API): the
/// criteria table (valid answers, satisfied, not applicable), the factors and the index.
#[test]
fn the_worked_example_of_the_methodology_is_what_the_service_publishes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/methodology.md")).unwrap();
    let example = &page[page.find("## A worked example").unwrap()..];
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header = cells(
        example
            .lines()
            .find(|l| l.starts_with("| response_id |"))
            .unwrap(),
    );
    let mut figures = sipas::reports::Figures::default();
    let mut rows = 0;
    for line in example.lines().filter(|l| l.starts_with("| 10")) {
        rows += 1;
        let row = cells(line);
        if row[1] != "1" {
            continue;
        }
        figures.responses += 1;
        for (column, cell) in header.iter().zip(&row).skip(3) {
            if !cell.is_empty() {
                *figures
                    .answers
                    .entry((column.clone(), cell.parse().unwrap()))
                    .or_default() += 1;
            }
        }
    }
    assert_eq!((rows, figures.responses), (6, 5));
    let text = std::fs::read_to_string(root.join("survey-forms/sipas-1001-dich-vu.toml")).unwrap();
    let form = sipas::forms::parse_form("sipas-1001-dich-vu.toml", &text).unwrap();
    let unit = sipas::reports::UnitInfo {
        id: 1,
        code: "vi-du".into(),
        name: "Ví dụ".into(),
        kind: "commune".into(),
    };
    let report = sipas::reports::unit_report(&form, unit, figures, None);
    let mut criteria = 0;
    for line in example
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("% |") && l.split('|').count() == 8)
    {
        let row = cells(line);
        let item = report.item(&row[0]).unwrap_or_else(|| panic!("{line}"));
        let valid: u64 = row[1].parse().unwrap();
        let satisfied: f64 = row[2].parse().unwrap();
        assert_eq!(item.stats.n_valid, valid, "{line}");
        assert!(
            (item.stats.index.unwrap() * valid as f64 - satisfied).abs() < 1e-9,
            "{line}"
        );
        assert_eq!(item.not_applicable.to_string(), row[3], "{line}");
        criteria += 1;
    }
    assert_eq!(criteria, 19, "every criterion of the table");
    let factors: Vec<String> = report
        .factors
        .iter()
        .map(|f| format!("{:.2}%", f.index.unwrap() * 100.0))
        .collect();
    assert_eq!(factors, ["68.75%", "78.75%", "76.00%", "73.33%", "72.22%"]);
    for factor in &factors {
        assert!(example.contains(&format!("= {factor} |")), "{factor}");
    }
    let index = report.index.unwrap();
    assert!((index - 6643.0 / 9000.0).abs() < 1e-12, "{index}");
    assert!(example.contains(&format!("**{:.2}%**", index * 100.0)));
}
