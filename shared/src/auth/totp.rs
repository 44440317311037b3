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

/// Symbols of recovery codes: Crockford's base32 (no i, l, o, u), 32 of them, so each random
/// byte gives 5 bits without bias.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Symbols per recovery code: 24 × 5 = 120 bits of entropy (ASVS asks for at least 112), so
/// a SHA-256 of the code cannot be brute-forced and needs no salt or slow hash.
const RECOVERY_SYMBOLS: usize = 24;

/// Ten new recovery codes, `xxxx-xxxx-xxxx-xxxx-xxxx-xxxx` (120 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_SYMBOLS];
            getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
            let symbols: Vec<String> = bytes
                .chunks(4)
                .map(|group| {
                    group
                        .iter()
                        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
                        .collect()
                })
                .collect();
            symbols.join("-")
        })
        .collect()
}

/// What is stored for a recovery code. Case and dashes do not matter when typed, and the
/// look-alikes of Crockford's base32 are read as it reads them (o → 0, i and l → 1). Codes of
/// the earlier, shorter format (which had none of those letters) hash as they always did, so
/// they keep working.
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
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
        assert_eq!(recovery_code_hash("0o1-il"), recovery_code_hash("00111"));
    }

    #[test]
    fn recovery_codes_carry_at_least_112_bits() {
        for code in new_recovery_codes() {
            let symbols: Vec<char> = code.chars().filter(|c| *c != '-').collect();
            assert_eq!(symbols.len(), 24, "{code}");
            assert!(
                symbols
                    .iter()
                    .all(|c| RECOVERY_ALPHABET.contains(&(*c as u8))),
                "{code}"
            );
            // 24 symbols of a 32-symbol alphabet, chosen uniformly: 120 bits.
            assert!(24.0 * 32f64.log2() >= 112.0);
        }
    }

    #[test]
    fn a_code_of_the_earlier_format_still_hashes_as_it_was_stored() {
        // Earlier codes were `xxxxx-xxxxx` stored as SHA-256 of the lowercase symbols.
        let stored = Sha256::digest(b"abcdefghjk").to_vec();
        assert_eq!(recovery_code_hash("abcde-fghjk"), stored);
        assert_eq!(recovery_code_hash("ABCDE-FGHJK"), stored);
    }
}
