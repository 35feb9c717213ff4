//! Administrative units: a tree (province -> district -> department / commune / town).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, Bool, Int4, Int8, Nullable, Text};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::units;
use crate::domain::access::Scope;
use crate::domain::tree::TreeNode;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i32,
    pub parent_id: Option<i32>,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub default_form_id: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// The official administrative unit code (mã đơn vị hành chính), if it has one.
    pub admin_code: Option<String>,
    /// The first day the unit exists; `None`: since before the records began.
    pub valid_from: Option<NaiveDate>,
    /// The first day it no longer exists (the effective date of the act that ended it).
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = units)]
pub struct NewUnit<'a> {
    pub parent_id: Option<i32>,
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub default_form_id: Option<&'a str>,
    pub admin_code: Option<&'a str>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

impl Unit {
    pub async fn find_by_code(
        conn: &mut AsyncPgConnection,
        code: &str,
    ) -> diesel::QueryResult<Option<Unit>> {
        units::table
            .filter(units::code.eq(code))
            .select(Unit::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Inserts the unit, or updates the name, parent, kind and default form of the unit with
    /// the same code.
    pub async fn upsert(
        conn: &mut AsyncPgConnection,
        new: &NewUnit<'_>,
    ) -> diesel::QueryResult<Unit> {
        diesel::insert_into(units::table)
            .values(new)
            .on_conflict(units::code)
            .do_update()
            .set((
                units::parent_id.eq(new.parent_id),
                units::name.eq(new.name),
                units::kind.eq(new.kind),
                units::default_form_id.eq(new.default_form_id),
            ))
            .returning(Unit::as_returning())
            .get_result(conn)
            .await
    }
}

/// Longest accepted name of a unit or a desk, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The kinds of unit (the `units.kind` values), with their names in the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    Province,
    District,
    Department,
    Commune,
    Town,
    Ward,
    /// The province's Public Administrative Service Centre (Trung tâm Phục vụ hành chính công).
    ServiceCentre,
    /// A branch or service point of the province's centre (chi nhánh / điểm phục vụ).
    CentreBranch,
    /// A commune-level Public Administrative Service Centre.
    CommuneCentre,
    Other,
}

impl UnitKind {
    pub const ALL: [UnitKind; 10] = [
        UnitKind::Province,
        UnitKind::District,
        UnitKind::Department,
        UnitKind::Commune,
        UnitKind::Town,
        UnitKind::Ward,
        UnitKind::ServiceCentre,
        UnitKind::CentreBranch,
        UnitKind::CommuneCentre,
        UnitKind::Other,
    ];

    pub fn parse(text: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Province => "province",
            UnitKind::District => "district",
            UnitKind::Department => "department",
            UnitKind::Commune => "commune",
            UnitKind::Town => "town",
            UnitKind::Ward => "ward",
            UnitKind::ServiceCentre => "service_centre",
            UnitKind::CentreBranch => "centre_branch",
            UnitKind::CommuneCentre => "commune_centre",
            UnitKind::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UnitKind::Province => "Tỉnh",
            UnitKind::District => "Huyện",
            UnitKind::Department => "Phòng/ban",
            UnitKind::Commune => "Xã",
            UnitKind::Town => "Thị trấn",
            UnitKind::Ward => "Phường",
            UnitKind::ServiceCentre => "Trung tâm Phục vụ hành chính công tỉnh",
            UnitKind::CentreBranch => "Chi nhánh / điểm phục vụ",
            UnitKind::CommuneCentre => "Trung tâm Phục vụ hành chính công xã",
            UnitKind::Other => "Khác",
        }
    }

    /// The interface name of a stored kind.
    pub fn label_of(kind: &str) -> &'static str {
        UnitKind::parse(kind).map_or("Khác", UnitKind::label)
    }
}

/// Whether `code` is an acceptable unit code: 1 to 64 of a-z, 0-9, '.', '-', starting with a
/// letter or digit (as the table's CHECK says).
pub fn is_valid_unit_code(code: &str) -> bool {
    let mut bytes = code.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && code.len() <= 64
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
}

/// One unit of the tree listing.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UnitRow {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    pub parent_id: Option<i32>,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub default_form_id: Option<String>,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    /// 0 for a unit without a parent.
    #[diesel(sql_type = Int4)]
    pub depth: i32,
    /// The unit's own default form, else the nearest one up the tree; `None`: the
    /// installation default.
    #[diesel(sql_type = Nullable<Text>)]
    pub effective_form_id: Option<String>,
    #[diesel(sql_type = Int8)]
    pub desks: i64,
    #[diesel(sql_type = Int8)]
    pub responses: i64,
}

impl TreeNode for UnitRow {
    fn id(&self) -> i32 {
        self.id
    }
    fn parent_id(&self) -> Option<i32> {
        self.parent_id
    }
    fn active(&self) -> bool {
        self.active
    }
}

impl TreeNode for Unit {
    fn id(&self) -> i32 {
        self.id
    }
    fn parent_id(&self) -> Option<i32> {
        self.parent_id
    }
    fn active(&self) -> bool {
        self.active
    }
}

/// What can be changed on a unit (its code is fixed at creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFields {
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<i32>,
    /// `None`: inherit from the parent.
    pub default_form_id: Option<String>,
    /// The official administrative unit code (2, 3 or 5 digits, [`is_valid_admin_code`]).
    pub admin_code: Option<String>,
    /// The first day the unit exists; `None`: since before the records began.
    pub valid_from: Option<NaiveDate>,
    /// The first day it no longer exists; `None`: it still exists. After `valid_from`.
    pub valid_until: Option<NaiveDate>,
}

/// Whether `code` is an acceptable official administrative unit code: 2 digits (province),
/// 3 (former district) or 5 (commune, ward), as the table's CHECK says.
pub fn is_valid_admin_code(code: &str) -> bool {
    matches!(code.len(), 2 | 3 | 5) && code.bytes().all(|b| b.is_ascii_digit())
}

/// Why a unit was not saved (nothing was stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRefusal {
    DuplicateCode,
    /// Another current unit (without an end date) has this official administrative code.
    DuplicateAdminCode,
    UnknownParent,
    /// The new parent is the unit itself or one of its descendants.
    IntoOwnSubtree,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Int4)]
    id: i32,
}

/// Serialises changes of the unit tree (moves and creations), so that two concurrent moves
/// cannot make a cycle.
const TREE_LOCK: i64 = 0x5349_5041_535f_5554;

/// Takes the unit tree's lock until the end of the transaction.
pub async fn lock_tree(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({TREE_LOCK})"))
        .execute(conn)
        .await?;
    Ok(())
}

impl Unit {
    pub async fn find(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<Option<Unit>> {
        units::table
            .find(id)
            .select(Unit::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Every unit (the whole tree, whatever the account's scope: callers walk it with
    /// `crate::domain::tree`), sorted by name.
    pub async fn all_by_name(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<Unit>> {
        let mut all: Vec<Unit> = units::table
            .select(Unit::as_select())
            .order(units::id)
            .load(conn)
            .await?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The units of `scope` as a tree, in display order, with their counts.
    pub async fn find_for_scope(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
    ) -> diesel::QueryResult<Vec<UnitRow>> {
        diesel::sql_query(include_str!("sql/units_tree.sql"))
            .bind::<Nullable<Array<Int4>>, _>(scope.unit_ids().map(<[i32]>::to_vec))
            .load(conn)
            .await
    }

    /// The unit `id` and every unit below it.
    pub async fn subtree_ids(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Vec<i32>> {
        let rows: Vec<IdRow> = diesel::sql_query(include_str!("sql/units_subtree.sql"))
            .bind::<Int4, _>(id)
            .load(conn)
            .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Inserts the unit (no upsert: a code taken is the database's unique violation).
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: &NewUnit<'_>,
    ) -> diesel::QueryResult<Unit> {
        diesel::insert_into(units::table)
            .values(new)
            .returning(Unit::as_returning())
            .get_result(conn)
            .await
    }

    /// Sets the name, kind, parent and default form of the unit `id`.
    pub async fn update_fields(
        conn: &mut AsyncPgConnection,
        id: i32,
        fields: &UnitFields,
    ) -> diesel::QueryResult<Unit> {
        diesel::update(units::table.find(id))
            .set((
                units::name.eq(&fields.name),
                units::kind.eq(fields.kind.as_str()),
                units::parent_id.eq(fields.parent_id),
                units::default_form_id.eq(fields.default_form_id.as_deref()),
                units::admin_code.eq(fields.admin_code.as_deref()),
                units::valid_from.eq(fields.valid_from),
                units::valid_until.eq(fields.valid_until),
            ))
            .returning(Unit::as_returning())
            .get_result(conn)
            .await
    }

    /// The current unit (without an end date) other than `except` that has the official
    /// administrative code `admin_code`, if any.
    pub async fn find_current_by_admin_code(
        conn: &mut AsyncPgConnection,
        admin_code: &str,
        except: Option<i32>,
    ) -> diesel::QueryResult<Option<Unit>> {
        units::table
            .filter(units::admin_code.eq(admin_code))
            .filter(units::valid_until.is_null())
            .filter(units::id.ne(except.unwrap_or(-1)))
            .select(Unit::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The unit `id`, its row locked until the end of the transaction; `Err(NotFound)` for an
    /// unknown unit.
    pub async fn lock(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<Unit> {
        units::table
            .find(id)
            .select(Unit::as_select())
            .for_update()
            .get_result(conn)
            .await
    }

    /// Deactivates or reactivates the unit `id`.
    pub async fn set_active(
        conn: &mut AsyncPgConnection,
        id: i32,
        active: bool,
    ) -> diesel::QueryResult<Unit> {
        diesel::update(units::table.find(id))
            .set(units::active.eq(active))
            .returning(Unit::as_returning())
            .get_result(conn)
            .await
    }
}
