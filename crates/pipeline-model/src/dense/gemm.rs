//! Matrix products over `f32` slices with the `gemm` crate (the kernels
//! candle's CPU backend calls), into caller-owned buffers: no zero-filled
//! output per call, and a product can add to what is already there
//! (`accumulate`), which puts a layer's bias in the same pass.
//!
//! The only `unsafe` of the dense path: the bounds the kernel relies on are
//! checked here first, so a wrong shape is an error, never a stray write.

#![allow(unsafe_code)]

use gemm::Parallelism;

use crate::error::ModelError;

/// Products of fewer multiply-adds run on the calling thread: at about
/// 30 GFLOP/s per core this is ~70 µs of work, where handing half to the
/// rayon pool costs tens of microseconds.
const PARALLEL_MACS: usize = 1 << 20;

/// A read-only matrix view: element `(r, c)` is `data[r * row_stride + c *
/// col_stride]`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// `rows × cols`, stored row after row.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Mat<'a> {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element lies inside `data`.
    fn fits(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .and_then(|r| (self.cols - 1).checked_mul(self.col_stride).map(|c| (r, c)))
            .and_then(|(r, c)| r.checked_add(c));
        matches!(last, Some(last) if last < self.data.len())
    }
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`), `dst` row-major
/// `a.rows × b.cols`, on `threads` threads of the rayon pool.
pub fn matmul(
    dst: &mut [f32],
    a: Mat<'_>,
    b: Mat<'_>,
    accumulate: bool,
    threads: usize,
) -> Result<(), ModelError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || !a.fits() || !b.fits() || dst.len() < m * n {
        return Err(ModelError::Dense {
            detail: format!(
                "matrix product of {}×{} and {}×{} into {} values",
                a.rows,
                a.cols,
                b.rows,
                b.cols,
                dst.len()
            ),
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return Ok(());
    }
    // A small product is done before the pool would have woken up.
    let parallelism = if threads > 1 && m * n * k >= PARALLEL_MACS {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: `dst` holds `m × n` row-major values and every element of `a`
    // and `b` lies inside its slice (checked above); the three do not alias
    // (`dst` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn naive(a: Mat<'_>, b: Mat<'_>) -> Vec<f32> {
        let mut out = vec![0.0; a.rows * b.cols];
        for r in 0..a.rows {
            for c in 0..b.cols {
                out[r * b.cols + c] = (0..a.cols)
                    .map(|i| {
                        a.data[r * a.row_stride + i * a.col_stride]
                            * b.data[i * b.row_stride + c * b.col_stride]
                    })
                    .sum();
            }
        }
        out
    }

    #[test]
    fn products_with_transposes_equal_the_naive_loop() {
        let x: Vec<f32> = (0..35).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..21).map(|i| (i as f32 * 0.11).cos()).collect();
        let a = Mat::row_major(&x, 5, 7);
        let b = Mat::row_major(&w, 3, 7).t();
        for threads in [1, 2] {
            let mut dst = vec![f32::NAN; 15];
            matmul(&mut dst, a, b, false, threads).unwrap();
            let expected = naive(a, b);
            for (d, e) in dst.iter().zip(&expected) {
                assert!((d - e).abs() < 1e-5, "{d} vs {e}");
            }
            // Accumulating adds onto what is there.
            matmul(&mut dst, a, b, true, threads).unwrap();
            for (d, e) in dst.iter().zip(&expected) {
                assert!((d - 2.0 * e).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn a_view_past_its_slice_is_an_error() {
        let x = vec![1.0f32; 6];
        let a = Mat::row_major(&x, 3, 3);
        let b = Mat::row_major(&x, 3, 2);
        let mut dst = vec![0.0; 6];
        assert!(matmul(&mut dst, a, b, false, 1).is_err());
        let a = Mat::row_major(&x, 2, 3);
        let b = Mat::row_major(&x, 3, 2);
        let mut small = vec![0.0; 3];
        assert!(matmul(&mut small, a, b, false, 1).is_err());
    }
}
