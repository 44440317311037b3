//! Turning an uploaded file into a stored avatar: the format is sniffed from the bytes (the
//! declared `Content-Type` must agree), the dimensions are checked from the header before any
//! pixel is decoded (decoder limits bound width, height and memory, so a small file claiming
//! a huge canvas is refused cheaply), the pixels are turned upright by the EXIF orientation,
//! scaled down to at most [`STORED_MAX_SIDE`] and encoded afresh in the same format.
//!
//! Re-encoding is what makes the stored file safe: only pixels survive, so EXIF (GPS position,
//! camera serial), XMP, ICC profiles, text chunks, comments and any bytes appended for a
//! polyglot (an HTML or ZIP tail) are gone, and a file that does not fully decode is refused.
//! CPU-bound: callers run it on a blocking thread.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{
    DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits,
};

use crate::domain::ImageKind;

/// The largest upload accepted, in bytes (2 MiB).
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;

/// The widest or tallest image accepted (pixels).
pub const MAX_SIDE: u32 = 4096;

/// Avatars are stored at most this wide and tall (larger ones are scaled down, keeping the
/// aspect ratio): avatars are shown small, and a bounded size bounds storage and bandwidth.
pub const STORED_MAX_SIDE: u32 = 512;

/// The most memory one decode may allocate: a 4096×4096 RGBA image with room to spare.
const MAX_DECODE_ALLOC: u64 = 96 * 1024 * 1024;

/// JPEG quality of re-encoded avatars.
const JPEG_QUALITY: u8 = 85;

/// Why an upload is not an acceptable image. Each names what the client can fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRejection {
    /// The body is empty.
    #[error("is empty")]
    Empty,
    /// The bytes are not PNG, JPEG or WebP (whatever the header says).
    #[error("is not a PNG, JPEG or WebP image")]
    UnsupportedType,
    /// `Content-Type` is missing or names no accepted image type.
    #[error("must be image/png, image/jpeg or image/webp")]
    UnsupportedContentType,
    /// `Content-Type` names another image type than the bytes are.
    #[error("says {} but the body is {}", declared.mime(), actual.mime())]
    ContentTypeMismatch {
        /// What the header says.
        declared: ImageKind,
        /// What the bytes are.
        actual: ImageKind,
    },
    /// Wider or taller than [`MAX_SIDE`] (or too large to decode in the memory allowed).
    #[error("is larger than {MAX_SIDE}x{MAX_SIDE} pixels{}", dimensions.map(|(w, h)| format!(" ({w}x{h})")).unwrap_or_default())]
    TooManyPixels {
        /// The header's dimensions, when it could be read.
        dimensions: Option<(u32, u32)>,
    },
    /// It starts like an image but does not decode (truncated, corrupt, or not an image).
    #[error("is not a valid image ({0})")]
    Malformed(String),
}

/// An avatar ready to store: freshly encoded, metadata-free.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    /// Its format (the upload's).
    pub kind: ImageKind,
    /// The encoded file.
    pub bytes: Vec<u8>,
    /// Width after orientation and scaling.
    pub width: u32,
    /// Height after orientation and scaling.
    pub height: u32,
}

/// Checks and re-encodes an uploaded avatar whose request said `content_type`.
pub fn process_avatar(
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<ProcessedImage, ImageRejection> {
    if bytes.is_empty() {
        return Err(ImageRejection::Empty);
    }
    let kind = ImageKind::sniff(bytes).ok_or(ImageRejection::UnsupportedType)?;
    let declared = content_type
        .and_then(ImageKind::from_mime)
        .ok_or(ImageRejection::UnsupportedContentType)?;
    if declared != kind {
        return Err(ImageRejection::ContentTypeMismatch {
            declared,
            actual: kind,
        });
    }
    let image = decode(bytes, kind)?;
    let image = if image.width() > STORED_MAX_SIDE || image.height() > STORED_MAX_SIDE {
        image.thumbnail(STORED_MAX_SIDE, STORED_MAX_SIDE)
    } else {
        image
    };
    let bytes = encode(&image, kind).map_err(|e| ImageRejection::Malformed(e.to_string()))?;
    Ok(ProcessedImage {
        kind,
        bytes,
        width: image.width(),
        height: image.height(),
    })
}

fn format(kind: ImageKind) -> ImageFormat {
    match kind {
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Webp => ImageFormat::WebP,
    }
}

/// Decodes within the limits, upright.
fn decode(bytes: &[u8], kind: ImageKind) -> Result<DynamicImage, ImageRejection> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format(kind));
    reader.limits(limits);
    // The decoder reads the header only, and checks its dimensions against the limits.
    let mut decoder = reader.into_decoder().map_err(rejection)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageRejection::TooManyPixels {
            dimensions: Some((width, height)),
        });
    }
    if width == 0 || height == 0 {
        return Err(ImageRejection::Malformed("it has no pixels".to_owned()));
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(rejection)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn rejection(e: ImageError) -> ImageRejection {
    match e {
        ImageError::Limits(_) => ImageRejection::TooManyPixels { dimensions: None },
        other => ImageRejection::Malformed(other.to_string()),
    }
}

/// Encodes `image` as `kind`, writing pixels and nothing else.
fn encode(image: &DynamicImage, kind: ImageKind) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    match kind {
        ImageKind::Png => {
            let encoder = PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Default,
                FilterType::Adaptive,
            );
            // PNG keeps every colour type (16-bit, grey, alpha) as it came.
            encoder.write_image(
                image.as_bytes(),
                image.width(),
                image.height(),
                image.color().into(),
            )?;
        }
        ImageKind::Jpeg => {
            let rgb = image.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )?;
        }
        ImageKind::Webp => {
            // The WebP encoder is lossless and takes 8-bit RGB(A) only.
            let (raw, color) = if image.color().has_alpha() {
                let rgba = image.to_rgba8();
                (rgba.into_raw(), image::ExtendedColorType::Rgba8)
            } else {
                let rgb = image.to_rgb8();
                (rgb.into_raw(), image::ExtendedColorType::Rgb8)
            };
            WebPEncoder::new_lossless(&mut out).write_image(
                &raw,
                image.width(),
                image.height(),
                color,
            )?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::images;

    fn decoded(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).expect("decodes")
    }

    #[test]
    fn each_format_comes_back_in_that_format_with_its_pixels() {
        for kind in ImageKind::ALL {
            let upload = images::encoded(kind, 40, 30);
            let out = process_avatar(&upload, Some(kind.mime())).expect("accepted");
            assert_eq!(out.kind, kind);
            assert_eq!(ImageKind::sniff(&out.bytes), Some(kind));
            assert_eq!((out.width, out.height), (40, 30));
            let img = decoded(&out.bytes).to_rgb8();
            assert_eq!(img.dimensions(), (40, 30));
            // The fixture's top-left pixel is red (lossy JPEG stays close).
            let p = img.get_pixel(0, 0).0;
            assert!(p[0] > 200 && p[1] < 60 && p[2] < 60, "{kind:?}: {p:?}");
        }
    }

    #[test]
    fn exif_gps_is_gone_and_the_orientation_is_applied() {
        let upload = images::jpeg_with_exif(40, 20, 6);
        assert!(images::contains(&upload, images::EXIF_MARKER));
        let out = process_avatar(&upload, Some("image/jpeg")).expect("accepted");
        assert!(!images::contains(&out.bytes, b"Exif"));
        assert!(!images::contains(&out.bytes, images::EXIF_MARKER));
        // Orientation 6 (rotate 90° clockwise): the 40x20 sensor image stands upright.
        assert_eq!((out.width, out.height), (20, 40));
    }

    #[test]
    fn png_text_chunks_and_appended_payloads_are_dropped() {
        let mut upload = images::png_with_text(16, 16, "secret-location");
        upload.extend_from_slice(b"<script>alert(1)</script>");
        let out = process_avatar(&upload, Some("image/png")).expect("accepted");
        assert!(!images::contains(&out.bytes, b"secret-location"));
        assert!(!images::contains(&out.bytes, b"<script>"));
        assert!(!images::contains(&out.bytes, b"tEXt"));
    }

    #[test]
    fn webp_exif_is_gone() {
        let upload = images::webp_with_exif(24, 24);
        assert!(images::contains(&upload, images::EXIF_MARKER));
        let out = process_avatar(&upload, Some("image/webp")).expect("accepted");
        assert!(!images::contains(&out.bytes, images::EXIF_MARKER));
        assert!(!images::contains(&out.bytes, b"EXIF"));
    }

    #[test]
    fn large_images_are_scaled_down_keeping_their_shape() {
        let upload = images::encoded(ImageKind::Png, 1024, 512);
        let out = process_avatar(&upload, Some("image/png")).expect("accepted");
        assert_eq!((out.width, out.height), (512, 256));
    }

    #[test]
    fn the_declared_type_must_name_an_image_type_and_agree_with_the_bytes() {
        let png = images::encoded(ImageKind::Png, 8, 8);
        assert_eq!(
            process_avatar(&png, Some("image/jpeg")).expect_err("mismatch"),
            ImageRejection::ContentTypeMismatch {
                declared: ImageKind::Jpeg,
                actual: ImageKind::Png
            }
        );
        for ct in [
            None,
            Some("application/octet-stream"),
            Some("image/svg+xml"),
        ] {
            assert_eq!(
                process_avatar(&png, ct).expect_err("refused"),
                ImageRejection::UnsupportedContentType
            );
        }
    }

    #[test]
    fn other_formats_and_garbage_are_refused() {
        assert_eq!(
            process_avatar(b"", Some("image/png")).expect_err("empty"),
            ImageRejection::Empty
        );
        for body in [
            &b"GIF89a\x01\0\x01\0"[..],
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        ] {
            assert_eq!(
                process_avatar(body, Some("image/png")).expect_err("refused"),
                ImageRejection::UnsupportedType
            );
        }
        let mut truncated = images::encoded(ImageKind::Png, 64, 64);
        truncated.truncate(60);
        assert!(matches!(
            process_avatar(&truncated, Some("image/png")),
            Err(ImageRejection::Malformed(_))
        ));
        let polyglot = [
            &b"\x89PNG\r\n\x1a\n"[..],
            b"<html><script>alert(1)</script></html>",
        ]
        .concat();
        assert!(matches!(
            process_avatar(&polyglot, Some("image/png")),
            Err(ImageRejection::Malformed(_))
        ));
    }

    #[test]
    fn a_huge_canvas_is_refused_from_its_header_before_decoding() {
        for (w, h) in [(4097, 16), (16, 4097), (60_000, 60_000)] {
            let bomb = images::png_claiming(w, h);
            let err = process_avatar(&bomb, Some("image/png")).expect_err("refused");
            assert!(
                matches!(err, ImageRejection::TooManyPixels { .. }),
                "{w}x{h}: {err:?}"
            );
        }
        let edge = images::encoded(ImageKind::Png, 4096, 1);
        process_avatar(&edge, Some("image/png")).expect("4096 wide is allowed");
    }
}
