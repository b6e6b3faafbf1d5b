//! The standard architectures from the command line: a CIFAR-shaped ResNet-20 and a ResNet-18
//! on 64x64 colour images start training, a run exports to a PyTorch `state_dict`, and that
//! file starts another run (`--pretrained`) as a linear probe.

use std::path::Path;

use crate::runs::write_cifar_batches;
use crate::{stderr, temper};

/// An ImageFolder tree `dir/{red,blue}/N.png` of 64x64 RGB images, 8 a class.
fn write_rgb_folder(dir: &Path) {
    for (class, rgb) in [("red", [200u8, 30, 30]), ("blue", [30u8, 30, 200])] {
        let dir = dir.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..8u32 {
            let img = image::RgbImage::from_fn(64, 64, |x, y| {
                let shade = ((x + 2 * y + k) % 32) as u8;
                image::Rgb(rgb.map(|c| c.saturating_add(shade)))
            });
            img.save(dir.join(format!("{k}.png"))).unwrap();
        }
    }
}

/// `temper train` of `config` on `data` into `out`, one epoch of batches of 16 on flex.
fn run<'a>(config: &'a str, data: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut args = vec!["train", "--config", config, "--data", data, "--out", out];
    args.extend(["--epochs", "1", "--batch-size", "16", "--device", "flex"]);
    args
}

fn ok(args: &[&str], cwd: &Path) -> String {
    let out = temper(args, cwd);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out))
}

fn refused(args: &[&str], cwd: &Path) -> String {
    let out = temper(args, cwd);
    assert_eq!(out.status.code(), Some(1), "{args:?} succeeded");
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    errors[0].to_string()
}

#[test]
fn standard_architectures_train_on_colour_images_and_export_for_pytorch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("r20.toml"), "[model]\nkind = \"resnet20\"\n").unwrap();
    std::fs::write(
        dir.join("r18.toml"),
        "[model]\nkind = \"resnet18\"\n[data]\nnormalization = \"imagenet\"\n",
    )
    .unwrap();
    write_cifar_batches(&dir.join("cifar"));
    write_rgb_folder(&dir.join("rgb"));
    ok(&run("r20.toml", "cifar10:cifar", "r20"), dir);
    ok(&run("r18.toml", "folder:rgb", "r18"), dir);
    let summary = std::fs::read_to_string(dir.join("r18/summary.toml")).unwrap();
    // torchvision's ImageNet statistics, not the folder's.
    for value in ["0.485,", "0.456,", "0.406,", "0.229,", "0.224,", "0.225,"] {
        assert!(summary.contains(value), "{value} in {summary}");
    }

    let said = ok(&["export", "r20"], dir);
    // 107 float tensors and the 21 BatchNorms' `num_batches_tracked`, as torchvision lists.
    assert!(said.contains("as safetensors (128 tensors"), "{said}");
    assert!(dir.join("r20/model.safetensors").is_file());
    let err = refused(&["export", "r20"], dir);
    assert!(err.contains("exists; export writes a new file"), "{err}");

    let mut probe = run("r20.toml", "cifar10:cifar", "probe");
    probe.extend([
        "--pretrained",
        "r20/model.safetensors",
        "--freeze",
        "*layer*",
    ]);
    let said = ok(&probe, dir);
    assert!(
        said.contains("pretrained: 107 tensors from r20/model.safetensors"),
        "{said}"
    );

    let mut missing = run("r20.toml", "cifar10:cifar", "m");
    missing.extend(["--pretrained", "nowhere.pt"]);
    let err = refused(&missing, dir);
    assert!(
        err.starts_with("error: model.pretrained nowhere.pt: cannot read it"),
        "{err}"
    );
    assert!(!dir.join("m").exists());
    let mut loose = run("r20.toml", "cifar10:cifar", "l");
    loose.extend(["--freeze", "*layer*"]);
    let err = refused(&loose, dir);
    assert!(err.contains("need --from or --pretrained"), "{err}");
}
