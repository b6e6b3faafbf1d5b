//! The listing of an image folder: its classes and the labelled files of both splits, in
//! sorted order, with the link rules of the module doc of [`folder`](super). Nothing is read
//! but folder entries and metadata, so the in-memory reader and the streaming one
//! (`crate::stream`) list a folder identically.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{FolderOptions, IMAGE_EXTENSIONS};
use crate::error::{DataError, Result};

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// The dataset folder, canonical, and whether links may lead out of it.
struct Root {
    canonical: PathBuf,
    follow_links: bool,
}

impl Root {
    fn new(dir: &Path, follow_links: bool) -> Result<Self> {
        let canonical = std::fs::canonicalize(dir).map_err(io_error(dir))?;
        Ok(Self {
            canonical,
            follow_links,
        })
    }

    /// Refuses `path` when it resolves outside the root, unless links may be followed.
    fn check(&self, path: &Path) -> Result<()> {
        if self.follow_links {
            return Ok(());
        }
        let target = std::fs::canonicalize(path).map_err(io_error(path))?;
        if target.starts_with(&self.canonical) {
            return Ok(());
        }
        Err(DataError::LinkOutsideRoot {
            path: path.to_path_buf(),
            target,
            root: self.canonical.clone(),
        })
    }
}

/// The sub-folders of `dir` (links to folders included, checked against `root`), sorted by
/// name, hidden ones skipped.
fn sub_dirs(dir: &Path, root: &Root) -> Result<Vec<(std::ffi::OsString, PathBuf)>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        if !is_hidden(&entry.file_name()) && path.is_dir() {
            root.check(&path)?;
            dirs.push((entry.file_name(), path));
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The class folders of `dir`, sorted by name, hidden ones skipped.
fn class_dirs(dir: &Path, root: &Root) -> Result<Vec<(String, PathBuf)>> {
    let classes = sub_dirs(dir, root)?;
    let classes: Vec<(String, PathBuf)> = classes
        .into_iter()
        .map(|(name, path)| (name.to_string_lossy().into_owned(), path))
        .collect();
    match classes.len() {
        0 => Err(DataError::NoClasses {
            dir: dir.to_path_buf(),
        }),
        1 => Err(DataError::TooFewClasses {
            dir: dir.to_path_buf(),
            class: classes[0].0.clone(),
        }),
        n if n > 256 => Err(DataError::TooManyClasses {
            dir: dir.to_path_buf(),
            found: n,
        }),
        _ => Ok(classes),
    }
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The image files under `class_dir`, recursively, ordered like torchvision's
/// `sorted(os.walk(...))` then `sorted(fnames)`: by folder, then by name. Empty is an error.
fn image_files(class_dir: &Path, root: &Root) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![class_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            if is_hidden(&entry.file_name()) {
                continue;
            }
            let path = entry.path();
            // `file_type` does not follow symlinks: a linked folder cannot loop the walk.
            let kind = entry.file_type().map_err(io_error(&path))?;
            if kind.is_dir() {
                pending.push(path);
            } else if is_image(&path) && path.is_file() {
                if kind.is_symlink() {
                    root.check(&path)?;
                }
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| (a.parent(), a.file_name()).cmp(&(b.parent(), b.file_name())));
    if files.is_empty() {
        return Err(DataError::EmptyClass {
            dir: class_dir.to_path_buf(),
        });
    }
    Ok(files)
}

/// Labelled file lists of both splits, in sorted order, and the class names.
pub(crate) struct Listing {
    /// Class names, indexed by label.
    pub(crate) classes: Vec<String>,
    /// The training files and their labels, in sorted order.
    pub(crate) train: Vec<(PathBuf, u8)>,
    /// The test files and their labels, in sorted order.
    pub(crate) test: Vec<(PathBuf, u8)>,
    /// The first image in sorted order, whose size is the default `image_size`.
    pub(crate) first: PathBuf,
    /// The dataset folder, canonical.
    pub(crate) root: PathBuf,
}

/// The labelled files of `dir`: its `train/` and `test/` folders when both exist, else its
/// class folders split by `options.test_fraction`.
pub(crate) fn list(dir: &Path, options: &FolderOptions) -> Result<Listing> {
    let root = Root::new(dir, options.follow_links)?;
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    if train_dir.is_dir() && test_dir.is_dir() {
        list_given_splits(train_dir, test_dir, &root)
    } else {
        list_split_by_fraction(dir, options, &root)
    }
}

/// The files of `train_dir/<class>/` and `test_dir/<class>/`; the classes are `train_dir`'s,
/// and a test class that is not one of them is an error.
fn list_given_splits(train_dir: PathBuf, test_dir: PathBuf, root: &Root) -> Result<Listing> {
    root.check(&train_dir)?;
    root.check(&test_dir)?;
    let classes = class_dirs(&train_dir, root)?;
    let mut train = Vec::new();
    for (label, (_, path)) in classes.iter().enumerate() {
        train.extend(
            image_files(path, root)?
                .into_iter()
                .map(|f| (f, label as u8)),
        );
    }
    let test_classes = sub_dirs(&test_dir, root)?;
    if test_classes.is_empty() {
        return Err(DataError::NoClasses { dir: test_dir });
    }
    let mut test = Vec::new();
    for (name, path) in test_classes {
        let name = name.to_string_lossy().into_owned();
        let Some(label) = classes.iter().position(|(c, _)| *c == name) else {
            return Err(DataError::UnknownTestClass {
                path,
                class: name,
                train: train_dir,
            });
        };
        test.extend(
            image_files(&path, root)?
                .into_iter()
                .map(|f| (f, label as u8)),
        );
    }
    let first = train[0].0.clone();
    let classes = classes.into_iter().map(|(c, _)| c).collect();
    Ok(Listing {
        classes,
        train,
        test,
        first,
        root: root.canonical.clone(),
    })
}

/// The files of `dir/<class>/`, each class giving `round(n * test_fraction)` of its images to
/// the test split.
fn list_split_by_fraction(dir: &Path, options: &FolderOptions, root: &Root) -> Result<Listing> {
    let classes = class_dirs(dir, root)?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let mut first = None;
    for (label, (_, path)) in classes.iter().enumerate() {
        let files = image_files(path, root)?;
        first.get_or_insert_with(|| files[0].clone());
        // Stratified: each class gives round(n * test_fraction) of its images, chosen by a
        // seeded shuffle, and both splits keep the sorted order.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.shuffle(&mut rng);
        let n_test = (files.len() as f64 * options.test_fraction).round() as usize;
        let mut held_out = vec![false; files.len()];
        for &i in &order[..n_test] {
            held_out[i] = true;
        }
        for (file, held) in files.into_iter().zip(held_out) {
            if held { &mut test } else { &mut train }.push((file, label as u8));
        }
    }
    if train.is_empty() {
        return Err(DataError::EmptyTrainSet {
            dir: dir.to_path_buf(),
            test_fraction: options.test_fraction,
        });
    }
    Ok(Listing {
        classes: classes.into_iter().map(|(c, _)| c).collect(),
        train,
        test,
        first: first.expect("at least two classes"),
        root: root.canonical.clone(),
    })
}
