//! CIFAR-10 batch and class-names parsing on arbitrary bytes, raw or gzip.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use temper_data::{CIFAR10_CLASS_NAMES, parse_cifar10_batch, parse_class_names};

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz");
    // The first byte sets how many class names the labels are checked against (0 and > 256
    // included: those must be errors too).
    let Some((&n, bytes)) = data.split_first() else {
        return;
    };
    let names: Vec<String> = (0..n as usize % 260)
        .map(|i| CIFAR10_CLASS_NAMES[i % 10].to_string())
        .collect();
    if let Ok(d) = parse_cifar10_batch(p, bytes.to_vec(), &names) {
        assert_eq!(d.image_shape(), [3, 32, 32]);
        assert!(d.labels().iter().all(|&l| (l as usize) < names.len()));
    }
    let _ = parse_class_names(p, bytes);
});
