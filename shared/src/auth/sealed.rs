//! Secrets the server must read back (TOTP secrets), sealed at rest with XChaCha20-Poly1305
//! under a key derived from `KEEL_SECRET_KEY`. Changing `KEEL_SECRET_KEY` makes sealed values
//! unreadable (users then set up two-factor authentication again).

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Seals and opens values with one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// A sealed value that does not open (wrong key, or tampered).
#[derive(Debug, thiserror::Error)]
#[error("sealed value does not open")]
pub struct OpenError;

impl Sealer {
    /// A sealer keyed by `secret` under the label `purpose`.
    pub fn new(secret: &SecretString, purpose: &str) -> Self {
        let key = Sha256::new()
            .chain_update(b"keel-seal-v1:")
            .chain_update(purpose.as_bytes())
            .chain_update(b":")
            .chain_update(secret.expose_secret().as_bytes())
            .finalize();
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// Seals `plaintext` as base64(nonce ‖ ciphertext).
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        STANDARD_NO_PAD.encode(out)
    }

    /// Opens a value made by [`Sealer::seal`] with the same key.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let raw = STANDARD_NO_PAD.decode(sealed).map_err(|_| OpenError)?;
        if raw.len() < 24 {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = raw.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_the_same_key_only() {
        let a = Sealer::new(&SecretString::from("key-a"), "totp");
        let sealed = a.seal(b"JBSWY3DPEHPK3PXP");
        assert_eq!(a.open(&sealed).expect("opens"), b"JBSWY3DPEHPK3PXP");
        assert!(
            Sealer::new(&SecretString::from("key-b"), "totp")
                .open(&sealed)
                .is_err()
        );
        assert!(
            Sealer::new(&SecretString::from("key-a"), "other")
                .open(&sealed)
                .is_err()
        );
        assert_ne!(a.seal(b"x"), a.seal(b"x"), "random nonces");
    }
}
