//! A folder of images as a table: one row per image, a `path` column (relative to the
//! folder), a `label` column when the images sit in one sub-folder per class (the folder's
//! name), then one integer column per pixel, channel-major (`pixel{c·h·w + y·w + x}`, 0–255) —
//! the layout of the digits and MNIST tables, which `smelt-deep`'s image classifier reads.
//!
//! Images are decoded in parallel (PNG and JPEG, with the `image` crate). Colour images make
//! every image RGB (grey ones are expanded, alpha is dropped); all grey: one channel. Every
//! image must have the first one's size: a different one is an error naming the file.

use std::path::{Path, PathBuf};

use image::{DynamicImage, GenericImageView};
use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{DataError, Result};

const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        out.push(e.map_err(io(dir))?.path());
    }
    out.sort();
    Ok(out)
}

/// Whether `dir` holds images, directly or in class folders.
pub fn is_image_folder(dir: &Path) -> bool {
    let Ok(entries) = sorted_entries(dir) else {
        return false;
    };
    entries.iter().any(|p| is_image(p))
        || entries
            .iter()
            .filter(|p| p.is_dir())
            .any(|d| sorted_entries(d).is_ok_and(|e| e.iter().any(|p| is_image(p))))
}

fn bad(path: &Path, message: String) -> DataError {
    DataError::Image {
        path: path.to_path_buf(),
        message,
    }
}

/// Reads the image folder `dir` as a table (see the [module docs](self)).
pub fn read_folder(dir: &Path) -> Result<DataFrame> {
    // (file, label): class folders first, loose images with no label.
    let mut files: Vec<(PathBuf, Option<String>)> = Vec::new();
    for entry in sorted_entries(dir)? {
        if entry.is_dir() {
            let label = entry
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for f in sorted_entries(&entry)? {
                if is_image(&f) {
                    files.push((f, Some(label.clone())));
                }
            }
        } else if is_image(&entry) {
            files.push((entry, None));
        }
    }
    if files.is_empty() {
        return Err(bad(
            dir,
            "no PNG or JPEG images, directly or in class folders".into(),
        ));
    }
    let labelled = files.iter().filter(|f| f.1.is_some()).count();
    if labelled != 0 && labelled != files.len() {
        let loose = files.iter().find(|f| f.1.is_none()).map(|f| f.0.clone());
        return Err(bad(
            loose.as_deref().unwrap_or(dir),
            "an image beside the class folders: put every image in its class's folder (or \
             none, for images without labels)"
                .into(),
        ));
    }
    let decoded: Vec<DynamicImage> = files
        .par_iter()
        .map(|(f, _)| {
            let bytes = std::fs::read(f).map_err(io(f))?;
            image::load_from_memory(&bytes)
                .map_err(|e| bad(f, format!("cannot decode the image: {e}")))
        })
        .collect::<Result<_>>()?;
    let colour = decoded.iter().any(|i| i.color().has_color());
    let (w, h) = decoded[0].dimensions();
    if let Some(k) = decoded.iter().position(|i| i.dimensions() != (w, h)) {
        let (w2, h2) = decoded[k].dimensions();
        return Err(bad(
            &files[k].0,
            format!(
                "{w2}×{h2} pixels, but {} is {w}×{h}: every image must have one size (resize \
                 them first, e.g. `mogrify -resize {w}x{h}! *.png`)",
                files[0].0.display()
            ),
        ));
    }
    let channels = if colour { 3 } else { 1 };
    let plane = (w * h) as usize;
    let size = channels * plane;
    // Pixel columns, channel-major, filled image by image.
    let mut columns: Vec<Vec<i64>> = vec![Vec::with_capacity(decoded.len()); size];
    for img in &decoded {
        if colour {
            let rgb = img.to_rgb8();
            for (i, px) in rgb.pixels().enumerate() {
                for c in 0..3 {
                    columns[c * plane + i].push(i64::from(px.0[c]));
                }
            }
        } else {
            let grey = img.to_luma8();
            for (i, px) in grey.pixels().enumerate() {
                columns[i].push(i64::from(px.0[0]));
            }
        }
    }
    let mut out: Vec<Column> = Vec::with_capacity(size + 2);
    let rel: Vec<String> = files
        .iter()
        .map(|(f, _)| {
            f.strip_prefix(dir)
                .unwrap_or(f)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.push(Column::new("path".into(), rel));
    if labelled > 0 {
        let labels: Vec<String> = files
            .iter()
            .map(|f| f.1.clone().unwrap_or_default())
            .collect();
        out.push(Column::new("label".into(), labels));
    }
    for (j, col) in columns.into_iter().enumerate() {
        out.push(Column::new(format!("pixel{j}").into(), col));
    }
    DataFrame::new(files.len(), out).map_err(|e| bad(dir, e.to_string()))
}
