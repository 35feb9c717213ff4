//! Staff area: the audit log, read-only, for admins (everyone else gets 404).

use actix_web::{HttpRequest, HttpResponse, web};

use super::html;
use crate::auth::Staff;
use crate::db::accounts::Account;
use crate::db::audit::{self as audit_log, AuditFilter, Author};
use crate::error::AppError;
use crate::views::staff::audit as views;
use crate::web::AppState;

/// Entries per page.
pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/audit").route(web::get().to(list)));
}

/// The filter in the query string. Values that mean nothing (not a number, empty, too long)
/// are ignored; repeated keys count once.
fn filter_from(query: &str) -> AuditFilter {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty() && v.len() <= 200)
    };
    AuditFilter {
        before: value("before")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|id| *id > 0),
        entity: value("entity").map(str::to_string),
        entity_id: value("entity_id").map(str::to_string),
        author: value("account").and_then(|v| match v {
            "cli" => Some(Author::CommandLine),
            id => id.parse().ok().map(Author::Account),
        }),
    }
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let filter = filter_from(request.query_string());
    let mut conn = state.pool.get().await?;
    let mut rows = audit_log::find(&mut conn, &filter, PAGE_SIZE + 1).await?;
    let older = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| r.entry.id)
    } else {
        None
    };
    let entities = audit_log::entities(&mut conn).await?;
    let accounts = Account::all(&mut conn).await?;
    let mut names = views::Names::default();
    for row in audit_log::names(&mut conn).await? {
        match row.kind.as_str() {
            "unit" => {
                names.units.insert(row.id, row.name);
            }
            "desk" => {
                names.desks.insert(row.id, (row.name, row.a.unwrap_or(0)));
            }
            "plan" => {
                names
                    .plans
                    .insert(row.id, (row.name, row.a.unwrap_or(0), row.b.unwrap_or(0)));
            }
            "period" => {
                names.periods.insert(row.id, (row.name, row.a.unwrap_or(0)));
            }
            _ => {
                names.accounts.insert(row.id, row.name);
            }
        }
    }
    Ok(html(
        views::list(&staff, &rows, &filter, &entities, &accounts, &names, older),
        200,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meaningless_filters_are_ignored() {
        assert_eq!(filter_from(""), AuditFilter::default());
        assert_eq!(
            filter_from("before=abc&account=x&entity=&before=7"),
            AuditFilter::default()
        );
        assert_eq!(
            filter_from("before=-3&account=99999999999"),
            AuditFilter::default()
        );
        let filter = filter_from("before=120&entity=account&entity_id=5&account=cli&%ZZ");
        assert_eq!(filter.before, Some(120));
        assert_eq!(filter.entity.as_deref(), Some("account"));
        assert_eq!(filter.entity_id.as_deref(), Some("5"));
        assert_eq!(filter.author, Some(Author::CommandLine));
    }
}
