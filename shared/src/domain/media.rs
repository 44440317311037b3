//! Media objects' names and kinds. A [`MediaKey`] is the only way to name an object in media
//! storage, and it can only be made by [`MediaKey::new_avatar`] (random) or parsed from the
//! one strict shape `avatars/<32 hex>.<png|jpg|webp>`: no separator, dot-segment or other
//! character a client could use to reach another path gets through.

use std::fmt;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// The image formats Keel accepts and stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// PNG.
    Png,
    /// JPEG (JFIF/EXIF).
    Jpeg,
    /// WebP.
    Webp,
}

impl ImageKind {
    /// Every kind, in the order they are listed to clients.
    pub const ALL: [Self; 3] = [Self::Png, Self::Jpeg, Self::Webp];

    /// The kind whose signature `bytes` start with, whatever anyone says it is.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    /// The media type it is served with.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    /// The kind a `Content-Type` value names (parameters and case ignored; `image/jpg`, a
    /// common mistake, counts as JPEG).
    pub fn from_mime(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "image/png" => Some(Self::Png),
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// The file extension of its keys.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.extension() == ext)
    }
}

/// The name of one object in media storage: `avatars/<32 lowercase hex>.<png|jpg|webp>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaKey(String);

/// The folder avatars live in.
const AVATARS: &str = "avatars/";

impl MediaKey {
    /// A new, random (128 bits) avatar key for an image of `kind`: unguessable, and never the
    /// same twice, so an object is never overwritten and a URL never shows another image.
    pub fn new_avatar(kind: ImageKind) -> Self {
        let mut random = [0u8; 16];
        // The OS random source failing is not survivable; uuid v4 takes the same source.
        if getrandom::fill(&mut random).is_err() {
            random = *uuid::Uuid::new_v4().as_bytes();
        }
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{AVATARS}{hex}.{}", kind.extension()))
    }

    /// Parses a key, refusing anything but the exact shape.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a media key");
        let name = raw.strip_prefix(AVATARS).ok_or_else(bad)?;
        Self::parse_avatar_name(name).map_err(|_| bad())
    }

    /// The key of the avatar whose file name (the last path segment) is `name`.
    pub fn parse_avatar_name(name: &str) -> Result<Self, String> {
        let bad = || format!("{name:?} is not an avatar name");
        let (stem, ext) = name.split_once('.').ok_or_else(bad)?;
        let hex = stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex || ImageKind::from_extension(ext).is_none() {
            return Err(bad());
        }
        Ok(Self(format!("{AVATARS}{name}")))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment (`<hex>.<ext>`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The image kind its extension names.
    pub fn kind(&self) -> ImageKind {
        self.0
            .rsplit('.')
            .next()
            .and_then(ImageKind::from_extension)
            // Every constructor checked the extension.
            .unwrap_or(ImageKind::Png)
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MediaKey {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<MediaKey> for String {
    fn from(key: MediaKey) -> Self {
        key.0
    }
}

impl ToSql for MediaKey {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for MediaKey {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let s = <&str as FromSql>::from_sql(ty, raw)?;
        Self::parse(s).map_err(Into::into)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_avatar_keys_are_random_and_parse_back() {
        let a = MediaKey::new_avatar(ImageKind::Webp);
        let b = MediaKey::new_avatar(ImageKind::Webp);
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("avatars/") && a.as_str().ends_with(".webp"));
        assert_eq!(MediaKey::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(MediaKey::parse_avatar_name(a.file_name()), Ok(a.clone()));
        assert_eq!(a.kind(), ImageKind::Webp);
    }

    #[test]
    fn anything_but_the_exact_shape_is_refused() {
        let hex = "0123456789abcdef0123456789abcdef";
        for name in [
            "../etc/passwd",
            "..%2f..%2fetc%2fpasswd",
            &format!("{hex}.png/../x"),
            &format!("{hex}.PNG"),
            &format!("{hex}.gif"),
            &format!("{hex}.png.png"),
            &format!("{}.png", hex.to_uppercase()),
            &format!("{}.png", &hex[1..]),
            &format!("{hex}0.png"),
            &format!("{hex}\0.png"),
            &format!("./{hex}.png"),
            "",
        ] {
            assert!(MediaKey::parse_avatar_name(name).is_err(), "{name:?}");
        }
        assert!(MediaKey::parse(&format!("other/{hex}.png")).is_err());
        assert!(MediaKey::parse(&format!("avatars//{hex}.png")).is_err());
        assert!(MediaKey::parse(&format!("avatars/{hex}.jpg")).is_ok());
    }

    #[test]
    fn kinds_are_sniffed_from_signatures_not_names() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a"), None);
        assert_eq!(ImageKind::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageKind::sniff(b"RIFF\x10\0\0\0WAVE"), None);
    }

    #[test]
    fn content_types_are_read_leniently_about_case_and_parameters() {
        assert_eq!(
            ImageKind::from_mime("Image/PNG; charset=binary"),
            Some(ImageKind::Png)
        );
        assert_eq!(ImageKind::from_mime("image/jpg"), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::from_mime("image/svg+xml"), None);
        assert_eq!(ImageKind::from_mime("application/octet-stream"), None);
    }
}
