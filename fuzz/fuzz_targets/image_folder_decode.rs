//! The image folder's per-file step (decode, convert to 1 or 3 channels, resize) on arbitrary
//! bytes: png, jpeg or bmp recognised by content.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use temper_data::decode_image;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    // The first byte picks the target channels and size, including "keep the image's own".
    let channels = [None, Some(1), Some(3)][mode as usize % 3];
    let size = match (mode / 3) % 3 {
        0 => None,
        1 => Some([8, 8]),
        _ => Some([1 + (mode as usize >> 5), 3]),
    };
    if let Ok(img) = decode_image(Path::new("fuzz"), bytes, size, channels) {
        assert_eq!(img.pixels.len(), img.channels * img.height * img.width);
        if let Some([h, w]) = size {
            assert_eq!((img.height, img.width), (h, w));
        }
    }
});
