//! Labelled 8-bit image data: the [`ImageData`] trait the trainer reads, and [`ImageDataset`],
//! the in-memory implementation every temper reader returns.

use std::borrow::Cow;

use crate::bounded::clip;
use crate::error::DataError;
use crate::layout::SourceImage;

/// A labelled set of 8-bit images of one shape: what temper's trainer, evaluation and
/// augmentation read. Implement it for your own data set type to train on it without copying it
/// into an [`ImageDataset`]; images may be produced on demand (decoded, rendered, fetched from a
/// memory map), since [`image`](Self::image) returns owned or borrowed bytes.
///
/// Burn's `Dataset<I>` hands out items of any type; this trait fixes the item to what image
/// classification needs (pixels and a class index) so that normalization, augmentation, MixUp
/// and per-class reports work on it.
pub trait ImageData: Send + Sync {
    /// Number of images.
    fn len(&self) -> usize;

    /// Whether there is no image.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[channels, height, width]` of every image.
    fn image_shape(&self) -> [usize; 3];

    /// Number of classes; every label is below it.
    fn num_classes(&self) -> usize;

    /// Class names indexed by label, for reports. Defaults to `"0"`, `"1"`, ...
    fn class_names(&self) -> Vec<String> {
        (0..self.num_classes()).map(|k| k.to_string()).collect()
    }

    /// Pixels of image `index` (below [`len`](Self::len)): `C * H * W` bytes, channel-major,
    /// then row-major.
    fn image(&self, index: usize) -> Cow<'_, [u8]>;

    /// Pixels of image `index` as [`image`](Self::image) gives them, or why they cannot be
    /// read (a streamed file that is corrupt, truncated or gone). In-memory data never fails.
    ///
    /// # Errors
    /// The image's [`DataError`] (`BadImage` or `Io`, naming its file); the caller may skip it.
    fn try_image(&self, index: usize) -> Result<Cow<'_, [u8]>, DataError> {
        Ok(self.image(index))
    }

    /// Image `index` before it was fitted to [`image_shape`](Self::image_shape): decoded at
    /// its own size (its channels converted to the data set's), for a random-resized crop at
    /// full resolution; `Ok(None)` when the data keeps only fitted images (the default). Its
    /// pixels are interleaved, as decoders give them and the augmentation works on them.
    ///
    /// # Errors
    /// As [`try_image`](Self::try_image).
    fn source_image(&self, index: usize) -> Result<Option<SourceImage>, DataError> {
        let _ = index;
        Ok(None)
    }

    /// Class index of image `index`.
    fn label(&self, index: usize) -> usize;
}

/// Images stored as one contiguous `[N, C, H, W]` array of `u8` with one class index each.
///
/// Kept as bytes (a quarter of the memory of `f32`) and normalized per batch, which costs far
/// less than the model's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    shape: [usize; 3],
    class_names: Vec<String>,
}

/// The training and test splits of a dataset, whatever format it was read from.
#[derive(Debug, Clone)]
pub struct DataSplits {
    /// The training split.
    pub train: ImageDataset,
    /// The test split.
    pub test: ImageDataset,
}

/// One sample of an [`ImageDataset`], as Burn's `Dataset` trait hands it out (feature `burn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageItem {
    /// `C * H * W` pixels in channel-major, row-major order.
    pub pixels: Vec<u8>,
    /// Class index.
    pub label: usize,
}

impl ImageDataset {
    /// Builds a dataset from `pixels` laid out `[N, C, H, W]` and one label per image.
    ///
    /// # Panics
    /// When the lengths disagree with `shape`, a label is not below `class_names.len()`, or
    /// there are more than 256 classes; readers validate their input before calling this.
    pub fn new(
        pixels: Vec<u8>,
        labels: Vec<u8>,
        shape: [usize; 3],
        class_names: Vec<String>,
    ) -> Self {
        let per_image: usize = shape.iter().product();
        assert_eq!(pixels.len(), labels.len() * per_image, "pixels vs labels");
        assert!(class_names.len() <= 256, "at most 256 classes");
        assert!(
            labels.iter().all(|&l| (l as usize) < class_names.len()),
            "label out of range"
        );
        Self {
            pixels,
            labels,
            shape,
            class_names,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[channels, height, width]` of every image.
    pub fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Number of classes (not all need to be present).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Human-readable class names, indexed by label.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Pixels of image `index`, `C * H * W` bytes.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.shape.iter().product::<usize>();
        &self.pixels[index * n..(index + 1) * n]
    }

    /// Class index of image `index`.
    pub fn label(&self, index: usize) -> usize {
        self.labels[index] as usize
    }

    /// All labels in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Appends `other`'s images after this dataset's.
    ///
    /// # Errors
    /// A one-line reason when the image shapes or the class names differ (labels would then
    /// mean different classes).
    pub fn append(&mut self, other: &ImageDataset) -> std::result::Result<(), String> {
        check_joinable(self, other)?;
        self.pixels.extend_from_slice(&other.pixels);
        self.labels.extend_from_slice(&other.labels);
        Ok(())
    }

    /// A new dataset holding the images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut pixels = Vec::with_capacity(indices.len() * self.image(0).len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Self {
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
            class_names: self.class_names.clone(),
        }
    }
}

/// Whether the images of `other` can follow those of `first` in one data set: the same image
/// shape and the same class names (labels would otherwise mean different classes).
///
/// # Errors
/// A one-line reason naming the shapes or classes that differ.
pub fn check_joinable(
    first: &(impl ImageData + ?Sized),
    other: &(impl ImageData + ?Sized),
) -> std::result::Result<(), String> {
    if other.image_shape() != first.image_shape() {
        return Err(format!(
            "images of shape {:?} cannot join images of shape {:?}",
            other.image_shape(),
            first.image_shape()
        ));
    }
    if other.class_names() != first.class_names() {
        // Up to 256 folder names each: a prefix of each list tells which sets differ.
        let names = |names: Vec<String>| clip(&format!("{names:?}"), 200);
        return Err(format!(
            "classes {} differ from {}",
            names(other.class_names()),
            names(first.class_names())
        ));
    }
    Ok(())
}

impl ImageData for ImageDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    fn class_names(&self) -> Vec<String> {
        self.class_names.clone()
    }

    fn image(&self, index: usize) -> Cow<'_, [u8]> {
        Cow::Borrowed(ImageDataset::image(self, index))
    }

    fn label(&self, index: usize) -> usize {
        ImageDataset::label(self, index)
    }
}

#[cfg(feature = "burn")]
impl burn::data::dataset::Dataset<ImageItem> for ImageDataset {
    /// # Panics
    /// When `index >= len()`, as Burn's `Dataset` contract says.
    fn get(&self, index: usize) -> Result<ImageItem, burn::data::dataset::DatasetError> {
        Ok(ImageItem {
            pixels: self.image(index).to_vec(),
            label: self.label(index),
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImageDataset {
        // Three 1x1x2 images: [0,1], [2,3], [4,5] with labels 0, 1, 0.
        ImageDataset::new(
            (0..6).collect(),
            vec![0, 1, 0],
            [1, 1, 2],
            vec!["a".into(), "b".into()],
        )
    }

    #[test]
    fn append_checks_shape_and_classes() {
        let mut d = tiny();
        d.append(&tiny().subset(&[1])).unwrap();
        assert_eq!((d.len(), d.image(3), d.label(3)), (4, &[2u8, 3][..], 1));
        let other = ImageDataset::new(vec![0; 2], vec![0], [2, 1, 1], vec!["a".into(), "b".into()]);
        assert!(d.append(&other).unwrap_err().contains("shape"));
    }

    #[test]
    fn image_and_subset_index_the_right_bytes() {
        let d = tiny();
        assert_eq!(d.image(1), &[2, 3]);
        let s = d.subset(&[2, 0]);
        assert_eq!(s.image(0), &[4, 5]);
        assert_eq!(s.labels(), &[0, 0]);
    }

    #[cfg(feature = "burn")]
    #[test]
    fn burn_dataset_hands_out_the_same_items() {
        use burn::data::dataset::Dataset;
        let d = tiny();
        assert_eq!(Dataset::get(&d, 1).unwrap().label, 1);
        assert_eq!(Dataset::len(&d), 3);
    }
}
