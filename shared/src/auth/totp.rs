//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, ±1 step of clock skew) and recovery codes.

use base64::Engine;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Totp};

/// A new 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
    bytes
}

fn totp(secret: &[u8], account: &str, issuer: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .ok()
}

/// The base32 form users type into an authenticator by hand.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URI authenticator apps scan.
pub fn uri(secret: &[u8], account: &str, issuer: &str) -> Option<String> {
    totp(secret, account, issuer)?.to_url().ok()
}

/// The URI as a QR code, an SVG `data:` URI an `<img>` can show.
pub fn qr_svg_data_uri(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// The time step a code matches at Unix time `now` (±1 step), if any.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "x", "x")?.check(code, now)
}

/// The code for Unix time `now` (tests, and clients written in Rust).
pub fn code_at(secret: &[u8], now: u64) -> String {
    totp(secret, "x", "x")
        .map(|t| t.generate(now).to_string())
        .unwrap_or_default()
}

/// The code for Unix time `now` of a base32 secret (as setup shows it).
pub fn code_for_base32(secret: &str, now: u64) -> Option<String> {
    let bytes = totp_rs::Secret::try_from_base32(secret).ok()?;
    Some(code_at(&bytes, now))
}

/// Ten new recovery codes, `xxxxx-xxxxx` from an unambiguous alphabet.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 10];
            getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// What is stored for a recovery code (case and dashes do not matter when typed).
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_step_and_one_step_either_side() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now);
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert!(matching_step(&secret, &code, now + 30).is_some());
        assert!(matching_step(&secret, &code, now + 90).is_none());
        assert!(matching_step(&secret, "12345", now).is_none());
        assert!(matching_step(&secret, "abcdef", now).is_none());
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_renders_as_a_qr_code() {
        let uri = uri(&new_secret(), "ada@example.com", "Acme").expect("uri");
        assert!(
            uri.starts_with("otpauth://totp/Acme:ada%40example.com?secret="),
            "{uri}"
        );
        assert!(qr_svg_data_uri(&uri).is_some_and(|q| q.starts_with("data:image/svg+xml;base64,")));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_regardless_of_case_and_dashes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(
            recovery_code_hash("abcde-fghjk"),
            recovery_code_hash("ABCDEFGHJK")
        );
    }
}
