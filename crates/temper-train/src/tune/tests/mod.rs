//! The tuner's tests: schedules, the range test, hypergradients, searches and training-time
//! augmentation end to end, and searches that survive hostile trials and storages.

mod hostile;
mod settings;
mod tuning;
