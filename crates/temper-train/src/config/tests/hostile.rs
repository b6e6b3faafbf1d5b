//! Hostile and careless experiment files: every value that sizes an allocation is refused with
//! a one-line error naming its key before anything is allocated, the file itself is checked
//! from its metadata before it is read, and shape arithmetic cannot overflow or mis-shift.

use std::io::Write;

use temper_model::limits::{MAX_HIDDEN_LAYERS, MAX_PARAMETERS, MAX_RESNET_BLOCKS};
use temper_model::{CnnConfig, ResNetConfig};

use crate::config::experiment::{MAX_BATCH_SIZE, MAX_EPOCHS, MAX_EXPERIMENT_BYTES};
use crate::{Experiment, Silent, train};

/// The first line of the error of validating `text`.
fn refusal(text: &str) -> String {
    let err = Experiment::from_toml_str(text, "e.toml")
        .and_then(|e| e.validate())
        .expect_err(text)
        .to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

#[test]
fn a_13_gib_sparse_experiment_file_is_refused_from_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(13 << 30)
        .unwrap();
    let started = std::time::Instant::now();
    let err = Experiment::load(&path).unwrap_err().to_string();
    assert!(
        started.elapsed().as_millis() < 500,
        "{:?}",
        started.elapsed()
    );
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(
        err.contains(&format!(
            "{} bytes; at most {MAX_EXPERIMENT_BYTES}",
            13u64 << 30
        )),
        "{err}"
    );
}

#[test]
fn an_experiment_file_one_byte_over_1_mib_is_refused_and_one_at_1_mib_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.toml");
    // A comment is valid TOML: padded to exactly the limit the file still loads.
    let mut text = String::from("[train]\nepochs = 3\n#");
    text.push_str(&"x".repeat(MAX_EXPERIMENT_BYTES as usize - text.len()));
    std::fs::write(&path, &text).unwrap();
    assert_eq!(Experiment::load(&path).unwrap().train.epochs, 3);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"x")
        .unwrap();
    let err = Experiment::load(&path).unwrap_err().to_string();
    assert!(err.contains("at most 1048576"), "{err}");
}

#[test]
fn an_endless_device_file_is_read_no_further_than_the_limit() {
    // /dev/zero's metadata says 0 bytes; the read itself is capped.
    let err = Experiment::load(std::path::Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "/dev/zero: experiment file of more than 1048576 bytes (1 MiB)"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = Experiment::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.ends_with("is a folder, not an experiment file"),
        "{err}"
    );
}

#[test]
fn epochs_and_batch_sizes_beyond_their_bounds_name_their_key() {
    for epochs in ["0", "100001", "18446744073709551615"] {
        let err = refusal(&format!("[train]\nepochs = {epochs}\n"));
        assert_eq!(
            err,
            format!("train.epochs: must be in 1..={MAX_EPOCHS}, got {epochs}")
        );
    }
    for size in ["0", "65537", "1099511627776"] {
        let err = refusal(&format!("[train]\nbatch_size = {size}\n"));
        assert_eq!(
            err,
            format!("train.batch_size: must be in 1..={MAX_BATCH_SIZE}, got {size}")
        );
    }
    // The bounds themselves are accepted.
    let text = format!("[train]\nepochs = {MAX_EPOCHS}\nbatch_size = {MAX_BATCH_SIZE}\n");
    Experiment::from_toml_str(&text, "e.toml")
        .unwrap()
        .validate()
        .unwrap();
}

#[test]
fn a_64_block_cnn_gets_the_error_a_6_block_one_gets() {
    // 28 >> 64 panics in debug builds and is 28 in release builds (the shift wraps): either
    // way the old check let 64 blocks through.
    for blocks in [6usize, 64, 65, 200] {
        let channels = vec!["4"; blocks].join(", ");
        let err = refusal(&format!("[model]\nchannels = [{channels}]\n"));
        assert_eq!(
            err,
            format!(
                "model.channels: {blocks} blocks halve [28, 28] images {blocks} times, to nothing"
            )
        );
    }
    let cfg = CnnConfig::new()
        .with_image_size([usize::MAX, usize::MAX])
        .with_channels(vec![1; 64]);
    assert!(
        cfg.validate()
            .unwrap_err()
            .to_string()
            .contains("64 times, to nothing")
    );
    let resnet = ResNetConfig::new().with_channels(vec![4; 65]);
    assert_eq!(
        resnet.validate().unwrap_err().to_string(),
        "model.channels: 65 stages halve [28, 28] images 64 times, to nothing"
    );
}

#[test]
fn widths_depths_and_parameter_counts_beyond_the_limits_name_their_key() {
    let cases = [
        (
            "kind = 'mlp'\nhidden = [1099511627776]",
            "model.hidden: the model would hold 874111744081930 parameters; at most 268435456",
        ),
        (
            "kind = 'mlp'\nhidden = [18446744073709551615]",
            "model.hidden: the model's parameter count overflows",
        ),
        (
            "kind = 'mlp'\nhidden = [400000]",
            "model.hidden: the model would hold 318000010 parameters",
        ),
        ("hidden = [1000000]", "model.hidden: the model would hold"),
        (
            "channels = [65536, 65536]",
            "model.channels: the model would hold",
        ),
        (
            "kind = 'resnet'\nchannels = [1099511627776]",
            "model.channels: the model's parameter count overflows",
        ),
        (
            "kind = 'resnet'\nblocks = 1125899906842624",
            "model.blocks: 3 stages of 1125899906842624 blocks",
        ),
        (
            "kind = 'resnet'\nblocks = 342",
            "model.blocks: 3 stages of 342 blocks; at most 1024",
        ),
    ];
    for (model, want) in cases {
        let err = refusal(&format!("[model]\n{model}\n"));
        assert!(err.starts_with(want), "{model}: {err}");
    }
    let deep = vec!["2"; MAX_HIDDEN_LAYERS + 1].join(", ");
    assert_eq!(
        refusal(&format!("[model]\nkind = 'mlp'\nhidden = [{deep}]\n")),
        "model.hidden: 65 hidden layers; at most 64"
    );
    // At the limits: 64 layers, 1024 blocks, and an MLP just under MAX_PARAMETERS.
    let deep = vec!["2"; MAX_HIDDEN_LAYERS].join(", ");
    let width = MAX_PARAMETERS / (784 + 1 + 10) - 1;
    for model in [
        format!("kind = 'mlp'\nhidden = [{deep}]"),
        format!("kind = 'resnet'\nchannels = [4]\nblocks = {MAX_RESNET_BLOCKS}"),
        format!("kind = 'mlp'\nhidden = [{width}]"),
    ] {
        Experiment::from_toml_str(&format!("[model]\n{model}\n"), "e.toml")
            .unwrap()
            .validate()
            .unwrap_or_else(|e| panic!("{model}: {e}"));
    }
}

#[test]
fn a_folder_image_size_is_bounded_and_checked_against_the_model() {
    let err = refusal("[data]\nsource = 'folder:x'\nimage_size = [1099511627776, 2]\n");
    assert_eq!(
        err,
        "data.image_size: both sides must be in 1..=16384, got [1099511627776, 2]"
    );
    // Six blocks fit 128-pixel images although they would not fit MNIST's 28.
    let text = "[data]\nsource = 'folder:x'\nimage_size = [128, 128]\n\
                [model]\nchannels = [4, 4, 4, 4, 4, 4]\n";
    Experiment::from_toml_str(text, "e.toml")
        .unwrap()
        .validate()
        .unwrap();
    // Without `image_size` the images set the size: six blocks are not refused for MNIST's
    // 28 pixels before any image is read, and the model's own keys are still checked.
    let text = "[data]\nsource = 'folder:x'\n[model]\nchannels = [4, 4, 4, 4, 4, 4]\n";
    Experiment::from_toml_str(text, "e.toml")
        .unwrap()
        .validate()
        .unwrap();
    let err = refusal("[data]\nsource = 'folder:x'\n[model]\nkind = 'mlp'\npool = 'global'\n");
    assert!(err.contains("pool"), "{err}");
    let err = crate::ModelSection::default()
        .plan([usize::MAX, 2, 1], 10)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("model.channels: 2 blocks halve [2, 1] images"),
        "{err}"
    );
    let mlp = crate::ModelSection {
        kind: crate::ModelKind::Mlp,
        ..Default::default()
    };
    let err = mlp
        .plan([usize::MAX, 2, 1], 10)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("data.image_size: "), "{err}");
}

#[test]
fn a_terabyte_model_fails_before_allocating_in_1536_mib() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_terabyte_model_fails_before_allocating_in_1536_mib",
            1536,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for model in [
        "kind = 'mlp'\nhidden = [1099511627776]",
        "kind = 'resnet'\nblocks = 1125899906842624",
        "channels = [8, 16]\nhidden = [4000000]",
    ] {
        let text = format!("[model]\n{model}\n[train]\ndevice = 'flex'\nepochs = 1\n");
        let exp = Experiment::from_toml_str(&text, "e.toml").unwrap();
        let err = train(&exp, &dir.path().join("run"), &mut Silent).unwrap_err();
        assert!(err.to_string().starts_with("model."), "{model}: {err}");
        assert!(!dir.path().join("run").exists(), "nothing written");
    }
}

#[test]
fn fine_tuning_recipes_and_their_start_name_the_key_at_fault() {
    let cases = [
        (
            "[finetune]\nlayer_decay = 0.0",
            "finetune.layer_decay: must be in (0, 1], got 0",
        ),
        (
            "[finetune]\nlayer_decay = 1.5",
            "finetune.layer_decay: must be in (0, 1], got 1.5",
        ),
        (
            "[finetune]\nlayer_decay = nan",
            "finetune.layer_decay: must be in (0, 1], got NaN",
        ),
        (
            "[finetune]\nunfreeze = { every = 0 }",
            "finetune.unfreeze.every: must be in 1..=",
        ),
        (
            "[finetune]\nunfreeze = { each = 2 }",
            "unknown field `each`",
        ),
        ("[finetune]\nbn = \"eval\"", "unknown variant `eval`"),
        (
            "[finetune]\nlr_factor = 0.5",
            "finetune.from: missing: the parent run directory",
        ),
        (
            "[model]\npretrained = \"r.pt\"\n[finetune]\nfrom = \"runs/run-1\"",
            "model.pretrained: a fine-tuning run starts from its parent's weights",
        ),
        ("[model]\npretrained = \"\"", "model.pretrained: empty"),
        (
            "[data]\nnormalization = \"cifar\"",
            "unknown variant `cifar`",
        ),
    ];
    for (text, expected) in cases {
        let err = refusal(text);
        assert!(err.contains(expected), "{text}: {err}");
    }
    // The recipes are read with `[model] pretrained` as their start.
    Experiment::from_toml_str(
        "[model]\npretrained = \"r.pt\"\n[finetune]\nlayer_decay = 0.7\nunfreeze = { every = 1 }\nbn = \"frozen\"",
        "e.toml",
    )
    .and_then(|e| e.validate())
    .unwrap();
}

#[test]
fn imagenet_normalization_of_gray_images_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = Experiment::from_toml_str(
        "[data]\nnormalization = \"imagenet\"\nlimit_train = 64\n[train]\nepochs = 1\ndevice = \"flex\"",
        "e.toml",
    )
    .unwrap();
    exp.validate().unwrap();
    let err = train(&exp, &dir.path().join("run"), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("data.normalization: \"imagenet\" is for RGB images; this data has 1"),
        "{err}"
    );
    assert!(!dir.path().join("run").exists());
    exp.data.normalization = crate::NormalizationChoice::Fit;
    exp.validate().unwrap();
}
