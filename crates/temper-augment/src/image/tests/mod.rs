//! Tests of whole ops through the public steps (config, sampling, [`apply`](super::apply)):
//! geometric and photometric ops, pipelines and policies, and hostile settings.

mod geometric;
mod hostile;
mod photometric;
mod pipeline;
