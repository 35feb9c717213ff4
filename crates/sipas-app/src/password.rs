//! Password hashing with argon2id. Hashing is CPU work: the async wrappers run it on the
//! blocking pool, never on an async worker.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

/// OWASP's minimum for argon2id (2024 cheat sheet): 19 MiB of memory, 2 iterations, 1 lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// Shortest password accepted for a staff account.
pub const MIN_LENGTH: usize = 10;

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of a new salted hash.
pub fn hash(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches the stored PHC string (its own parameters are used).
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody has, verified against when the user name does not exist, so
/// that a wrong user name costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no account has this password").expect("hashing works"))
}

pub async fn hash_off_thread(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

pub async fn verify_off_thread(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .unwrap_or(false)
}

/// A problem with a new password, in Vietnamese, or None.
pub fn weakness(password: &str, username: &str) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some(format!("Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự."));
    }
    if length > 200 {
        return Some("Mật khẩu quá dài (tối đa 200 ký tự).".into());
    }
    if password.to_lowercase().contains(&username.to_lowercase()) && !username.is_empty() {
        return Some("Mật khẩu không được chứa tên đăng nhập.".into());
    }
    None
}

/// A random password for demo and reset accounts: 16 characters without look-alikes.
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let stored = hash("mật khẩu đủ dài").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("mật khẩu đủ dài", &stored));
        assert!(!verify("mật khẩu sai", &stored));
        assert!(!verify("x", "not a hash"));
        assert_ne!(stored, hash("mật khẩu đủ dài").unwrap(), "salted");
    }

    #[test]
    fn weak_passwords_are_named() {
        assert!(weakness("ngắn", "an").unwrap().contains("ít nhất 10"));
        assert!(weakness("nguyenvan-123456", "nguyenvan").is_some());
        assert_eq!(weakness("một câu dài dễ nhớ", "an.nguyen"), None);
        let generated = generate();
        assert_eq!(generated.len(), 16);
        assert_eq!(weakness(&generated, "admin"), None);
    }
}
