//! The bounds every image file passes before it is decoded.
//!
//! An image's dimensions come from its header, read with the `image` crate's decoder (which
//! parses only the header at construction), and must satisfy [`MAX_IMAGE_SIDE`] on each side
//! and [`MAX_IMAGE_PIXELS`] in area; only then is the image decoded, with the crate's
//! [`Limits`] set to the same sides and [`DECODE_MAX_ALLOC`] bytes, so a header that lies
//! cannot make a decoder allocate more. The file itself is read only when its size (from its
//! metadata) is at most [`MAX_IMAGE_FILE_BYTES`]: the JPEG decoder buffers its whole input,
//! so a huge file would otherwise be read whole. Resizing goes through a `width × new height`
//! buffer of 16-byte pixels (the `image` crate resizes vertically first, in `f32` RGBA); that
//! buffer is held to [`MAX_IMAGE_PIXELS`] pixels too.

use std::io::{Cursor, Read};
use std::path::Path;

use image::{ImageDecoder, ImageReader, Limits};

use crate::error::{DataError, Result};
use crate::folder::MAX_IMAGE_SIDE;

/// The largest image area decoded: 2^25 = 33,554,432 pixels, room for an 8K UHD frame
/// (7680 × 4320) or a 30-megapixel camera photo. Its decoded buffer is at most 256 MiB (16-bit
/// RGBA), and several images decode at once, one per thread.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 25;

/// The most a decoder may allocate for one image: 512 MiB (the `image` crate's default), twice
/// the largest buffer an image within [`MAX_IMAGE_PIXELS`] decodes to, leaving the decoder room
/// for its own tables.
pub const DECODE_MAX_ALLOC: u64 = 512 << 20;

/// The largest image file read: 256 MiB, the size of an uncompressed 16-bit RGBA image of
/// [`MAX_IMAGE_PIXELS`]; real png, jpeg and bmp files of that area are smaller.
pub const MAX_IMAGE_FILE_BYTES: u64 = 256 << 20;

fn bad(path: &Path, message: impl ToString) -> DataError {
    DataError::BadImage {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The limits set on every decoder.
fn decoder_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE as u32);
    limits.max_image_height = Some(MAX_IMAGE_SIDE as u32);
    limits.max_alloc = Some(DECODE_MAX_ALLOC);
    limits
}

/// A decoder of `bytes` that has read the header only, its dimensions checked against the
/// bounds and the full [`Limits`] set, with the output buffer reserved against them.
pub(crate) fn checked_decoder<'a>(path: &Path, bytes: &'a [u8]) -> Result<impl ImageDecoder + 'a> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(path, e))?;
    if reader.format().is_none() {
        return Err(bad(path, "unrecognised format (expected png, jpeg or bmp)"));
    }
    // The sides are checked below, so the error can give them; only the allocation bound is
    // needed while the header is parsed.
    let mut header_limits = Limits::default();
    header_limits.max_alloc = Some(DECODE_MAX_ALLOC);
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(|e| bad(path, e))?;
    let (w, h) = decoder.dimensions();
    check_dimensions(path, w, h)?;
    let mut limits = decoder_limits();
    limits
        .reserve(decoder.total_bytes())
        .map_err(|e| bad(path, e))?;
    decoder.set_limits(limits).map_err(|e| bad(path, e))?;
    Ok(decoder)
}

/// Refuses an empty image, a side above [`MAX_IMAGE_SIDE`] or an area above
/// [`MAX_IMAGE_PIXELS`].
fn check_dimensions(path: &Path, w: u32, h: u32) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(bad(path, format!("empty image ({w}x{h})")));
    }
    if w as usize > MAX_IMAGE_SIDE || h as usize > MAX_IMAGE_SIDE {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            message: format!(
                "image header says {w}x{h} pixels; sides are limited to {MAX_IMAGE_SIDE}"
            ),
        });
    }
    let pixels = w as u64 * h as u64;
    if pixels > MAX_IMAGE_PIXELS {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            message: format!(
                "image header says {w}x{h} = {pixels} pixels, more than the limit of \
                 {MAX_IMAGE_PIXELS}"
            ),
        });
    }
    Ok(())
}

/// `[height, width]` of the png, jpeg or bmp image in `bytes`, read from its header and checked
/// against [`MAX_IMAGE_SIDE`] and [`MAX_IMAGE_PIXELS`], without decoding the pixels. `path`
/// only names the image in errors.
pub fn image_dimensions(path: &Path, bytes: &[u8]) -> Result<[usize; 2]> {
    let (w, h) = checked_decoder(path, bytes)?.dimensions();
    Ok([h as usize, w as usize])
}

/// Refuses a resize from `from` to `to` (both `[height, width]`) whose intermediate buffer,
/// source width × target height, exceeds [`MAX_IMAGE_PIXELS`].
pub(crate) fn check_resize(path: &Path, from: [usize; 2], to: [usize; 2]) -> Result<()> {
    let pixels = from[1] as u64 * to[0] as u64;
    if from != to && pixels > MAX_IMAGE_PIXELS {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            message: format!(
                "resizing {}x{} to {}x{} needs a {pixels}-pixel intermediate, more than the \
                 limit of {MAX_IMAGE_PIXELS}",
                from[0], from[1], to[0], to[1]
            ),
        });
    }
    Ok(())
}

/// Reads an image file whose size (from its metadata) is at most [`MAX_IMAGE_FILE_BYTES`].
pub(crate) fn read_image_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_IMAGE_FILE_BYTES {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            message: format!(
                "image file of {len} bytes, more than the limit of {MAX_IMAGE_FILE_BYTES}"
            ),
        });
    }
    // `take`: a file that grows after the check is still read no further than the limit.
    let mut bytes = Vec::with_capacity(len as usize);
    (&mut file)
        .take(MAX_IMAGE_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(bytes)
}
