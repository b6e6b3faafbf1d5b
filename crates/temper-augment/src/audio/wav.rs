//! WAV in and out through `hound`, into planar `f32` in `[-1, 1]`.
//!
//! Integer samples of `b` bits are divided by `2^(b-1)` on reading and multiplied back,
//! rounded and clamped to the integer range on writing, so reading then writing an unchanged
//! file gives back the same samples (for 32-bit integers, exactly when they are multiples of
//! 2^8, since `f32` keeps 24 significant bits). 32-bit float is passed through unchanged and is
//! not clipped.
//!
//! **Bounds.** A WAV header is 44 untrusted bytes whose numbers size everything after them: the
//! data length sets how much is decoded, the channel count how many buffers, the sample rate the
//! FFT size of every spectral op. So a clip, read or built, has a sample rate in
//! `1..=`[`MAX_SAMPLE_RATE`], `1..=`[`MAX_CHANNELS`] channels and at most [`MAX_SAMPLES`] samples
//! in all; a file larger than [`MAX_WAV_BYTES`] is refused from its metadata before a byte is
//! read, and no buffer is reserved beyond what the bytes actually present can fill. Each
//! refusal is a one-line error naming the file.

use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use hound::{SampleFormat as HoundFormat, WavReader, WavSpec, WavWriter};

use super::error::{AudioError, Result, invalid};

/// Highest sample rate accepted, in Hz: 384 kHz is the highest rate converters and formats in
/// use offer, so anything above is a corrupt header; the rate also sets the FFT size.
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// Most channels a clip may have: 64 covers 7th-order ambisonics and every surround layout;
/// each channel is its own buffer and its own STFT.
pub const MAX_CHANNELS: usize = 64;

/// Most samples (frames times channels) a clip may hold: 2^26, 23 minutes of mono at 48 kHz
/// or 11 minutes of stereo, far more than a training clip. As `f32` that is 256 MiB,
/// and a phase-vocoder op needs a few times one channel's share on top.
pub const MAX_SAMPLES: usize = 1 << 26;

/// Largest WAV file [`read_wav`] opens: [`MAX_SAMPLES`] samples of 32 bits plus 16 MiB for
/// the header and other chunks (metadata, cue lists, embedded pictures).
pub const MAX_WAV_BYTES: u64 = MAX_SAMPLES as u64 * 4 + (16 << 20);

/// The sample encoding of a WAV file; output is written in the input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 8-bit integer PCM.
    Int8,
    /// 16-bit integer PCM.
    Int16,
    /// 24-bit integer PCM.
    Int24,
    /// 32-bit integer PCM.
    Int32,
    /// 32-bit IEEE float.
    Float32,
}

impl SampleFormat {
    fn bits(self) -> u16 {
        match self {
            SampleFormat::Int8 => 8,
            SampleFormat::Int16 => 16,
            SampleFormat::Int24 => 24,
            SampleFormat::Int32 | SampleFormat::Float32 => 32,
        }
    }
}

/// A clip: planar samples `channels[c][i]`, all channels the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second, per channel; positive.
    pub sample_rate: u32,
    /// The encoding it was read from and is written back in.
    pub format: SampleFormat,
    /// Planar samples in `[-1, 1]` (float input is not clipped): `channels[c][i]`.
    pub channels: Vec<Vec<f32>>,
}

impl Audio {
    /// Checks the clip's bounds ([`Audio::validate`]): `1..=`[`MAX_CHANNELS`] channels of one
    /// length, a sample rate in `1..=`[`MAX_SAMPLE_RATE`], at most [`MAX_SAMPLES`] samples.
    pub fn new(sample_rate: u32, format: SampleFormat, channels: Vec<Vec<f32>>) -> Result<Audio> {
        let audio = Audio {
            sample_rate,
            format,
            channels,
        };
        audio.validate("audio")?;
        Ok(audio)
    }

    /// Checks what [`Audio::new`] checks (the fields are public, so every op checks again);
    /// `what` names the clip in the error.
    pub fn validate(&self, what: &str) -> Result<()> {
        let n = self.channels.len();
        if n == 0 || self.channels.iter().any(|c| c.len() != self.len()) {
            return Err(invalid(what, "needs one or more channels of equal length"));
        }
        check_layout(what, self.sample_rate, n)?;
        check_samples(what, self.len().saturating_mul(n))
    }

    /// Frames (samples per channel).
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Whether the clip has no frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / f64::from(self.sample_rate)
    }
}

fn wav_error(path: &Path, e: hound::Error) -> AudioError {
    match e {
        hound::Error::IoError(source) => AudioError::Io {
            path: path.to_path_buf(),
            source,
        },
        e => AudioError::Wav {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

/// Checks a sample rate and a channel count against their bounds.
fn check_layout(what: &str, sample_rate: u32, channels: usize) -> Result<()> {
    if !(1..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(invalid(
            what,
            format!("sample rate {sample_rate} Hz is outside 1..={MAX_SAMPLE_RATE}"),
        ));
    }
    if !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(invalid(
            what,
            format!("{channels} channels is outside 1..={MAX_CHANNELS}"),
        ));
    }
    Ok(())
}

/// Checks a total sample count (frames times channels) against [`MAX_SAMPLES`].
pub(crate) fn check_samples(what: &str, samples: usize) -> Result<()> {
    if samples > MAX_SAMPLES {
        return Err(invalid(
            what,
            format!("{samples} samples is more than the limit of {MAX_SAMPLES}"),
        ));
    }
    Ok(())
}

/// Reads a WAV file, streaming it (the bytes are never held whole); a file over
/// [`MAX_WAV_BYTES`] is refused from its length alone.
pub fn read_wav(path: &Path) -> Result<Audio> {
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_WAV_BYTES {
        return Err(invalid(
            path.display().to_string(),
            format!("{len} bytes is more than the {MAX_WAV_BYTES}-byte limit of a WAV file"),
        ));
    }
    // `take` also stops a file whose metadata says nothing (a pipe, a device) at the limit.
    let reader = BufReader::new(file.take(MAX_WAV_BYTES));
    decode(reader, path, if len == 0 { MAX_WAV_BYTES } else { len })
}

/// Decodes WAV bytes; `name` labels errors.
pub fn decode_wav(bytes: &[u8], name: &Path) -> Result<Audio> {
    decode(Cursor::new(bytes), name, bytes.len() as u64)
}

/// Decodes from `reader`, which holds at most `available` bytes: what a buffer reservation
/// may trust instead of the header's data length.
fn decode<R: Read>(reader: R, name: &Path, available: u64) -> Result<Audio> {
    let mut reader = WavReader::new(reader).map_err(|e| match e {
        hound::Error::Unsupported => AudioError::Unsupported {
            path: name.to_path_buf(),
            found: "(hound: unsupported format tag or layout)".into(),
        },
        e => wav_error(name, e),
    })?;
    let spec = reader.spec();
    let format = match (spec.sample_format, spec.bits_per_sample) {
        (HoundFormat::Int, 8) => SampleFormat::Int8,
        (HoundFormat::Int, 16) => SampleFormat::Int16,
        (HoundFormat::Int, 24) => SampleFormat::Int24,
        (HoundFormat::Int, 32) => SampleFormat::Int32,
        (HoundFormat::Float, 32) => SampleFormat::Float32,
        (f, b) => {
            return Err(AudioError::Unsupported {
                path: name.to_path_buf(),
                found: format!("{b}-bit {f:?}"),
            });
        }
    };
    let n_ch = usize::from(spec.channels);
    if n_ch == 0 {
        return Err(AudioError::Unsupported {
            path: name.to_path_buf(),
            found: "0 channels".into(),
        });
    }
    let what = name.display().to_string();
    check_layout(&what, spec.sample_rate, n_ch)?;
    let samples = reader.len() as usize;
    check_samples(&what, samples)?;
    // The header's length is a claim; reserve no more than the bytes present can fill.
    let present = available / u64::from(format.bits() / 8);
    let frames = samples.min(usize::try_from(present).unwrap_or(usize::MAX)) / n_ch;
    let mut channels = vec![Vec::with_capacity(frames); n_ch];
    if format == SampleFormat::Float32 {
        for (i, s) in reader.samples::<f32>().enumerate() {
            channels[i % n_ch].push(s.map_err(|e| wav_error(name, e))?);
        }
    } else {
        let scale = 1.0 / f64::from(1u32 << (format.bits() - 1));
        for (i, s) in reader.samples::<i32>().enumerate() {
            let s = s.map_err(|e| wav_error(name, e))?;
            channels[i % n_ch].push((f64::from(s) * scale) as f32);
        }
    }
    if channels.iter().any(|c| c.len() != channels[0].len()) {
        return Err(AudioError::Wav {
            path: name.to_path_buf(),
            message: "the data ends in the middle of a frame".into(),
        });
    }
    Audio::new(spec.sample_rate, format, channels).map_err(|e| AudioError::Wav {
        path: name.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes `audio` as a WAV file in `audio.format`.
pub fn write_wav(path: &Path, audio: &Audio) -> Result<()> {
    let bytes = encode_wav(audio, path)?;
    crate::fs::write_via_temp(path, &bytes).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Encodes `audio` as WAV bytes in `audio.format`; `name` labels errors.
pub fn encode_wav(audio: &Audio, name: &Path) -> Result<Vec<u8>> {
    let mut cursor = Cursor::new(Vec::new());
    encode(audio, &mut cursor, name)?;
    Ok(cursor.into_inner())
}

fn encode<W: std::io::Write + Seek>(audio: &Audio, out: W, name: &Path) -> Result<()> {
    audio.validate(&name.display().to_string())?;
    let channels = u16::try_from(audio.channels.len())
        .map_err(|_| invalid(name.display().to_string(), "more than 65535 channels"))?;
    let spec = WavSpec {
        channels,
        sample_rate: audio.sample_rate,
        bits_per_sample: audio.format.bits(),
        sample_format: if audio.format == SampleFormat::Float32 {
            HoundFormat::Float
        } else {
            HoundFormat::Int
        },
    };
    let mut w = WavWriter::new(out, spec).map_err(|e| wav_error(name, e))?;
    let bits = audio.format.bits();
    let (lo, hi) = (
        -(2f64.powi(i32::from(bits) - 1)),
        2f64.powi(i32::from(bits) - 1) - 1.0,
    );
    for i in 0..audio.len() {
        for ch in &audio.channels {
            let r = if audio.format == SampleFormat::Float32 {
                w.write_sample(ch[i])
            } else {
                let v = (f64::from(ch[i]) * (hi + 1.0)).round().clamp(lo, hi);
                w.write_sample(v as i32)
            };
            r.map_err(|e| wav_error(name, e))?;
        }
    }
    w.finalize().map_err(|e| wav_error(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(format: SampleFormat, channels: usize) -> Audio {
        let bits = format.bits();
        // Integer-valued samples on the format's grid so the round trip is exact; for 32-bit
        // integers, multiples of 2^8 (what f32 holds exactly).
        let step = match format {
            SampleFormat::Float32 => 1e-3,
            SampleFormat::Int32 => 256.0 / 2f64.powi(31),
            _ => 1.0 / 2f64.powi(i32::from(bits) - 1),
        };
        let chans = (0..channels)
            .map(|c| {
                (0..50)
                    .map(|i| ((i as f64 * 5.0 - 120.0 + c as f64) * step) as f32)
                    .collect()
            })
            .collect();
        Audio::new(8000, format, chans).unwrap()
    }

    #[test]
    fn every_supported_format_round_trips_exactly() {
        for format in [
            SampleFormat::Int8,
            SampleFormat::Int16,
            SampleFormat::Int24,
            SampleFormat::Int32,
            SampleFormat::Float32,
        ] {
            for channels in [1, 2, 3] {
                let a = clip(format, channels);
                let bytes = encode_wav(&a, Path::new("x.wav")).unwrap();
                let b = decode_wav(&bytes, Path::new("x.wav")).unwrap();
                assert_eq!(a, b, "{format:?} x{channels}");
            }
        }
    }

    #[test]
    fn integer_writing_clamps_full_scale() {
        let a = Audio::new(8000, SampleFormat::Int16, vec![vec![1.0, -1.0, 2.0, -2.0]]).unwrap();
        let b = decode_wav(&encode_wav(&a, Path::new("x")).unwrap(), Path::new("x")).unwrap();
        // +1.0 maps to 32768, clamped to 32767; -1.0 is -32768 exactly.
        let top = 32767.0 / 32768.0;
        assert_eq!(b.channels[0], [top, -1.0, top, -1.0]);
    }

    #[test]
    fn bad_input_names_the_file() {
        let err = decode_wav(b"RIFX not a wave", Path::new("clip.mp3"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("clip.mp3: not a readable WAV file: "),
            "{err}"
        );
        // A canonical 44-byte header announcing 64-bit float (format tag 3), one sample.
        let mut h: Vec<u8> = Vec::new();
        h.extend(b"RIFF");
        h.extend(44u32.to_le_bytes());
        h.extend(b"WAVEfmt ");
        h.extend(16u32.to_le_bytes());
        h.extend(3u16.to_le_bytes()); // IEEE float
        h.extend(1u16.to_le_bytes()); // channels
        h.extend(8000u32.to_le_bytes());
        h.extend((8000u32 * 8).to_le_bytes());
        h.extend(8u16.to_le_bytes()); // block align
        h.extend(64u16.to_le_bytes()); // bits
        h.extend(b"data");
        h.extend(8u32.to_le_bytes());
        h.extend(0f64.to_le_bytes());
        let err = decode_wav(&h, Path::new("f64.wav"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f64.wav: "), "{err}");
        let err = read_wav(Path::new("/nonexistent/a.wav"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/nonexistent/a.wav: "), "{err}");
    }
}
