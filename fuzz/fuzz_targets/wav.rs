//! WAV decoding on arbitrary bytes, then what a decoded clip goes through: an op that sizes an
//! FFT from the header's sample rate, and encoding back. The first byte picks the op.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use temper_augment::audio::{AudioOp, decode_wav, encode_wav};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let name = Path::new("fuzz.wav");
    let Ok(mut audio) = decode_wav(bytes, name) else {
        return;
    };
    let op = match mode % 4 {
        0 => AudioOp::SpecFreqMask { fraction: 0.2 },
        1 => AudioOp::Stretch {
            rate: 0.8,
            keep_length: true,
        },
        2 => AudioOp::Shift {
            fraction: 0.3,
            rollover: true,
        },
        _ => AudioOp::Gain { db: 6.0 },
    };
    // Bound the work per input: ops on long clips are the benches' business.
    if audio.len() <= 1 << 16 {
        let _ = op.apply(&mut audio, &mut ChaCha8Rng::seed_from_u64(0));
    }
    if let Ok(encoded) = encode_wav(&audio, name) {
        let _ = decode_wav(&encoded, name);
    }
});
