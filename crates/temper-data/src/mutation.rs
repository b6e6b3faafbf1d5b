//! The seeded mutation fuzzer shared by the parsers' tests (this crate's readers,
//! temper-augment's WAV and text parsers): valid seeds are mutated with seeded bit flips, byte
//! overwrites, truncations, insertions, deletions, header length-field edits and duplicated
//! stretches, and each parser must return `Ok` or `Err`, never panic. Deterministic, so a
//! failure names an iteration that fails again. Library code never calls it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// u32 values that tend to break length arithmetic.
const INTERESTING: [u32; 8] = [0, 1, 3, 0x7f, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

/// What differs between formats: the bytes an overwrite writes, where the header's u32 length
/// fields lie and their byte order, and whether a mutant is sometimes gzip-wrapped.
#[derive(Clone, Copy, Debug)]
pub struct Mutations {
    /// Values a single-byte overwrite picks from.
    pub overwrites: &'static [u8],
    /// A u32 edit lands at an offset in `0..=header_bytes` (clamped to the input).
    pub header_bytes: usize,
    /// Byte order of the header's u32 fields (RIFF: little; IDX, PNG: big).
    pub little_endian: bool,
    /// Wrap one mutant in ten in gzip (for readers that detect it).
    pub gzip: bool,
}

impl Mutations {
    /// One to four random edits of `seed`.
    pub fn mutate(&self, rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..rng.random_range(1..=4) {
            self.edit(rng, &mut b);
        }
        if self.gzip && rng.random_bool(0.1) {
            gzip(&b)
        } else {
            b
        }
    }

    fn edit(&self, rng: &mut ChaCha8Rng, b: &mut Vec<u8>) {
        let len = b.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                b[i] = self.overwrites[rng.random_range(0..self.overwrites.len())];
            }
            2 => b.truncate(rng.random_range(0..=len)),
            3 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=16);
                let extra: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                b.splice(at..at, extra);
            }
            4 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = (at + rng.random_range(1..=16)).min(len);
                b.drain(at..end);
            }
            // A u32 in the header: dimensions, chunk lengths, sizes, rates.
            5 if len >= 4 => {
                let at = rng.random_range(0..=(len - 4).min(self.header_bytes));
                let v = if rng.random_bool(0.7) {
                    INTERESTING[rng.random_range(0..INTERESTING.len())]
                } else {
                    rng.random::<u32>() >> rng.random_range(0..32)
                };
                let bytes = if self.little_endian {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                b[at..at + 4].copy_from_slice(&bytes);
            }
            // Duplicate a stretch, growing the input.
            _ => {
                if len > 0 {
                    let at = rng.random_range(0..len);
                    let end = (at + rng.random_range(1..=64)).min(len);
                    let copy = b[at..end].to_vec();
                    b.extend_from_slice(&copy);
                }
            }
        }
    }

    /// Runs `parse` on each seed and on `iterations` mutants of them, panicking with the
    /// iteration and the input's bytes when `parse` panics. Returns how many returned `true`.
    pub fn fuzz(
        &self,
        name: &str,
        seeds: &[Vec<u8>],
        iterations: usize,
        parse: impl Fn(&[u8]) -> bool,
    ) -> usize {
        let mut rng = ChaCha8Rng::seed_from_u64(0x7e3d_2024);
        let mut ok = 0;
        for i in 0..iterations + seeds.len() {
            let input = match seeds.get(i) {
                Some(seed) => seed.clone(),
                None => {
                    let seed = &seeds[rng.random_range(0..seeds.len())];
                    self.mutate(&mut rng, seed)
                }
            };
            match catch_unwind(AssertUnwindSafe(|| parse(&input))) {
                Ok(true) => ok += 1,
                Ok(false) => {}
                Err(_) => panic!(
                    "{name}: panicked at iteration {i} on {} bytes: {:02x?}",
                    input.len(),
                    &input[..input.len().min(256)]
                ),
            }
        }
        ok
    }
}

/// `bytes` gzip-compressed, for seeds of readers that detect gzip.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}
