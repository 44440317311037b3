//! OAuth 2.0 sign-in with Google and GitHub: authorization URL with `state` and PKCE (S256),
//! then code exchange and profile reading. `state` is single use and expires after ten
//! minutes (kept in Redis, so any api replica can finish a flow another started).
//!
//! A flow is bound to the client that started it: [`OAuth::authorize`] returns a random
//! binding value the api puts in a `__Host-` cookie, and stores only its hash with the state;
//! the callback must present the same value. A `code` and `state` replayed from another
//! browser (login CSRF: signing the victim into the attacker's account) are refused.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::AsyncCommands;
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::tokens;
use crate::config::{OAuthConfig, OAuthProviderConfig};
use crate::redis::{Keys, RedisPool};

/// How long a flow may take, from authorize to callback.
pub const STATE_TTL: Duration = Duration::from_secs(600);

/// A started flow.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The provider's authorization URL (with `state` and the PKCE challenge).
    pub url: String,
    /// The `state` it carries (single use).
    pub state: String,
    /// The value binding the flow to this client: the api sets it as a `__Host-` cookie; the
    /// callback must send it back.
    pub binding: String,
}

fn binding_hash(binding: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(binding.as_bytes()))
}

/// What the provider says about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `google` or `github`.
    pub provider: &'static str,
    /// The provider's stable user id.
    pub subject: String,
    /// The primary email, normalised, if the provider gave one.
    pub email: Option<String>,
    /// Whether the provider verified that email.
    pub email_verified: bool,
    /// The name to show: the provider's display name, else the email (Google) or the login
    /// (GitHub).
    pub name: String,
}

/// Why a sign-in flow could not finish: a bad `state` is the client's fault, the other
/// variants are the provider's or Redis's.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Unknown, expired, used, or issued for another provider.
    #[error("invalid or expired state")]
    InvalidState,
    /// The state was issued to another client (its binding cookie is missing or differs).
    #[error("the state was issued to another client")]
    WrongClient,
    /// The provider refused the code or answered nonsense (its `error` is kept).
    #[error("the provider refused: {0}")]
    Provider(String),
    /// The provider could not be reached.
    #[error("the provider is unreachable: {0}")]
    Unreachable(#[from] reqwest::Error),
    /// The `state` could not be stored in or taken from Redis.
    #[error(transparent)]
    Redis(#[from] crate::redis::RedisError),
}

impl From<redis::RedisError> for OAuthError {
    fn from(e: redis::RedisError) -> Self {
        Self::Redis(e.into())
    }
}

impl From<deadpool_redis::PoolError> for OAuthError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        Self::Redis(e.into())
    }
}

/// The configured providers, with the HTTP client and the Redis store for `state` and PKCE
/// verifiers; any api replica can finish a flow another started.
#[derive(Clone)]
pub struct OAuth {
    http: reqwest::Client,
    redis: RedisPool,
    keys: Keys,
    config: OAuthConfig,
}

fn redirect_uri(config: &OAuthConfig, provider: &str) -> String {
    format!("{}/{provider}", config.redirect_url)
}

impl OAuth {
    /// Flows for the configured providers; provider calls time out after 10 s.
    pub fn new(config: OAuthConfig, redis: RedisPool, keys: Keys) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent("keel")
            .build()
            .unwrap_or_default();
        Self {
            http,
            redis,
            keys,
            config,
        }
    }

    /// The configured provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&OAuthProviderConfig> {
        self.config.provider(name)
    }

    /// Starts a flow: the URL to send the browser to, the `state` it carries, and the
    /// binding value the client must present at the callback (kept in a cookie).
    pub async fn authorize(
        &self,
        provider: &OAuthProviderConfig,
    ) -> Result<Authorization, OAuthError> {
        let state = tokens::generate();
        let verifier = tokens::generate();
        let binding = tokens::generate();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut conn = self.redis.get().await?;
        let _: () = conn
            .set_ex(
                self.keys.key(&format!("oauth:state:{state}")),
                format!("{}|{verifier}|{}", provider.name, binding_hash(&binding)),
                STATE_TTL.as_secs(),
            )
            .await?;
        let mut url = reqwest::Url::parse(&provider.auth_url)
            .map_err(|e| OAuthError::Provider(format!("bad authorization URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &redirect_uri(&self.config, provider.name))
            .append_pair("scope", provider.scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(Authorization {
            url: url.to_string(),
            state,
            binding,
        })
    }

    /// Exchanges `code` (after checking and using up `state`, and checking that `binding` is
    /// the value its flow was started with) and reads the profile.
    pub async fn exchange(
        &self,
        provider: &OAuthProviderConfig,
        code: &str,
        state: &str,
        binding: Option<&str>,
    ) -> Result<Profile, OAuthError> {
        if !tokens::is_well_formed(state) {
            return Err(OAuthError::InvalidState);
        }
        let mut conn = self.redis.get().await?;
        let stored: Option<String> = redis::cmd("GETDEL")
            .arg(self.keys.key(&format!("oauth:state:{state}")))
            .query_async(&mut *conn)
            .await?;
        let mut parts = stored.as_deref().unwrap_or_default().splitn(3, '|');
        let (Some(stored_provider), Some(verifier), Some(stored_binding)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(OAuthError::InvalidState);
        };
        if stored_provider != provider.name {
            return Err(OAuthError::InvalidState);
        }
        // The state is used up either way: a replay from another client burns it.
        if binding.map(binding_hash).as_deref() != Some(stored_binding) {
            return Err(OAuthError::WrongClient);
        }
        let verifier = verifier.to_owned();
        let redirect = redirect_uri(&self.config, provider.name);
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect),
            ("client_id", &provider.client_id),
            ("client_secret", provider.client_secret.expose_secret()),
            ("code_verifier", &verifier),
        ];
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: Option<String>,
            error: Option<String>,
        }
        let answer: TokenAnswer = self
            .http
            .post(&provider.token_url)
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await?
            .json()
            .await
            .map_err(|e| OAuthError::Provider(format!("token answer: {e}")))?;
        let token = answer.access_token.ok_or_else(|| {
            OAuthError::Provider(answer.error.unwrap_or_else(|| "no access_token".into()))
        })?;
        match provider.name {
            "github" => self.github_profile(provider, &token).await,
            _ => self.google_profile(provider, &token).await,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        token: &str,
    ) -> Result<T, OAuthError> {
        let res = self
            .http
            .get(url)
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(OAuthError::Provider(format!(
                "{url} answered {}",
                res.status()
            )));
        }
        res.json()
            .await
            .map_err(|e| OAuthError::Provider(format!("{url}: {e}")))
    }

    async fn google_profile(
        &self,
        provider: &OAuthProviderConfig,
        token: &str,
    ) -> Result<Profile, OAuthError> {
        #[derive(Deserialize)]
        struct UserInfo {
            sub: String,
            email: Option<String>,
            #[serde(default)]
            email_verified: bool,
            name: Option<String>,
        }
        let info: UserInfo = self.get_json(&provider.profile_url, token).await?;
        Ok(Profile {
            provider: "google",
            subject: info.sub,
            name: info
                .name
                .unwrap_or_else(|| info.email.clone().unwrap_or_default()),
            email: info.email.map(|e| e.trim().to_lowercase()),
            email_verified: info.email_verified,
        })
    }

    async fn github_profile(
        &self,
        provider: &OAuthProviderConfig,
        token: &str,
    ) -> Result<Profile, OAuthError> {
        #[derive(Deserialize)]
        struct User {
            id: u64,
            login: String,
            name: Option<String>,
        }
        #[derive(Deserialize)]
        struct Email {
            email: String,
            primary: bool,
            verified: bool,
        }
        let user: User = self
            .get_json(&format!("{}/user", provider.profile_url), token)
            .await?;
        let emails: Vec<Email> = self
            .get_json(&format!("{}/user/emails", provider.profile_url), token)
            .await?;
        let primary = emails.into_iter().find(|e| e.primary);
        Ok(Profile {
            provider: "github",
            subject: user.id.to_string(),
            name: user.name.unwrap_or(user.login),
            email_verified: primary.as_ref().is_some_and(|e| e.verified),
            email: primary.map(|e| e.email.trim().to_lowercase()),
        })
    }
}
