//! `temper train` on a streamed folder larger than its memory budget: the process's peak
//! resident memory stays below what loading the folder would take.

use std::path::Path;

use crate::{stderr, temper};

/// Images per class in `train/` (and a tenth of it in `test/`).
const PER_CLASS: usize = 600;

/// Each image decoded at 3x256x256: 196,608 bytes.
const IMAGE_BYTES: u64 = 3 * 256 * 256;

/// Writes `DIR/{train,test}/{a,b}/N.png`: small files (32x24) that the run decodes and
/// enlarges to 256x256, so the folder is a few megabytes on disk and 260 MB decoded.
fn write_folder(dir: &Path) {
    for (split, count) in [("train", PER_CLASS), ("test", PER_CLASS / 10)] {
        for (label, class) in ["a", "b"].iter().enumerate() {
            let folder = dir.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for n in 0..count {
                let img = image::RgbImage::from_fn(32, 24, |x, y| {
                    let v = (x * 7 + y * 3 + n as u32) as u8;
                    image::Rgb([v, 60 + 120 * label as u8, 255 - v])
                });
                img.save(folder.join(format!("{n}.png"))).unwrap();
            }
        }
    }
}

/// `peak_memory_bytes` of a finished run's `summary.toml`.
fn peak_memory(run: &Path) -> u64 {
    let text = std::fs::read_to_string(run.join("summary.toml")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("peak_memory_bytes"))
        .unwrap_or_else(|| panic!("no peak_memory_bytes: {text}"));
    line.split('=').nth(1).unwrap().trim().parse().unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn a_streamed_folder_larger_than_the_budget_trains_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_folder(&data);
    let images = (2 * PER_CLASS + 2 * (PER_CLASS / 10)) as u64;
    let decoded = images * IMAGE_BYTES;
    let config = |loading: &str| {
        format!(
            "[data]\nsource = \"folder:{}\"\nimage_size = [256, 256]\nchannels = 3\n\
             valid_fraction = 0.0\nloading = \"{loading}\"\nprefetch = 2\n\
             [model]\nkind = \"mlp\"\nhidden = [4]\n\
             [train]\nepochs = 1\nbatch_size = 16\ndevice = \"flex\"\n",
            data.display()
        )
    };
    let run = |loading: &str| {
        let toml = tmp.path().join(format!("{loading}.toml"));
        std::fs::write(&toml, config(loading)).unwrap();
        let out = tmp.path().join(loading);
        let o = temper(
            &[
                "train",
                "--config",
                toml.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{loading}: {}", stderr(&o));
        (peak_memory(&out), stderr(&o))
    };
    let (streamed, said) = run("stream");
    assert!(said.contains("data: streaming 1320 images"), "{said}");
    let (in_memory, _) = run("memory");
    // In memory the process holds every decoded image; streamed, at most the queue's batches
    // ((prefetch + 2) x 16 images = 6 MB) beyond what both runs need for the model and Burn.
    assert!(
        in_memory > decoded,
        "the in-memory run holds the {decoded} decoded bytes: {in_memory}"
    );
    assert!(
        streamed + decoded * 3 / 4 < in_memory,
        "streamed peak {streamed} bytes, in memory {in_memory}, decoded {decoded}"
    );
}
