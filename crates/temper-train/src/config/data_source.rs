//! Loading the data set an experiment's `[data] source` names into memory (streaming is
//! `loading.rs`).

use temper_data::{DataSplits, bundled_mnist, read_cifar10_dir, read_image_folder, read_mnist_dir};

use crate::config::data_section::DataSource;
use crate::config::loading::with_counter;
use crate::error::TrainError;
use crate::run::Progress;

/// Loads the data an experiment names into memory. An image folder is decoded in parallel
/// (rayon) and reports `done / total` files to `progress` as it goes.
pub fn load_data(
    source: &DataSource,
    progress: &mut dyn Progress,
) -> Result<DataSplits, TrainError> {
    Ok(match source {
        DataSource::Bundled => bundled_mnist()?,
        DataSource::Mnist(dir) => read_mnist_dir(dir)?,
        DataSource::Cifar10(dir) => read_cifar10_dir(dir)?,
        DataSource::Folder(dir, options) => {
            with_counter(progress, |report| read_image_folder(dir, options, report))?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::experiment::Experiment;
    use crate::run::Silent;

    /// A 1x1 gray png (pixel 7): signature, IHDR, IDAT, IEND with their CRCs.
    const PNG: [u8; 67] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a,
        0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60,
        0x07, 0x00, 0x00, 0x09, 0x00, 0x08, 0x20, 0x23, 0xc3, 0x8c, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    /// A folder with class `a` inside it and class `b` a symbolic link to a folder outside.
    #[cfg(unix)]
    fn folder_linking_out() -> (tempfile::TempDir, tempfile::TempDir) {
        let png = |path: &std::path::Path| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, PNG).unwrap();
        };
        let (root, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        png(&root.path().join("a/0.png"));
        png(&outside.path().join("elsewhere/0.png"));
        std::os::unix::fs::symlink(outside.path().join("elsewhere"), root.path().join("b"))
            .unwrap();
        (root, outside)
    }

    #[test]
    #[cfg(unix)]
    fn data_follow_links_lets_a_folder_read_a_class_linked_from_outside() {
        let (root, _outside) = folder_linking_out();
        let toml = |extra: &str| {
            format!(
                "[data]\nsource = \"folder:{}\"\ntest_fraction = 0.0\n{extra}",
                root.path().display()
            )
        };
        let source = |text: &str| {
            Experiment::from_toml_str(text, "x.toml")
                .unwrap()
                .data
                .data_source()
                .unwrap()
        };
        let err = load_data(&source(&toml("")), &mut Silent).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("follow_links") && !text.contains('\n'),
            "{text}"
        );
        let data = load_data(&source(&toml("follow_links = true")), &mut Silent).unwrap();
        assert_eq!(data.train.class_names(), &["a", "b"]);
        assert_eq!(data.train.len(), 2);
        assert_eq!(data.train.image(1), &[7]);
    }
}
