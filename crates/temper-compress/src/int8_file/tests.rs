use super::*;
use crate::quantize::quantize;

fn model() -> Vec<(String, StoredTensor)> {
    let conv: Vec<f32> = (0..24).map(|i| (i as f32 - 11.5) * 0.1).collect();
    let fc: Vec<f32> = (0..6).map(|i| i as f32 * 0.3 - 0.7).collect();
    vec![
        (
            "conv.weight".into(),
            StoredTensor::Int8(quantize(&conv, &[4, 2, 3], QuantScheme::PerChannel).unwrap()),
        ),
        (
            "conv.bias".into(),
            StoredTensor::Float {
                values: vec![0.5, -1.0, 2.0, 0.0],
                shape: vec![4],
            },
        ),
        (
            "fc.weight".into(),
            StoredTensor::Int8(quantize(&fc, &[1, 6], QuantScheme::PerChannel).unwrap()),
        ),
        (
            "head.weight".into(),
            StoredTensor::Int8(quantize(&fc, &[2, 3], QuantScheme::PerTensor).unwrap()),
        ),
    ]
}

fn sorted(mut v: Vec<(String, StoredTensor)>) -> Vec<(String, StoredTensor)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A tensor as raw safetensors parts: name, dtype, shape, bytes.
type Raw<'a> = (&'a str, Dtype, Vec<usize>, Vec<u8>);

/// Writes raw safetensors bytes with the int8 format tag, bypassing the writer's checks.
fn write_raw(path: &Path, tensors: Vec<Raw<'_>>, scheme: &str) {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let meta = HashMap::from([
        ("format".to_owned(), FORMAT.to_owned()),
        ("scheme.w".to_owned(), scheme.to_owned()),
    ]);
    fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

fn message(e: CompressError) -> String {
    match e {
        CompressError::File { message, .. } => message,
        other => panic!("expected a file error, got {other}"),
    }
}

#[test]
fn an_int8_model_round_trips_and_its_size_is_the_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.int8.safetensors");
    let bytes = write_int8_safetensors(&path, &model()).unwrap();
    assert_eq!(bytes, fs::metadata(&path).unwrap().len());
    assert_eq!(read_int8_safetensors(&path).unwrap(), sorted(model()));
    // Only the target is left in the folder: the temporary file is gone.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_existing_target_is_refused_and_left_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    fs::write(&path, b"keep me").unwrap();
    let e = write_int8_safetensors(&path, &model()).unwrap_err();
    assert!(message(e).contains("already exists"));
    assert_eq!(fs::read(&path).unwrap(), b"keep me");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_writer_refuses_what_the_reader_would() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut bad = quantize(&[1.0, 2.0], &[2], QuantScheme::PerChannel).unwrap();
    bad.scales[1] = f32::NAN;
    let clash = StoredTensor::Float {
        values: vec![1.0],
        shape: vec![1],
    };
    for tensors in [
        vec![("w".to_owned(), StoredTensor::Int8(bad))],
        vec![model().remove(0), ("conv.weight.scale".to_owned(), clash)],
    ] {
        assert!(write_int8_safetensors(&path, &tensors).is_err());
        assert!(!path.exists());
    }
}

#[test]
fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    write_int8_safetensors(&path, &model()).unwrap();
    let bytes = fs::read(&path).unwrap();
    for cut in [0, 5, 40, bytes.len() - 1] {
        let short = dir.path().join(format!("short{cut}"));
        fs::write(&short, &bytes[..cut]).unwrap();
        assert!(read_int8_safetensors(&short).is_err(), "cut at {cut}");
    }
}

#[test]
fn an_oversized_header_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    // A header length of 2^62 bytes in a 16-byte file.
    let mut bytes = (1u64 << 62).to_le_bytes().to_vec();
    bytes.extend(b"{}      ");
    fs::write(&path, bytes).unwrap();
    assert!(message(read_int8_safetensors(&path).unwrap_err()).contains("safetensors"));
}

#[test]
fn a_file_without_the_format_tag_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let b = f32_bytes(&[1.0]);
    let views = [("x", TensorView::new(Dtype::F32, vec![1], &b).unwrap())];
    fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    assert!(message(read_int8_safetensors(&path).unwrap_err()).contains("temper-int8"));
}

#[test]
fn scale_count_mismatch_and_bad_scales_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let values = vec![1u8, 2, 3, 4, 5, 6];
    let cases: [(&str, Vec<f32>, &str); 5] = [
        ("per-channel", vec![0.1, 0.1, 0.1], "3 scales"),
        ("per-tensor", vec![0.1, 0.1], "2 scales"),
        ("per-channel", vec![0.1, -0.2], "not finite and positive"),
        (
            "per-channel",
            vec![f32::NAN, 0.2],
            "not finite and positive",
        ),
        ("per-tensor", vec![0.0], "not finite and positive"),
    ];
    for (i, (scheme, scales, want)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("m{i}"));
        let n = scales.len();
        write_raw(
            &path,
            vec![
                ("w", Dtype::I8, vec![2, 3], values.clone()),
                ("w.scale", Dtype::F32, vec![n], f32_bytes(&scales)),
            ],
            scheme,
        );
        let got = message(read_int8_safetensors(&path).unwrap_err());
        assert!(got.contains(want), "{scheme} {scales:?}: {got}");
    }
}

#[test]
fn a_missing_scale_minus_128_and_other_dtypes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let one = f32_bytes(&[0.1]);
    let cases: [(Vec<Raw<'_>>, &str); 3] = [
        (vec![("w", Dtype::I8, vec![2], vec![1, 2])], "no w.scale"),
        (
            vec![
                ("w", Dtype::I8, vec![2], vec![1, 0x80]),
                ("w.scale", Dtype::F32, vec![1], one.clone()),
            ],
            "-128",
        ),
        (
            vec![("w", Dtype::F64, vec![1], vec![0; 8])],
            "neither I8 nor F32",
        ),
    ];
    for (i, (tensors, want)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("m{i}"));
        write_raw(&path, tensors, "per-tensor");
        let got = message(read_int8_safetensors(&path).unwrap_err());
        assert!(got.contains(want), "{got}");
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.safetensors");
    // A sparse file: its length is past the limit, its blocks are never allocated or read.
    fs::File::create(&path)
        .unwrap()
        .set_len(MAX_INT8_FILE_BYTES + 1)
        .unwrap();
    let got = message(read_int8_safetensors(&path).unwrap_err());
    assert!(got.contains("more than the 4294967296"), "{got}");
}
