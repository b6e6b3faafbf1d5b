//! The part of a run fixed before the first step: splits, fine-tuning parent, devices,
//! augmentation, normalization and the rules that watch the epochs.

use std::path::Path;

use burn::tensor::Device;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use temper_augment::image::MixConfig;
use temper_data::{ImageBatcher, ImageData, Normalization, Split};
use temper_optim::{EarlyStoppingSettings, LrSchedule};

use super::{Progress, TrainData};
use crate::config::data_section::{IMAGENET_MEAN, IMAGENET_STD, NormalizationChoice};
use crate::config::device::{DeviceChoice, SelectedDevice, select_device, select_devices};
use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::augment::{BatchAugmenter, augment_parts};
use crate::run::batches::{HostStage, Upload};
use crate::run::distill::Teacher;
use crate::run::finetune::{Parent, Replayed, check_channels};
use crate::run::loader::{BadImages, Loader};
use crate::run::mitigate::Mitigator;
use crate::run::slim::slim_parent;
use crate::score::groups::RunGroups;

/// What every step of a run reads and none changes.
pub(super) struct Setup<'a> {
    pub exp: &'a Experiment,
    /// `exp` with every default written out, as saved in `config.toml`.
    pub resolved: Experiment,
    pub run_dir: &'a Path,
    pub data: TrainData<'a>,
    /// The parent's images replayed after `data.train` when fine-tuning with `replay`.
    replayed: Option<Replayed<'a>>,
    pub split: Split,
    pub selected: SelectedDevice,
    /// Every device of a data-parallel run (the first is the model's); empty otherwise.
    pub parallel: Vec<Device>,
    pub train_device: Device,
    pub eval_device: Device,
    augmenter: Option<BatchAugmenter>,
    mix: Option<MixConfig>,
    pub normalization: Normalization,
    pub batcher: ImageBatcher,
    pub steps_per_epoch: usize,
    /// The worker threads that build batches ahead of the step.
    pub loader: Loader,
    /// The images that could not be read, and the limit on them.
    pub bad: BadImages,
    /// The group of every image, when `[data] groups` names them.
    pub groups: Option<RunGroups>,
    /// `[fairness] mitigation`'s fixed parts, when one is on.
    pub mitigator: Option<Mitigator>,
    /// `[distill]`'s teacher, opened on the evaluation device.
    pub teacher: Option<Teacher>,
    /// The rules that pick the best epoch and may stop the run.
    pub watch: EarlyStoppingSettings,
    /// The metric reduce-on-plateau watches, when the schedule has one.
    pub plateau_watched: Option<String>,
}

impl<'a> Setup<'a> {
    /// Splits the data, opens the fine-tuning parent (returned for [`RunState::start`] to take
    /// its weights and optimizer), selects the devices and checks the augmentation, before any
    /// file is written.
    ///
    /// [`RunState::start`]: super::state::RunState::start
    pub fn prepare(
        exp: &'a Experiment,
        run_dir: &'a Path,
        data: TrainData<'a>,
        progress: &mut dyn Progress,
    ) -> Result<(Self, Option<Parent>), TrainError> {
        let resolved = exp.resolved()?;
        let seed = exp.train.seed;
        let mut split = exp.split(data.train.len())?;
        let (parent, replayed) = open_parent(exp, data.train, &mut split, progress)?;
        let (selected, parallel) = devices(exp)?;
        progress.message(&format!("device: {}", selected.reason));

        let pool = pool(data.train, replayed.as_ref());
        let (augmenter, mix) = augment_parts(exp, pool)?;
        if augmenter
            .as_ref()
            .is_some_and(BatchAugmenter::crops_sources)
        {
            progress.message(
                "augment: the first crop runs on each image at its own size, before the resize",
            );
        }
        let normalization = match &parent {
            Some(parent) => {
                let channels = data.train.image_shape()[0];
                check_channels(&parent.normalization, channels, &parent.dir)?;
                parent.normalization.clone()
            }
            None => match exp.data.normalization {
                NormalizationChoice::Fit => fit_normalization(pool, &split.train, seed)?,
                NormalizationChoice::Imagenet => imagenet(data.train.image_shape()[0])?,
            },
        };
        let batcher = ImageBatcher::new(normalization.clone(), data.train.image_shape());
        let loader = Loader::new(exp.data.workers, exp.data.prefetch)?;
        // Every image needs a group: the training pool's give the per-epoch validation
        // worst-group accuracy and the mitigations theirs.
        let groups = RunGroups::read(&exp.data, data.train.len(), data.test.len(), true)?;
        let mitigator = match (&exp.fairness, &groups) {
            (Some(section), Some(groups)) => match &groups.of_train {
                Some(of_train) => {
                    Mitigator::new(section, pool, &split.train, of_train, groups.names.len())?
                }
                None => None,
            },
            _ => None,
        };
        let bad = BadImages::new(pool.len() + data.test.len(), exp.data.max_bad_fraction);
        let teacher = match &exp.distill {
            Some(settings) => Some(Teacher::open(
                settings,
                pool.image_shape(),
                pool.num_classes(),
                &normalization,
                &selected.device,
            )?),
            None => None,
        };
        let steps_per_epoch = split.train.len().div_ceil(exp.train.batch_size);
        let plateau_watched = LrSchedule::plateau_monitor(&exp.schedule);
        let watch = exp.best_epoch_watch(!split.valid.is_empty());
        check_watched_splits(exp, &split, plateau_watched.as_deref(), &watch)?;
        let setup = Self {
            exp,
            resolved,
            run_dir,
            data,
            replayed,
            split,
            train_device: selected.device.clone().autodiff(),
            eval_device: selected.device.clone(),
            selected,
            parallel,
            augmenter,
            mix,
            normalization,
            batcher,
            steps_per_epoch,
            loader,
            bad,
            groups,
            mitigator,
            teacher,
            watch,
            plateau_watched,
        };
        Ok((setup, parent))
    }

    /// The images the training and validation indices point into: the data's training pool,
    /// followed by the replayed images when there are any.
    pub fn pool(&self) -> &dyn ImageData {
        pool(self.data.train, self.replayed.as_ref())
    }

    /// The CPU half of this run's training batches; `device_ops` leaves the image ops to the
    /// device.
    pub fn host_stage(&self, device_ops: bool) -> HostStage<'_> {
        HostStage {
            dataset: self.pool(),
            batcher: &self.batcher,
            augmenter: self.augmenter.as_ref(),
            mix: self.mix.as_ref(),
            seed: self.exp.train.seed,
            device_ops,
        }
    }

    /// The device half of this run's training batches.
    pub fn upload(&self) -> Upload<'_> {
        Upload {
            batcher: &self.batcher,
            normalization: &self.normalization,
            augmenter: self.augmenter.as_ref(),
            device: &self.train_device,
            classes: self.pool().num_classes(),
            // The device path pays off where the model runs on a GPU; on a CPU backend the
            // rayon-parallel image path is as fast and exact. MixUp/CutMix mixes augmented
            // images on the CPU, and images cropped at their own size differ in size.
            device_ops: self.selected.backend == DeviceChoice::Wgpu
                && self.mix.is_none()
                && self.augmenter.as_ref().is_some_and(|a| !a.crops_sources()),
        }
    }
}

/// Refuses a watched validation metric — the plateau's or early stopping's — when the split
/// left no validation image (a small data set rounds `valid_fraction` down to none): the
/// metric would not exist at the first epoch's end. Before any file is written.
fn check_watched_splits(
    exp: &Experiment,
    split: &Split,
    plateau: Option<&str>,
    watch: &EarlyStoppingSettings,
) -> Result<(), TrainError> {
    if !split.valid.is_empty() {
        return Ok(());
    }
    let early = exp.early_stopping.as_ref().map(|_| watch.monitor.as_str());
    for (key, name) in [
        ("schedule.plateau.monitor", plateau),
        ("early_stopping.monitor", early),
    ] {
        if let Some(name) = name.filter(|m| m.starts_with("valid_")) {
            return Err(TrainError::Config(format!(
                "{key}: {name} needs validation images, and the split left none; raise \
                 data.valid_fraction or data.limit_train"
            )));
        }
    }
    Ok(())
}

/// `train`, followed by the replayed images when there are any.
fn pool<'b>(train: &'b dyn ImageData, replayed: Option<&'b Replayed<'b>>) -> &'b dyn ImageData {
    match replayed {
        Some(r) => r,
        None => train,
    }
}

/// The fine-tuning parent of `[finetune]` and its replayed images, when the section is there.
fn open_parent<'a>(
    exp: &Experiment,
    train: &'a dyn ImageData,
    split: &mut Split,
    progress: &mut dyn Progress,
) -> Result<(Option<Parent>, Option<Replayed<'a>>), TrainError> {
    let Some(section) = exp.finetune.as_ref().filter(|s| s.parent().is_some()) else {
        return Ok((None, None));
    };
    let mut parent = Parent::open(section)?;
    slim_parent(
        exp,
        &mut parent,
        (train.image_shape(), train.num_classes()),
        progress,
    )?;
    let old = parent.replay(section.replay, exp.train.seed, train, split, progress)?;
    let replay = match &old {
        Some(old) => format!(", replaying {} of its training images", old.len()),
        None => String::new(),
    };
    progress.message(&format!(
        "fine-tuning from {} ({} weights){replay}",
        parent.dir.display(),
        section.weights,
    ));
    Ok((Some(parent), old.map(|old| Replayed { new: train, old })))
}

/// The device of `[train] device`, or every device of `[train] devices` (data parallelism).
fn devices(exp: &Experiment) -> Result<(SelectedDevice, Vec<Device>), TrainError> {
    if exp.train.devices.is_empty() {
        return Ok((select_device(exp.train.device)?, Vec::new()));
    }
    let all = select_devices(&exp.train.devices)?;
    let mut selected = all[0].clone();
    selected.reason = format!(
        "data parallel on {} devices: {}",
        all.len(),
        all.iter()
            .map(|d| d.reason.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let parallel = all.into_iter().map(|d| d.device.autodiff()).collect();
    Ok((selected, parallel))
}

/// The most training images normalization is fitted on: MNIST's and CIFAR-10's whole training
/// sets, and for a larger (streamed) set a seeded draw whose mean is within a fraction of a
/// pixel level of the whole set's, for a pass of seconds rather than an epoch of decoding.
pub(crate) const MAX_FIT_IMAGES: usize = 60_000;

/// `[data] normalization = "fit"`: the statistics of `train` (at most [`MAX_FIT_IMAGES`] of
/// them, drawn with `seed`), leaving out images that cannot be read.
pub(crate) fn fit_normalization(
    pool: &dyn ImageData,
    train: &[usize],
    seed: u64,
) -> Result<Normalization, TrainError> {
    let mut drawn = train.to_vec();
    if drawn.len() > MAX_FIT_IMAGES {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        drawn.shuffle(&mut rng);
        drawn.truncate(MAX_FIT_IMAGES);
    }
    Normalization::try_fit(pool, &drawn).ok_or_else(|| {
        TrainError::Config(format!(
            "data.source: none of the {} training images could be read",
            drawn.len()
        ))
    })
}

/// torchvision's ImageNet normalization, for RGB data.
fn imagenet(channels: usize) -> Result<Normalization, TrainError> {
    if channels != 3 {
        return Err(TrainError::Config(format!(
            "data.normalization: \"imagenet\" is for RGB images; this data has {channels} \
             channel(s)"
        )));
    }
    Ok(Normalization {
        mean: IMAGENET_MEAN.to_vec(),
        std: IMAGENET_STD.to_vec(),
    })
}
