//! The parts of the local-folder store that `object_store` does not make safe on its own.
//!
//! `LocalFileSystem` follows symbolic links wherever they point, out of its root too, and its
//! recursive listing walks into them. So here, all blocking and called from
//! `spawn_blocking`:
//!
//! - [`resolve`] maps a path to the file system and refuses it when the deepest part of it that
//!   exists resolves outside the root (mlflow/mlflow#18964: a symlink inside the artifact folder
//!   pointing at `/etc` let `get-artifact` read any file);
//! - [`list_dir`], [`total_size`] and [`delete`] walk with `std::fs`, never descending into a
//!   symbolic link, and leave out links that resolve outside the root.
//!
//! There is a window between the check and the open in which someone with write access to the
//! root's folder could swap a directory for a link; such a person can read the files anyway.
//! Clients of the HTTP API cannot create links: uploads write regular files.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::{ArtifactPath, FileInfo};
use crate::error::{Result, TrackError};

fn io_error(path: &Path, source: std::io::Error) -> TrackError {
    TrackError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Whether a file name is one of `object_store`'s staging files (`name#<digits>`), which hold an
/// upload in progress until it is renamed into place.
pub(super) fn is_staging_name(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// `root/path`, refused when the deepest existing ancestor of it (itself included) resolves
/// outside `root`. `root` must be canonical.
pub(super) fn resolve(root: &Path, path: &ArtifactPath) -> Result<PathBuf> {
    let full = path
        .components()
        .fold(root.to_path_buf(), |acc, part| acc.join(part));
    let mut probe = full.clone();
    loop {
        match fs::canonicalize(&probe) {
            Ok(real) => {
                if !real.starts_with(root) {
                    return Err(TrackError::UnsafePath {
                        path: path.to_string(),
                        reason: "resolves outside the artifact root through a symbolic link",
                    });
                }
                return Ok(full);
            }
            // Missing (or a dangling link): look at the parent instead.
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if probe == root || !probe.pop() {
                    return Ok(full);
                }
            }
            Err(e) => return Err(io_error(&probe, e)),
        }
    }
}

/// Whether a link at `link` resolves inside `root` (a dangling link does not).
fn link_stays_inside(root: &Path, link: &Path) -> bool {
    fs::canonicalize(link).is_ok_and(|real| real.starts_with(root))
}

/// One level of `dir`, MLflow-style: paths relative to the store's root (`dir/name`), a size
/// for files only, sorted by path. A missing `dir`, or a file, lists as empty.
pub(super) fn list_dir(
    root: &Path,
    base: &ArtifactPath,
    dir: &ArtifactPath,
) -> Result<Vec<FileInfo>> {
    let full = resolve(root, &base.join_path(dir)?)?;
    let entries = match fs::read_dir(&full) {
        Ok(entries) => entries,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(io_error(&full, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(&full, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            tracing::warn!(dir = %full.display(), "skipping a file name that is not UTF-8");
            continue;
        };
        if is_staging_name(name) {
            continue;
        }
        // A name we would refuse to write (a stray `..x#` or `a\b`) is not listed either.
        let Ok(path) = dir.join(name) else {
            tracing::warn!(dir = %full.display(), name, "skipping a file name that is not a valid artifact path");
            continue;
        };
        let entry_path = entry.path();
        let kind = entry.file_type().map_err(|e| io_error(&entry_path, e))?;
        let meta = if kind.is_symlink() {
            if !link_stays_inside(root, &entry_path) {
                tracing::warn!(link = %entry_path.display(), "not listing a symbolic link that leaves the artifact root");
                continue;
            }
            fs::metadata(&entry_path).map_err(|e| io_error(&entry_path, e))?
        } else {
            entry.metadata().map_err(|e| io_error(&entry_path, e))?
        };
        let is_dir = meta.is_dir();
        files.push(FileInfo {
            path,
            is_dir,
            file_size: (!is_dir).then_some(meta.len()),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Bytes in the files under `path` (or of the file at `path`); 0 when nothing is there.
/// Links are counted only when they resolve to a file inside the root; linked directories are
/// not entered.
pub(super) fn total_size(root: &Path, path: &ArtifactPath) -> Result<u64> {
    let full = resolve(root, path)?;
    let mut total = 0u64;
    let mut stack = vec![full];
    while let Some(current) = stack.pop() {
        let meta = match fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&current, e)),
        };
        if meta.is_symlink() {
            if link_stays_inside(root, &current) {
                match fs::metadata(&current) {
                    Ok(target) if target.is_file() => total += target.len(),
                    _ => {}
                }
            }
        } else if meta.is_dir() {
            for entry in fs::read_dir(&current).map_err(|e| io_error(&current, e))? {
                stack.push(entry.map_err(|e| io_error(&current, e))?.path());
            }
        } else if meta.is_file() {
            let staging = current
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_staging_name);
            if !staging {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

/// Removes the file or the whole tree at `path` (the root's contents for the root, keeping the
/// root itself), then any folders it leaves empty up to the root. A link is removed, never
/// what it points to. Nothing there is not an error.
pub(super) fn delete(root: &Path, path: &ArtifactPath) -> Result<()> {
    if path.is_root() {
        for entry in fs::read_dir(root).map_err(|e| io_error(root, e))? {
            let entry = entry.map_err(|e| io_error(root, e))?;
            remove_entry(&entry.path())?;
        }
        return Ok(());
    }
    // The parent must stay inside the root; the entry itself may be a link (removed as such).
    let parent = path.parent().unwrap_or_default();
    let dir = resolve(root, &parent)?;
    let Some(name) = path.file_name() else {
        return Ok(());
    };
    let target = dir.join(name);
    remove_entry(&target)?;
    // Prune folders left empty, so that listings (which show folders) stay like S3's.
    let mut current = target;
    while current.pop() && current != root && current.starts_with(root) {
        if fs::remove_dir(&current).is_err() {
            break;
        }
    }
    Ok(())
}

/// Removes staging files (`name#N`) under `dir` last modified more than `older_than` ago: what
/// an upload interrupted by a crash (kill -9, power loss) leaves behind. Uploads in progress
/// write to their staging file continuously, so a recent one is never touched. Links are not
/// followed. Returns the files removed and their bytes.
pub(super) fn remove_stale_staging(
    dir: &Path,
    older_than: std::time::Duration,
) -> Result<(u64, u64)> {
    let now = std::time::SystemTime::now();
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = match fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&current, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&current, e))?;
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let staging = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_staging_name);
            let stale = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age >= older_than);
            if meta.is_file() && staging && stale {
                match fs::remove_file(&path) {
                    Ok(()) => {
                        files += 1;
                        bytes += meta.len();
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&path, e)),
                }
            }
        }
    }
    Ok((files, bytes))
}

fn remove_entry(target: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(target, e)),
    };
    // `remove_dir_all` does not follow links (std fixed CVE-2022-21658 for that race).
    let removed = if meta.is_dir() {
        fs::remove_dir_all(target)
    } else {
        fs::remove_file(target)
    };
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(target, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_staging_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("1/run/artifacts")).expect("dirs");
        let old = root.join("1/run/artifacts/model.bin#3");
        fs::write(&old, b"partial").expect("write");
        fs::write(root.join("1/run/artifacts/model.bin"), b"whole").expect("write");
        fs::write(root.join("1/run/artifacts/notes#draft"), b"a user's file").expect("write");
        // Nothing is old enough yet.
        let kept = remove_stale_staging(root, std::time::Duration::from_secs(3600)).expect("gc");
        assert_eq!(kept, (0, 0));
        assert!(old.exists());
        let removed = remove_stale_staging(root, std::time::Duration::ZERO).expect("gc");
        assert_eq!(removed, (1, 7));
        assert!(!old.exists());
        assert!(root.join("1/run/artifacts/model.bin").exists());
        assert!(root.join("1/run/artifacts/notes#draft").exists());
    }

    #[test]
    fn staging_names() {
        assert!(is_staging_name("model.bin#1"));
        assert!(is_staging_name("a#123"));
        assert!(!is_staging_name("a#"));
        assert!(!is_staging_name("a#b1"));
        assert!(!is_staging_name("plain"));
    }
}
