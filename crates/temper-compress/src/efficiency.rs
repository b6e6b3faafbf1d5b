//! The figures that say how lean a model is, which `temper inspect` prints and `report.md`
//! shows next to the parent model's.
//!
//! - MACs (multiply-accumulates) of one image's forward pass, counted per layer as fvcore's
//!   and ptflops' handlers do: a conv2d is `out_c * (in_c / groups) * kh * kw * out_h *
//!   out_w`, a linear layer `in * out`; biases, norms and activations are left out, as there.
//! - The gzip size of the checkpoint: pruned zeros and repeated int8 values compress, so it is
//!   the size the sparsity saves on disk or over a network (Han et al. 2016,
//!   arXiv:1510.00149, count the same saving with their own coding).
//! - Latency at batch 1 and throughput at batch 64 are medians over timed calls after a
//!   warm-up (the median resists the outliers a shared machine adds, as criterion's report
//!   does).

use std::io::Write;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A model's efficiency figures.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Efficiency {
    /// Parameters, zeros included.
    pub parameters: u64,
    /// Parameters that are not zero.
    pub nonzero_parameters: u64,
    /// Multiply-accumulates of one image's forward pass, when the model's layers are known.
    pub macs_per_image: Option<u64>,
    /// Bytes of the checkpoint file.
    pub checkpoint_bytes: u64,
    /// Bytes of the checkpoint gzip-compressed at the default level.
    pub checkpoint_gzip_bytes: u64,
    /// Median milliseconds of a forward pass on one image.
    pub latency_ms_batch1: f64,
    /// Images per second at batch 64.
    pub throughput_batch64: f64,
}

/// One row: the label, this model's figure, the parent's, and the ratio: how many times
/// better this model is (parent / this for sizes and times, this / parent for rates).
struct Row {
    label: &'static str,
    this: String,
    parent: String,
    ratio: Option<f64>,
}

impl Efficiency {
    /// A markdown table: one row per figure, a column for this model, and when `parent` is
    /// given the parent's column and the ratio (parent / this for sizes and latency, this /
    /// parent for throughput), written as `4.00x`; `-` where a figure is missing or zero.
    pub fn to_markdown(&self, name: &str, parent: Option<(&str, &Efficiency)>) -> String {
        let rows = self.rows(parent.map(|(_, p)| p));
        let mut out = match parent {
            Some((pname, _)) => {
                format!("| figure | {name} | {pname} | ratio |\n|---|---:|---:|---:|\n")
            }
            None => format!("| figure | {name} |\n|---|---:|\n"),
        };
        for r in rows {
            if parent.is_some() {
                let ratio = r.ratio.map_or("-".to_owned(), |x| format!("{x:.2}x"));
                out += &format!("| {} | {} | {} | {ratio} |\n", r.label, r.this, r.parent);
            } else {
                out += &format!("| {} | {} |\n", r.label, r.this);
            }
        }
        out
    }

    fn rows(&self, parent: Option<&Efficiency>) -> Vec<Row> {
        let smaller = |this: f64, parent: f64| (this > 0.0).then(|| parent / this);
        let larger = |this: f64, parent: f64| (parent > 0.0).then(|| this / parent);
        let int = |v: u64| v.to_string();
        let macs = |e: &Efficiency| e.macs_per_image.map_or("-".to_owned(), int);
        let p = parent;
        let row = |label, this: String, parent: Option<String>, ratio| Row {
            label,
            this,
            parent: parent.unwrap_or_default(),
            ratio,
        };
        let ratio_u =
            |f: fn(&Efficiency) -> u64| p.and_then(|p| smaller(f(self) as f64, f(p) as f64));
        vec![
            row(
                "parameters",
                int(self.parameters),
                p.map(|p| int(p.parameters)),
                ratio_u(|e| e.parameters),
            ),
            row(
                "nonzero parameters",
                int(self.nonzero_parameters),
                p.map(|p| int(p.nonzero_parameters)),
                ratio_u(|e| e.nonzero_parameters),
            ),
            row(
                "MACs per image",
                macs(self),
                p.map(macs),
                p.and_then(|p| smaller(self.macs_per_image? as f64, p.macs_per_image? as f64)),
            ),
            row(
                "checkpoint bytes",
                int(self.checkpoint_bytes),
                p.map(|p| int(p.checkpoint_bytes)),
                ratio_u(|e| e.checkpoint_bytes),
            ),
            row(
                "checkpoint gzip bytes",
                int(self.checkpoint_gzip_bytes),
                p.map(|p| int(p.checkpoint_gzip_bytes)),
                ratio_u(|e| e.checkpoint_gzip_bytes),
            ),
            row(
                "latency ms (batch 1)",
                format!("{:.3}", self.latency_ms_batch1),
                p.map(|p| format!("{:.3}", p.latency_ms_batch1)),
                p.and_then(|p| smaller(self.latency_ms_batch1, p.latency_ms_batch1)),
            ),
            row(
                "images/s (batch 64)",
                format!("{:.1}", self.throughput_batch64),
                p.map(|p| format!("{:.1}", p.throughput_batch64)),
                p.and_then(|p| larger(self.throughput_batch64, p.throughput_batch64)),
            ),
        ]
    }
}

/// A writer that only counts the bytes written to it.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Length of `bytes` gzip-compressed at flate2's default level (6, what `gzip -6` gives),
/// header and trailer included.
pub fn gzip_len(bytes: &[u8]) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Count(0), flate2::Compression::default());
    // Writing to a counter cannot fail.
    gz.write_all(bytes).expect("counting writer");
    gz.finish().expect("counting writer").0
}

/// MACs of one conv2d on one image: `out_c * (in_c / groups) * kh * kw * out_h * out_w`
/// (fvcore's `conv_flop_count`, counting one multiply-accumulate as one). `groups` 0 is
/// taken as 1.
pub fn conv2d_macs(
    in_c: usize,
    out_c: usize,
    kernel: [usize; 2],
    groups: usize,
    out_hw: [usize; 2],
) -> u64 {
    [
        out_c,
        in_c / groups.max(1),
        kernel[0],
        kernel[1],
        out_hw[0],
        out_hw[1],
    ]
    .iter()
    .map(|&x| x as u64)
    .product()
}

/// MACs of a linear layer on one input: `inputs * outputs`.
pub fn linear_macs(inputs: usize, outputs: usize) -> u64 {
    inputs as u64 * outputs as u64
}

/// Times `f` (after `warmup` calls) until both `min_iters` calls and `min_time` have passed;
/// returns the median seconds per call (0 when `min_iters` is 0 and `min_time` zero).
pub fn median_seconds(
    mut f: impl FnMut(),
    warmup: usize,
    min_iters: usize,
    min_time: Duration,
) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < min_iters || start.elapsed() < min_time {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    if times.is_empty() {
        return 0.0;
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests;
