//! The one product the convolution kernels run: `gemm` on strided operands, on the calling
//! thread, behind a bounds check.

use gemm::Parallelism;

/// `dst[m×n] := (read_dst ? dst : 0) + lhs[m×k] · rhs[k×n]`, each operand given by its row and
/// column strides, on the calling thread.
///
/// # Panics
/// When an operand's strided extent does not fit in its slice (the callers pass dense
/// row-major or transposed matrices whose slices they size-check, so this never fires).
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    dst_strides: [usize; 2],
    read_dst: bool,
    lhs: &[f32],
    lhs_strides: [usize; 2],
    rhs: &[f32],
    rhs_strides: [usize; 2],
) {
    assert!(
        fits(dst.len(), [m, n], dst_strides)
            && fits(lhs.len(), [m, k], lhs_strides)
            && fits(rhs.len(), [k, n], rhs_strides),
        "conv2d matmul operand out of bounds"
    );
    // SAFETY: every `(row, col)` of each operand, at its strides, lies inside its slice
    // (asserted above); `dst` is exclusively borrowed, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides[1] as isize,
            dst_strides[0] as isize,
            read_dst,
            lhs.as_ptr(),
            lhs_strides[1] as isize,
            lhs_strides[0] as isize,
            rhs.as_ptr(),
            rhs_strides[1] as isize,
            rhs_strides[0] as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Whether a `rows × cols` matrix at `strides` lies inside a slice of `len` elements (an empty
/// one always does).
fn fits(len: usize, [rows, cols]: [usize; 2], strides: [usize; 2]) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(strides[0])
        .zip((cols - 1).checked_mul(strides[1]))
        .and_then(|(r, c)| r.checked_add(c));
    last.is_some_and(|last| last < len)
}
