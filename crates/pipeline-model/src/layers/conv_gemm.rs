//! 2-d convolution of `f32` on the CPU as matrix products, with its
//! backward pass, as a candle op. candle 0.11's CPU `conv2d` is a direct
//! loop and its backward goes through `conv_transpose2d`, another one: a
//! CNN trained 12× slower than PyTorch (issue 20).
//!
//! Each image's windows are unrolled into a `(channels·kh·kw) × positions`
//! matrix (im2col, zeros where a window reaches into the padding), so that
//! - the output of the image is `weight · cols` (`filters × positions`,
//!   already in `(N, F, H', W')` order),
//! - the weight gradient is `Σ grad_out · colsᵀ` over the images,
//! - the input gradient is `weightᵀ · grad_out` folded back onto the image
//!   (col2im adds each window's share where it came from, overlaps
//!   included, and nothing to what the padding or a left-over edge covers).
//!
//! With a stride of one the windows are unrolled from a zero-padded copy
//! of the image instead ([`Flat`]): each row of `cols` is then one run of a
//! padded plane, one copy per tap, at the price of `2·pad_w` wasted
//! columns per output row (1.6× less time per conv than row-by-row
//! im2col on mnist_cnn's second layer).
//!
//! Windows that do not fit are dropped, as PyTorch (and `conv.rs`'s
//! cropping) does. The products run through `dense/gemm.rs`; batches are
//! split over the rayon pool by images when there is enough work, each
//! image's products then on one thread.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::channel;
use super::cpu::values;
use crate::dense::gemm::{Mat, matmul};

/// Below this many multiply-adds for the whole batch, one thread does it
/// all: waking the pool costs tens of microseconds.
const PARALLEL_MACS: usize = 1 << 18;

/// The sizes of one convolution: input `(N, C, H, W)`, weight `(F, C, KH,
/// KW)`, output `(N, F, OH, OW)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    filters: usize,
    kernel_h: usize,
    kernel_w: usize,
    stride: usize,
    pad_h: usize,
    pad_w: usize,
    out_h: usize,
    out_w: usize,
}

impl Geometry {
    /// From the input's and the weight's dims; an error when they do not
    /// make a convolution (channels differ, a kernel wider than the padded
    /// input, a zero stride).
    fn new(input: &[usize], weight: &[usize], stride: usize, pad: (usize, usize)) -> Result<Self> {
        let (&[batch, channels, height, width], &[filters, weight_channels, kernel_h, kernel_w]) =
            (input, weight)
        else {
            candle_core::bail!(
                "conv2d takes (N, C, H, W) and (F, C, KH, KW), got {input:?} and {weight:?}"
            );
        };
        let (pad_h, pad_w) = pad;
        if channels != weight_channels
            || stride == 0
            || kernel_h == 0
            || kernel_w == 0
            || height + 2 * pad_h < kernel_h
            || width + 2 * pad_w < kernel_w
        {
            candle_core::bail!(
                "conv2d of input {input:?} with weight {weight:?}, stride {stride}, padding {pad:?}"
            );
        }
        Ok(Geometry {
            batch,
            channels,
            height,
            width,
            filters,
            kernel_h,
            kernel_w,
            stride,
            pad_h,
            pad_w,
            out_h: (height + 2 * pad_h - kernel_h) / stride + 1,
            out_w: (width + 2 * pad_w - kernel_w) / stride + 1,
        })
    }

    fn image(&self) -> usize {
        self.channels * self.height * self.width
    }

    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Rows of the unrolled windows: one per channel and kernel offset, in
    /// the weight's order.
    fn taps(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }

    fn output(&self) -> usize {
        self.filters * self.positions()
    }

    fn weight(&self) -> usize {
        self.filters * self.taps()
    }

    fn macs_per_image(&self) -> usize {
        self.filters * self.taps() * self.positions()
    }

    /// The output columns `[first, last)` whose window, at kernel column
    /// `j`, reads inside the image (the rest read padding).
    fn inside_columns(&self, j: usize) -> (usize, usize) {
        // Column `ox` reads `ox·stride + j − pad_w`, inside when in [0, W).
        let first = self.pad_w.saturating_sub(j).div_ceil(self.stride);
        let last = if self.width + self.pad_w > j {
            ((self.width + self.pad_w - j - 1) / self.stride + 1).min(self.out_w)
        } else {
            0
        };
        (first.min(last), last)
    }

    /// Whether windows step by one: then the unrolled windows are copies of
    /// whole runs of the padded image ([`Flat`]), not of window rows.
    fn flat(&self) -> bool {
        self.stride == 1
    }

    /// The input row read by output row `oy` at kernel row `i`, if inside.
    fn input_row(&self, oy: usize, i: usize) -> Option<usize> {
        (oy * self.stride + i)
            .checked_sub(self.pad_h)
            .filter(|&y| y < self.height)
    }
}

/// Where one image's columns sit in a group's matrix: its element `(row,
/// p)` is `[row · ld + at + p]` (images side by side, see [`group`]).
#[derive(Debug, Clone, Copy)]
struct Slot {
    ld: usize,
    at: usize,
}

/// Columns a group of images' products aim for: a per-image product of a
/// small image (8×8 digits: 16 × 9 × 80) is all call overhead, so images
/// are unrolled side by side and multiplied together.
const GROUP_COLUMNS: usize = 512;

/// Images per group, for `positions` columns per image.
fn group(positions: usize) -> usize {
    GROUP_COLUMNS.div_ceil(positions.max(1)).clamp(1, 64)
}

/// Unrolls one image (`C × H × W`) into its slot of `cols` (`taps` rows).
fn im2col(g: &Geometry, image: &[f32], cols: &mut [f32], slot: Slot) {
    for c in 0..g.channels {
        let plane = &image[c * g.height * g.width..][..g.height * g.width];
        for i in 0..g.kernel_h {
            for j in 0..g.kernel_w {
                let tap = (c * g.kernel_h + i) * g.kernel_w + j;
                let (first, last) = g.inside_columns(j);
                for oy in 0..g.out_h {
                    let dst = &mut cols[tap * slot.ld + slot.at + oy * g.out_w..][..g.out_w];
                    let Some(y) = g.input_row(oy, i) else {
                        dst.fill(0.0);
                        continue;
                    };
                    let row = &plane[y * g.width..][..g.width];
                    dst[..first].fill(0.0);
                    dst[last..].fill(0.0);
                    if first == last {
                        continue;
                    }
                    // Column `ox` reads `ox·stride + j − pad_w` (≥ 0 from `first` on).
                    let start = first * g.stride + j - g.pad_w;
                    if g.stride == 1 {
                        dst[first..last].copy_from_slice(&row[start..start + last - first]);
                    } else {
                        for (d, x) in dst[first..last]
                            .iter_mut()
                            .zip(row[start..].iter().step_by(g.stride))
                        {
                            *d = *x;
                        }
                    }
                }
            }
        }
    }
}

/// Adds the unrolled windows in `cols`'s slot back onto one image's
/// gradient (the transpose of [`im2col`]).
fn col2im(g: &Geometry, cols: &[f32], slot: Slot, image: &mut [f32]) {
    for c in 0..g.channels {
        let plane = &mut image[c * g.height * g.width..][..g.height * g.width];
        for i in 0..g.kernel_h {
            for j in 0..g.kernel_w {
                let tap = (c * g.kernel_h + i) * g.kernel_w + j;
                let (first, last) = g.inside_columns(j);
                if first == last {
                    continue;
                }
                for oy in 0..g.out_h {
                    let Some(y) = g.input_row(oy, i) else {
                        continue;
                    };
                    let src = &cols[tap * slot.ld + slot.at + oy * g.out_w..][first..last];
                    let row = &mut plane[y * g.width..][..g.width];
                    let start = first * g.stride + j - g.pad_w;
                    for (x, s) in row[start..].iter_mut().step_by(g.stride).zip(src) {
                        *x += *s;
                    }
                }
            }
        }
    }
}

/// The stride-1 layout of one image: each channel zero-padded into a plane
/// `wide` values across (`W + 2·pad_w`), so that the window of output
/// `(oy, ox)` at kernel offset `(i, j)` reads the plane at `(oy·wide + ox) +
/// (i·wide + j)`. Numbering positions `oy·wide + ox`, a tap's row of the
/// unrolled windows is then one run of the plane: one copy per tap instead
/// of one per tap and output row, and no zero filling (the plane's borders
/// stay zero). Positions with `ox ≥ OW` ("wide" columns, `wide − OW` per
/// row) read across the row's end; products compute them and they are
/// dropped ([`Unroll::narrow`]), or enter as zeros ([`Unroll::widen`]).
struct Flat {
    wide: usize,
    /// Values of one channel's plane: its padded rows, then `KW − 1` zeros
    /// that the last row's wide columns read.
    plane: usize,
    /// Positions of one image: `OH × wide`.
    positions: usize,
    /// The padded image (`C` planes), borders zero.
    padded: Vec<f32>,
}

impl Flat {
    fn new(g: &Geometry) -> Flat {
        let wide = g.width + 2 * g.pad_w;
        let plane = (g.height + 2 * g.pad_h) * wide + g.kernel_w - 1;
        Flat {
            wide,
            plane,
            positions: g.out_h * wide,
            padded: vec![0.0; g.channels * plane],
        }
    }

    /// The taps in the weight's order, each with its offset in a plane
    /// (a function of the sizes, so that it borrows nothing of `self`).
    fn taps(&self, g: &Geometry) -> impl Iterator<Item = usize> + use<> {
        let (kh, kw, wide, plane) = (g.kernel_h, g.kernel_w, self.wide, self.plane);
        (0..g.channels)
            .flat_map(move |c| (0..kh).flat_map(move |i| (0..kw).map(move |j| (c, i, j))))
            .map(move |(c, i, j)| c * plane + i * wide + j)
    }

    /// Pads `image` (`C × H × W`), then unrolls it into its slot of `cols`.
    fn unroll(&mut self, g: &Geometry, image: &[f32], cols: &mut [f32], slot: Slot) {
        for (plane, channel) in self
            .padded
            .chunks_exact_mut(self.plane)
            .zip(image.chunks_exact(g.height * g.width))
        {
            for (y, row) in channel.chunks_exact(g.width).enumerate() {
                plane[(y + g.pad_h) * self.wide + g.pad_w..][..g.width].copy_from_slice(row);
            }
        }
        for (tap, offset) in self.taps(g).enumerate() {
            cols[tap * slot.ld + slot.at..][..self.positions]
                .copy_from_slice(&self.padded[offset..][..self.positions]);
        }
    }

    /// Adds each tap's row of `cols`'s slot back onto the padded planes
    /// (zeroed first), then copies their inside to `image`: the transpose
    /// of [`Flat::unroll`].
    fn fold(&mut self, g: &Geometry, cols: &[f32], slot: Slot, image: &mut [f32]) {
        self.padded.fill(0.0);
        let positions = self.positions;
        for (tap, offset) in self.taps(g).enumerate() {
            let src = &cols[tap * slot.ld + slot.at..][..positions];
            for (d, s) in self.padded[offset..][..positions].iter_mut().zip(src) {
                *d += *s;
            }
        }
        for (plane, channel) in self
            .padded
            .chunks_exact(self.plane)
            .zip(image.chunks_exact_mut(g.height * g.width))
        {
            for (y, row) in channel.chunks_exact_mut(g.width).enumerate() {
                row.copy_from_slice(&plane[(y + g.pad_h) * self.wide + g.pad_w..][..g.width]);
            }
        }
    }
}

/// How an image's windows become columns: window row by window row (any
/// stride), or as runs of a padded copy (stride 1, [`Flat`]).
enum Unroll {
    Rows,
    Flat(Flat),
}

impl Unroll {
    fn new(g: &Geometry) -> Unroll {
        if g.flat() {
            Unroll::Flat(Flat::new(g))
        } else {
            Unroll::Rows
        }
    }

    /// Columns of one image.
    fn positions(&self, g: &Geometry) -> usize {
        match self {
            Unroll::Rows => g.positions(),
            Unroll::Flat(flat) => flat.positions,
        }
    }

    /// The row length of one output row in columns (`OW`, or the padded
    /// width).
    fn row(&self, g: &Geometry) -> usize {
        match self {
            Unroll::Rows => g.out_w,
            Unroll::Flat(flat) => flat.wide,
        }
    }

    fn unroll(&mut self, g: &Geometry, image: &[f32], cols: &mut [f32], slot: Slot) {
        match self {
            Unroll::Rows => im2col(g, image, cols, slot),
            Unroll::Flat(flat) => flat.unroll(g, image, cols, slot),
        }
    }

    /// `image` (zeros before) from the windows' gradients in `cols`.
    fn fold(&mut self, g: &Geometry, cols: &[f32], slot: Slot, image: &mut [f32]) {
        match self {
            Unroll::Rows => col2im(g, cols, slot, image),
            Unroll::Flat(flat) => flat.fold(g, cols, slot, image),
        }
    }

    /// `out` (`F × OH × OW`) from `wide`'s slot (`F` rows): the wide
    /// columns dropped, each filter's `bias` added when there is one.
    fn narrow(
        &self,
        g: &Geometry,
        wide: &[f32],
        slot: Slot,
        bias: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let row = self.row(g);
        for (k, dst) in out.chunks_exact_mut(g.out_w).enumerate() {
            let (f, oy) = (k / g.out_h, k % g.out_h);
            let src = &wide[f * slot.ld + slot.at + oy * row..][..g.out_w];
            match bias {
                None => dst.copy_from_slice(src),
                Some(bias) => {
                    let b = bias[f];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d = *s + b;
                    }
                }
            }
        }
    }

    /// `wide`'s slot (`F` rows) from `grad` (`F × OH × OW`), the wide
    /// columns zero.
    fn widen(&self, g: &Geometry, grad: &[f32], wide: &mut [f32], slot: Slot) {
        let row = self.row(g);
        for (k, src) in grad.chunks_exact(g.out_w).enumerate() {
            let (f, oy) = (k / g.out_h, k % g.out_h);
            let dst = &mut wide[f * slot.ld + slot.at + oy * row..][..row];
            dst[..g.out_w].copy_from_slice(src);
            dst[g.out_w..].fill(0.0);
        }
    }
}

/// One part's working memory: its unroller, and the unrolled windows
/// (`cols`, `taps` rows) and the filters' rows (`wide`) of one group of
/// images, sized for the part's largest group.
struct Scratch {
    unroll: Unroll,
    positions: usize,
    per_group: usize,
    cols: Vec<f32>,
    wide: Vec<f32>,
}

/// One group: the batch's images `first..first + count`, side by side in
/// `cols` and `wide` (`ld` columns a row).
struct Group<'a> {
    unroll: &'a mut Unroll,
    first: usize,
    count: usize,
    ld: usize,
    positions: usize,
    cols: &'a mut [f32],
    wide: &'a mut [f32],
}

impl Group<'_> {
    /// Where the group's `m`-th image sits.
    fn slot(&self, m: usize) -> Slot {
        Slot {
            ld: self.ld,
            at: m * self.positions,
        }
    }
}

impl Scratch {
    /// For a part of `images` images.
    fn new(g: &Geometry, images: usize) -> Scratch {
        let unroll = Unroll::new(g);
        let positions = unroll.positions(g);
        let per_group = group(positions).min(images.max(1));
        Scratch {
            unroll,
            positions,
            per_group,
            cols: vec![0.0; g.taps() * per_group * positions],
            wide: vec![0.0; g.filters * per_group * positions],
        }
    }

    /// `work(group)` for the groups of `images`, in order.
    fn groups(
        &mut self,
        g: &Geometry,
        images: std::ops::Range<usize>,
        mut work: impl FnMut(Group<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut first = images.start;
        while first < images.end {
            let count = self.per_group.min(images.end - first);
            let ld = count * self.positions;
            work(Group {
                unroll: &mut self.unroll,
                first,
                count,
                ld,
                positions: self.positions,
                cols: &mut self.cols[..g.taps() * ld],
                wide: &mut self.wide[..g.filters * ld],
            })?;
            first += count;
        }
        Ok(())
    }
}

/// Parts a large batch is cut into, whatever the pool's size: the weight
/// gradient adds the parts' sums in order, so a fixed cut keeps its bits the
/// same on a machine with another number of cores (the receipt's
/// "deterministic" holds across machines, not only across runs).
const PARTS: usize = 16;

/// How many workers share a batch: one when the work is small, else
/// [`PARTS`] (at most one per image), which the pool's threads take in turn.
fn workers(g: &Geometry) -> usize {
    if g.batch < 2 || g.batch * g.macs_per_image() < PARALLEL_MACS {
        1
    } else {
        PARTS.min(g.batch)
    }
}

/// Runs `work(part, chunk)` on each `part_len`-long chunk of `out`, on the
/// rayon pool when there is more than one chunk.
fn split<F>(out: &mut [f32], part_len: usize, work: F) -> Result<()>
where
    F: Fn(usize, &mut [f32]) -> Result<()> + Sync + Send,
{
    if out.len() <= part_len || part_len == 0 {
        return work(0, out);
    }
    out.par_chunks_mut(part_len)
        .enumerate()
        .try_for_each(|(part, chunk)| work(part, chunk))
}

/// The threads one product may take: all of them when the batch is not
/// split (a single large image), else one.
fn product_threads(workers: usize) -> usize {
    if workers == 1 {
        rayon::current_num_threads()
    } else {
        1
    }
}

fn product(
    dst: &mut [f32],
    a: Mat<'_>,
    b: Mat<'_>,
    accumulate: bool,
    threads: usize,
) -> Result<()> {
    matmul(dst, a, b, accumulate, threads).map_err(candle_core::Error::wrap)
}

/// `output = conv2d(input, weight)`: the forward op, its backward through
/// [`InputGradient`] and [`WeightGradient`].
#[derive(Debug, Clone, Copy)]
struct Conv2d {
    stride: usize,
    pad_h: usize,
    pad_w: usize,
}

impl Conv2d {
    /// The output of `input` and `weight`, plus `bias` per filter when
    /// there is one.
    fn forward(
        &self,
        name: &str,
        (s1, l1): (&CpuStorage, &Layout),
        (s2, l2): (&CpuStorage, &Layout),
        bias: Option<&[f32]>,
    ) -> Result<(CpuStorage, Shape)> {
        let input = values(name, s1, l1)?;
        let weight = values(name, s2, l2)?;
        let g = Geometry::new(l1.dims(), l2.dims(), self.stride, (self.pad_h, self.pad_w))?;
        if bias.is_some_and(|b| b.len() != g.filters) {
            candle_core::bail!(
                "{name}: a bias of {:?} for {} filters",
                bias.map(<[f32]>::len),
                g.filters
            );
        }
        let mut output = vec![0.0f32; g.batch * g.output()];
        let workers = workers(&g);
        let per_worker = g.batch.div_ceil(workers);
        let threads = product_threads(workers);
        let weight = Mat::row_major(weight, g.filters, g.taps());
        split(&mut output, per_worker * g.output(), |part, chunk| {
            let start = part * per_worker;
            let images = start..start + chunk.len() / g.output();
            let mut scratch = Scratch::new(&g, images.len());
            scratch.groups(&g, images, |group| {
                for m in 0..group.count {
                    let (n, slot) = (group.first + m, group.slot(m));
                    let image = &input[n * g.image()..][..g.image()];
                    group.unroll.unroll(&g, image, group.cols, slot);
                }
                let cols = Mat::row_major(group.cols, g.taps(), group.ld);
                product(group.wide, weight, cols, false, threads)?;
                let outs = &mut chunk[(group.first - start) * g.output()..];
                for (m, out) in outs.chunks_mut(g.output()).take(group.count).enumerate() {
                    group
                        .unroll
                        .narrow(&g, group.wide, group.slot(m), bias, out);
                }
                Ok(())
            })
        })?;
        let shape = Shape::from((g.batch, g.filters, g.out_h, g.out_w));
        Ok((CpuStorage::F32(output), shape))
    }

    /// The gradients of `input` (unless it is data) and `weight`.
    fn backward(
        &self,
        input: &Tensor,
        weight: &Tensor,
        grad_output: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // An input that is data (the first layer's images) needs no gradient.
        let grad_input = if input.track_op() {
            let (_, _, height, width) = input.dims4()?;
            let op = InputGradient {
                conv: *self,
                height,
                width,
            };
            Some(grad_output.apply_op2_no_bwd(&weight.contiguous()?, &op)?)
        } else {
            None
        };
        let grad_weight = if weight.track_op() {
            let (_, _, kernel_h, kernel_w) = weight.dims4()?;
            let op = WeightGradient {
                conv: *self,
                kernel_h,
                kernel_w,
            };
            Some(input.contiguous()?.apply_op2_no_bwd(grad_output, &op)?)
        } else {
            None
        };
        Ok((grad_input, grad_weight))
    }
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.forward(self.name(), (s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        input: &Tensor,
        weight: &Tensor,
        _output: &Tensor,
        grad_output: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        self.backward(input, weight, &grad_output.contiguous()?)
    }
}

/// [`Conv2d`] with a bias per filter, added as the output is written (one
/// tensor and one pass fewer than a separate shift); its gradient is the
/// sum of each filter's output gradient.
#[derive(Debug, Clone, Copy)]
struct Conv2dBias(Conv2d);

impl CustomOp3 for Conv2dBias {
    fn name(&self) -> &'static str {
        "conv2d-gemm-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let bias = values(self.name(), s3, l3)?;
        self.0.forward(self.name(), (s1, l1), (s2, l2), Some(bias))
    }

    fn bwd(
        &self,
        input: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _output: &Tensor,
        grad_output: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad_output = grad_output.contiguous()?;
        let (grad_input, grad_weight) = self.0.backward(input, weight, &grad_output)?;
        let grad_bias = channel::sums(&grad_output)?;
        Ok((grad_input, grad_weight, Some(grad_bias)))
    }
}

/// `grad_input` from `(grad_output, weight)`: `col2im(weightᵀ · grad_out)`
/// per image. The input's height and width are kept: the output's sizes
/// do not tell how much was left over past the last window.
#[derive(Debug, Clone, Copy)]
struct InputGradient {
    conv: Conv2d,
    height: usize,
    width: usize,
}

impl CustomOp2 for InputGradient {
    fn name(&self) -> &'static str {
        "conv2d-gemm-input-gradient"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let grad_output = values(self.name(), s1, l1)?;
        let weight = values(self.name(), s2, l2)?;
        let (&[batch, ..], &[_, channels, ..]) = (l1.dims(), l2.dims()) else {
            candle_core::bail!("{}: {:?} and {:?}", self.name(), l1.dims(), l2.dims());
        };
        let c = self.conv;
        let g = Geometry::new(
            &[batch, channels, self.height, self.width],
            l2.dims(),
            c.stride,
            (c.pad_h, c.pad_w),
        )?;
        if l1.dims() != [batch, g.filters, g.out_h, g.out_w] {
            candle_core::bail!("{}: gradient {:?} for {g:?}", self.name(), l1.dims());
        }
        let mut grad_input = vec![0.0f32; g.batch * g.image()];
        let workers = workers(&g);
        let per_worker = g.batch.div_ceil(workers);
        let threads = product_threads(workers);
        let weight_t = Mat::row_major(weight, g.filters, g.taps()).t();
        split(&mut grad_input, per_worker * g.image(), |part, chunk| {
            let start = part * per_worker;
            let images = start..start + chunk.len() / g.image();
            let mut scratch = Scratch::new(&g, images.len());
            scratch.groups(&g, images, |group| {
                for m in 0..group.count {
                    let (n, slot) = (group.first + m, group.slot(m));
                    let grad = &grad_output[n * g.output()..][..g.output()];
                    group.unroll.widen(&g, grad, group.wide, slot);
                }
                let grad = Mat::row_major(group.wide, g.filters, group.ld);
                product(group.cols, weight_t, grad, false, threads)?;
                let images = &mut chunk[(group.first - start) * g.image()..];
                for (m, image) in images.chunks_mut(g.image()).take(group.count).enumerate() {
                    group.unroll.fold(&g, group.cols, group.slot(m), image);
                }
                Ok(())
            })
        })?;
        let shape = Shape::from((g.batch, g.channels, g.height, g.width));
        Ok((CpuStorage::F32(grad_input), shape))
    }
}

/// `grad_weight` from `(input, grad_output)`: `Σ grad_out · colsᵀ` over
/// the images, each worker summing its images into its own matrix, the
/// matrices added at the end.
#[derive(Debug, Clone, Copy)]
struct WeightGradient {
    conv: Conv2d,
    kernel_h: usize,
    kernel_w: usize,
}

impl CustomOp2 for WeightGradient {
    fn name(&self) -> &'static str {
        "conv2d-gemm-weight-gradient"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let input = values(self.name(), s1, l1)?;
        let grad_output = values(self.name(), s2, l2)?;
        let (&[_, channels, ..], &[_, filters, ..]) = (l1.dims(), l2.dims()) else {
            candle_core::bail!("{}: {:?} and {:?}", self.name(), l1.dims(), l2.dims());
        };
        let c = self.conv;
        let g = Geometry::new(
            l1.dims(),
            &[filters, channels, self.kernel_h, self.kernel_w],
            c.stride,
            (c.pad_h, c.pad_w),
        )?;
        if l2.dims() != [g.batch, g.filters, g.out_h, g.out_w] {
            candle_core::bail!("{}: gradient {:?} for {g:?}", self.name(), l2.dims());
        }
        let workers = workers(&g);
        let per_worker = g.batch.div_ceil(workers);
        let threads = product_threads(workers);
        let mut partial = vec![0.0f32; workers * g.weight()];
        split(&mut partial, g.weight(), |part, sum| {
            let images = part * per_worker..((part + 1) * per_worker).min(g.batch);
            let mut scratch = Scratch::new(&g, images.len());
            scratch.groups(&g, images, |group| {
                for m in 0..group.count {
                    let (n, slot) = (group.first + m, group.slot(m));
                    let image = &input[n * g.image()..][..g.image()];
                    group.unroll.unroll(&g, image, group.cols, slot);
                    let grad = &grad_output[n * g.output()..][..g.output()];
                    group.unroll.widen(&g, grad, group.wide, slot);
                }
                let grad = Mat::row_major(group.wide, g.filters, group.ld);
                let cols_t = Mat::row_major(group.cols, g.taps(), group.ld).t();
                product(sum, grad, cols_t, true, threads)
            })
        })?;
        let (first, rest) = partial.split_at_mut(g.weight());
        for other in rest.chunks(g.weight()) {
            for (s, o) in first.iter_mut().zip(other) {
                *s += *o;
            }
        }
        partial.truncate(g.weight());
        let shape = Shape::from((g.filters, g.channels, g.kernel_h, g.kernel_w));
        Ok((CpuStorage::F32(partial), shape))
    }
}

/// `conv2d` of `input` `(N, C, H, W)` with `weight` `(F, C, KH, KW)`, zero
/// padding `(pad_h, pad_w)`, one stride on both axes, plus `bias` `(F,)`
/// when there is one, with its backward pass. All must be `f32` on the
/// CPU.
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: usize,
    padding: (usize, usize),
) -> Result<Tensor> {
    let (pad_h, pad_w) = padding;
    let conv = Conv2d {
        stride,
        pad_h,
        pad_w,
    };
    let (input, weight) = (input.contiguous()?, weight.contiguous()?);
    match bias {
        None => input.apply_op2(&weight, conv),
        Some(bias) => input.apply_op3(&weight, &bias.contiguous()?, Conv2dBias(conv)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use candle_core::{DType, Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, dims: &[usize]) -> Var {
        let count = dims.iter().product();
        let values: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0..1.0)).collect();
        Var::from_tensor(&Tensor::from_vec(values, dims, &Device::Cpu).unwrap()).unwrap()
    }

    /// candle's own conv2d, as `conv.rs` ran it before this op: the input
    /// padded, then cut to the extent the windows cover (candle's input
    /// gradient is wrong otherwise, see `conv.rs`).
    fn reference(x: &Tensor, w: &Tensor, stride: usize, pad: (usize, usize)) -> Tensor {
        let (_, _, kh, kw) = w.dims4().unwrap();
        let mut x = x.clone();
        for (axis, p, k) in [(2, pad.0, kh), (3, pad.1, kw)] {
            x = x.pad_with_zeros(axis, p, p).unwrap();
            let windows = (x.dim(axis).unwrap() - k) / stride + 1;
            x = x.narrow(axis, 0, (windows - 1) * stride + k).unwrap();
        }
        x.contiguous().unwrap().conv2d(w, 0, stride, 1, 1).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f64> {
        t.flatten_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
    }

    fn close(what: &str, ours: &Tensor, theirs: &Tensor) {
        assert_eq!(ours.dims(), theirs.dims(), "{what}");
        let worst = flat(ours)
            .iter()
            .zip(flat(theirs))
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0, f64::max);
        assert!(worst <= 1e-5, "{what}: {worst:e}");
    }

    /// Outputs and both gradients against candle's conv2d and its autograd
    /// run in `f64` on the same values (candle's `f32` differs from ours by
    /// rounding alone, which grows with the weight gradient's sums: 1.1e-5
    /// at 1,008 terms), on strides 1 and 2, paddings 0–2, kernels 1, 3, 5
    /// and 1×3 (a conv1d), 1 and 3 channels, sizes that leave windows over,
    /// batches 1 and 7 (7 images of 32 filters are split over the pool).
    #[test]
    fn outputs_and_gradients_match_candles_conv2d() {
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        let cases = [
            // (batch, channels, h, w, filters, kh, kw, stride, pad_h, pad_w)
            (1, 1, 5, 5, 2, 1, 1, 1, 0, 0),
            (7, 3, 9, 8, 4, 3, 3, 1, 1, 1),
            (1, 3, 10, 7, 5, 3, 3, 2, 1, 1),
            (7, 1, 11, 9, 3, 5, 5, 2, 2, 2),
            (7, 3, 8, 13, 2, 5, 5, 1, 0, 0),
            (1, 1, 6, 7, 3, 3, 3, 2, 0, 0),
            (7, 3, 7, 6, 4, 1, 1, 2, 1, 1),
            (7, 1, 1, 17, 3, 1, 3, 2, 0, 1),
            (7, 3, 12, 12, 32, 3, 3, 1, 1, 1),
            (7, 3, 4, 4, 2, 5, 5, 1, 2, 2),
            (7, 2, 1, 17, 3, 1, 3, 1, 0, 1),
            (5, 2, 6, 9, 3, 3, 2, 1, 1, 0),
            (3, 2, 5, 6, 3, 2, 4, 1, 0, 2),
            // Groups of 3 images (200 and 225 columns each), the last short.
            (8, 1, 10, 18, 2, 3, 3, 1, 1, 1),
            (10, 1, 30, 30, 2, 3, 3, 2, 1, 1),
        ];
        for (n, c, h, w, f, kh, kw, stride, ph, pw) in cases {
            let what = format!("{n}×{c}×{h}×{w}, {f}×{kh}×{kw}, s{stride} p{ph},{pw}");
            let x = random(&mut rng, &[n, c, h, w]);
            let weight = random(&mut rng, &[f, c, kh, kw]);
            let bias = random(&mut rng, &[f]);
            let ours = conv2d(
                x.as_tensor(),
                weight.as_tensor(),
                Some(bias.as_tensor()),
                stride,
                (ph, pw),
            )
            .unwrap();
            // A loss that weighs each output differently.
            let scale = random(&mut rng, ours.dims());
            let grads = |y: &Tensor| {
                (y * scale.as_tensor().to_dtype(y.dtype()).unwrap())
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap()
            };
            let g1 = grads(&ours);
            // The reference in f64, from the same f32 values.
            let x64 = Var::from_tensor(&x.to_dtype(DType::F64).unwrap()).unwrap();
            let w64 = Var::from_tensor(&weight.to_dtype(DType::F64).unwrap()).unwrap();
            let b64 = Var::from_tensor(&bias.to_dtype(DType::F64).unwrap()).unwrap();
            let theirs = reference(x64.as_tensor(), w64.as_tensor(), stride, (ph, pw))
                .broadcast_add(&b64.as_tensor().reshape((1, f, 1, 1)).unwrap())
                .unwrap();
            close(&format!("{what}: output"), &ours, &theirs);
            let g2 = grads(&theirs);
            let pairs = [
                ("input", &x, &x64),
                ("weight", &weight, &w64),
                ("bias", &bias, &b64),
            ];
            for (name, var, var64) in pairs {
                close(
                    &format!("{what}: {name} gradient"),
                    g1.get(var).unwrap(),
                    g2.get(var64).unwrap(),
                );
            }
        }
    }

    /// The weight gradient of a batch split over the pool has the same bits
    /// with 1, 2 or 3 threads: a run's weights do not depend on the cores.
    #[test]
    fn gradients_do_not_depend_on_the_number_of_threads() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x = random(&mut rng, &[33, 3, 12, 12]);
        let weight = random(&mut rng, &[16, 3, 3, 3]);
        let gradient = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let y = conv2d(x.as_tensor(), weight.as_tensor(), None, 1, (1, 1)).unwrap();
                let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
                flat(grads.get(weight.as_tensor()).unwrap())
            })
        };
        let one = gradient(1);
        assert_eq!(one, gradient(2));
        assert_eq!(one, gradient(3));
    }

    #[test]
    fn data_inputs_get_no_gradient_and_bad_shapes_are_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = random(&mut rng, &[2, 1, 5, 5]).as_tensor().detach();
        let weight = random(&mut rng, &[2, 1, 3, 3]);
        let y = conv2d(&x, weight.as_tensor(), None, 1, (0, 0)).unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        assert!(grads.get(weight.as_tensor()).is_some());
        let wrong_channels = random(&mut rng, &[2, 3, 3, 3]);
        assert!(conv2d(&x, wrong_channels.as_tensor(), None, 1, (0, 0)).is_err());
        let too_wide = random(&mut rng, &[2, 1, 7, 7]);
        assert!(conv2d(&x, too_wide.as_tensor(), None, 1, (0, 0)).is_err());
        let three_biases = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        assert!(conv2d(&x, weight.as_tensor(), Some(&three_biases), 1, (0, 0)).is_err());
    }
}
