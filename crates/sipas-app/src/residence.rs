//! The respondent's place of residence (issue 19): the places the citizen's form offers (held
//! in memory for a short while, and kept while the database is unreachable, so that the form
//! still renders and its answers go to the spool), and the table of a unit's responses by
//! where the respondents live.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Error;
use crate::db::units::Unit;
use crate::domain::access::Scope;
use crate::domain::tree::{selected_root, subtree};
use crate::forms::{FormRegistry, ResidencePlace};
use crate::small_cells::Disclosure;
use sipas_core::reports::ReportQuery;
use sipas_core::residence::{Place, ResidenceTable, table};

/// How long the list of places is used before it is read again: a commune created or ended
/// by a reorganisation shows on the form within this time (a unit ended meanwhile is stored as
/// no answer, see migration 000050).
pub const PLACES_FRESH_FOR: Duration = Duration::from_secs(30);

/// Up to this many responses in the period, a unit's page shows its table by residence at
/// once: [`by_residence`] reads every response of the unit (no rollup holds the places),
/// about 55 ms for 4,000 and 11 s for a province's 1,000,000 on the 2-core machine of the
/// benchmarks. For more, the page offers a link that asks for it.
pub const TABLE_INLINE_MAX: u64 = 10_000;

/// The places of residence of the unit tree, as this instance last read them.
#[derive(Debug, Default)]
pub struct PlaceCache {
    inner: Mutex<Option<(Arc<Vec<ResidencePlace>>, Instant)>>,
}

impl PlaceCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn held(&self) -> Option<(Arc<Vec<ResidencePlace>>, Instant)> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The places: those held when fresh; else read again (`outage`: the database is known to
    /// be unreachable just now, so the held list is used, however old). When they cannot be
    /// read, the held list (empty when never read: the form then offers only "Nơi khác" and
    /// "Không muốn trả lời"), never an error: the question is optional and the form must
    /// render.
    pub async fn get(&self, pool: &crate::db::Pool, outage: bool) -> Arc<Vec<ResidencePlace>> {
        let held = self.held();
        if let Some((places, at)) = &held
            && (outage || at.elapsed() < PLACES_FRESH_FOR)
        {
            return places.clone();
        }
        let stale = || held.as_ref().map(|(p, _)| p.clone()).unwrap_or_default();
        if outage {
            return stale();
        }
        let read = async {
            let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::db::residence::places(&mut conn, crate::domain::time::today_in_vietnam())
                .await
                .map_err(anyhow::Error::from)
        };
        match tokio::time::timeout(Duration::from_secs(2), read).await {
            Ok(Ok(places)) => {
                let places = Arc::new(places);
                *self
                    .inner
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some((places.clone(), Instant::now()));
                places
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "places of residence not read; the last list is used");
                stale()
            }
            Err(_) => {
                tracing::warn!("places of residence not read in time; the last list is used");
                stale()
            }
        }
    }
}

/// The responses served by a unit (and the units below it, within the scope), by the
/// respondents' place of residence.
#[derive(Debug, Clone, Serialize)]
pub struct ResidenceReport {
    pub form_id: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// The unit whose responses (its own and its sub-units') are counted.
    pub unit_id: i32,
    pub unit_name: String,
    /// Whether the form (its newest version) asks for the place of residence.
    pub asked: bool,
    #[serde(flatten)]
    pub table: ResidenceTable,
}

/// The table of `query` (its form, days, root unit and channel; respondent filters do not
/// apply) within `scope`: a root outside the scope is not found. Counted in SQL
/// (`sql/residence_stats.sql`); a unit account gets the small-cell rule.
pub async fn by_residence(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &FormRegistry,
    scope: &Scope,
    query: &ReportQuery,
) -> Result<ResidenceReport, Error> {
    let form = forms.latest(&query.form_id).ok_or(Error::NotFound)?;
    let all = Unit::all_by_name(conn).await?;
    let root = selected_root(&all, scope, query.root).ok_or(Error::NotFound)?;
    let root_id = root.id;
    let in_scope: Vec<i32> = subtree(&all, root_id)
        .into_iter()
        .filter(|id| scope.contains(*id))
        .collect();
    let filter = crate::db::stats::StatsFilter {
        form_id: query.form_id.clone(),
        from: query.from,
        to: query.to,
        units: Some(in_scope),
        channel: query.channel.clone(),
    };
    let groups = crate::db::residence::figures_by_residence(conn, &filter).await?;
    let named = |id: i32| {
        all.iter()
            .find(|u| u.id == id)
            .map(|u| (u.name.clone(), u.admin_code.clone()))
            .unwrap_or_else(|| (format!("Đơn vị {id}"), None))
    };
    let groups = groups
        .into_iter()
        .map(|((unit_id, code), figures)| (Place::of(unit_id, code, named), figures))
        .collect();
    Ok(ResidenceReport {
        form_id: query.form_id.clone(),
        from: query.from,
        to: query.to,
        unit_id: root.id,
        unit_name: root.name.clone(),
        asked: form.form.residence_item().is_some(),
        table: table(&form.form, groups, Disclosure::for_scope(scope)),
    })
}
