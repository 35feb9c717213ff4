//! The demo district: Xuân Lộc, Đồng Nai, with its departments, communes and town, and a
//! reception desk for each. Seeding is idempotent: running it again changes nothing.

use diesel_async::AsyncPgConnection;

use crate::db::desks::{Desk, NewDesk};
use crate::db::units::{NewUnit, Unit};

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
