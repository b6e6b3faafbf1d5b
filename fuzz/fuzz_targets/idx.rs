//! IDX/MNIST parsing on arbitrary bytes, raw or gzip: the first byte picks the entry point,
//! the rest is the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use temper_data::idx::{
    IMAGES_MAGIC, LABELS_MAGIC, MAX_IDX_BYTES, decompress_if_gz, encode_idx, parse_idx,
};
use temper_data::parse_mnist;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let p = Path::new("fuzz");
    match mode % 4 {
        0 => {
            if let Ok(raw) = decompress_if_gz(p, bytes.to_vec(), MAX_IDX_BYTES) {
                let _ = parse_idx(p, &raw, IMAGES_MAGIC, "images");
                let _ = parse_idx(p, &raw, LABELS_MAGIC, "labels");
            }
        }
        // The fuzzed bytes as the images file, against labels for two images.
        1 => {
            let labels = encode_idx(&[2], &[3, 9]);
            let _ = parse_mnist(p, bytes.to_vec(), p, labels);
        }
        // The fuzzed bytes as the labels file, against two valid 2x2 images.
        2 => {
            let images = encode_idx(&[2, 2, 2], &[0; 8]);
            let _ = parse_mnist(p, images, p, bytes.to_vec());
        }
        // Both files from the input, split at a byte it chooses.
        _ => {
            let at = bytes.first().map_or(0, |&b| b as usize).min(bytes.len());
            let (images, labels) = bytes.split_at(at);
            let _ = parse_mnist(p, images.to_vec(), p, labels.to_vec());
        }
    }
});
