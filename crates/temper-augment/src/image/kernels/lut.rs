//! A 256-entry byte table applied to every value of an image (the point ops: brightness,
//! contrast, gamma, invert, solarize, posterize). With AVX-512 VBMI (Zen 4 and later, Intel
//! Ice Lake and later) 64 values per step: two `vpermi2b` look up the table's low and high
//! halves by the index's low 7 bits and its top bit picks between them. Otherwise one value
//! at a time (no gather instruction reads bytes).

/// `out[i] = table[src[i]]` (`out` as long as `src`).
pub(crate) fn apply(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    assert_eq!(src.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    if temper_simd::avx512_vbmi() {
        // SAFETY: the CPU has AVX-512 F, BW and VBMI (`avx512_vbmi` checked them).
        unsafe { super::x86::lut::apply_vbmi(src, table, out) };
        return;
    }
    apply_scalar(src, table, out);
}

/// `out[i] = table[src[i]]`, one value at a time.
pub(crate) fn apply_scalar(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = table[usize::from(v)];
    }
}
