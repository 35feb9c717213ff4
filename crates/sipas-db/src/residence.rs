//! The respondent's place of residence (issue 19): the places the survey offers, the names the
//! exports label stored places with, and the counts of the table "Theo nơi cư trú của người
//! trả lời" (aggregated in SQL: `sql/residence_stats.sql`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{Array, Date, Int2, Int4, Int8, Nullable, Text};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::units;
use super::stats::StatsFilter;
use sipas_core::forms::ResidencePlace;
use sipas_core::reports::Figures;

/// The unit kinds a respondent can live in.
pub const RESIDENCE_KINDS: [&str; 3] = ["commune", "ward", "town"];

#[derive(Debug, QueryableByName)]
struct PlaceRow {
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    group_name: String,
}

/// The communes, wards and towns existing on `day` (Vietnam's), by parent name then name: the
/// choices of a residence item without a list of its own.
pub async fn places(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
) -> diesel::QueryResult<Vec<ResidencePlace>> {
    let rows: Vec<PlaceRow> = diesel::sql_query(include_str!("sql/residence_places.sql"))
        .bind::<Date, _>(day)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ResidencePlace {
            unit_id: r.unit_id,
            name: r.name,
            group: r.group_name,
        })
        .collect())
}

/// Every unit a response can name as its residence (those that ended too: older responses
/// keep theirs), by id: its name and official code. For the labels of the exports.
pub async fn unit_names(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<BTreeMap<i32, (String, Option<String>)>> {
    let rows: Vec<(i32, String, Option<String>)> = units::table
        .filter(units::kind.eq_any(RESIDENCE_KINDS))
        .select((units::id, units::name, units::admin_code))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, code)| (id, (name, code)))
        .collect())
}

/// The names and official codes of the units `ids` (whatever their kind).
pub async fn names_of(
    conn: &mut AsyncPgConnection,
    ids: &[i32],
) -> diesel::QueryResult<HashMap<i32, (String, Option<String>)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, String, Option<String>)> = units::table
        .filter(units::id.eq_any(ids))
        .select((units::id, units::name, units::admin_code))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, code)| (id, (name, code)))
        .collect())
}

#[derive(Debug, QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = Nullable<Int4>)]
    residence_unit_id: Option<i32>,
    #[diesel(sql_type = Nullable<Int2>)]
    residence_code: Option<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    item_code: Option<String>,
    #[diesel(sql_type = Nullable<Int2>)]
    value: Option<i16>,
    #[diesel(sql_type = Int8)]
    n: i64,
}

/// The stored place of residence of a group: (`residence_unit_id`, `residence_code`).
pub type ResidenceKey = (Option<i32>, Option<i16>);

static STATS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    include_str!("sql/residence_stats.sql").replace("{excluded}", super::flags::EXCLUDED_SQL)
});

/// The figures of the responses of `filter`, by place of residence (only the places answered;
/// the unanswered are the key `(None, None)`). The scores' moments are not read (the table
/// shows counts and the index).
pub async fn figures_by_residence(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
) -> diesel::QueryResult<Vec<(ResidenceKey, Figures)>> {
    if filter.from > filter.to {
        return Ok(Vec::new());
    }
    super::stats::refresh_for_read(conn).await?;
    let rows: Vec<StatsRow> = diesel::sql_query(STATS_SQL.as_str())
        .bind::<Text, _>(&filter.form_id)
        .bind::<Date, _>(filter.from)
        .bind::<Date, _>(filter.to)
        .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
        .bind::<Nullable<Text>, _>(filter.channel.as_deref())
        .load(conn)
        .await?;
    let mut groups: BTreeMap<ResidenceKey, Figures> = BTreeMap::new();
    for row in rows {
        let figures = groups
            .entry((row.residence_unit_id, row.residence_code))
            .or_default();
        let n = row.n.max(0) as u64;
        match (row.item_code, row.value) {
            (Some(code), Some(value)) => {
                *figures.answers.entry((code, value)).or_default() += n;
            }
            _ => figures.responses += n,
        }
    }
    Ok(groups.into_iter().collect())
}
