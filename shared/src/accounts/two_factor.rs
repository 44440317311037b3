//! Two-factor authentication with TOTP: setup, enable (with recovery codes), disable, and the
//! second step of a login. A code is accepted at most once (its time step is recorded).

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::sessions::{TokenPair, open_session};
use super::{
    Accounts, ClientMeta, DisableTwoFactorError, EnableTwoFactorError, Reauth, ReauthFailure,
    SecondFactorError, SetupTwoFactorError, StoreError, send,
};
use crate::Config;
use crate::auth::sealed::Sealer;
use crate::auth::{password, tokens, totp};
use crate::db::user_tokens::{self, Purpose};
use crate::db::users::{self, User};
use crate::domain::UserId;
use crate::email::Email;

/// How long the MFA token of a half-done login works.
pub const MFA_TTL: Duration = Duration::from_secs(300);

/// What setup answers: the secret in the forms an authenticator takes.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The secret in base32, to type in.
    pub secret: String,
    /// The `otpauth://` URI authenticator apps read.
    pub otpauth_uri: String,
    /// The URI as an SVG QR code `data:` URI.
    pub qr_code: String,
}

fn sealer(config: &Config) -> Sealer {
    Sealer::new(&config.secret_key, "totp")
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// Whether `code` (a TOTP code, once per time step) or `recovery_code` (unused) is good for
/// `user`. An account without a secret accepts no TOTP code.
async fn second_factor_ok(
    c: &impl GenericClient,
    config: &Config,
    user: &User,
    code: Option<&str>,
    recovery_code: Option<&str>,
) -> Result<bool, StoreError> {
    if let Some(recovery) = recovery_code {
        return Ok(
            users::use_recovery_code(c, user.id, &totp::recovery_code_hash(recovery)).await?,
        );
    }
    let (Some(code), Some(sealed)) = (code, user.totp_secret.as_deref()) else {
        return Ok(false);
    };
    let Ok(secret) = sealer(config).open(sealed) else {
        return Ok(false);
    };
    let Some(step) = totp::matching_step(&secret, code, now()) else {
        return Ok(false);
    };
    Ok(users::use_totp_step(c, user.id, i64::try_from(step).unwrap_or(i64::MAX)).await?)
}

/// A token standing for "password correct, second factor pending".
pub(super) async fn issue_mfa_token(
    c: &impl GenericClient,
    user: &User,
) -> Result<String, StoreError> {
    let token = tokens::generate();
    user_tokens::insert(
        c,
        &tokens::hash(&token),
        user.id,
        Purpose::MfaLogin,
        &user.email,
        MFA_TTL,
    )
    .await?;
    Ok(token)
}

impl Accounts {
    /// Starts setup: a new secret, pending until [`Accounts::enable_two_factor`] proves the
    /// authenticator has it. Needs `reauth` (the password, or a recent sign-in).
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    pub async fn setup_two_factor(
        &self,
        user: &User,
        reauth: Reauth<'_>,
    ) -> Result<Setup, SetupTwoFactorError> {
        if user.totp_enabled {
            return Err(SetupTwoFactorError::AlreadyEnabled);
        }
        reauth.check(user).await.map_err(|e| match e {
            ReauthFailure::WrongPassword => SetupTwoFactorError::WrongPassword,
            ReauthFailure::Required => SetupTwoFactorError::ReauthRequired,
        })?;
        let secret = totp::new_secret();
        let uri = totp::uri(&secret, &user.email, &self.config.email.product_name)
            .ok_or(SetupTwoFactorError::Otpauth)?;
        let client = self.db.get().await?;
        users::set_totp_secret(&client, user.id, &sealer(&self.config).seal(&secret)).await?;
        Ok(Setup {
            secret: totp::base32(&secret),
            qr_code: totp::qr_svg_data_uri(&uri).unwrap_or_default(),
            otpauth_uri: uri,
        })
    }

    /// Turns two-factor authentication on with a code from the authenticator; returns ten
    /// single-use recovery codes (shown once; stored hashed). Needs `reauth` (the password,
    /// or a recent sign-in).
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    pub async fn enable_two_factor(
        &self,
        user: &User,
        code: &str,
        reauth: Reauth<'_>,
    ) -> Result<Vec<String>, EnableTwoFactorError> {
        if user.totp_enabled {
            return Err(EnableTwoFactorError::AlreadyEnabled);
        }
        if user.totp_secret.is_none() {
            return Err(EnableTwoFactorError::NotSetUp);
        }
        reauth.check(user).await.map_err(|e| match e {
            ReauthFailure::WrongPassword => EnableTwoFactorError::WrongPassword,
            ReauthFailure::Required => EnableTwoFactorError::ReauthRequired,
        })?;
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        if !second_factor_ok(&tx, &self.config, user, Some(code), None).await? {
            return Err(EnableTwoFactorError::InvalidCode);
        }
        users::enable_totp(&tx, user.id).await?;
        let codes = totp::new_recovery_codes();
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| totp::recovery_code_hash(c)).collect();
        users::set_recovery_codes(&tx, user.id, &hashes).await?;
        let email = Email::TwoFactorEnabled {
            name: user.name.clone(),
        };
        send(&tx, "2fa-enabled", &user.email, email).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns two-factor authentication off; needs the password and a current code.
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    pub async fn disable_two_factor(
        &self,
        user: &User,
        password_attempt: &str,
        code: &str,
    ) -> Result<(), DisableTwoFactorError> {
        if !user.totp_enabled {
            return Err(DisableTwoFactorError::NotEnabled);
        }
        if !password::verify(password_attempt, user.password_hash.as_deref()).await {
            return Err(DisableTwoFactorError::WrongPassword);
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        if !second_factor_ok(&tx, &self.config, user, Some(code), None).await? {
            return Err(DisableTwoFactorError::InvalidCode);
        }
        users::disable_totp(&tx, user.id).await?;
        let email = Email::TwoFactorDisabled {
            name: user.name.clone(),
        };
        send(&tx, "2fa-disabled", &user.email, email).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user an MFA token stands for, if it is still valid (does not use it up).
    pub async fn mfa_token_user(&self, mfa_token: &str) -> Result<UserId, SecondFactorError> {
        if !tokens::is_well_formed(mfa_token) {
            return Err(SecondFactorError::InvalidToken);
        }
        let client = self.db.get().await?;
        user_tokens::peek(&client, &tokens::hash(mfa_token), Purpose::MfaLogin)
            .await?
            .ok_or(SecondFactorError::InvalidToken)
    }

    /// Completes a login with a TOTP code or a recovery code. A wrong code leaves the MFA
    /// token usable (within its five minutes); the caller rate-limits failures.
    #[tracing::instrument(skip_all)]
    pub async fn complete_login(
        &self,
        mfa_token: &str,
        code: Option<&str>,
        recovery_code: Option<&str>,
        client: &ClientMeta,
    ) -> Result<TokenPair, SecondFactorError> {
        let user_id = self.mfa_token_user(mfa_token).await?;
        let mut conn = self.db.get().await?;
        let tx = conn.transaction().await?;
        let user = users::by_id(&tx, user_id)
            .await?
            .ok_or(SecondFactorError::InvalidToken)?;
        if !second_factor_ok(&tx, &self.config, &user, code, recovery_code).await? {
            return Err(SecondFactorError::InvalidCode);
        }
        user_tokens::consume(&tx, &tokens::hash(mfa_token), Purpose::MfaLogin)
            .await?
            .ok_or(SecondFactorError::InvalidToken)?;
        let pair = open_session(&tx, &self.config, &self.jwt, &user, client).await?;
        tx.commit().await?;
        Ok(pair)
    }
}
