//! Writing an output file (a report, a chart, predictions) atomically: a
//! temporary file in the target's folder, flushed to disk, then renamed over
//! the target ([`pipeline_registry::atomic`]), so a reader never sees half a
//! file and a failure leaves no debris. A link is followed (the file it
//! names is replaced, the link kept); a device or a pipe (`/dev/null`, a
//! FIFO) is written to as it is, never replaced; a read-only file is
//! refused, and so is a file of the registry ([`RegistryFiles`]).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pipeline_registry::atomic::{self, Step, WriteError};

use crate::exit::UserError;
use pipeline_registry::RegistryFiles;

/// Writes `bytes` to `path`, replacing any file there but the registry's.
pub fn write_atomically(path: &Path, bytes: &[u8], registry: &RegistryFiles) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path, registry)?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.commit()
}

/// A file being written: a temporary file in the target's folder until
/// [`AtomicFile::commit`] renames it over the target. Dropped without a
/// commit (an error, an interruption), it is removed.
pub struct AtomicFile {
    /// The path as the user gave it (for messages).
    path: PathBuf,
    into: Destination,
}

/// Where the bytes go until the commit.
enum Destination {
    /// A temporary file, renamed over the file a link names, or the path
    /// itself.
    Temp(atomic::AtomicFile),
    /// Not a regular file (a device, a pipe): written to directly.
    Special(BufWriter<File>),
}

impl AtomicFile {
    /// Starts writing `path`; refused when it is one of `registry`'s files.
    pub fn create(path: &Path, registry: &RegistryFiles) -> anyhow::Result<AtomicFile> {
        registry.check_file(path)?;
        let failed = || format!("cannot write {}", path.display());
        // Follow a link to the file it names: that file is the one replaced.
        let target = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(_) => match std::fs::read_link(path) {
                // A link to a file not there yet: create that file.
                Ok(to) => path.parent().map_or(to.clone(), |dir| dir.join(&to)),
                Err(_) => path.to_path_buf(),
            },
        };
        if let Ok(metadata) = std::fs::metadata(&target) {
            if metadata.is_dir() {
                return Err(UserError::error(
                    format!("cannot write {}: it is a folder", path.display()),
                    Some("name a file in it, or another file"),
                ));
            }
            if !metadata.is_file() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .with_context(failed)?;
                return Ok(AtomicFile {
                    path: path.to_path_buf(),
                    into: Destination::Special(BufWriter::with_capacity(1 << 16, file)),
                });
            }
            if metadata.permissions().readonly() {
                return Err(UserError::error(
                    format!("cannot write {}: the file is read-only", path.display()),
                    Some("name another file, or make this one writable (chmod u+w)"),
                ));
            }
        }
        let folder = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
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
        let temp = match atomic::AtomicFile::create(&target) {
            Ok(temp) => temp,
            Err(e) if e.source.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(UserError::error(
                    format!(
                        "cannot write {}: no permission to create files in {}",
                        path.display(),
                        folder.display()
                    ),
                    Some("name a file in a folder you can write to"),
                ));
            }
            Err(e) => return Err(e.source).with_context(failed),
        };
        // A temporary file is private (0600); the output is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let permissions = std::fs::Permissions::from_mode(0o644);
            temp.set_permissions(permissions)
                .map_err(|e| e.source)
                .with_context(failed)?;
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            into: Destination::Temp(temp),
        })
    }

    /// Flushes, syncs and renames the file over its target (a device or a
    /// pipe: flushes).
    pub fn commit(self) -> anyhow::Result<()> {
        let AtomicFile { path, into } = self;
        let failed = || format!("cannot write {}", path.display());
        match into {
            Destination::Special(out) => {
                out.into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(failed)?;
                Ok(())
            }
            Destination::Temp(temp) => match temp.commit() {
                // The file is in place; not every platform can sync a folder.
                Ok(())
                | Err(WriteError {
                    step: Step::SyncFolder,
                    ..
                }) => Ok(()),
                Err(e) => Err(e.source).with_context(failed),
            },
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.into {
            Destination::Temp(temp) => temp.write(buf),
            Destination::Special(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.into {
            Destination::Temp(temp) => temp.flush(),
            Destination::Special(out) => out.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A registry elsewhere: no file of these tests is one of its.
    fn registry() -> RegistryFiles {
        RegistryFiles::of(Path::new("/nonexistent/registry/registry.db"))
    }

    fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        super::write_atomically(path, bytes, &registry())
    }

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
        let mut file = AtomicFile::create(&path, &registry()).unwrap();
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

    #[test]
    fn a_link_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(link.is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A link to a file not there yet creates it.
        let later = dir.path().join("later.csv");
        std::os::unix::fs::symlink("made.csv", &later).unwrap();
        write_atomically(&later, b"made").unwrap();
        assert!(later.is_symlink());
        assert_eq!(std::fs::read(dir.path().join("made.csv")).unwrap(), b"made");
    }

    #[test]
    fn a_device_is_written_to_not_replaced() {
        write_atomically(Path::new("/dev/null"), b"gone").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        // A full device reports its error instead of being replaced.
        if Path::new("/dev/full").exists() {
            let error = write_atomically(Path::new("/dev/full"), &[0; 1 << 17]).unwrap_err();
            assert!(format!("{error:#}").contains("/dev/full"), "{error:#}");
            assert!(!std::fs::metadata("/dev/full").unwrap().is_file());
        }
    }

    #[test]
    fn a_read_only_file_is_refused_and_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept.csv");
        std::fs::write(&path, b"mine").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let error = write_atomically(&path, b"x").unwrap_err().to_string();
        assert!(error.contains("read-only"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    }
}
