//! Progress bars for `temper train` and `temper tune` (indicatif; hidden when stderr is not a
//! terminal), and one line per epoch and per trial.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use temper_train::{EpochMetrics, Progress, TuneProgress};

#[derive(Default)]
pub struct Bars {
    multi: MultiProgress,
    /// Steps of the current epoch.
    bar: Option<ProgressBar>,
    /// Trials of a search, above the epoch bar.
    trials: Option<ProgressBar>,
    /// Files of a data set being loaded.
    loading: Option<ProgressBar>,
}

impl Bars {
    /// A line above the bars (plain stderr when they are hidden, as in CI logs).
    fn line(&self, text: &str) {
        if self.multi.is_hidden() {
            eprintln!("{text}");
        } else {
            let _ = self.multi.println(text);
        }
    }
}

impl Progress for Bars {
    fn message(&mut self, text: &str) {
        self.line(text);
    }

    fn loading(&mut self, done: usize, total: usize) {
        let bar = self.loading.get_or_insert_with(|| {
            let style = ProgressStyle::with_template(
                "loading [{bar:30}] {pos}/{len} files {elapsed}<{eta}",
            )
            .expect("valid template")
            .progress_chars("=> ");
            self.multi
                .add(ProgressBar::new(total as u64).with_style(style))
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }

    fn epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        if let Some(bar) = self.loading.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {msg} {elapsed}<{eta}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        let bar = ProgressBar::new(steps as u64)
            .with_style(style)
            .with_prefix(format!("epoch {epoch}/{epochs}"));
        self.bar = Some(self.multi.add(bar));
    }

    fn step(&mut self, done: usize, loss: Option<f64>) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if let Some(loss) = loss {
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }

    fn epoch_end(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let valid = m
            .valid
            .map(|v| format!("  valid loss {:.4} acc {:.2}%", v.loss, v.accuracy * 100.0))
            .unwrap_or_default();
        self.line(&format!(
            "epoch {}: train loss {:.4} acc {:.2}%{valid}  lr {:.2e}  {:.1}s",
            m.epoch,
            m.train.loss,
            m.train.accuracy * 100.0,
            m.lr,
            m.seconds
        ));
    }
}

impl TuneProgress for Bars {
    fn trial_start(&mut self, number: u64, done: usize, total: usize, params: &str) {
        let bar = self.trials.get_or_insert_with(|| {
            let style = ProgressStyle::with_template("trials [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> ");
            self.multi
                .insert(0, ProgressBar::new(total as u64).with_style(style))
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(format!("trial {number}"));
        self.line(&format!("trial {number}: {params}"));
    }

    fn trial_end(&mut self, line: &str) {
        self.line(line);
    }
}
