//! Writing an output file (a report, a chart) atomically: a temporary file
//! in the target's folder, flushed to disk, then renamed over the target,
//! so a reader never sees half a file and a failure leaves no debris.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::exit::UserError;

/// Writes `bytes` to `path`, replacing any file there.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.commit()
}

/// A file being written: a temporary file in the target's folder until
/// [`AtomicFile::commit`] renames it over the target. Dropped without a
/// commit (an error, an interruption), it is removed.
pub struct AtomicFile {
    path: PathBuf,
    folder: PathBuf,
    temp: tempfile::NamedTempFile,
    out: BufWriter<File>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> anyhow::Result<AtomicFile> {
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            return Err(UserError::error(
                format!(
                    "cannot write {}: the folder {} does not exist",
                    path.display(),
                    folder.display()
                ),
                Some("create the folder first, or name a file in an existing one"),
            ));
        }
        if path.is_dir() {
            return Err(UserError::error(
                format!("cannot write {}: it is a folder", path.display()),
                Some("name a file, e.g. compare.html"),
            ));
        }
        let failed = || format!("cannot write {}", path.display());
        let temp = tempfile::NamedTempFile::new_in(folder).with_context(failed)?;
        // A temporary file is private (0600); the output is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let permissions = std::fs::Permissions::from_mode(0o644);
            temp.as_file()
                .set_permissions(permissions)
                .with_context(failed)?;
        }
        let out = BufWriter::with_capacity(1 << 20, temp.reopen().with_context(failed)?);
        Ok(AtomicFile {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
            temp,
            out,
        })
    }

    /// Flushes, syncs and renames the file over its target.
    pub fn commit(self) -> anyhow::Result<()> {
        let AtomicFile {
            path,
            folder,
            temp,
            out,
        } = self;
        let failed = || format!("cannot write {}", path.display());
        out.into_inner()
            .map_err(|e| e.into_error())
            .with_context(failed)?;
        temp.as_file().sync_all().with_context(failed)?;
        temp.persist(&path)
            .map_err(|e| e.error)
            .with_context(failed)?;
        // Make the rename itself durable; not every platform can open a folder.
        if let Ok(dir) = File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.svg");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_folder_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/out.svg");
        let error = write_atomically(&path, b"x").unwrap_err().to_string();
        assert!(
            error.contains("out.svg") && error.contains("does not exist"),
            "{error}"
        );
    }
}
