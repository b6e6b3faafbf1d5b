//! Hostile WAV headers and op chains: each must end in a one-line error naming the file or the
//! op, without a panic and, for the sizes, without allocating what the header claims. The
//! size cases run in a child process whose address space is capped at 512 MiB
//! (`temper_data::memory_cap`): a reservation of the claimed length would abort it.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use realfft::num_complex::Complex32;

use super::stft::{MAX_N_FFT, Spectrogram, istft, phase_vocoder, stft, time_stretch};
use super::wav::{MAX_CHANNELS, MAX_SAMPLE_RATE, MAX_SAMPLES, MAX_WAV_BYTES};
use super::*;

const CAP_MIB: u64 = 512;

/// A canonical 44-byte PCM header: format tag 1 (integer) or 3 (float), then `data_len` as
/// the data chunk's length whatever follows.
fn header(tag: u16, channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let block = channels.wrapping_mul(bits / 8);
    let mut h = Vec::new();
    h.extend(b"RIFF");
    h.extend(data_len.wrapping_add(36).to_le_bytes());
    h.extend(b"WAVEfmt ");
    h.extend(16u32.to_le_bytes());
    h.extend(tag.to_le_bytes());
    h.extend(channels.to_le_bytes());
    h.extend(rate.to_le_bytes());
    h.extend(rate.wrapping_mul(u32::from(block)).to_le_bytes());
    h.extend(block.to_le_bytes());
    h.extend(bits.to_le_bytes());
    h.extend(b"data");
    h.extend(data_len.to_le_bytes());
    h
}

fn err_of<T: std::fmt::Debug>(r: Result<T>) -> String {
    let e = r.unwrap_err().to_string();
    assert!(!e.contains('\n'), "not one line: {e}");
    e
}

#[test]
fn a_header_claiming_4_gb_of_data_in_a_1_kb_file_fails_fast_in_little_memory() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_header_claiming_4_gb_of_data_in_a_1_kb_file_fails_fast_in_little_memory",
            CAP_MIB,
        );
    }
    // 16-bit mono claiming 0xffff_fffe bytes: two billion samples.
    let mut bytes = header(1, 1, 16_000, 16, 0xffff_fffe);
    bytes.extend([0u8; 1000]);
    let e = err_of(decode_wav(&bytes, Path::new("claims.wav")));
    assert!(
        e.starts_with("claims.wav: 2147483647 samples is more than the limit of"),
        "{e}"
    );
    // A claim just within the sample limit (256 MiB of f32 if reserved, per channel for a
    // stereo file) gets a buffer the size of the bytes present, then fails where they end.
    let mut bytes = header(1, 2, 16_000, 16, (MAX_SAMPLES * 2) as u32);
    bytes.extend([0u8; 1000]);
    let e = err_of(decode_wav(&bytes, Path::new("short.wav")));
    assert!(e.starts_with("short.wav: "), "{e}");
    // The same through a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.wav");
    std::fs::write(&path, &bytes).unwrap();
    assert!(err_of(read_wav(&path)).contains("claims.wav: "));
}

#[test]
fn a_13_gb_sparse_wav_file_fails_fast_from_its_length() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_13_gb_sparse_wav_file_fails_fast_from_its_length",
            CAP_MIB,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    let mut f = File::create(&path).unwrap();
    f.write_all(&header(1, 1, 16_000, 16, 0xffff_fffe)).unwrap();
    f.set_len(13 << 30).unwrap();
    drop(f);
    let e = err_of(read_wav(&path));
    assert!(
        e.ends_with(&format!(
            "huge.wav: {} bytes is more than the {MAX_WAV_BYTES}-byte limit of a WAV file",
            13u64 << 30
        )),
        "{e}"
    );
}

#[test]
fn sample_rates_and_channel_counts_outside_their_bounds_name_the_file() {
    for rate in [0, MAX_SAMPLE_RATE + 1, u32::MAX] {
        // 8-bit mono, so the header's byte rate (rate x 1) never overflows.
        let mut bytes = header(1, 1, rate, 8, 4);
        bytes.extend([0u8; 4]);
        let e = err_of(decode_wav(&bytes, Path::new("rate.wav")));
        assert!(
            e.starts_with("rate.wav") && e.contains(&format!("sample rate {rate} Hz")),
            "{e}"
        );
    }
    let mut bytes = header(1, 65_535, 8000, 8, 65_535);
    bytes.extend(vec![0u8; 65_535]);
    let e = err_of(decode_wav(&bytes, Path::new("many.wav")));
    assert_eq!(
        e,
        format!("many.wav: 65535 channels is outside 1..={MAX_CHANNELS}")
    );
    // At the bounds a file reads.
    let mut bytes = header(
        1,
        MAX_CHANNELS as u16,
        MAX_SAMPLE_RATE,
        8,
        MAX_CHANNELS as u32,
    );
    bytes.extend(vec![128u8; MAX_CHANNELS]);
    let a = decode_wav(&bytes, Path::new("edge.wav")).unwrap();
    assert_eq!((a.channels.len(), a.len()), (MAX_CHANNELS, 1));
}

#[test]
fn a_clip_built_past_its_bounds_is_refused_by_every_op_and_by_encoding() {
    let mut a = Audio::new(8000, SampleFormat::Int16, vec![vec![0.1; 64]]).unwrap();
    // The fields are public: a rate past the bound must not size an FFT.
    a.sample_rate = u32::MAX;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for op in ["spec-freq-mask:0.1", "stretch:1.1", "pitch:2", "gain:1"] {
        let op: AudioOp = op.parse().unwrap();
        let e = err_of(op.apply(&mut a, &mut rng));
        assert!(e.starts_with("audio: sample rate 4294967295 Hz"), "{e}");
    }
    assert!(err_of(encode_wav(&a, Path::new("out.wav"))).starts_with("out.wav: sample rate"));
    a.sample_rate = 8000;
    a.channels.push(vec![0.0; 3]);
    let e = err_of(AudioOp::Gain { db: 1.0 }.apply(&mut a, &mut rng));
    assert_eq!(e, "audio: needs one or more channels of equal length");
    assert!(Audio::new(8000, SampleFormat::Int16, vec![vec![0.0]; MAX_CHANNELS + 1]).is_err());
}

#[test]
fn a_chain_of_slowdowns_stops_at_the_sample_limit_in_little_memory() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_chain_of_slowdowns_stops_at_the_sample_limit_in_little_memory",
            CAP_MIB,
        );
    }
    // One sample more than a quarter of the limit (64 MiB): a quarter-speed copy is past it.
    for spec in ["speed:0.25", "stretch:0.25"] {
        let x = vec![0.0; MAX_SAMPLES / 4 + 1];
        let mut a = Audio::new(16_000, SampleFormat::Float32, vec![x]).unwrap();
        let op: AudioOp = spec.parse().unwrap();
        let e = err_of(op.apply(&mut a, &mut ChaCha8Rng::seed_from_u64(0)));
        assert!(e.contains("more than the limit of 67108864"), "{spec}: {e}");
        // Untouched: the op refused before doing anything.
        assert_eq!(a.len(), MAX_SAMPLES / 4 + 1);
    }
    let e = err_of(resample::resample(&vec![0.0; (1 << 20) + 1], 64.0));
    assert!(
        e.starts_with("resample: 1048577 samples at ratio 64"),
        "{e}"
    );
}

#[test]
fn stft_sizes_out_of_range_are_errors_not_panics() {
    let x = vec![0.5f32; 100];
    for (n_fft, hop) in [(0, 1), (7, 1), (64, 0), (64, 65), (MAX_N_FFT * 2, 8)] {
        let e = err_of(stft(&x, n_fft, hop));
        assert!(e.starts_with("stft: "), "{n_fft}/{hop}: {e}");
    }
    // Hop 1 with the largest FFT would be 100 frames of 32 769 bins: allowed; a long signal at
    // hop 1 is not.
    assert!(stft(&x, 64, 1).is_ok());
    let e = err_of(stft(&vec![0.0; 1 << 22], MAX_N_FFT, 1));
    assert!(e.contains("more than the limit of"), "{e}");
    let mut spec = stft(&x, 64, 16).unwrap();
    assert!(istft(&spec, MAX_SAMPLES + 1).is_err());
    for rate in [0.0, f64::NAN, 1e9] {
        assert!(phase_vocoder(&spec, rate).is_err(), "{rate}");
    }
    assert!(time_stretch(&x, 0.0, 64).is_err());
    spec.frames[2].truncate(3);
    assert_eq!(
        err_of(istft(&spec, 100)),
        "stft: frame 2 has 3 bins, expected n_fft / 2 + 1 = 33"
    );
    let bad = Spectrogram {
        n_fft: 64,
        hop: 16,
        frames: vec![vec![Complex32::new(0.0, 0.0); 1]],
    };
    assert!(phase_vocoder(&bad, 1.0).is_err());
}
