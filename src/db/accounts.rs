//! Staff accounts and the units they look after.

use chrono::{DateTime, Utc};
use diesel::sql_types::Int4;
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{account_units, accounts};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i32,
    pub username: String,
    pub display_name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
}

#[derive(QueryableByName)]
struct UnitId {
    #[diesel(sql_type = Int4)]
    id: i32,
}

impl Account {
    pub async fn find(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Option<Account>> {
        accounts::table
            .find(id)
            .select(Account::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    pub async fn find_by_username(
        conn: &mut AsyncPgConnection,
        username: &str,
    ) -> diesel::QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::username.eq(username))
            .select(Account::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewAccount<'_>,
        unit_ids: &[i32],
    ) -> diesel::QueryResult<Account> {
        let account: Account = diesel::insert_into(accounts::table)
            .values(new)
            .returning(Account::as_returning())
            .get_result(conn)
            .await?;
        Self::set_units(conn, account.id, unit_ids).await?;
        Ok(account)
    }

    /// Replaces the units a `unit` account looks after.
    pub async fn set_units(
        conn: &mut AsyncPgConnection,
        account_id: i32,
        unit_ids: &[i32],
    ) -> diesel::QueryResult<()> {
        diesel::delete(account_units::table.filter(account_units::account_id.eq(account_id)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = unit_ids
            .iter()
            .map(|u| {
                (
                    account_units::account_id.eq(account_id),
                    account_units::unit_id.eq(*u),
                )
            })
            .collect();
        diesel::insert_into(account_units::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The units assigned to the account (not their descendants).
    pub async fn assigned_units(
        conn: &mut AsyncPgConnection,
        account_id: i32,
    ) -> diesel::QueryResult<Vec<i32>> {
        account_units::table
            .filter(account_units::account_id.eq(account_id))
            .select(account_units::unit_id)
            .order(account_units::unit_id)
            .load(conn)
            .await
    }

    /// The assigned units and every unit below them.
    pub async fn unit_subtree(
        conn: &mut AsyncPgConnection,
        account_id: i32,
    ) -> diesel::QueryResult<Vec<i32>> {
        let rows: Vec<UnitId> = diesel::sql_query(
            "WITH RECURSIVE sub AS ( \
                 SELECT unit_id AS id FROM account_units WHERE account_id = $1 \
                 UNION \
                 SELECT u.id FROM units u JOIN sub ON u.parent_id = sub.id) \
             SELECT id FROM sub ORDER BY id",
        )
        .bind::<Int4, _>(account_id)
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    pub async fn set_password_hash(
        conn: &mut AsyncPgConnection,
        account_id: i32,
        hash: &str,
    ) -> diesel::QueryResult<Account> {
        diesel::update(accounts::table.find(account_id))
            .set((
                accounts::password_hash.eq(hash),
                accounts::password_changed_at.eq(diesel::dsl::now),
            ))
            .returning(Account::as_returning())
            .get_result(conn)
            .await
    }
}
