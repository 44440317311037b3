//! A fake OAuth 2.0 provider speaking the real protocol over HTTP on loopback: authorization
//! redirect with `code` and `state`, code exchange with client authentication and PKCE (S256)
//! checks, and Google-style (`/userinfo`) and GitHub-style (`/user`, `/user/emails`) profile
//! endpoints. Wrong codes, clients or verifiers get the error answers a real provider gives.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The user the fake provider signs in.
#[derive(Debug, Clone)]
pub struct FakeProfile {
    /// The provider's user id.
    pub id: String,
    /// The primary email the profile endpoints return; `None` answers without one.
    pub email: Option<String>,
    /// Whether the provider verified it.
    pub verified: bool,
    /// The display name (`name`) the profile endpoints return.
    pub name: String,
}

struct State {
    client_id: String,
    client_secret: String,
    profile: FakeProfile,
    codes: HashMap<String, (String, String)>,
    tokens: HashSet<String>,
}

/// A fake provider running on a loopback port, stopped when dropped; point a provider's
/// URLs at it with [`FakeOAuthProvider::env`].
pub struct FakeOAuthProvider {
    base: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

impl FakeOAuthProvider {
    /// Starts the fake with a client and the user it signs in.
    pub fn start(client_id: &str, client_secret: &str, profile: FakeProfile) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .unwrap_or_else(|e| panic!("addr: {e}"))
        );
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            profile,
            codes: HashMap::new(),
            tokens: HashSet::new(),
        }));
        let data = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
                .route("/user", web::get().to(github_user))
                .route("/user/emails", web::get().to(github_emails))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap_or_else(|e| panic!("listen: {e}"))
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            state,
            handle,
        }
    }

    /// The variables that point a Keel provider (`google` or `github`) at this fake.
    pub fn env(&self, provider: &str) -> Vec<(String, String)> {
        let (id, secret) = self
            .state
            .lock()
            .map(|s| (s.client_id.clone(), s.client_secret.clone()))
            .unwrap_or_default();
        let up = provider.to_uppercase();
        let profile_var = if provider == "github" {
            "API_URL"
        } else {
            "USERINFO_URL"
        };
        let profile_url = if provider == "github" {
            self.base.clone()
        } else {
            format!("{}/userinfo", self.base)
        };
        vec![
            (format!("KEEL_{up}_CLIENT_ID"), id),
            (format!("KEEL_{up}_CLIENT_SECRET"), secret),
            (
                format!("KEEL_{up}_AUTH_URL"),
                format!("{}/authorize", self.base),
            ),
            (
                format!("KEEL_{up}_TOKEN_URL"),
                format!("{}/token", self.base),
            ),
            (format!("KEEL_{up}_{profile_var}"), profile_url),
        ]
    }

    /// Changes the user it signs in.
    pub fn set_profile(&self, profile: FakeProfile) {
        if let Ok(mut s) = self.state.lock() {
            s.profile = profile;
        }
    }
}

impl Drop for FakeOAuthProvider {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

type Params = web::Query<HashMap<String, String>>;

async fn authorize(state: web::Data<Mutex<State>>, q: Params) -> HttpResponse {
    let Ok(mut s) = state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != s.client_id || get("response_type") != "code" {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_request"}));
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return HttpResponse::BadRequest().json(
            serde_json::json!({"error": "invalid_request", "error_description": "PKCE required"}),
        );
    }
    let code = Uuid::new_v4().simple().to_string();
    s.codes
        .insert(code.clone(), (get("code_challenge"), get("redirect_uri")));
    let location = format!("{}?code={code}&state={}", get("redirect_uri"), get("state"));
    HttpResponse::Found()
        .insert_header(("location", location))
        .finish()
}

async fn token(
    state: web::Data<Mutex<State>>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let Ok(mut s) = state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("client_id") != s.client_id || get("client_secret") != s.client_secret {
        return HttpResponse::Unauthorized().json(serde_json::json!({"error": "invalid_client"}));
    }
    let Some((challenge, redirect)) = s.codes.remove(&get("code")) else {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_grant"}));
    };
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
    if get("grant_type") != "authorization_code"
        || redirect != get("redirect_uri")
        || computed != challenge
    {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_grant"}));
    }
    let access = Uuid::new_v4().simple().to_string();
    s.tokens.insert(access.clone());
    HttpResponse::Ok().json(serde_json::json!({"access_token": access, "token_type": "bearer"}))
}

fn authorized(s: &State, req: &HttpRequest) -> bool {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| s.tokens.contains(t))
}

async fn userinfo(state: web::Data<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    let Ok(s) = state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    if !authorized(&s, &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let p = &s.profile;
    HttpResponse::Ok().json(serde_json::json!({
        "sub": p.id, "email": p.email, "email_verified": p.verified, "name": p.name,
    }))
}

async fn github_user(state: web::Data<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    let Ok(s) = state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    if !authorized(&s, &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let id: u64 = s.profile.id.parse().unwrap_or(1);
    HttpResponse::Ok().json(serde_json::json!({"id": id, "login": "octo", "name": s.profile.name}))
}

async fn github_emails(state: web::Data<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    let Ok(s) = state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    if !authorized(&s, &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let emails: Vec<serde_json::Value> = s
        .profile
        .email
        .iter()
        .map(|e| serde_json::json!({"email": e, "primary": true, "verified": s.profile.verified}))
        .collect();
    HttpResponse::Ok().json(emails)
}
