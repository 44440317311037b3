//! `users`.

use crate::domain::{MediaKey, SessionId, UserId};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// Primary key; the `sub` of the user's access tokens.
    pub id: UserId,
    /// Normalised (trimmed, lowercased) email, unique across accounts.
    pub email: String,
    /// When the current email was verified; `None` until the first link is used.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string; `None` for OAuth-only accounts.
    pub password_hash: Option<String>,
    /// May use the admin API (set by `keel-api create-admin`).
    pub is_admin: bool,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
    /// The sealed TOTP secret (pending until enabled).
    pub totp_secret: Option<String>,
    /// Two-factor authentication is on.
    pub totp_enabled: bool,
    /// The avatar's object in media storage, if the user has one.
    pub avatar_key: Option<MediaKey>,
}

const COLUMNS: &str = "id, email, email_verified_at, name, password_hash, is_admin, created_at, \
     totp_secret, totp_enabled_at IS NOT NULL AS totp_enabled, avatar_key";

impl From<&Row> for User {
    fn from(r: &Row) -> Self {
        Self {
            id: r.get("id"),
            email: r.get("email"),
            email_verified_at: r.get("email_verified_at"),
            name: r.get("name"),
            password_hash: r.get("password_hash"),
            is_admin: r.get("is_admin"),
            created_at: r.get("created_at"),
            totp_secret: r.get("totp_secret"),
            totp_enabled: r.get("totp_enabled"),
            avatar_key: r.get("avatar_key"),
        }
    }
}

/// The unique index on `users.email`, for mapping violations.
pub const EMAIL_KEY: &str = "users_email_key";

/// Inserts a user. A taken email fails with a unique violation on [`EMAIL_KEY`].
pub async fn insert(
    c: &impl GenericClient,
    id: UserId,
    email: &str,
    name: &str,
    password_hash: Option<&str>,
) -> Result<User, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(&format!(
            "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        ))
        .await?;
    Ok(User::from(
        &c.query_one(&stmt, &[&id, &email, &name, &password_hash])
            .await?,
    ))
}

/// The user with `email`.
pub async fn by_email(
    c: &impl GenericClient,
    email: &str,
) -> Result<Option<User>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .await?;
    Ok(c.query_opt(&stmt, &[&email])
        .await?
        .as_ref()
        .map(User::from))
}

/// The user with `id`.
pub async fn by_id(
    c: &impl GenericClient,
    id: UserId,
) -> Result<Option<User>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .await?;
    Ok(c.query_opt(&stmt, &[&id]).await?.as_ref().map(User::from))
}

/// The user of an active (not revoked, not expired) session, and when that session signed in:
/// one query per authenticated request.
pub async fn by_active_session(
    c: &impl GenericClient,
    user: UserId,
    session: SessionId,
) -> Result<Option<(User, DateTime<Utc>)>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "SELECT u.id, u.email, u.email_verified_at, u.name, u.password_hash, u.is_admin, u.created_at,
                    u.totp_secret, u.totp_enabled_at IS NOT NULL AS totp_enabled, u.avatar_key,
                    s.created_at AS signed_in_at
             FROM users u JOIN sessions s ON s.user_id = u.id
             WHERE u.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()",
        )
        .await?;
    Ok(c.query_opt(&stmt, &[&user, &session])
        .await?
        .as_ref()
        .map(|r| (User::from(r), r.get("signed_in_at"))))
}

/// Sets the display name.
pub async fn set_name(
    c: &impl GenericClient,
    id: UserId,
    name: &str,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET name = $2 WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id, &name]).await?;
    Ok(())
}

/// Sets the password hash.
pub async fn set_password_hash(
    c: &impl GenericClient,
    id: UserId,
    hash: &str,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET password_hash = $2 WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id, &hash]).await?;
    Ok(())
}

/// Marks `email` verified for the user, switching to it if it is a new address. A taken
/// address fails with a unique violation on [`EMAIL_KEY`].
pub async fn verify_email(
    c: &impl GenericClient,
    id: UserId,
    email: &str,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id, &email]).await?;
    Ok(())
}

/// Grants or removes administrator rights.
pub async fn set_admin(
    c: &impl GenericClient,
    id: UserId,
    admin: bool,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET is_admin = $2 WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id, &admin]).await?;
    Ok(())
}

/// Stores a (pending) sealed TOTP secret.
pub async fn set_totp_secret(
    c: &impl GenericClient,
    id: UserId,
    sealed: &str,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET totp_secret = $2, totp_enabled_at = NULL WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id, &sealed]).await?;
    Ok(())
}

/// Turns two-factor authentication on.
pub async fn enable_totp(c: &impl GenericClient, id: UserId) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET totp_enabled_at = now() WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id]).await?;
    Ok(())
}

/// Turns two-factor authentication off and forgets the secret and recovery codes.
pub async fn disable_totp(c: &impl GenericClient, id: UserId) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id]).await?;
    let codes = c
        .prepare_cached("DELETE FROM recovery_codes WHERE user_id = $1")
        .await?;
    c.execute(&codes, &[&id]).await?;
    Ok(())
}

/// Records that a TOTP code of time step `step` was used; `false` when that step (or a later
/// one) was already used: the replay guard.
pub async fn use_totp_step(
    c: &impl GenericClient,
    id: UserId,
    step: i64,
) -> Result<bool, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
        )
        .await?;
    Ok(c.execute(&stmt, &[&id, &step]).await? == 1)
}

/// Replaces the recovery codes of `id` with these hashes.
pub async fn set_recovery_codes(
    c: &impl GenericClient,
    id: UserId,
    hashes: &[Vec<u8>],
) -> Result<(), tokio_postgres::Error> {
    let delete = c
        .prepare_cached("DELETE FROM recovery_codes WHERE user_id = $1")
        .await?;
    c.execute(&delete, &[&id]).await?;
    let insert = c
        .prepare_cached("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
        .await?;
    for hash in hashes {
        c.execute(&insert, &[&id, hash]).await?;
    }
    Ok(())
}

/// Uses a recovery code; `false` when it is unknown or used.
pub async fn use_recovery_code(
    c: &impl GenericClient,
    id: UserId,
    hash: &[u8],
) -> Result<bool, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .await?;
    Ok(c.execute(&stmt, &[&id, &hash]).await? == 1)
}

/// The user linked to a provider's user id.
pub async fn by_identity(
    c: &impl GenericClient,
    provider: &str,
    subject: &str,
) -> Result<Option<User>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {} FROM users WHERE id = (SELECT user_id FROM oauth_identities WHERE provider = $1 AND provider_user_id = $2)",
            COLUMNS
        ))
        .await?;
    Ok(c.query_opt(&stmt, &[&provider, &subject])
        .await?
        .as_ref()
        .map(User::from))
}

/// Links a provider's user id to `id`; `email_verified` records whether the provider had
/// verified the address the link was made through.
pub async fn link_identity(
    c: &impl GenericClient,
    id: UserId,
    provider: &str,
    subject: &str,
    email_verified: bool,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO oauth_identities (provider, provider_user_id, user_id, email_verified)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (provider, provider_user_id) DO NOTHING",
        )
        .await?;
    c.execute(&stmt, &[&provider, &subject, &id, &email_verified])
        .await?;
    Ok(())
}

/// Removes the provider links of `id` that were not made through a provider-verified email.
/// Returns how many went.
pub async fn unlink_unverified_identities(
    c: &impl GenericClient,
    id: UserId,
) -> Result<u64, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("DELETE FROM oauth_identities WHERE user_id = $1 AND NOT email_verified")
        .await?;
    c.execute(&stmt, &[&id]).await
}

/// Forgets the password (the account then signs in only through a provider, or after a
/// reset).
pub async fn clear_password(
    c: &impl GenericClient,
    id: UserId,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("UPDATE users SET password_hash = NULL WHERE id = $1")
        .await?;
    c.execute(&stmt, &[&id]).await?;
    Ok(())
}

/// Deletes the user (tokens and sessions go with it); returns the avatar key the row held,
/// whose object the caller must have deleted.
pub async fn delete(
    c: &impl GenericClient,
    id: UserId,
) -> Result<Option<MediaKey>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("DELETE FROM users WHERE id = $1 RETURNING avatar_key")
        .await?;
    Ok(c.query_opt(&stmt, &[&id])
        .await?
        .and_then(|r| r.get("avatar_key")))
}

/// Sets (or with `None` clears) the user's avatar key, locking the row so concurrent changes
/// take turns; returns the key it replaced (`Ok(None)` when the user no longer exists,
/// `Ok(Some(None))` when there was no avatar).
pub async fn replace_avatar(
    c: &impl GenericClient,
    id: UserId,
    key: Option<&MediaKey>,
) -> Result<Option<Option<MediaKey>>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE users u SET avatar_key = $2
             FROM (SELECT id, avatar_key FROM users WHERE id = $1 FOR UPDATE) old
             WHERE u.id = old.id
             RETURNING old.avatar_key",
        )
        .await?;
    Ok(c.query_opt(&stmt, &[&id, &key])
        .await?
        .map(|r| r.get("avatar_key")))
}
