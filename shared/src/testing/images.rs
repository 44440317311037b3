//! Image files for tests: each accepted format, photos carrying EXIF (a GPS position and an
//! orientation), a PNG with a text chunk, and a PNG whose header claims a huge canvas.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, ImageFormat, RgbImage};

use crate::domain::ImageKind;

/// Bytes the EXIF of [`jpeg_with_exif`] and [`webp_with_exif`] carries (as the image
/// description, beside a GPS position): absent from anything stripped of metadata.
pub const EXIF_MARKER: &[u8] = b"KEEL-GPS-48.8584N-2.2945E";

/// A `width`×`height` picture: red in the top-left quarter, a gradient elsewhere.
pub fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        if x < width.div_ceil(2) && y < height.div_ceil(2) {
            image::Rgb([255, 0, 0])
        } else {
            let g = u8::try_from((x * 255) / width.max(1)).unwrap_or(u8::MAX);
            let b = u8::try_from((y * 255) / height.max(1)).unwrap_or(u8::MAX);
            image::Rgb([0, g, b])
        }
    })
}

/// [`picture`] encoded as `kind`.
pub fn encoded(kind: ImageKind, width: u32, height: u32) -> Vec<u8> {
    let format = match kind {
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Webp => ImageFormat::WebP,
    };
    let mut out = Cursor::new(Vec::new());
    picture(width, height)
        .write_to(&mut out, format)
        .unwrap_or_else(|e| panic!("encode {kind:?}: {e}"));
    out.into_inner()
}

/// A JPEG whose EXIF holds a GPS position, [`EXIF_MARKER`] and `orientation` (1-8).
pub fn jpeg_with_exif(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    encoder
        .set_exif_metadata(exif(orientation))
        .unwrap_or_else(|e| panic!("exif: {e}"));
    write(encoder, width, height);
    out
}

/// A lossless WebP whose EXIF holds a GPS position and [`EXIF_MARKER`].
pub fn webp_with_exif(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = WebPEncoder::new_lossless(&mut out);
    encoder
        .set_exif_metadata(exif(1))
        .unwrap_or_else(|e| panic!("exif: {e}"));
    write(encoder, width, height);
    out
}

/// A PNG with a `tEXt` chunk (`Comment`: `text`) right after its header.
pub fn png_with_text(width: u32, height: u32, text: &str) -> Vec<u8> {
    let png = encoded(ImageKind::Png, width, height);
    // Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC).
    let after_ihdr = 8 + 25;
    let mut data = b"Comment\0".to_vec();
    data.extend_from_slice(text.as_bytes());
    [
        &png[..after_ihdr],
        &chunk(b"tEXt", &data),
        &png[after_ihdr..],
    ]
    .concat()
}

/// A tiny PNG whose header claims `width`×`height` pixels (a decompression bomb's shape):
/// only a decoder that trusts the header before checking it would try to allocate them.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = encoded(ImageKind::Png, 1, 1);
    let mut ihdr = png[16..29].to_vec();
    ihdr[..4].copy_from_slice(&width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&height.to_be_bytes());
    png[8..33].copy_from_slice(&chunk(b"IHDR", &ihdr));
    png
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn write(encoder: impl ImageEncoder, width: u32, height: u32) {
    let img = picture(width, height);
    encoder
        .write_image(img.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap_or_else(|e| panic!("encode: {e}"));
}

/// A little-endian TIFF structure as EXIF carries it: IFD0 with the orientation, an image
/// description ([`EXIF_MARKER`]) and a pointer to a GPS IFD (latitude 48°51'30" N).
fn exif(orientation: u16) -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = Vec::with_capacity(12);
        e.extend_from_slice(&tag.to_le_bytes());
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let marker_len = u32::try_from(EXIF_MARKER.len() + 1).unwrap_or(0);
    let ifd0_at = 8;
    let marker_at = ifd0_at + 2 + 3 * 12 + 4;
    let gps_at = (marker_at + marker_len).next_multiple_of(2);
    let rationals_at = gps_at + 2 + 2 * 12 + 4;
    let mut t = b"II\x2a\0".to_vec();
    t.extend_from_slice(&ifd0_at.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend(entry(0x010E, ASCII, marker_len, marker_at));
    t.extend(entry(0x0112, SHORT, 1, u32::from(orientation)));
    t.extend(entry(0x8825, LONG, 1, gps_at));
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(EXIF_MARKER);
    t.push(0);
    t.resize(usize::try_from(gps_at).unwrap_or(0), 0);
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend(entry(0x0001, ASCII, 2, u32::from_le_bytes(*b"N\0\0\0")));
    t.extend(entry(0x0002, RATIONAL, 3, rationals_at));
    t.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in [(48u32, 1u32), (51, 1), (30, 1)] {
        t.extend_from_slice(&num.to_le_bytes());
        t.extend_from_slice(&den.to_le_bytes());
    }
    t
}

/// A PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&out[4..]).to_be_bytes());
    out
}

/// CRC-32 (ISO-HDLC), as PNG uses it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn fixtures_decode_and_carry_what_they_claim() {
        for kind in ImageKind::ALL {
            let img = image::load_from_memory(&encoded(kind, 10, 6)).expect("decodes");
            assert_eq!((img.width(), img.height()), (10, 6), "{kind:?}");
        }
        let jpeg = jpeg_with_exif(10, 6, 6);
        assert!(contains(&jpeg, EXIF_MARKER));
        image::load_from_memory(&jpeg).expect("jpeg with exif decodes");
        let png = png_with_text(4, 4, "hello");
        assert!(contains(&png, b"tEXthello") || contains(&png, b"hello"));
        image::load_from_memory(&png).expect("png with text decodes");
        let bomb = png_claiming(70_000, 70_000);
        assert_eq!(&bomb[16..20], &70_000u32.to_be_bytes());
    }
}
