//! `sessions` and `refresh_tokens`: refresh-token families with rotation.

use std::time::Duration;

use crate::domain::{SessionId, TokenHash, UserId};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

/// A session as listed to its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// Primary key; the `sid` claim of the session's access tokens.
    pub id: SessionId,
    /// The client's `User-Agent` at login (at most 512 characters).
    pub user_agent: Option<String>,
    /// The client address at login.
    pub ip: Option<String>,
    /// When the session was opened (the login).
    pub created_at: DateTime<Utc>,
    /// When its refresh token was last rotated.
    pub last_used_at: DateTime<Utc>,
}

/// Creates a session with its first refresh token.
pub async fn create(
    c: &impl GenericClient,
    id: SessionId,
    user: UserId,
    token_hash: &TokenHash,
    user_agent: Option<&str>,
    ip: Option<&str>,
    ttl: Duration,
) -> Result<(), tokio_postgres::Error> {
    let secs = f64::from(u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX));
    let stmt = c
        .prepare_cached(
            "INSERT INTO sessions (id, user_id, user_agent, ip, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        )
        .await?;
    c.execute(&stmt, &[&id, &user, &user_agent, &ip, &secs])
        .await?;
    add_token(c, id, token_hash).await
}

async fn add_token(
    c: &impl GenericClient,
    session: SessionId,
    token_hash: &TokenHash,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .await?;
    c.execute(&stmt, &[&token_hash, &session]).await?;
    Ok(())
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// No such token, or its session is revoked or expired.
    Invalid,
    /// The token was already used: the session has now been revoked (theft detection).
    Reused,
    /// Rotated: the old token is used, `new_hash` is the session's token now.
    Rotated {
        /// The session.
        session: SessionId,
        /// Its user.
        user: UserId,
    },
}

/// Rotates `token_hash` to `new_hash` (call inside a transaction). A reused token revokes
/// the whole session; a session not used for `idle` (since its login or its last rotation)
/// is over, like an expired one.
pub async fn rotate(
    c: &impl GenericClient,
    token_hash: &TokenHash,
    new_hash: &TokenHash,
    idle: Duration,
) -> Result<Presented, tokio_postgres::Error> {
    let idle_secs = f64::from(u32::try_from(idle.as_secs()).unwrap_or(u32::MAX));
    let stmt = c
        .prepare_cached(
            "SELECT t.session_id, t.used_at IS NOT NULL, s.user_id,
                    s.revoked_at IS NULL AND s.expires_at > now()
                    AND s.last_used_at > now() - make_interval(secs => $2)
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
             WHERE t.token_hash = $1 FOR UPDATE OF t, s",
        )
        .await?;
    let Some(row) = c.query_opt(&stmt, &[&token_hash, &idle_secs]).await? else {
        return Ok(Presented::Invalid);
    };
    let (session, used, user, active): (SessionId, bool, UserId, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if !active {
        return Ok(Presented::Invalid);
    }
    if used {
        revoke(c, session).await?;
        return Ok(Presented::Reused);
    }
    let mark = c
        .prepare_cached("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
        .await?;
    c.execute(&mark, &[&token_hash]).await?;
    let touch = c
        .prepare_cached("UPDATE sessions SET last_used_at = now() WHERE id = $1")
        .await?;
    c.execute(&touch, &[&session]).await?;
    add_token(c, session, new_hash).await?;
    Ok(Presented::Rotated { session, user })
}

/// The session a (current or used) refresh token belongs to.
pub async fn of_token(
    c: &impl GenericClient,
    token_hash: &TokenHash,
) -> Result<Option<SessionId>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
        .await?;
    Ok(c.query_opt(&stmt, &[&token_hash]).await?.map(|r| r.get(0)))
}

/// Revokes a session.
pub async fn revoke(
    c: &impl GenericClient,
    session: SessionId,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        )
        .await?;
    c.execute(&stmt, &[&session]).await?;
    Ok(())
}

/// Revokes `user`'s session `session`; `false` when it is not theirs or not active.
pub async fn revoke_own(
    c: &impl GenericClient,
    user: UserId,
    session: SessionId,
) -> Result<bool, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .await?;
    Ok(c.execute(&stmt, &[&session, &user]).await? == 1)
}

/// Revokes every session of `user`, except `keep` when given.
pub async fn revoke_all(
    c: &impl GenericClient,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<u64, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
        )
        .await?;
    c.execute(&stmt, &[&user, &keep]).await
}

/// `user`'s active sessions, most recently used first.
pub async fn list_active(
    c: &impl GenericClient,
    user: UserId,
) -> Result<Vec<Session>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "SELECT id, user_agent, ip, created_at, last_used_at FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
             ORDER BY last_used_at DESC",
        )
        .await?;
    Ok(c.query(&stmt, &[&user])
        .await?
        .iter()
        .map(|r| Session {
            id: r.get(0),
            user_agent: r.get(1),
            ip: r.get(2),
            created_at: r.get(3),
            last_used_at: r.get(4),
        })
        .collect())
}

/// Deletes sessions that expired or were revoked more than a day ago (their refresh tokens
/// go with them), and email tokens that expired or were used more than a day ago. Returns
/// (sessions, tokens) deleted.
pub async fn purge_ended(c: &impl GenericClient) -> Result<(u64, u64), tokio_postgres::Error> {
    let sessions = c
        .execute(
            "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'
                                     OR revoked_at < now() - interval '1 day'",
            &[],
        )
        .await?;
    let tokens = c
        .execute(
            "DELETE FROM user_tokens WHERE expires_at < now() - interval '1 day'
                                        OR used_at < now() - interval '1 day'",
            &[],
        )
        .await?;
    Ok((sessions, tokens))
}
