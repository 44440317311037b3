//! Social login: the providers Keel knows, from one table, and where they send users back.

use secrecy::SecretString;

use super::ConfigError;
use super::vars::Vars;

/// One OAuth 2.0 provider's endpoints and client.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// `google` or `github`.
    pub name: &'static str,
    /// The client id this deployment registered with the provider.
    pub client_id: String,
    /// The client secret that goes with `client_id` (sent only to the token endpoint).
    pub client_secret: SecretString,
    /// Authorization endpoint (the browser goes there).
    pub auth_url: String,
    /// Token endpoint, where the server trades the authorization code for a token.
    pub token_url: String,
    /// Profile endpoint (Google: OpenID userinfo; GitHub: the API base, `/user` and
    /// `/user/emails` are under it).
    pub profile_url: String,
    /// Scopes asked for, space-separated as the provider expects them.
    pub scope: &'static str,
}

/// Social login: which providers are on and where they send the browser back.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// `KEEL_OAUTH_REDIRECT_URL`: the frontend page providers send the browser back to;
    /// `/<provider>` is appended.
    pub redirect_url: String,
    /// Providers with a client id and secret configured.
    pub providers: Vec<OAuthProviderConfig>,
}

impl OAuthConfig {
    /// The provider named `name`, if configured.
    pub fn provider(&self, name: &str) -> Option<&OAuthProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// Every provider in [`PROVIDERS`] whose client id is set, and the redirect URL
    /// (default: `frontend_url` + `/oauth/callback`).
    pub(super) fn from_vars(v: &Vars, frontend_url: &str) -> Result<Self, ConfigError> {
        let mut providers = Vec::new();
        for known in &PROVIDERS {
            if let Some(provider) = known.read(v)? {
                providers.push(provider);
            }
        }
        let redirect_url = v
            .get("KEEL_OAUTH_REDIRECT_URL")
            .map_or_else(|| format!("{frontend_url}/oauth/callback"), str::to_owned)
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            redirect_url,
            providers,
        })
    }
}

/// An endpoint's variable and its default.
struct Endpoint {
    var: &'static str,
    default: &'static str,
}

/// A provider Keel supports: its variables, default endpoints and scopes.
struct KnownProvider {
    name: &'static str,
    client_id_var: &'static str,
    client_secret_var: &'static str,
    auth: Endpoint,
    token: Endpoint,
    profile: Endpoint,
    scope: &'static str,
}

/// The providers, in the order they are listed; adding one is adding a row (and its lines in
/// `.env.example`, which the completeness test enforces).
const PROVIDERS: [KnownProvider; 2] = [
    KnownProvider {
        name: "google",
        client_id_var: "KEEL_GOOGLE_CLIENT_ID",
        client_secret_var: "KEEL_GOOGLE_CLIENT_SECRET",
        auth: Endpoint {
            var: "KEEL_GOOGLE_AUTH_URL",
            default: "https://accounts.google.com/o/oauth2/v2/auth",
        },
        token: Endpoint {
            var: "KEEL_GOOGLE_TOKEN_URL",
            default: "https://oauth2.googleapis.com/token",
        },
        profile: Endpoint {
            var: "KEEL_GOOGLE_USERINFO_URL",
            default: "https://openidconnect.googleapis.com/v1/userinfo",
        },
        scope: "openid email profile",
    },
    KnownProvider {
        name: "github",
        client_id_var: "KEEL_GITHUB_CLIENT_ID",
        client_secret_var: "KEEL_GITHUB_CLIENT_SECRET",
        auth: Endpoint {
            var: "KEEL_GITHUB_AUTH_URL",
            default: "https://github.com/login/oauth/authorize",
        },
        token: Endpoint {
            var: "KEEL_GITHUB_TOKEN_URL",
            default: "https://github.com/login/oauth/access_token",
        },
        profile: Endpoint {
            var: "KEEL_GITHUB_API_URL",
            default: "https://api.github.com",
        },
        scope: "read:user user:email",
    },
];

impl KnownProvider {
    /// The provider, on when its client id is set; then its secret is required. Its other
    /// variables are only read when it is on.
    fn read(&self, v: &Vars) -> Result<Option<OAuthProviderConfig>, ConfigError> {
        let Some(client_id) = v.get(self.client_id_var) else {
            return Ok(None);
        };
        let client_secret = v.get(self.client_secret_var).ok_or_else(|| {
            ConfigError::new(
                self.client_secret_var,
                format!("must be set with {}", self.client_id_var),
            )
        })?;
        Ok(Some(OAuthProviderConfig {
            name: self.name,
            client_id: client_id.to_owned(),
            client_secret: SecretString::from(client_secret.to_owned()),
            auth_url: self.auth.read(v)?,
            token_url: self.token.read(v)?,
            profile_url: self.profile.read(v)?,
            scope: self.scope,
        }))
    }
}

impl Endpoint {
    /// The endpoint's URL, trailing `/` dropped; it must be http(s).
    fn read(&self, v: &Vars) -> Result<String, ConfigError> {
        let url = v.get_or(self.var, self.default).trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::new(self.var, "must be an http(s) URL"));
        }
        Ok(url.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::accepted;

    const FRONTEND: &str = "http://localhost:3000";

    fn names(c: &OAuthConfig) -> Vec<&'static str> {
        c.providers.iter().map(|p| p.name).collect()
    }

    fn oauth(v: &Vars) -> Result<OAuthConfig, ConfigError> {
        OAuthConfig::from_vars(v, FRONTEND)
    }

    #[test]
    fn no_provider_is_on_by_default_and_the_redirect_is_under_the_frontend() {
        let c = accepted(oauth, &[]);
        assert!(c.providers.is_empty());
        assert_eq!(c.redirect_url, "http://localhost:3000/oauth/callback");
    }

    #[test]
    fn an_oauth_provider_is_on_only_with_its_client_id_and_needs_its_secret() {
        let err = oauth(&Vars::of(&[("KEEL_GITHUB_CLIENT_ID", "abc")])).expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "configuration error: KEEL_GITHUB_CLIENT_SECRET: must be set with KEEL_GITHUB_CLIENT_ID"
        );
        let c = accepted(
            oauth,
            &[
                ("KEEL_GITHUB_CLIENT_ID", "abc"),
                ("KEEL_GITHUB_CLIENT_SECRET", "s"),
            ],
        );
        assert_eq!(names(&c), ["github"]);
        let gh = c.provider("github").expect("github");
        assert_eq!(gh.token_url, "https://github.com/login/oauth/access_token");
        assert_eq!(gh.scope, "read:user user:email");
    }

    #[test]
    fn both_providers_keep_the_table_order_and_take_endpoint_overrides() {
        let c = accepted(
            oauth,
            &[
                ("KEEL_GITHUB_CLIENT_ID", "gh"),
                ("KEEL_GITHUB_CLIENT_SECRET", "s"),
                ("KEEL_GOOGLE_CLIENT_ID", "go"),
                ("KEEL_GOOGLE_CLIENT_SECRET", "s"),
                ("KEEL_GOOGLE_USERINFO_URL", "http://127.0.0.1:9000/v1/"),
            ],
        );
        assert_eq!(names(&c), ["google", "github"]);
        let google = c.provider("google").expect("google");
        assert_eq!(google.profile_url, "http://127.0.0.1:9000/v1");
        assert_eq!(google.auth_url, PROVIDERS[0].auth.default);
    }

    #[test]
    fn an_endpoint_that_is_not_http_is_refused() {
        let v = Vars::of(&[
            ("KEEL_GOOGLE_CLIENT_ID", "go"),
            ("KEEL_GOOGLE_CLIENT_SECRET", "s"),
            ("KEEL_GOOGLE_TOKEN_URL", "ftp://tokens"),
        ]);
        let err = oauth(&v).expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "configuration error: KEEL_GOOGLE_TOKEN_URL: must be an http(s) URL"
        );
    }

    #[test]
    fn an_explicit_redirect_url_wins_and_loses_its_trailing_slash() {
        let c = accepted(
            oauth,
            &[("KEEL_OAUTH_REDIRECT_URL", "https://x.example/cb/")],
        );
        assert_eq!(c.redirect_url, "https://x.example/cb");
    }
}
