//! Staff accounts and the units they look after.

use chrono::{DateTime, Utc};
use diesel::sql_types::Int4;
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{account_units, accounts, units};
use crate::domain::access::{Actor, Role, Scope};

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
    /// Sessions issued before this instant are no longer valid (moved forward at sign-out).
    pub sessions_valid_after: DateTime<Utc>,
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

    /// The actor `account` is: its role, and the units it sees (`None` for a role this version
    /// does not know).
    pub async fn actor(
        conn: &mut AsyncPgConnection,
        account: &Account,
    ) -> diesel::QueryResult<Option<Actor>> {
        let Some(role) = Role::parse(&account.role) else {
            return Ok(None);
        };
        let scope = match role {
            Role::Admin | Role::Viewer => Scope::All,
            Role::Unit => Scope::Units(Self::unit_subtree(conn, account.id).await?),
        };
        Ok(Some(Actor {
            account_id: account.id,
            role,
            scope,
        }))
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

    /// Ends every session of the account issued until now.
    pub async fn end_sessions(
        conn: &mut AsyncPgConnection,
        account_id: i32,
    ) -> diesel::QueryResult<()> {
        diesel::update(accounts::table.find(account_id))
            .set(accounts::sessions_valid_after.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        Ok(())
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

    /// Every account, by user name (the administration list).
    pub async fn all(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<Account>> {
        accounts::table
            .select(Account::as_select())
            .order(accounts::username)
            .load(conn)
            .await
    }

    /// The account, its row locked until the end of the transaction (for a change).
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Option<Account>> {
        accounts::table
            .find(id)
            .select(Account::as_select())
            .for_update()
            .get_result(conn)
            .await
            .optional()
    }

    /// How many active admins there are besides `except_id`. Their rows are locked until the
    /// end of the transaction, so that two admins demoting each other at the same moment
    /// cannot leave the installation without one.
    pub async fn other_active_admins(
        conn: &mut AsyncPgConnection,
        except_id: i32,
    ) -> diesel::QueryResult<usize> {
        let ids: Vec<i32> = accounts::table
            .filter(accounts::role.eq("admin"))
            .filter(accounts::active.eq(true))
            .filter(accounts::id.ne(except_id))
            .select(accounts::id)
            .for_update()
            .load(conn)
            .await?;
        Ok(ids.len())
    }

    /// Changes the display name and role.
    pub async fn update_profile(
        conn: &mut AsyncPgConnection,
        id: i32,
        display_name: &str,
        role: &str,
    ) -> diesel::QueryResult<Account> {
        diesel::update(accounts::table.find(id))
            .set((
                accounts::display_name.eq(display_name),
                accounts::role.eq(role),
            ))
            .returning(Account::as_returning())
            .get_result(conn)
            .await
    }

    /// Enables or disables the account. A disabled account's sessions end at their next
    /// request and it cannot sign in.
    pub async fn set_active(
        conn: &mut AsyncPgConnection,
        id: i32,
        active: bool,
    ) -> diesel::QueryResult<Account> {
        diesel::update(accounts::table.find(id))
            .set(accounts::active.eq(active))
            .returning(Account::as_returning())
            .get_result(conn)
            .await
    }

    /// The assigned units of every account: (account id, unit name), by unit name.
    pub async fn assigned_unit_names(
        conn: &mut AsyncPgConnection,
    ) -> diesel::QueryResult<Vec<(i32, String)>> {
        account_units::table
            .inner_join(units::table)
            .select((account_units::account_id, units::name))
            .order((account_units::account_id, units::name))
            .load(conn)
            .await
    }
}

/// A unit as offered in the account form (the whole tree).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = units)]
pub struct UnitChoice {
    pub id: i32,
    pub parent_id: Option<i32>,
    pub code: String,
    pub name: String,
    pub active: bool,
}

impl UnitChoice {
    /// Every unit, in creation order (the tree is built by the page).
    pub async fn all(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<UnitChoice>> {
        units::table
            .select(UnitChoice::as_select())
            .order(units::id)
            .load(conn)
            .await
    }

    /// Which of `ids` name an existing unit.
    pub async fn existing(
        conn: &mut AsyncPgConnection,
        ids: &[i32],
    ) -> diesel::QueryResult<Vec<i32>> {
        units::table
            .filter(units::id.eq_any(ids))
            .select(units::id)
            .load(conn)
            .await
    }
}
