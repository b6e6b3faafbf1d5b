//! Loading the data set an experiment's `[data] source` names.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use temper_data::{DataSplits, bundled_mnist, read_cifar10_dir, read_image_folder, read_mnist_dir};

use crate::config::experiment::DataSource;
use crate::error::TrainError;
use crate::run::Progress;

/// How often a folder load reports its count.
const LOADING_TICK: Duration = Duration::from_millis(100);

/// Loads the data an experiment names. An image folder is decoded in parallel (rayon) and
/// reports `done / total` files to `progress` as it goes.
pub fn load_data(
    source: &DataSource,
    progress: &mut dyn Progress,
) -> Result<DataSplits, TrainError> {
    Ok(match source {
        DataSource::Bundled => bundled_mnist()?,
        DataSource::Mnist(dir) => read_mnist_dir(dir)?,
        DataSource::Cifar10(dir) => read_cifar10_dir(dir)?,
        DataSource::Folder(dir, options) => {
            // The reader calls back from its worker threads; `progress` is not `Sync`, so
            // this thread relays the counters while another one reads.
            let (done, total) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let report = |d: usize, t: usize| {
                done.fetch_max(d, Ordering::Relaxed);
                total.store(t, Ordering::Relaxed);
            };
            std::thread::scope(|scope| {
                let reader = scope.spawn(|| read_image_folder(dir, options, &report));
                while !reader.is_finished() {
                    std::thread::sleep(LOADING_TICK);
                    let t = total.load(Ordering::Relaxed);
                    if t > 0 {
                        progress.loading(done.load(Ordering::Relaxed), t);
                    }
                }
                reader.join().expect("the folder reader does not panic")
            })?
        }
    })
}
