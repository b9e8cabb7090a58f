//! Atomic writes: a table goes to a temporary file in the destination's directory and is renamed
//! into place; a split goes to a temporary directory renamed as a whole. A reader never sees a
//! half-written file, and a failure leaves nothing behind.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use polars::prelude::*;

use crate::error::{DataError, Result, owned};
use crate::read::Format;

/// Writes `df` to `path` in `format`, atomically.
pub fn write_table(df: &mut DataFrame, path: &Path, format: Format) -> Result<()> {
    let dir = parent_dir(path);
    let tmp = tempfile::Builder::new()
        .prefix(".smelt-tmp-")
        .tempfile_in(dir)
        .map_err(|e| DataError::Io {
            path: owned(dir),
            source: e,
        })?;
    write_to(df, tmp.as_file(), format, path)?;
    tmp.as_file().sync_all().map_err(|e| DataError::Io {
        path: owned(path),
        source: e,
    })?;
    tmp.persist(path).map_err(|e| DataError::Io {
        path: owned(path),
        source: e.error,
    })?;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn write_to(df: &mut DataFrame, file: &File, format: Format, path: &Path) -> Result<()> {
    let polars_err = |e| DataError::Polars {
        path: owned(path),
        source: e,
    };
    let w = BufWriter::new(file);
    match format {
        Format::Csv => CsvWriter::new(w)
            .include_header(true)
            .finish(df)
            .map_err(polars_err)?,
        Format::Parquet => {
            ParquetWriter::new(w)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(df)
                .map_err(polars_err)?;
        }
        Format::Ndjson => JsonWriter::new(w)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df)
            .map_err(polars_err)?,
        Format::Ipc => IpcWriter::new(w).finish(df).map_err(polars_err)?,
    }
    Ok(())
}

/// Writes several named tables into a new directory `out`, atomically: they are written into a
/// temporary sibling directory which is renamed to `out` only once every file is complete.
/// `out` must not exist yet unless `overwrite` is set, in which case it is replaced.
pub fn write_dir(
    tables: &mut [(String, DataFrame)],
    extra: &[(String, Vec<u8>)],
    out: &Path,
    format: Format,
    overwrite: bool,
) -> Result<()> {
    if out.exists() && !overwrite {
        return Err(DataError::Invalid(format!(
            "{}: already exists; pass `--overwrite` to replace it",
            out.display()
        )));
    }
    let parent = parent_dir(out);
    std::fs::create_dir_all(parent).map_err(|e| DataError::Io {
        path: owned(parent),
        source: e,
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".smelt-tmp-")
        .tempdir_in(parent)
        .map_err(|e| DataError::Io {
            path: owned(parent),
            source: e,
        })?;
    for (name, df) in tables.iter_mut() {
        let p = tmp.path().join(format!("{name}.{}", format.as_str()));
        let f = File::create(&p).map_err(|e| DataError::Io {
            path: p.clone(),
            source: e,
        })?;
        write_to(df, &f, format, &p)?;
        f.sync_all().map_err(|e| DataError::Io {
            path: p.clone(),
            source: e,
        })?;
    }
    for (name, bytes) in extra {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).map_err(|e| DataError::Io {
            path: p.clone(),
            source: e,
        })?;
    }
    if out.exists() {
        // Move the old directory aside first so `out` is never missing a file it had.
        let old = tempfile::Builder::new()
            .prefix(".smelt-old-")
            .tempdir_in(parent)
            .map_err(|e| DataError::Io {
                path: owned(parent),
                source: e,
            })?;
        let aside = old.path().join("old");
        std::fs::rename(out, &aside).map_err(|e| DataError::Io {
            path: owned(out),
            source: e,
        })?;
        std::fs::rename(tmp.path(), out).map_err(|e| DataError::Io {
            path: owned(out),
            source: e,
        })?;
    } else {
        std::fs::rename(tmp.path(), out).map_err(|e| DataError::Io {
            path: owned(out),
            source: e,
        })?;
    }
    // The temporary directory now lives at `out`; do not let its guard delete it.
    let _ = tmp.keep();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_dir_is_all_or_nothing() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("split");
        let df = DataFrame::new(2, vec![Column::new("a".into(), &[1i64, 2])]).unwrap();
        let mut tables = vec![("train".to_string(), df.clone()), ("test".to_string(), df)];
        write_dir(
            &mut tables,
            &[("meta.json".into(), b"{}".to_vec())],
            &out,
            Format::Csv,
            false,
        )
        .unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["meta.json", "test.csv", "train.csv"]);
        let err = write_dir(&mut tables, &[], &out, Format::Csv, false).unwrap_err();
        assert!(err.to_string().contains("already exists"));
        write_dir(&mut tables[..1], &[], &out, Format::Parquet, true).unwrap();
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["train.parquet"]);
        // No temporary directories are left behind.
        let leftovers = std::fs::read_dir(root.path()).unwrap().count();
        assert_eq!(leftovers, 1);
    }
}
