//! Login, refresh-token rotation and logout.

use uuid::Uuid;

use super::AccountError;
use crate::Config;
use crate::auth::jwt::JwtKeys;
use crate::auth::{password, tokens};
use crate::db::sessions::Presented;
use crate::db::{PgPool, sessions, users};
use crate::domain::EmailAddress;

/// What login and refresh answer.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The JWT.
    pub access_token: String,
    /// The opaque refresh token (shown once).
    pub refresh_token: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    /// The session.
    pub session: Uuid,
}

fn pair(
    jwt: &JwtKeys,
    user: Uuid,
    session: Uuid,
    refresh_token: String,
) -> Result<TokenPair, AccountError> {
    Ok(TokenPair {
        access_token: jwt.issue(user, session)?,
        refresh_token,
        expires_in: jwt.ttl().as_secs(),
        session,
    })
}

/// What a correct password leads to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Signed in.
    Tokens(TokenPair),
    /// Two-factor authentication is on: complete with the MFA token and a code.
    MfaRequired {
        /// Short-lived, single-use.
        mfa_token: String,
    },
}

/// Opens a session (in the caller's transaction) and returns its token pair.
pub(super) async fn open_session(
    c: &impl deadpool_postgres::GenericClient,
    config: &Config,
    jwt: &JwtKeys,
    user: Uuid,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<TokenPair, AccountError> {
    let session = Uuid::now_v7();
    let refresh_token = tokens::generate();
    let user_agent = user_agent.map(|ua| ua.chars().take(512).collect::<String>());
    sessions::create(
        c,
        session,
        user,
        &tokens::hash(&refresh_token),
        user_agent.as_deref(),
        ip,
        config.auth.refresh_ttl,
    )
    .await?;
    notify_new_login(c, user, user_agent.as_deref(), ip).await?;
    pair(jwt, user, session, refresh_token)
}

/// Queues the "new sign-in" notice in the same transaction as the session.
async fn notify_new_login(
    c: &impl deadpool_postgres::GenericClient,
    user: Uuid,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<(), AccountError> {
    let Some(user) = users::by_id(c, user).await? else {
        return Ok(());
    };
    super::send(
        c,
        format!("new-login:{}", Uuid::now_v7()),
        &user.email,
        "new_login",
        serde_json::json!({
            "name": user.name,
            "ip": ip.unwrap_or("an unknown address"),
            "user_agent": user_agent.unwrap_or("unknown device"),
        }),
    )
    .await
}

/// Checks the password (paying one hash even for an unknown email) and opens a session, or
/// asks for the second factor when two-factor authentication is on.
pub async fn login(
    pool: &PgPool,
    config: &Config,
    jwt: &JwtKeys,
    email: &EmailAddress,
    password_attempt: &str,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<LoginOutcome, AccountError> {
    let mut client = pool.get().await?;
    let user = users::by_email(&client, email.as_str()).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if !password::verify(password_attempt, hash).await {
        return Err(AccountError::InvalidCredentials);
    }
    let user = user.ok_or(AccountError::InvalidCredentials)?;
    let tx = client.transaction().await?;
    let outcome = finish_login(&tx, config, jwt, &user, user_agent, ip).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// After the first factor: a session, or an MFA token when two-factor authentication is on.
pub(super) async fn finish_login(
    c: &impl deadpool_postgres::GenericClient,
    config: &Config,
    jwt: &JwtKeys,
    user: &users::User,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<LoginOutcome, AccountError> {
    Ok(if user.totp_enabled {
        LoginOutcome::MfaRequired {
            mfa_token: super::two_factor::issue_mfa_token(c, user).await?,
        }
    } else {
        LoginOutcome::Tokens(open_session(c, config, jwt, user.id, user_agent, ip).await?)
    })
}

/// Rotates a refresh token: the old one stops working, a new pair is returned. Presenting an
/// already-used token revokes its session.
pub async fn refresh(
    pool: &PgPool,
    jwt: &JwtKeys,
    refresh_token: &str,
) -> Result<TokenPair, AccountError> {
    if !tokens::is_well_formed(refresh_token) {
        return Err(AccountError::InvalidToken);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let new_token = tokens::generate();
    let outcome =
        sessions::rotate(&tx, &tokens::hash(refresh_token), &tokens::hash(&new_token)).await?;
    tx.commit().await?;
    match outcome {
        Presented::Invalid => Err(AccountError::InvalidToken),
        Presented::Reused => Err(AccountError::TokenReused),
        Presented::Rotated { session, user } => pair(jwt, user, session, new_token),
    }
}

/// Revokes the session of `refresh_token` (any token of it). Unknown tokens are ignored:
/// logging out twice is fine.
pub async fn logout(pool: &PgPool, refresh_token: &str) -> Result<(), AccountError> {
    if !tokens::is_well_formed(refresh_token) {
        return Ok(());
    }
    let client = pool.get().await?;
    if let Some(session) = sessions::of_token(&client, &tokens::hash(refresh_token)).await? {
        sessions::revoke(&client, session).await?;
    }
    Ok(())
}
