//! Access tokens: JWT signed with HS256 (pinned: no other algorithm is accepted). The header's
//! `kid` names the key; the first configured key signs, every configured key verifies, so a key
//! is rotated by adding a new one first and removing the old one after the access-token
//! lifetime. Every token names its issuer (`iss`) and audience (`aud`), and only tokens
//! naming the configured ones verify, so a token minted for another service under a shared
//! key is refused.

use std::time::Duration;

use crate::domain::{SessionId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id (`users.id`).
    pub sub: UserId,
    /// The session (refresh-token family) it belongs to.
    pub sid: SessionId,
    /// The issuer (`KEEL_JWT_ISSUER`).
    pub iss: String,
    /// The audience (`KEEL_JWT_AUDIENCE`).
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// Why a token was refused (all answered as 401; the variant is for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or no/unknown `kid`, or another algorithm, or a missing or foreign `iss`
    /// or `aud`.
    #[error("malformed token")]
    Malformed,
    /// Signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Past `exp`.
    #[error("expired")]
    Expired,
}

/// The signing and verification keys.
#[derive(Clone)]
pub struct JwtKeys {
    keys: Vec<(String, EncodingKey, DecodingKey)>,
    ttl: Duration,
    issuer: String,
    audience: String,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(k, _, _)| k.as_str()).collect();
        f.debug_struct("JwtKeys")
            .field("kids", &kids)
            .field("ttl", &self.ttl)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtKeys {
    /// Keys as `(kid, secret)`, the first one signing; tokens live `ttl` and carry (and
    /// must carry) `issuer` and `audience`.
    pub fn new(
        keys: &[(String, SecretString)],
        ttl: Duration,
        issuer: &str,
        audience: &str,
    ) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|(kid, secret)| {
                    let bytes = secret.expose_secret().as_bytes();
                    (
                        kid.clone(),
                        EncodingKey::from_secret(bytes),
                        DecodingKey::from_secret(bytes),
                    )
                })
                .collect(),
            ttl,
            validation: validation(issuer, audience),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Access-token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed token for `user` in `session`.
    pub fn issue(
        &self,
        user: UserId,
        session: SessionId,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let (kid, key, _) = self
            .keys
            .first()
            .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            sid: session,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(900),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims, key)
    }

    /// Verifies `token`: pinned algorithm, known `kid`, signature, expiry (no leeway),
    /// issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let (_, _, key) = self
            .keys
            .iter()
            .find(|(k, _, _)| *k == kid)
            .ok_or(TokenError::Malformed)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })
    }
}

/// What [`JwtKeys::verify`] checks besides the signature: built once, not per request.
fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> JwtKeys {
        let pairs: Vec<(String, SecretString)> = pairs
            .iter()
            .map(|(k, s)| ((*k).to_owned(), SecretString::from((*s).to_owned())))
            .collect();
        JwtKeys::new(&pairs, Duration::from_secs(900), "keel", "keel-api")
    }

    const A: &str = "a-secret-of-at-least-thirty-two-bytes!!";
    const B: &str = "another-secret-of-thirty-two-bytes-or-more";

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let k = keys(&[("k1", A)]);
        let (user, session) = (UserId::new(), SessionId::new());
        let claims = k
            .verify(&k.issue(user, session).expect("issue"))
            .expect("verify");
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            ("keel", "keel-api")
        );
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn an_old_key_keeps_verifying_after_rotation_until_removed() {
        let old = keys(&[("k1", A)]);
        let token = old.issue(UserId::new(), SessionId::new()).expect("issue");
        let rotated = keys(&[("k2", B), ("k1", A)]);
        assert!(rotated.verify(&token).is_ok());
        let removed = keys(&[("k2", B)]);
        assert_eq!(removed.verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn a_token_signed_with_another_secret_under_the_same_kid_is_refused() {
        let forged = keys(&[("k1", B)])
            .issue(UserId::new(), SessionId::new())
            .expect("issue");
        assert_eq!(
            keys(&[("k1", A)]).verify(&forged),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let k = JwtKeys::new(
            &[("k1".into(), SecretString::from(A))],
            Duration::from_secs(0),
            "keel",
            "keel-api",
        );
        let token = k.issue(UserId::new(), SessionId::new()).expect("issue");
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(k.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_for_another_issuer_or_audience_is_refused_under_the_same_key() {
        let ours = keys(&[("k1", A)]);
        let pairs = [("k1".to_owned(), SecretString::from(A))];
        let ttl = Duration::from_secs(900);
        for other in [
            JwtKeys::new(&pairs, ttl, "keel", "billing-service"),
            JwtKeys::new(&pairs, ttl, "someone-else", "keel-api"),
        ] {
            let token = other.issue(UserId::new(), SessionId::new()).expect("issue");
            assert_eq!(ours.verify(&token), Err(TokenError::Malformed), "{other:?}");
        }
    }

    #[test]
    fn a_token_without_issuer_and_audience_is_refused() {
        let claims = serde_json::json!({
            "sub": UserId::new(), "sid": SessionId::new(),
            "iat": chrono::Utc::now().timestamp(), "exp": chrono::Utc::now().timestamp() + 900,
        });
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(A.as_bytes()))
            .expect("encode");
        assert_eq!(
            keys(&[("k1", A)]).verify(&token),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn garbage_and_unsigned_tokens_are_refused() {
        let k = keys(&[("k1", A)]);
        assert_eq!(k.verify("not.a.jwt"), Err(TokenError::Malformed));
        // alg "none" with a kid.
        let none = "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAifQ.";
        assert_eq!(k.verify(none), Err(TokenError::Malformed));
    }
}
