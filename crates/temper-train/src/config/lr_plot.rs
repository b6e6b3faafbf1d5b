//! The learning rate over a whole run, computed without training (`temper schedule plot`):
//! a fresh `temper_optim::LrSchedule` stepped through every optimizer step of the run. The
//! curve maths itself is temper-optim's `Curve`; this is its plot over one experiment.

use std::path::Path;

use temper_optim::LrSchedule;

use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::load_data;
use crate::run::run_dir::write_atomic;
use crate::score::plot::{ChartFile, LineChart, Series};

/// Every optimizer step's learning rate of a run, as `temper schedule plot` draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct LrPlot {
    /// Optimizer steps per epoch.
    pub steps_per_epoch: usize,
    /// Epochs of the run (`[train] epochs`); `lrs` holds `epochs × steps_per_epoch` rates.
    pub epochs: usize,
    /// One rate per optimizer step, in order.
    pub lrs: Vec<f64>,
}

impl LrPlot {
    /// The curve of `exp`'s schedule, with steps per epoch taken from its data set and split.
    /// A plateau rule is drawn as if the metric never stopped improving.
    pub fn for_experiment(exp: &Experiment) -> Result<Self, TrainError> {
        exp.validate()?;
        let data = load_data(&exp.data.data_source()?, &mut crate::run::Silent)?;
        let split = exp.split(data.train.len())?;
        let steps_per_epoch = split.train.len().div_ceil(exp.train.batch_size).max(1);
        let lr = exp.optim.resolve()?.learning_rate();
        Self::new(exp, lr, steps_per_epoch)
    }

    /// The curve for a known number of steps per epoch.
    pub fn new(exp: &Experiment, lr: f64, steps_per_epoch: usize) -> Result<Self, TrainError> {
        let epochs = exp.train.epochs;
        let mut schedule = LrSchedule::new(&exp.schedule, lr, epochs, steps_per_epoch)?;
        let lrs = (0..epochs * steps_per_epoch)
            .map(|_| schedule.next_lr())
            .collect();
        Ok(Self {
            steps_per_epoch,
            epochs,
            lrs,
        })
    }

    /// `step,epoch,lr` rows; `epoch` is fractional (step / steps per epoch).
    pub fn csv(&self) -> String {
        let mut out = String::from("step,epoch,lr\n");
        for (step, lr) in self.lrs.iter().enumerate() {
            let epoch = step as f64 / self.steps_per_epoch as f64;
            out.push_str(&format!("{step},{epoch:.6},{lr:e}\n"));
        }
        out
    }

    /// Writes the chart to `png` and the values as CSV beside it (same name, `.csv`).
    pub fn write(&self, png: &Path, title: &str) -> Result<(), TrainError> {
        let points = self
            .lrs
            .iter()
            .enumerate()
            .map(|(s, lr)| (s as f64 / self.steps_per_epoch as f64, *lr))
            .collect();
        LineChart {
            title: title.to_string(),
            x_label: format!("epoch ({} steps each)", self.steps_per_epoch),
            y_label: "learning rate".into(),
            log_x: false,
            series: vec![Series {
                name: "lr".into(),
                points,
            }],
            marker: None,
            legend: false,
            x_labels: None,
            ..LineChart::default()
        }
        .write_png(png)?;
        write_atomic(&png.with_extension("csv"), self.csv().as_bytes())
    }
}
