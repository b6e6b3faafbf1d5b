//! The byte-table lookup with AVX-512 VBMI: two `vpermi2b` look up the table's low and high
//! halves by the index's low 7 bits and its top bit picks between them.

/// [`apply`](crate::image::kernels::lut::apply) 64 values at a time.
///
/// # Safety
/// The CPU has AVX-512 F, BW and VBMI.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(crate) unsafe fn apply_vbmi(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
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
    crate::image::kernels::lut::apply_scalar(&src[whole..], table, &mut out[whole..]);
}
