//! `[tune] sampler` and `pruner`: a name with the defaults (`sampler = "tpe"`), or a table
//! with `kind` and the settings to change (`sampler = { kind = "tpe", n_startup_trials = 5 }`,
//! `[tune.pruner] kind = "asha"`), as Optuna takes `TPESampler(n_startup_trials=5)`. Either
//! form reads into temper-tune's [`SamplerKind`] / [`PrunerKind`], and a run's `config.toml`
//! writes the table with every setting, so it records what the study used.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};
use temper_tune::{PrunerKind, SamplerKind, TuneError};

/// `tune.sampler`: a sampler name or a table with `kind`.
pub(crate) fn sampler<'de, D: Deserializer<'de>>(d: D) -> Result<SamplerKind, D::Error> {
    name_or_table(d, SamplerKind::parse)
}

/// `tune.pruner`: a pruner name or a table with `kind`.
pub(crate) fn pruner<'de, D: Deserializer<'de>>(d: D) -> Result<PrunerKind, D::Error> {
    name_or_table(d, PrunerKind::parse)
}

fn name_or_table<'de, D, T>(d: D, parse: fn(&str) -> Result<T, TuneError>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match toml::Value::deserialize(d)? {
        toml::Value::String(name) => parse(&name).map_err(D::Error::custom),
        table @ toml::Value::Table(_) => T::deserialize(table).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "expected a name or a table with `kind`, got {}",
            other.type_str()
        ))),
    }
}
