//! The search and the range test read their settings from the experiment file: `[tune]
//! sampler`/`pruner` as a name or a table, and `[lr_find]`; bad values name their key.

use temper_tune::{PrunerKind, SamplerKind, SuccessiveHalvingPruner, TpeSettings};

use crate::run::tests::training::SEEDED;
use crate::{DeviceChoice, Experiment, LrFindSection, ModelKind, Silent, lr_find, tune};

fn experiment(text: &str) -> Result<Experiment, String> {
    Experiment::from_toml_str(text, "exp.toml").map_err(|e| e.to_string())
}

#[test]
fn a_sampler_table_sets_the_samplers_settings_and_a_name_takes_the_defaults() {
    let exp = experiment("[tune]\nsampler = { kind = 'tpe', n_startup_trials = 3 }").unwrap();
    let expected = SamplerKind::Tpe(TpeSettings {
        n_startup_trials: 3,
        ..TpeSettings::default()
    });
    assert_eq!(exp.tune.as_ref().unwrap().sampler, expected);
    let exp = experiment("[tune]\nsampler = 'gp'").unwrap();
    assert_eq!(exp.tune.unwrap().sampler, SamplerKind::parse("gp").unwrap());
}

#[test]
fn a_pruner_table_sets_the_pruners_settings() {
    let exp = experiment("[tune.pruner]\nkind = 'asha'\nmin_resource = 2").unwrap();
    let PrunerKind::Asha(asha) = exp.tune.unwrap().pruner else {
        panic!("not asha");
    };
    assert_eq!(asha.min_resource, 2);
    assert_eq!(
        asha.reduction_factor,
        SuccessiveHalvingPruner::default().reduction_factor
    );
}

#[test]
fn the_run_config_records_every_sampler_setting_and_reads_back_the_same() {
    let exp = experiment("[tune]\nsampler = { kind = 'tpe', n_ei_candidates = 64 }").unwrap();
    let text = exp.to_toml_string();
    assert!(text.contains("n_startup_trials = 10"), "{text}");
    assert_eq!(experiment(&text).unwrap(), exp);
}

#[test]
fn unknown_sampler_names_keys_and_bad_values_are_one_line_errors_naming_them() {
    let err = experiment("[tune]\nsampler = 'cmaes'").unwrap_err();
    assert!(err.contains("unknown sampler \"cmaes\""), "{err}");
    let err = experiment("[tune]\nsampler = { kind = 'tpe', n_startup = 3 }").unwrap_err();
    assert!(err.contains("n_startup"), "{err}");
    let err = experiment("[tune]\npruner = 3").unwrap_err();
    assert!(
        err.contains("pruner") && err.contains("a name or a table"),
        "{err}"
    );
    // A setting out of range is refused before the first trial.
    let mut exp = experiment(
        "[tune]\nsampler = { kind = 'gp', n_local_search = 1 }\n\
         [tune.space]\n\"optim.lr\" = { log_uniform = [1e-4, 1e-1] }",
    )
    .unwrap();
    exp.train.device = DeviceChoice::Flex;
    let dir = tempfile::tempdir().unwrap();
    let err = tune(&exp, dir.path(), &mut Silent).unwrap_err().to_string();
    assert_eq!(err, "tune.sampler.n_local_search: must be >= 2");
    for err in [
        experiment("[tune]\nsampler = 'cmaes'").unwrap_err(),
        experiment("[tune]\npruner = { kind = 'asha', min_resource = 'x' }").unwrap_err(),
    ] {
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn lr_find_keys_are_read_and_checked_by_name() {
    let exp = experiment("[lr_find]\nmin_lr = 1e-6\nsteps = 50\nbeta = 0.9").unwrap();
    let sweep = exp.lr_find.clone().unwrap();
    assert_eq!((sweep.min_lr, sweep.steps, sweep.beta), (1e-6, 50, 0.9));
    assert_eq!(sweep.max_lr, LrFindSection::default().max_lr);
    for (text, expected) in [
        ("beta = 1.0", "lr_find.beta: must be in [0, 1), got 1"),
        (
            "diverge_factor = 0.5",
            "lr_find.diverge_factor: must be a finite number above 1, got 0.5",
        ),
        (
            "min_lr = 0.0",
            "lr_find.min_lr (--min-lr): must be > 0, got 0",
        ),
        (
            "steps = 12",
            "lr_find.steps (--steps): must be at least skip_begin + skip_end + 2 = 13 to leave \
             points to choose from",
        ),
    ] {
        let exp = experiment(&format!("[lr_find]\n{text}")).unwrap();
        assert_eq!(exp.validate().unwrap_err().to_string(), expected);
    }
    assert!(experiment("[lr_find]\nsteps_taken = 3").is_err());
}

#[test]
fn lr_find_sweeps_the_base_rule_of_a_hypergradient_optimizer() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let sweep = LrFindSection {
        steps: 15,
        skip_begin: 2,
        max_lr: 1e-2,
        ..LrFindSection::default()
    };
    let run = |optim: &str| {
        let mut exp = experiment(&format!(
            "[optim]\nkind = '{optim}'\n[schedule]\nkind = 'constant'"
        ))
        .unwrap();
        exp.model.kind = ModelKind::Mlp;
        exp.model.hidden = Some(vec![16]);
        exp.data.limit_train = 500;
        exp.train.batch_size = 32;
        exp.train.device = DeviceChoice::Flex;
        lr_find(&exp, &sweep, &mut Silent).unwrap()
    };
    let (hd, base) = (run("adam-hd"), run("adam"));
    // Hypergradient descent would have moved the rate off the sweep's after the first step,
    // changing every later loss; the sweep ran Adam itself, step for step.
    assert!(hd.without_hypergradient && !base.without_hypergradient);
    assert_eq!(hd.lrs, base.lrs);
    assert_eq!(hd.losses, base.losses);
}
