//! Tests of `report.html`: the Markdown rules, the page, and a directory's page.

mod dir;
mod markdown;
mod page;

use crate::chart::{LineChart, Series};

/// A real chart's PNG bytes, as temper writes them.
fn chart_png() -> Vec<u8> {
    let chart = LineChart {
        title: "loss".into(),
        x_label: "step".into(),
        y_label: "cross-entropy".into(),
        series: vec![Series {
            name: "train".into(),
            points: (0..50)
                .map(|i| (i as f64, 1.0 / (1.0 + i as f64)))
                .collect(),
        }],
        ..LineChart::default()
    };
    chart.to_png().expect("the chart renders").0
}

/// Every value of an `href="..."` or `src="..."` attribute in `html`.
fn urls(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            let value = &rest[at + attr.len()..];
            let end = value.find('"').expect("attribute values are quoted");
            out.push(&value[..end]);
            rest = &value[end..];
        }
    }
    out
}
