//! A 256-entry byte table applied to every value of an image (the point ops: brightness,
//! contrast, gamma, invert, solarize, posterize). With AVX-512 VBMI (Zen 4 and later, Intel
//! Ice Lake and later) 64 values per step: two `vpermi2b` look up the table's low and high
//! halves by the index's low 7 bits and its top bit picks between them. Otherwise a table
//! that is byte arithmetic — `v & mask` (posterize, and the identity), `!v` from a threshold
//! on (invert, solarize) — runs as that arithmetic, which every level vectorizes (32 bytes
//! per AVX2 step), and any other table one value at a time (no gather instruction reads
//! bytes). The table is classified from its 256 entries, so callers only build tables.

/// `out[i] = table[src[i]]` (`out` as long as `src`).
pub(crate) fn apply(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    assert_eq!(src.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    if temper_simd::avx512_vbmi() {
        // SAFETY: the CPU has AVX-512 F, BW and VBMI (`avx512_vbmi` checked them).
        unsafe { super::x86::lut::apply_vbmi(src, table, out) };
        return;
    }
    match Arithmetic::of(table) {
        Some(Arithmetic::Mask(mask)) => and_mask(src, mask, out),
        Some(Arithmetic::InvertFrom(threshold)) => invert_from(src, threshold, out),
        None => apply_scalar(src, table, out),
    }
}

/// A byte table that is a single arithmetic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arithmetic {
    /// `table[v] = v & mask`.
    Mask(u8),
    /// `table[v] = if v >= threshold { 255 - v } else { v }`; 0 inverts every value.
    InvertFrom(u8),
}

impl Arithmetic {
    /// What `table` computes, when it is one of the steps above.
    pub(crate) fn of(table: &[u8; 256]) -> Option<Self> {
        let mask = table[255];
        if (0..=255u8).all(|v| table[usize::from(v)] == v & mask) {
            return Some(Self::Mask(mask));
        }
        // The first value the table changes starts the inverted range.
        let threshold = (0..=255u8).find(|&v| table[usize::from(v)] != v)?;
        (threshold..=255)
            .all(|v| table[usize::from(v)] == 255 - v)
            .then_some(Self::InvertFrom(threshold))
    }
}

temper_simd::multiversion! {
    /// `out[i] = src[i] & mask`.
    fn and_mask(src: &[u8], mask: u8, out: &mut [u8]) {
        for (o, &v) in out.iter_mut().zip(src) {
            *o = v & mask;
        }
    }
}

temper_simd::multiversion! {
    /// `out[i] = 255 - src[i]` where `src[i] >= threshold`, else `src[i]`.
    fn invert_from(src: &[u8], threshold: u8, out: &mut [u8]) {
        for (o, &v) in out.iter_mut().zip(src) {
            *o = if v >= threshold { !v } else { v };
        }
    }
}

/// `out[i] = table[src[i]]`, one value at a time.
pub(crate) fn apply_scalar(src: &[u8], table: &[u8; 256], out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = table[usize::from(v)];
    }
}
