//! The header and dimension check every image passes before it is decoded
//! (`image_dimensions`, then `decode_image` on what it accepts), on arbitrary bytes and on png
//! files built around fuzzed IHDR fields, so the side and pixel bounds are reached at once.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use temper_data::{MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, decode_image, image_dimensions};

/// A png chunk: length, type, data, CRC-32 of type and data (the decoder checks it).
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A png whose IHDR is the first 13 bytes of `fields` (width, height, depth, colour type,
/// compression, filter, interlace) and whose IDAT is the rest.
fn png(fields: &[u8]) -> Option<Vec<u8>> {
    let (ihdr, idat) = (fields.get(..13)?, &fields[13..]);
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut out, b"IHDR", ihdr);
    chunk(&mut out, b"IDAT", idat);
    chunk(&mut out, b"IEND", &[]);
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let built;
    let bytes = if mode % 2 == 0 {
        rest
    } else {
        match png(rest) {
            Some(b) => {
                built = b;
                &built
            }
            None => return,
        }
    };
    let p = Path::new("fuzz");
    let Ok([h, w]) = image_dimensions(p, bytes) else {
        return;
    };
    assert!((1..=MAX_IMAGE_SIDE).contains(&h) && (1..=MAX_IMAGE_SIDE).contains(&w));
    assert!(h as u64 * w as u64 <= MAX_IMAGE_PIXELS);
    // Decoding what the header check accepted must succeed or fail cleanly; big images are
    // skipped to keep runs fast (the bound itself is what is under test).
    if h * w <= 1 << 16
        && let Ok(img) = decode_image(p, bytes, Some([4, 4]), None)
    {
        assert_eq!(img.pixels.len(), img.channels * 16);
    }
});
