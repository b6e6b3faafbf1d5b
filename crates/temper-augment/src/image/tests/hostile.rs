//! Hostile and careless `[augment]` settings: values that size an allocation (output sizes,
//! padding, kernel sizes, box counts, policy op counts) and shapes whose products overflow.
//! Each must end in a one-line error naming its TOML key (`augment.ops[2].size`) or the
//! argument, without a panic; the size cases run in a child process whose address space is
//! capped at 512 MiB (`temper_data::memory_cap`), where accepting the value and augmenting one
//! image would abort.

use std::fs::File;
use std::path::Path;

use image::RgbImage;

use crate::image::cpu::mix::{MixParams, apply_mix};
use crate::image::cpu::raster::MAX_IMAGE_FILE_BYTES;
use crate::image::ops::common::{
    MAX_BOXES, MAX_KERNEL_SIZE, MAX_PADDING, MAX_POLICY_OPS, MAX_SIDE,
};
use crate::image::ops::geometric::ResizeConfig;
use crate::image::*;

const CAP_MIB: u64 = 512;

/// Parses `[augment]` TOML, validates it, and augments one 32x32 image with it; returns the
/// one-line error of the first step that fails.
fn refuse(toml: &str) -> String {
    let result = toml::from_str::<AugmentSettings>(toml)
        .map_err(|e| e.message().to_string())
        .and_then(|s| s.pipeline().map_err(|e| e.to_string()));
    let e = match result {
        Ok(pipeline) => {
            let img = AugImage::Rgb(RgbImage::new(32, 32));
            let out = pipeline.augment(&img, 0, 0, 0);
            panic!("accepted, augmented to {}x{}", out.width(), out.height())
        }
        Err(e) => e,
    };
    assert!(!e.contains('\n'), "not one line: {e}");
    e
}

#[test]
fn sizes_that_drive_allocation_are_refused_naming_their_toml_key() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "sizes_that_drive_allocation_are_refused_naming_their_toml_key",
            CAP_MIB,
        );
    }
    let head = r#"{ op = "hflip" }, { op = "rotate" }"#;
    let cases = [
        (
            r#"{ op = "resize", size = [100000, 100000] }"#,
            format!(
                "augment.ops[2].size = [100000, 100000] must be positive and at most {MAX_SIDE} \
                 per side (op \"resize\")"
            ),
        ),
        (
            r#"{ op = "center-crop", size = 4000000000 }"#,
            "augment.ops[2].size = [4000000000, 4000000000]".to_string(),
        ),
        (
            r#"{ op = "random-resized-crop", size = [32, 0] }"#,
            "augment.ops[2].size = [32, 0] must be positive".to_string(),
        ),
        (
            r#"{ op = "random-crop", size = 32, padding = [1, 2, 3, 4000000000] }"#,
            format!(
                "augment.ops[2].padding = [1, 2, 3, 4000000000] must be at most {MAX_PADDING} \
                 per side"
            ),
        ),
        (
            r#"{ op = "gaussian-blur", kernel_size = 4294967295 }"#,
            format!(
                "augment.ops[2].kernel_size = 4294967295 must be odd and in 1..={MAX_KERNEL_SIZE}"
            ),
        ),
        (
            r#"{ op = "cutout", size = 4000000000 }"#,
            format!("augment.ops[2].size = 4000000000 must be at most {MAX_SIDE}"),
        ),
        (
            r#"{ op = "cutout", count = 4000000000 }"#,
            format!("augment.ops[2].count = 4000000000 must be at most {MAX_BOXES}"),
        ),
        (
            r#"{ op = "random-erasing", count = [1, 4000000000] }"#,
            format!(
                "augment.ops[2].count = [1, 4000000000] must be an ordered range within 0..={MAX_BOXES}"
            ),
        ),
        (
            r#"{ op = "randaugment", n = 4000000000 }"#,
            format!("augment.ops[2].n = 4000000000 must be at most {MAX_POLICY_OPS}"),
        ),
        (
            r#"{ op = "one-of", ops = [ { op = "hflip" }, { op = "resize", size = 70000 } ] }"#,
            "augment.ops[2].ops[1].size = [70000, 70000] must be positive".to_string(),
        ),
    ];
    for (op, expected) in cases {
        let e = refuse(&format!("ops = [ {head}, {op} ]"));
        assert!(
            e.starts_with(&expected),
            "{op}\n got: {e}\nwant: {expected}"
        );
    }
    // The policy's own keys.
    let e = refuse("policy = \"randaugment\"\nn = 4000000000");
    assert_eq!(
        e,
        format!("augment.n = 4000000000 must be at most {MAX_POLICY_OPS}")
    );
    let e = refuse("policy = \"randaugment\"\nm = 31");
    assert_eq!(e, "augment.m = 31 must be below bins = 31");
    // Built in code rather than parsed: the same key.
    let settings = AugmentSettings {
        ops: vec![
            Op::HFlip(Default::default()),
            Op::Resize(ResizeConfig {
                size: crate::image::ops::common::Size::Square(MAX_SIDE + 1),
                antialias: true,
            }),
        ],
        ..AugmentSettings::default()
    };
    let e = settings.validate().unwrap_err().to_string();
    assert!(
        e.starts_with("augment.ops[1].size = [8193, 8193] must be"),
        "{e}"
    );
    // At the bounds a config is accepted.
    let ok = format!(
        "ops = [ {{ op = \"random-crop\", size = 8, padding = {MAX_PADDING} }}, \
         {{ op = \"gaussian-blur\", kernel_size = {MAX_KERNEL_SIZE} }} ]"
    );
    let pipeline = toml::from_str::<AugmentSettings>(&ok)
        .unwrap()
        .pipeline()
        .unwrap();
    let out = pipeline.augment(&AugImage::Rgb(RgbImage::new(32, 32)), 0, 0, 0);
    assert_eq!((out.width(), out.height()), (8, 8));
}

#[test]
fn malformed_op_tables_name_their_index() {
    let e = refuse(r#"ops = [ { op = "hflip" }, { op = "rotate", degree = 15 } ]"#);
    assert!(
        e.starts_with("augment.ops[1]: unknown field `degree`") && e.ends_with("(op \"rotate\")"),
        "{e}"
    );
    let e = refuse(r#"ops = [ 3 ]"#);
    assert_eq!(
        e,
        "augment.ops[0]: expected a table { op = ... }, found integer"
    );
    let e = refuse(r#"ops = [ { op = "hflip" }, { degrees = 3 } ]"#);
    assert!(e.starts_with("augment.ops[1]: missing field `op`"), "{e}");
}

#[test]
fn batch_shapes_whose_product_overflows_are_errors_not_panics() {
    // Capped, so that the impossible class count below fails to reserve on any overcommit
    // setting instead of being promised and then touched.
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "batch_shapes_whose_product_overflows_are_errors_not_panics",
            CAP_MIB,
        );
    }
    // 2^62 * 4 wraps to 0, which an unchecked product would match with an empty buffer.
    let mut empty: Vec<f32> = Vec::new();
    let e = apply_mix(
        &mut empty,
        [1 << 62, 4, 1, 1],
        &MixParams::MixUp { lambda: 0.5 },
    )
    .unwrap_err()
    .to_string();
    assert!(e.ends_with("= more than usize::MAX"), "{e}");
    let mut four = vec![0.0f32; 4];
    assert!(apply_mix(&mut four, [1, 1, 2, 2], &MixParams::None).is_ok());
    assert!(apply_mix(&mut four, [1, 1, 2, 3], &MixParams::None).is_err());
    // A class count whose targets cannot be allocated.
    let e = soft_targets(&[0, 1], usize::MAX / 2, &MixParams::None, 0.0)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("classes: "), "{e}");
    let e = soft_targets(&[0, 1], 1 << 40, &MixParams::None, 0.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("classes: 2 labels x 1099511627776 classes"),
        "{e}"
    );
}

#[test]
fn a_13_gb_sparse_image_file_fails_fast_from_its_length() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_13_gb_sparse_image_file_fails_fast_from_its_length",
            CAP_MIB,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.png");
    File::create(&path).unwrap().set_len(13 << 30).unwrap();
    let e = AugImage::open(&path).unwrap_err().to_string();
    assert!(
        e.ends_with(&format!(
            "huge.png: {} bytes is more than the limit of {MAX_IMAGE_FILE_BYTES}",
            13u64 << 30
        )),
        "{e}"
    );
    assert!(AugImage::open(Path::new("/nonexistent/x.png")).is_err());
}
