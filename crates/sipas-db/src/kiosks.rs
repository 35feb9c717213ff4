//! Kiosks: the tablets at a desk that staff enrolled as its rating device. The kiosk door
//! (`/k/{desk code}`) takes responses only from an enrolled device, recognised by the random
//! secret its cookie holds ([`DeviceCookie`]); only the secret's SHA-256 is stored.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, OptionalExtension, QueryDsl, Queryable,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use super::schema::{accounts, kiosks};

/// Longest device label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = kiosks)]
pub struct Kiosk {
    pub id: i32,
    pub desk_id: i32,
    pub label: String,
    pub enrolled_by: i32,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A kiosk as the desk page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskRow {
    pub kiosk: Kiosk,
    /// Who enrolled it.
    pub enrolled_by_name: String,
}

/// A device's label as staff typed it, trimmed, 1 to [`MAX_LABEL_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskLabel(String);

impl TryFrom<&str> for KioskLabel {
    /// Why not, in Vietnamese.
    type Error = String;

    fn try_from(typed: &str) -> Result<Self, String> {
        let label = typed.trim();
        if label.is_empty() {
            Err("Vui lòng nhập tên thiết bị.".to_string())
        } else if label.chars().count() > MAX_LABEL_CHARS {
            Err(format!("Tên thiết bị dài tối đa {MAX_LABEL_CHARS} ký tự."))
        } else {
            Ok(KioskLabel(label.to_string()))
        }
    }
}

impl KioskLabel {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an enrolled device's cookie holds: the kiosk's id and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCookie {
    pub id: i32,
    secret: [u8; 32],
}

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, in logs or elsewhere.
        f.debug_struct("DeviceCookie")
            .field("id", &self.id)
            .finish()
    }
}

impl DeviceCookie {
    /// The cookie's value: `{id}.{secret in hex}`.
    pub fn value(&self) -> String {
        format!("{}.{}", self.id, hex::encode(self.secret))
    }

    /// Reads a cookie value; `None` unless it is exactly what [`DeviceCookie::value`] writes.
    pub fn parse(value: &str) -> Option<Self> {
        let (id, secret) = value.split_once('.')?;
        if id.is_empty() || id.len() > 10 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(secret, &mut bytes).ok()?;
        Some(DeviceCookie {
            id: id.parse().ok()?,
            secret: bytes,
        })
    }

    fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret).into()
    }
}

/// Inserts a new kiosk of `desk_id` labelled `label`, enrolled by account `enrolled_by`, with a
/// fresh random secret (only its SHA-256 stored). Returns the kiosk and the cookie for the
/// device.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    desk_id: i32,
    label: &KioskLabel,
    enrolled_by: i32,
) -> diesel::QueryResult<(Kiosk, DeviceCookie)> {
    let secret: [u8; 32] = rand::random();
    let hash: [u8; 32] = Sha256::digest(secret).into();
    let kiosk: Kiosk = diesel::insert_into(kiosks::table)
        .values((
            kiosks::desk_id.eq(desk_id),
            kiosks::label.eq(label.as_str()),
            kiosks::secret_hash.eq(&hash[..]),
            kiosks::enrolled_by.eq(enrolled_by),
        ))
        .returning(Kiosk::as_returning())
        .get_result(conn)
        .await?;
    let cookie = DeviceCookie {
        id: kiosk.id,
        secret,
    };
    Ok((kiosk, cookie))
}

/// Revokes kiosk `id` of `desk_id` on behalf of account `revoked_by`, unless it is already
/// revoked. `None`: the desk has no such kiosk in use; else the kiosk as it is after.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    desk_id: i32,
    id: i32,
    revoked_by: i32,
) -> diesel::QueryResult<Option<Kiosk>> {
    diesel::update(kiosks::table.find(id))
        .filter(kiosks::desk_id.eq(desk_id))
        .filter(kiosks::revoked_at.is_null())
        .set((
            kiosks::revoked_at.eq(diesel::dsl::now),
            kiosks::revoked_by.eq(revoked_by),
        ))
        .returning(Kiosk::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Whether `desk_id` has a kiosk `id` (revoked or not).
pub async fn exists(
    conn: &mut AsyncPgConnection,
    desk_id: i32,
    id: i32,
) -> diesel::QueryResult<bool> {
    let count: i64 = kiosks::table
        .find(id)
        .filter(kiosks::desk_id.eq(desk_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(count > 0)
}

/// The kiosks of `desk_id`, newest first, revoked ones included.
pub async fn find_for_desk(
    conn: &mut AsyncPgConnection,
    desk_id: i32,
) -> diesel::QueryResult<Vec<KioskRow>> {
    Ok(kiosks::table
        .inner_join(accounts::table.on(accounts::id.eq(kiosks::enrolled_by)))
        .filter(kiosks::desk_id.eq(desk_id))
        .order(kiosks::id.desc())
        .select((Kiosk::as_select(), accounts::display_name))
        .load::<(Kiosk, String)>(conn)
        .await?
        .into_iter()
        .map(|(kiosk, enrolled_by_name)| KioskRow {
            kiosk,
            enrolled_by_name,
        })
        .collect())
}

/// The kiosk `cookie` names, if its secret is right and it is not revoked.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    cookie: &DeviceCookie,
) -> diesel::QueryResult<Option<Kiosk>> {
    let found: Option<(Kiosk, Vec<u8>)> = kiosks::table
        .find(cookie.id)
        .select((Kiosk::as_select(), kiosks::secret_hash))
        .get_result(conn)
        .await
        .optional()?;
    Ok(found.and_then(|(kiosk, hash)| {
        (kiosk.revoked_at.is_none() && constant_time_eq(&hash, &cookie.hash())).then_some(kiosk)
    }))
}

/// Notes that kiosk `id` was just used: at most one write per five minutes per kiosk.
pub async fn seen(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<()> {
    diesel::update(kiosks::table.find(id))
        .filter(
            kiosks::last_seen_at
                .is_null()
                .or(kiosks::last_seen_at.lt(Utc::now() - chrono::Duration::minutes(5))),
        )
        .set(kiosks::last_seen_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The devices this instance has verified, by kiosk id: what the kiosk door trusts while the
/// database cannot be asked (nothing lost: an enrolled tablet keeps taking responses into the
/// spool through an outage). A device verified before the outage stays trusted during it; a
/// revocation takes effect when the database answers again.
#[derive(Debug, Default)]
pub struct VerifiedKiosks {
    known: Mutex<HashMap<i32, (i32, [u8; 32])>>,
}

impl VerifiedKiosks {
    pub fn remember(&self, kiosk: &Kiosk, cookie: &DeviceCookie) {
        self.lock().insert(kiosk.id, (kiosk.desk_id, cookie.hash()));
    }

    pub fn forget(&self, id: i32) {
        self.lock().remove(&id);
    }

    /// The desk of the device `cookie` names, if this instance verified it before.
    pub fn desk_of(&self, cookie: &DeviceCookie) -> Option<i32> {
        let known = self.lock();
        let (desk_id, hash) = known.get(&cookie.id)?;
        constant_time_eq(hash, &cookie.hash()).then_some(*desk_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (i32, [u8; 32])>> {
        // A panic elsewhere while holding the lock leaves a map that is still consistent.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_cookie_reads_back_and_nothing_else_does() {
        let cookie = DeviceCookie {
            id: 42,
            secret: [7; 32],
        };
        let value = cookie.value();
        assert_eq!(value, format!("42.{}", "07".repeat(32)));
        assert_eq!(DeviceCookie::parse(&value), Some(cookie.clone()));
        for bad in [
            "",
            "42",
            "42.",
            ".0707",
            "-1.0707",
            "4a.0707",
            &format!("42.{}", "07".repeat(31)),
            &format!("42.{}", "07".repeat(33)),
            &format!("42.{}zz", "07".repeat(31)),
            &format!("99999999999.{}", "07".repeat(32)),
        ] {
            assert_eq!(DeviceCookie::parse(bad), None, "{bad:?}");
        }
        assert!(!format!("{cookie:?}").contains("0707"));
    }

    #[test]
    fn a_label_is_trimmed_and_bounded() {
        assert_eq!(
            KioskLabel::try_from("  Máy 1 ").map(|l| l.as_str().to_string()),
            Ok("Máy 1".to_string())
        );
        assert!(KioskLabel::try_from(" \t ").is_err());
        // Characters, not bytes: 100 Vietnamese letters are accepted, 101 are not.
        assert!(KioskLabel::try_from("ắ".repeat(100).as_str()).is_ok());
        assert!(KioskLabel::try_from("ắ".repeat(101).as_str()).is_err());
    }

    #[test]
    fn only_the_right_secret_matches() {
        let kiosk = Kiosk {
            id: 3,
            desk_id: 9,
            label: "Máy tính bảng".to_string(),
            enrolled_by: 1,
            enrolled_at: Utc::now(),
            last_seen_at: None,
            revoked_at: None,
        };
        let right = DeviceCookie {
            id: 3,
            secret: [1; 32],
        };
        let wrong = DeviceCookie {
            id: 3,
            secret: [2; 32],
        };
        let known = VerifiedKiosks::default();
        assert_eq!(known.desk_of(&right), None);
        known.remember(&kiosk, &right);
        assert_eq!(known.desk_of(&right), Some(9));
        assert_eq!(known.desk_of(&wrong), None);
        known.forget(3);
        assert_eq!(known.desk_of(&right), None);
    }
}
