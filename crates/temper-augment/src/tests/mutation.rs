//! A bounded, deterministic mutation fuzzer for the parsers of this crate that read user bytes:
//! WAV files (then an op and a round trip on what decodes), text lines through EDA, compact
//! synonym tables (raw and gzip) and WordNet data and exception lines. Valid seeds are mutated
//! with seeded bit flips, byte overwrites, truncations, insertions, deletions and
//! little-endian length-field edits; each parser must return `Ok` or `Err`, never panic. The
//! coverage-guided version of the WAV case is `fuzz/fuzz_targets/wav.rs` (cargo-fuzz).

use std::io::Write;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use temper_data::mutation::Mutations;

use crate::audio::{Audio, AudioOp, SampleFormat, decode_wav, encode_wav};
use crate::text::wordnet::{Pos, parse_data, parse_exc};
use crate::text::{EdaConfig, SynonymTable, augment_lines};

/// RIFF length fields are little-endian and lie in the first 44 bytes; overwrites include the
/// bytes that split text into words and lines.
const AUGMENT: Mutations = Mutations {
    overwrites: &[0, 1, b' ', b'\n', 0x7f, 0x80, 0xff],
    header_bytes: 44,
    little_endian: true,
    gzip: false,
};

fn fuzz(name: &str, seeds: &[Vec<u8>], iterations: usize, parse: impl Fn(&[u8]) -> bool) -> usize {
    AUGMENT.fuzz(name, seeds, iterations, parse)
}

fn wav_seeds() -> Vec<Vec<u8>> {
    let formats = [
        SampleFormat::Int8,
        SampleFormat::Int16,
        SampleFormat::Int24,
        SampleFormat::Int32,
        SampleFormat::Float32,
    ];
    let mut seeds = Vec::new();
    for (k, format) in formats.into_iter().enumerate() {
        let channels = (0..1 + k % 3)
            .map(|c| {
                (0..300)
                    .map(|i| ((i * 7 + c) as f32 * 0.01).sin() * 0.5)
                    .collect()
            })
            .collect();
        let audio = Audio::new(8000 + 8000 * k as u32, format, channels).unwrap();
        seeds.push(encode_wav(&audio, Path::new("seed.wav")).unwrap());
    }
    let asset = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/audio/allison-7.wav");
    let bytes = std::fs::read(asset).unwrap();
    seeds.push(bytes[..bytes.len().min(4096)].to_vec());
    seeds
}

#[test]
fn wav_decoding_and_the_ops_after_it_never_panic() {
    let name = Path::new("fuzz.wav");
    let ops: Vec<AudioOp> = [
        "spec-freq-mask:0.3",
        "stretch:1.2:keep",
        "pitch:1",
        "shift:0.4",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let seeds = wav_seeds();
    let ok = fuzz("decode_wav", &seeds, 3000, |b| {
        let Ok(mut audio) = decode_wav(b, name) else {
            return false;
        };
        // Ops size their FFT from the header's rate; bounded work per input.
        if audio.len() <= 1 << 14 {
            let op = ops[b.len() % ops.len()];
            let _ = op.apply(&mut audio, &mut ChaCha8Rng::seed_from_u64(0));
        }
        let again = encode_wav(&audio, name).and_then(|e| decode_wav(&e, name));
        again.is_ok()
    });
    // The seeds decode and round-trip; so does a share of the mutants.
    assert!(ok >= seeds.len() + 100, "{ok}");
}

#[test]
fn text_lines_and_synonym_tables_never_panic() {
    let table = SynonymTable::bundled().unwrap();
    let lines = [
        "The quick brown fox, isn't it?  Well-known -- e.g. \"quotes\"\t(tabs)",
        "Ünïcödé wörds: naïve café’s 3.14 -5 x-",
        "car car CAR Car cAr",
        "a",
    ];
    let seeds: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    let cfg = EdaConfig {
        num_aug: 4,
        ..EdaConfig::default()
    };
    let ok = fuzz("augment_lines", &seeds, 2000, |b| {
        let text = String::from_utf8_lossy(b);
        let out = augment_lines(&text, &cfg, &table, b.len() as u64).unwrap();
        out.len() >= text.lines().count()
    });
    assert_eq!(ok, 2000 + seeds.len());
    let compact = "# header\nS n car auto automobile\nS a quick speedy\nX n cars car\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(compact.as_bytes()).unwrap();
    let seeds = vec![compact.as_bytes().to_vec(), gz.finish().unwrap()];
    let name = Path::new("fuzz.tsv");
    fuzz("synonym tables", &seeds, 3000, |b| {
        let parsed = SynonymTable::parse_compact(&String::from_utf8_lossy(b), name);
        let read = SynonymTable::read_compact(b, name);
        for t in [&parsed, &read].into_iter().flatten() {
            let _ = t.synonyms("cars");
        }
        parsed.is_ok() || read.is_ok()
    });
    let data = "  1 licence\n00002312 00 a 02 abaxial 0 dorsal 4 002 ;c 06037666 n 0000 | x\n";
    let seeds = vec![data.as_bytes().to_vec(), b"geese goose\nran run\n".to_vec()];
    fuzz("wordnet lines", &seeds, 3000, |b| {
        let text = String::from_utf8_lossy(b);
        let d = parse_data(&text, Pos::Adj, Path::new("data.adj")).is_ok();
        let e = parse_exc(&text, Pos::Noun, Path::new("noun.exc")).is_ok();
        d || e
    });
}
