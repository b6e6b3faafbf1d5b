//! What a run is told: the experiment file and its sections, the device choice, the data
//! source, and the schedule curve an experiment describes.

pub(crate) mod compress_sections;
pub(crate) mod data_section;
pub(crate) mod data_source;
pub(crate) mod device;
pub(crate) mod experiment;
pub(crate) mod fairness_section;
pub(crate) mod loading;
pub(crate) mod lr_plot;
pub(crate) mod model_section;

#[cfg(test)]
mod tests;
