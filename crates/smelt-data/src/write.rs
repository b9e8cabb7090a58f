//! Atomic writes: a table goes to a temporary file in the destination's directory and is renamed
//! into place; a split goes to a temporary directory renamed as a whole. A reader never sees a
//! half-written file, and a failure leaves nothing behind. [`TableWriter`] does the same for a
//! table written batch by batch.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::io::csv::write::BatchedWriter as CsvBatched;
use polars::io::ipc::BatchedWriter as IpcBatched;
use polars::io::json::BatchedWriter as NdjsonBatched;
use polars::io::parquet::write::BatchedWriter as ParquetBatched;
use polars::prelude::*;
use tempfile::NamedTempFile;

use crate::error::{DataError, Result, owned};
use crate::read::Format;

/// Writes `df` to `path` in `format`, atomically.
pub fn write_table(df: &mut DataFrame, path: &Path, format: Format) -> Result<()> {
    let tmp = temp_beside(path)?;
    write_to(df, tmp.as_file(), format, path)?;
    persist(tmp, path)
}

/// A new temporary file in `path`'s directory (removed when dropped), with the permissions
/// of a file created there the usual way (`0o666` less the umask, not a temporary file's
/// `0o600`): it becomes the output.
fn temp_beside(path: &Path) -> Result<NamedTempFile> {
    let dir = parent_dir(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".smelt-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir).map_err(|e| DataError::Io {
        path: owned(dir),
        source: e,
    })
}

/// Flushes `tmp` to disk and renames it onto `path`.
fn persist(tmp: NamedTempFile, path: &Path) -> Result<()> {
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

/// A table written batch by batch, atomically: the batches go to a temporary file in the
/// destination's directory, which [`TableWriter::finish`] flushes to disk and renames onto the
/// destination. Until then nothing is at the destination (an existing file there stays as it
/// was); dropping the writer unfinished — an error — removes the temporary file. (A process
/// killed outright leaves it behind, as `.smelt-tmp-*` beside the destination, but never a
/// partial file at the destination.)
///
/// Every batch must have the first one's columns and types. Parquet gets one row group per
/// batch, CSV one header line.
pub struct TableWriter {
    path: PathBuf,
    format: Format,
    tmp: NamedTempFile,
    sink: Option<Sink>,
    rows: u64,
}

/// polars' batched writers, straight onto the file: each writes a batch in a few large writes
/// (no buffer whose flush could fail unseen on drop).
enum Sink {
    Csv(CsvBatched<File>),
    Parquet(Box<ParquetBatched<File>>),
    Ndjson(NdjsonBatched<File>),
    Ipc(IpcBatched<File>),
}

impl TableWriter {
    /// Starts a table at `path` in `format`: creates the temporary file (so an unwritable
    /// directory fails here, before any work).
    pub fn create(path: &Path, format: Format) -> Result<TableWriter> {
        Ok(TableWriter {
            path: owned(path),
            format,
            tmp: temp_beside(path)?,
            sink: None,
            rows: 0,
        })
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends `batch` (its chunks are aligned first).
    pub fn write(&mut self, batch: &mut DataFrame) -> Result<()> {
        let polars_err = |e| DataError::Polars {
            path: self.path.clone(),
            source: e,
        };
        batch.align_chunks_par();
        if self.sink.is_none() {
            let file = self.tmp.as_file().try_clone().map_err(|e| DataError::Io {
                path: self.path.clone(),
                source: e,
            })?;
            let w = file;
            let schema = batch.schema();
            self.sink = Some(match self.format {
                Format::Csv => Sink::Csv(
                    CsvWriter::new(w)
                        .include_header(true)
                        .batched(schema)
                        .map_err(polars_err)?,
                ),
                Format::Parquet => Sink::Parquet(Box::new(
                    ParquetWriter::new(w)
                        .with_compression(ParquetCompression::Zstd(None))
                        .batched(schema)
                        .map_err(polars_err)?,
                )),
                Format::Ndjson => Sink::Ndjson(NdjsonBatched::new(w)),
                Format::Ipc => {
                    // Plain (non-dictionary) fields: what `IpcWriter` writes for these types.
                    let fields = schema
                        .iter_names()
                        .map(|_| polars_arrow::io::ipc::IpcField {
                            fields: Vec::new(),
                            dictionary_id: None,
                        })
                        .collect();
                    Sink::Ipc(
                        IpcWriter::new(w)
                            .batched(schema, fields)
                            .map_err(polars_err)?,
                    )
                }
            });
        }
        let res = match &mut self.sink {
            Some(Sink::Csv(w)) => w.write_batch(batch),
            Some(Sink::Parquet(w)) => w.write_batch(batch),
            Some(Sink::Ndjson(w)) => w.write_batch(batch),
            Some(Sink::Ipc(w)) => w.write_batch(batch),
            None => Ok(()),
        };
        res.map_err(polars_err)?;
        self.rows += batch.height() as u64;
        Ok(())
    }

    /// Ends the table (a Parquet or Arrow IPC footer), flushes it to disk and renames it onto
    /// the destination. Returns the rows written.
    pub fn finish(self) -> Result<u64> {
        let TableWriter {
            path,
            tmp,
            sink,
            rows,
            ..
        } = self;
        let polars_err = |e| DataError::Polars {
            path: path.clone(),
            source: e,
        };
        match sink {
            Some(Sink::Csv(mut w)) => w.finish().map_err(polars_err)?,
            Some(Sink::Parquet(w)) => {
                w.finish().map_err(polars_err)?;
            }
            Some(Sink::Ipc(mut w)) => w.finish().map_err(polars_err)?,
            Some(Sink::Ndjson(_)) | None => {}
        }
        persist(tmp, &path)?;
        Ok(rows)
    }
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("tmp", &self.tmp.path())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
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
    fn table_writer_is_all_or_nothing() {
        let root = tempfile::tempdir().unwrap();
        let batch = |from: i64| {
            DataFrame::new(
                3,
                vec![
                    Column::new("a".into(), [from, from + 1, from + 2]),
                    Column::new("b".into(), ["x", "y", "z"]),
                ],
            )
            .unwrap()
        };
        for format in [Format::Csv, Format::Parquet, Format::Ndjson, Format::Ipc] {
            let path = root.path().join(format!("t.{}", format.as_str()));
            let mut w = TableWriter::create(&path, format).unwrap();
            w.write(&mut batch(0)).unwrap();
            w.write(&mut batch(3)).unwrap();
            // Nothing at the destination until the end.
            assert!(!path.exists());
            assert_eq!(w.finish().unwrap(), 6);
            let back = crate::read::read(&path, &Default::default()).unwrap();
            let mut whole = batch(0);
            whole.vstack_mut(&batch(3)).unwrap();
            assert!(back.equals_missing(&whole), "{format:?}: {back}");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                // Readable by others unless the umask says otherwise (not a temp file's 0o600).
                assert_ne!(mode & 0o777, 0o600, "{mode:o}");
            }
            // Dropped unfinished: nothing is left, and the old file stays.
            let mut w = TableWriter::create(&path, format).unwrap();
            w.write(&mut batch(6)).unwrap();
            drop(w);
            let again = crate::read::read(&path, &Default::default()).unwrap();
            assert_eq!(again.height(), 6);
        }
        let mut names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["t.csv", "t.ipc", "t.ndjson", "t.parquet"]);
    }

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
