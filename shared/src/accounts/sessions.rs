//! Sessions: login, refresh-token rotation, logout, listing and revoking.

use deadpool_postgres::GenericClient;

use super::{
    Accounts, ClientMeta, LoginError, Reauth, RefreshError, RevokeSessionError, StoreError, send,
};
use crate::Config;
use crate::auth::jwt::JwtKeys;
use crate::auth::{password, tokens};
use crate::db::sessions::{self, Presented, Session};
use crate::db::users::{self, User};
use crate::domain::{EmailAddress, SessionId, UserId};
use crate::email::Email;

/// What login and refresh answer.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// The opaque refresh token (shown once; it rotates on use).
    pub refresh_token: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    /// The session both tokens belong to.
    pub session: SessionId,
}

fn pair(
    jwt: &JwtKeys,
    user: UserId,
    session: SessionId,
    refresh_token: String,
) -> Result<TokenPair, StoreError> {
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
        /// Short-lived, single-use; stands for "password correct".
        mfa_token: String,
    },
}

/// Opens a session for `user` (in the caller's transaction), queues the "new sign-in"
/// notice, and returns the session's token pair.
pub(super) async fn open_session(
    c: &impl GenericClient,
    config: &Config,
    jwt: &JwtKeys,
    user: &User,
    client: &ClientMeta,
) -> Result<TokenPair, StoreError> {
    let session = SessionId::new();
    let refresh_token = tokens::generate();
    let user_agent = client
        .user_agent
        .as_deref()
        .map(|ua| ua.chars().take(512).collect::<String>());
    sessions::create(
        c,
        session,
        user.id,
        &tokens::hash(&refresh_token),
        user_agent.as_deref(),
        client.ip.as_deref(),
        config.auth.session_absolute_timeout,
    )
    .await?;
    let email = Email::NewLogin {
        name: user.name.clone(),
        ip: client
            .ip
            .clone()
            .unwrap_or_else(|| "an unknown address".to_owned()),
        user_agent: user_agent.unwrap_or_else(|| "unknown device".to_owned()),
    };
    send(c, "new-login", &user.email, email).await?;
    pair(jwt, user.id, session, refresh_token)
}

impl Accounts {
    /// Checks the password (paying one hash even for an unknown email) and opens a session,
    /// or asks for the second factor when two-factor authentication is on.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &EmailAddress,
        password_attempt: &str,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, LoginError> {
        let mut conn = self.db.get().await?;
        let user = users::by_email(&conn, email.as_str()).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        if !password::verify(password_attempt, hash).await {
            return Err(LoginError::InvalidCredentials);
        }
        let user = user.ok_or(LoginError::InvalidCredentials)?;
        let tx = conn.transaction().await?;
        let outcome = self.finish_login(&tx, &user, client).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Tells the owner of `email`, if it has an account, that password sign-in is paused for
    /// up to `pause` (the per-account failure ceiling tripped). Silent for unknown addresses,
    /// so the caller answers the same either way.
    #[tracing::instrument(skip_all)]
    pub async fn notify_lockout(
        &self,
        email: &EmailAddress,
        pause: std::time::Duration,
    ) -> Result<(), StoreError> {
        let client = self.db.get().await?;
        if let Some(user) = users::by_email(&client, email.as_str()).await? {
            let notice = Email::AccountLocked {
                name: user.name.clone(),
                minutes: pause.as_secs().div_ceil(60),
            };
            send(&client, "account-locked", &user.email, notice).await?;
        }
        Ok(())
    }

    /// After the first factor: a session, or an MFA token when two-factor authentication is
    /// on.
    pub(super) async fn finish_login(
        &self,
        c: &impl GenericClient,
        user: &User,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, StoreError> {
        Ok(if user.totp_enabled {
            LoginOutcome::MfaRequired {
                mfa_token: super::two_factor::issue_mfa_token(c, user).await?,
            }
        } else {
            LoginOutcome::Tokens(open_session(c, &self.config, &self.jwt, user, client).await?)
        })
    }

    /// Rotates a refresh token: the old one stops working, a new pair is returned.
    /// Presenting an already-used token revokes its session. A session past its absolute
    /// lifetime, or idle (not refreshed) for `KEEL_SESSION_IDLE_TIMEOUT_SECS`, is over.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        if !tokens::is_well_formed(refresh_token) {
            return Err(RefreshError::InvalidToken);
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let new_token = tokens::generate();
        let outcome = sessions::rotate(
            &tx,
            &tokens::hash(refresh_token),
            &tokens::hash(&new_token),
            self.config.auth.session_idle_timeout,
        )
        .await?;
        tx.commit().await?;
        match outcome {
            Presented::Invalid => Err(RefreshError::InvalidToken),
            Presented::Reused => Err(RefreshError::TokenReused),
            Presented::Rotated { session, user } => Ok(pair(&self.jwt, user, session, new_token)?),
        }
    }

    /// Revokes the session of `refresh_token` (any token of it). Unknown tokens are ignored:
    /// logging out twice is fine.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, refresh_token: &str) -> Result<(), StoreError> {
        if !tokens::is_well_formed(refresh_token) {
            return Ok(());
        }
        let client = self.db.get().await?;
        if let Some(session) = sessions::of_token(&client, &tokens::hash(refresh_token)).await? {
            sessions::revoke(&client, session).await?;
        }
        Ok(())
    }

    /// `user`'s active sessions, most recently used first.
    #[tracing::instrument(skip_all, fields(user.id = %user))]
    pub async fn sessions(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        let client = self.db.get().await?;
        Ok(sessions::list_active(&client, user).await?)
    }

    /// Revokes `user`'s session `session`. Signing out a session other than `current` needs
    /// `reauth` (a recent sign-in: someone holding a stolen token must not be able to sign
    /// the owner out everywhere).
    #[tracing::instrument(skip_all, fields(user.id = %user.id, session.id = %session))]
    pub async fn revoke_session(
        &self,
        user: &User,
        current: SessionId,
        session: SessionId,
        reauth: Reauth<'_>,
    ) -> Result<(), RevokeSessionError> {
        if session != current && reauth.check(user).await.is_err() {
            return Err(RevokeSessionError::ReauthRequired);
        }
        let client = self.db.get().await?;
        if sessions::revoke_own(&client, user.id, session).await? {
            Ok(())
        } else {
            Err(RevokeSessionError::NotFound)
        }
    }
}
