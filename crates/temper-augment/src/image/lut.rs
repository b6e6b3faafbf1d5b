//! A 256-entry byte table applied to every value of an image (the point ops: brightness,
//! contrast, gamma, invert, solarize, posterize). With AVX-512 VBMI (Zen 4 and later, Intel
//! Ice Lake and later) 64 values per step: two `vpermi2b` look up the table's low and high
//! halves by the index's low 7 bits and its top bit picks between them. Otherwise one value
//! at a time (no gather instruction reads bytes).

use super::simd::{Level, level};

/// `out[i] = table[src[i]]` (`out` as long as `src`).
pub(crate) fn apply(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    assert_eq!(src.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    if level() == Level::Avx512 && std::arch::is_x86_feature_detected!("avx512vbmi") {
        // SAFETY: the CPU has AVX-512 F, BW and VBMI (checked above).
        unsafe { apply_vbmi(src, table, out) };
        return;
    }
    apply_scalar(src, table, out);
}

fn apply_scalar(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = table[usize::from(v)];
    }
}

/// # Safety
/// The CPU has AVX-512 F, BW and VBMI.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn apply_vbmi(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    use std::arch::x86_64::*;
    // SAFETY: four 64-byte reads of the 256-byte table.
    let t: [__m512i; 4] =
        std::array::from_fn(|q| unsafe { _mm512_loadu_si512(table[q * 64..].as_ptr().cast()) });
    let whole = src.len() / 64 * 64;
    for (s, o) in src[..whole]
        .chunks_exact(64)
        .zip(out[..whole].chunks_exact_mut(64))
    {
        // SAFETY: a 64-byte read of `s` and a 64-byte write of `o`, both 64 long.
        unsafe {
            let v = _mm512_loadu_si512(s.as_ptr().cast());
            let low = _mm512_permutex2var_epi8(t[0], v, t[1]);
            let high = _mm512_permutex2var_epi8(t[2], v, t[3]);
            let r = _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high);
            _mm512_storeu_si512(o.as_mut_ptr().cast(), r);
        }
    }
    apply_scalar(&src[whole..], table, &mut out[whole..]);
}
