//! Random opaque tokens (refresh tokens, email links): 32 random bytes, base64url; only their
//! SHA-256 is stored, so a database leak reveals no usable token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::TokenHash;

/// A new token: 32 bytes from the OS random source, base64url without padding (43 characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not recoverable; uuid v4 would fail the same way.
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for `token`.
pub fn hash(token: &str) -> TokenHash {
    TokenHash::from_digest(Sha256::digest(token.as_bytes()).into())
}

/// Whether `token` has the shape [`generate`] produces (cheap check before any lookup).
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_well_formed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(is_well_formed(&a), "{a}");
        assert_ne!(hash(&a), hash(&b));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"a".repeat(42).replace('a', "!")));
    }
}
