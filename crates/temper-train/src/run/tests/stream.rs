//! Streamed folders end to end: the same run as in memory, at any worker count and prefetch
//! depth and across a resume; unreadable files skipped, named and counted, and the run
//! stopped above the allowed share; the decoded cache built, reused and rebuilt.

use std::path::Path;

use super::small_data::Said;
use super::training::{CrashAt, SEEDED};
use crate::{Experiment, RunSummary, Silent, resume, train};

/// Writes `DIR/{train,test}/{dark,light}/N.png` (`train` images per class in `train/`, 4 in
/// `test/`): colour images of sizes 9..20 x 7..16 whose brightness tells the class apart, with
/// seeded noise so no two are alike.
pub(super) fn write_folder(dir: &Path, train: usize) {
    let mut state = 7u32;
    let mut noise = move || {
        // Numerical Recipes' LCG: enough to vary pixels, seeded so the folder is fixed.
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8 / 4
    };
    for (split, count) in [("train", train), ("test", 4)] {
        for (label, class) in ["dark", "light"].iter().enumerate() {
            let folder = dir.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for n in 0..count {
                let (w, h) = (9 + (n * 5) % 12, 7 + (n * 3) % 10);
                let base = 40 + 150 * label as u8;
                let img = image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
                    let v = base + ((x + y) % 8) as u8 + noise();
                    image::Rgb([v, v / 2 + noise(), 255 - v])
                });
                img.save(folder.join(format!("{n}.png"))).unwrap();
            }
        }
    }
}

/// A 2-epoch MLP run on `dir` at 12x12 RGB with flips and rotations, then `extra` `[data]`
/// keys.
pub(super) fn experiment(dir: &Path, extra: &str) -> Experiment {
    Experiment::from_toml_str(
        &format!(
            "[data]\nsource = \"folder:{}\"\nimage_size = [12, 12]\nchannels = 3\n\
             valid_fraction = 0.25\n{extra}\n\
             [model]\nkind = \"mlp\"\nhidden = [16]\n\
             [train]\nepochs = 2\nbatch_size = 8\ndevice = \"flex\"\n\
             [augment]\nops = [{{ op = \"hflip\" }}, {{ op = \"rotate\", degrees = 10 }}]\n",
            dir.display()
        ),
        "stream.toml",
    )
    .unwrap()
}

/// Each epoch's training and validation figures and rate, and the test scores.
fn figures(s: &RunSummary) -> (Vec<String>, String) {
    let epochs = s
        .epochs
        .iter()
        .map(|m| format!("{} {:?} {:?} {}", m.epoch, m.train, m.valid, m.lr))
        .collect();
    (epochs, format!("{:?}", s.test))
}

#[test]
fn a_streamed_folder_trains_exactly_as_in_memory_at_any_worker_count_and_prefetch() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_folder(&dir.path().join("data"), 24);
    let run = |name: &str, extra: &str| {
        let exp = experiment(&dir.path().join("data"), extra);
        train(&exp, &dir.path().join(name), &mut Silent).unwrap()
    };
    let memory = run("memory", "loading = \"memory\"");
    assert!(memory.epochs[1].train.loss.is_finite());
    for (name, extra) in [
        ("one", "loading = \"stream\"\nworkers = 1\nprefetch = 1"),
        ("four", "loading = \"stream\"\nworkers = 4\nprefetch = 5"),
    ] {
        let streamed = run(name, extra);
        assert_eq!(figures(&streamed), figures(&memory), "{extra}");
        assert_eq!(streamed.bad_images, 0);
    }
}

#[test]
fn a_streamed_run_resumed_after_a_crash_equals_the_uninterrupted_run() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_folder(&dir.path().join("data"), 16);
    let exp = experiment(
        &dir.path().join("data"),
        "loading = \"stream\"\nworkers = 2",
    );
    let whole = train(&exp, &dir.path().join("whole"), &mut Silent).unwrap();
    let crashed = dir.path().join("crashed");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&exp, &crashed, &mut CrashAt(2))
    }));
    assert!(result.is_err(), "the simulated crash happened");
    let resumed = resume(&crashed, &mut Silent).unwrap();
    assert_eq!(resumed.epochs_this_process, 1);
    assert_eq!(figures(&resumed), figures(&whole));
}

/// Replaces three training images by a corrupt JPEG (a valid header, then garbage), a PNG cut
/// in half and an empty file.
fn spoil_three(dir: &Path) -> [String; 3] {
    let dark = dir.join("train/dark");
    let mut jpeg = Vec::new();
    image::RgbImage::from_pixel(10, 10, image::Rgb([9, 9, 9]))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let half = jpeg.len() / 3;
    jpeg[half..].iter_mut().for_each(|b| *b = 0x5a);
    std::fs::remove_file(dark.join("0.png")).unwrap();
    std::fs::write(dark.join("0.jpg"), &jpeg).unwrap();
    let png = std::fs::read(dark.join("1.png")).unwrap();
    std::fs::write(dark.join("1.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(dark.join("2.png"), b"").unwrap();
    ["0.jpg", "1.png", "2.png"].map(String::from)
}

#[test]
fn unreadable_images_are_skipped_named_and_counted_and_too_many_stop_the_run() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_folder(&data, 24);
    let names = spoil_three(&data);
    // 3 of 56 images are 5.4%.
    let exp = experiment(&data, "loading = \"stream\"\nmax_bad_fraction = 0.06");
    let mut said = Vec::new();
    let summary = train(&exp, &dir.path().join("ok"), &mut Said(&mut said)).unwrap();
    assert_eq!(summary.bad_images, 3, "{said:?}");
    for name in &names {
        let warned = said
            .iter()
            .filter(|m| m.starts_with("data: skipped an image") && m.contains(name.as_str()))
            .count();
        assert_eq!(warned, 1, "warned once per file: {said:?}");
    }
    let toml = std::fs::read_to_string(dir.path().join("ok/summary.toml")).unwrap();
    assert!(toml.contains("bad_images = 3"), "{toml}");

    let exp = experiment(&data, "loading = \"stream\"\nmax_bad_fraction = 0.02");
    let err = train(&exp, &dir.path().join("stopped"), &mut Silent)
        .unwrap_err()
        .to_string();
    // 2% of 56 images allows one; the run stops at the batch that meets a second.
    assert!(
        err.starts_with("data.max_bad_fraction: ")
            && err.contains("images could not be read, more than 0.02")
            && !err.contains('\n'),
        "{err}"
    );
}

#[test]
fn a_cache_is_built_once_reused_by_the_next_run_and_rebuilt_when_a_file_changes() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_folder(&data, 8);
    let cache = dir.path().join("cache");
    let exp = experiment(&data, &format!("cache = \"{}\"", cache.display()));
    let cache_lines = |name: &str| {
        let mut said = Vec::new();
        let summary = train(&exp, &dir.path().join(name), &mut Said(&mut said)).unwrap();
        let lines: Vec<String> = said
            .into_iter()
            .filter(|m| m.starts_with("data.cache: "))
            .collect();
        (summary, lines)
    };
    let (first, said) = cache_lines("first");
    assert!(said[0].starts_with("data.cache: built"), "{said:?}");
    let (second, said) = cache_lines("second");
    assert!(said[0].starts_with("data.cache: reading"), "{said:?}");
    assert_eq!(figures(&second), figures(&first));
    let changed = data.join("train/light/3.png");
    image::RgbImage::from_pixel(5, 5, image::Rgb([1, 2, 3]))
        .save(&changed)
        .unwrap();
    let (_, said) = cache_lines("third");
    assert!(
        said[0].starts_with("data.cache: rebuilt") && said[0].contains("3.png"),
        "{said:?}"
    );
}

/// The streamed batches feed the wgpu device, which replays the image ops on the batch
/// (`Upload`), as it does for data in memory.
#[test]
fn a_streamed_folder_trains_on_wgpu_with_the_image_ops_replayed_there() {
    if crate::wgpu_adapters().is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no wgpu adapter exists: install mesa-vulkan-drivers"
        );
        eprintln!("no wgpu adapter on this machine: wgpu test not run");
        return;
    }
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_folder(&dir.path().join("data"), 8);
    let mut exp = experiment(&dir.path().join("data"), "loading = \"stream\"");
    exp.train.device = crate::DeviceChoice::Wgpu;
    exp.train.epochs = 1;
    let mut said = Vec::new();
    let summary = train(&exp, &dir.path().join("run"), &mut Said(&mut said)).unwrap();
    assert!(summary.device.starts_with("wgpu"), "{}", summary.device);
    assert!(summary.epochs[0].train.loss.is_finite());
    assert!(
        !said.iter().any(|m| m.contains("augmenting on the CPU")),
        "the device ran the ops: {said:?}"
    );
}
