//! `[data] groups`: the group of every test image (and, when `[fairness]` mitigates, of every
//! training image), read from the groups file, and the test report's per-group table
//! (temper-fair's `fairness_report`).

use std::path::{Component, Path};

use temper_data::{ImageData, StreamOptions, open_image_folder};
use temper_fair::groups::GroupsFile;
use temper_fair::metrics::{FairnessReport, fairness_report};

use crate::config::data_section::{DataSection, DataSource};
use crate::error::TrainError;

/// The groups of a run's images.
#[derive(Debug, Clone)]
pub(crate) struct RunGroups {
    /// Group names, indexed by group.
    pub names: Vec<String>,
    /// The group of each test image.
    pub of_test: Vec<usize>,
    /// The group of each training image, when asked for.
    pub of_train: Option<Vec<usize>>,
}

fn config(e: impl std::fmt::Display) -> TrainError {
    TrainError::Config(format!("data.groups: {e}"))
}

impl RunGroups {
    /// The groups `section` names for its test split of `test_len` images after `train_len`
    /// training images (and for the training images too when `with_train`): by path under the
    /// folder for `folder:` sources (listed as the data was), by index (training set first) for
    /// the others. `None` without `[data] groups`.
    pub fn read(
        section: &DataSection,
        train_len: usize,
        test_len: usize,
        with_train: bool,
    ) -> Result<Option<Self>, TrainError> {
        let Some(file) = &section.groups else {
            return Ok(None);
        };
        let groups = GroupsFile::read(file).map_err(config)?;
        let (of_train, of_test) = match section.data_source()? {
            DataSource::Folder(dir, folder) => {
                let options = StreamOptions {
                    folder,
                    cache: None,
                };
                let listed = open_image_folder(&dir, &options, &|_, _| {})?;
                let assign = |split: &temper_data::StreamingFolder| {
                    let relative: Vec<String> = (0..split.len())
                        .map(|i| relative_key(split.path(i), &dir))
                        .collect();
                    let keys: Vec<&str> = relative.iter().map(String::as_str).collect();
                    groups.assign_paths(&keys).map_err(config)
                };
                let of_train = with_train.then(|| assign(&listed.train)).transpose()?;
                (of_train, assign(&listed.test)?)
            }
            _ => {
                let all = groups
                    .assign_indices(train_len + test_len)
                    .map_err(config)?;
                let of_train = with_train.then(|| all[..train_len].to_vec());
                (of_train, all[train_len..].to_vec())
            }
        };
        Ok(Some(Self {
            names: groups.names.clone(),
            of_test,
            of_train,
        }))
    }

    /// The per-group report of `predicted` (`(test index, class)` of each image read).
    pub fn report(
        &self,
        test: &dyn ImageData,
        predicted: &[(usize, usize)],
    ) -> Result<FairnessReport, TrainError> {
        self.report_on(test, predicted, &self.of_test)
            .unwrap_or_else(|| Err(config("a test image has no group")))
    }

    /// `fairness_report` of `predicted` (`(index, class)` of images of `data`), each image in
    /// the group `of[index]`; `None` when an index has no group.
    fn report_on(
        &self,
        data: &dyn ImageData,
        predicted: &[(usize, usize)],
        of: &[usize],
    ) -> Option<Result<FairnessReport, TrainError>> {
        let labels: Vec<usize> = predicted.iter().map(|&(i, _)| data.label(i)).collect();
        let classes: Vec<usize> = predicted.iter().map(|&(_, c)| c).collect();
        let groups: Vec<usize> = predicted
            .iter()
            .map(|&(i, _)| of.get(i).copied())
            .collect::<Option<_>>()?;
        Some(
            fairness_report(&labels, &classes, &groups, data.num_classes(), &self.names)
                .map_err(config),
        )
    }
}

impl RunGroups {
    /// The lowest accuracy of a group over `predicted` (`(pool index, class)` of validation
    /// images), the training pool's groups; `None` when they are not known.
    pub fn worst_train_group_accuracy(
        &self,
        pool: &dyn ImageData,
        predicted: &[(usize, usize)],
    ) -> Option<f64> {
        let report = self.report_on(pool, predicted, self.of_train.as_ref()?)?;
        report
            .ok()
            .map(|r| r.worst_group_accuracy)
            .filter(|a| a.is_finite())
    }
}

/// `path` under `dir` as the groups file writes it: `/`-separated normal components.
fn relative_key(path: &Path, dir: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}
