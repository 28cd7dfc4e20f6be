//! Writing a file atomically: the bytes go to a temporary file (`.tmp-*`)
//! in the target's folder, which is flushed to disk (`fsync`) and renamed
//! over the target, and then the folder is synced so the rename itself
//! survives a crash. A reader sees the old file or the whole new one, never
//! half of it, and a write that fails or is dropped before
//! [`AtomicFile::commit`] leaves the old file as it was and no temporary
//! file behind. Serves the registry's artifacts and, through the CLI, every
//! output file; [`stage_folder`] does the same for a whole folder (an
//! export), which the caller renames into place.

use std::fs::{self, Permissions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// What the temporary files of a write are named: `.tmp-` and a random
/// tail. The registry counts such a file as an unfinished write.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Bytes buffered before they are written to the temporary file.
const BUFFER: usize = 1 << 20;

/// The step of an atomic write that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creating the temporary file in the target's folder (`path`: the
    /// folder).
    Create,
    /// Creating a temporary folder for a staged folder (`path`: the folder
    /// it is created in).
    CreateFolder,
    /// Setting the permissions of a staged folder (`path`: that folder).
    Permissions,
    /// Writing, flushing or setting the permissions of the temporary file
    /// (`path`: the temporary file).
    Write,
    /// Syncing the temporary file to disk (`path`: the temporary file).
    Sync,
    /// Renaming the temporary file over the target (`path`: the target).
    Rename,
    /// Syncing the folder after the rename (`path`: the folder).
    SyncFolder,
}

/// A failed step of an atomic write, with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{} {}", step.describe(), path.display())]
pub struct WriteError {
    pub step: Step,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl Step {
    /// The words that open the message of a failure at this step.
    fn describe(self) -> &'static str {
        match self {
            Step::Create => "cannot create a temporary file in",
            Step::CreateFolder => "cannot create a temporary folder in",
            Step::Permissions => "cannot set permissions on",
            Step::Write => "cannot write",
            Step::Sync => "cannot sync",
            Step::Rename => "cannot rename a temporary file to",
            Step::SyncFolder => "cannot sync the folder",
        }
    }

    fn at(self, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
        let path = path.to_path_buf();
        move |source| WriteError {
            step: self,
            path,
            source,
        }
    }
}

/// A file being written: a temporary file in the target's folder until
/// [`AtomicFile::commit`] renames it over the target. Dropped without a
/// commit (an error, an interruption), it is removed.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    folder: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `target`: creates the temporary file in its folder
    /// (`.` for a bare file name), private to this user (0600) until
    /// [`AtomicFile::set_permissions`] says otherwise.
    pub fn create(target: &Path) -> Result<AtomicFile, WriteError> {
        let folder = folder_of(target);
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&folder)
            .map_err(Step::Create.at(&folder))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            folder,
            out: BufWriter::with_capacity(BUFFER, temp),
        })
    }

    /// The temporary file the bytes go to until the commit.
    pub fn temp_path(&self) -> &Path {
        self.out.get_ref().path()
    }

    /// Sets the permissions the file will have once committed.
    pub fn set_permissions(&self, permissions: Permissions) -> Result<(), WriteError> {
        self.out
            .get_ref()
            .as_file()
            .set_permissions(permissions)
            .map_err(Step::Write.at(self.temp_path()))
    }

    /// Flushes the bytes, syncs the temporary file, renames it over the
    /// target and syncs the folder. The file is in place once the rename
    /// is done: a [`Step::SyncFolder`] error means only that the rename
    /// may not survive a crash.
    pub fn commit(self) -> Result<(), WriteError> {
        let AtomicFile {
            target,
            folder,
            out,
        } = self;
        let temp = out.into_inner().map_err(|e| {
            let (source, out) = e.into_parts();
            Step::Write.at(out.get_ref().path())(source)
        })?;
        temp.as_file()
            .sync_all()
            .map_err(Step::Sync.at(temp.path()))?;
        temp.persist(&target)
            .map_err(|e| Step::Rename.at(&target)(e.error))?;
        sync_dir(&folder)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes `bytes` to `path` atomically, replacing the file there.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let mut file = AtomicFile::create(path)?;
    if let Err(source) = file.write_all(bytes) {
        return Err(Step::Write.at(file.temp_path())(source));
    }
    file.commit()
}

/// Writes `files` (name, bytes) into a new temporary folder in `parent`
/// named `prefix` and a random tail: every file synced, the folder made an
/// ordinary one (0755 where there are modes; a temporary folder is
/// private) and synced. The caller renames it into place; dropped before,
/// it is removed with what it holds.
pub fn stage_folder(
    parent: &Path,
    prefix: &str,
    files: &[(&str, Vec<u8>)],
) -> Result<tempfile::TempDir, WriteError> {
    let staging = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(Step::CreateFolder.at(parent))?;
    for (name, bytes) in files {
        let path = staging.path().join(name);
        let mut file = fs::File::create(&path).map_err(Step::Write.at(&path))?;
        file.write_all(bytes).map_err(Step::Write.at(&path))?;
        file.sync_all().map_err(Step::Write.at(&path))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(staging.path(), Permissions::from_mode(0o755))
            .map_err(Step::Permissions.at(staging.path()))?;
    }
    // Durability only: a folder that cannot be synced is still written.
    let _ = sync_dir(staging.path());
    Ok(staging)
}

/// Makes a rename or a file creation in `dir` durable (`fsync` of the
/// folder). A no-op where folders cannot be opened for it.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Step::SyncFolder.at(dir))
}

/// Folders cannot be opened for `fsync` on this platform.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> Result<(), WriteError> {
    Ok(())
}

/// The folder `path` is in: its parent, or `.` for a bare file name.
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `dir` holds no temporary file of an atomic write.
#[cfg(test)]
fn no_temp_files(dir: &Path) -> bool {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_staged_folder_holds_every_file_and_goes_away_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let files = [("a.json", b"{}".to_vec()), ("b.bin", vec![1, 2, 3])];
        let staged = stage_folder(dir.path(), ".stage-", &files).unwrap();
        let path = staged.path().to_path_buf();
        assert!(path.starts_with(dir.path()));
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".stage-")
        );
        assert_eq!(fs::read(path.join("a.json")).unwrap(), b"{}");
        assert_eq!(fs::read(path.join("b.bin")).unwrap(), [1, 2, 3]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        drop(staged);
        assert!(!path.exists());
        let missing = dir.path().join("missing");
        let error = stage_folder(&missing, ".stage-", &files).unwrap_err();
        assert_eq!(error.step, Step::CreateFolder);
        assert!(
            error
                .to_string()
                .starts_with("cannot create a temporary folder in")
        );
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_write_stopped_midway_keeps_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept.bin");
        fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(&[7; 3 << 20]).unwrap();
        let temp = file.temp_path().to_path_buf();
        assert!(temp.starts_with(dir.path()), "{}", temp.display());
        assert!(temp.is_file());
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert!(!temp.exists());
        assert!(no_temp_files(dir.path()));
    }

    #[test]
    fn a_failed_rename_keeps_the_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder with a file in it cannot be replaced by a file.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"mine").unwrap();
        let error = write_atomically(&path, b"new").unwrap_err();
        assert_eq!(error.step, Step::Rename);
        assert_eq!(error.path, path);
        assert!(error.to_string().contains("taken"), "{error}");
        assert_eq!(fs::read(path.join("inside")).unwrap(), b"mine");
        assert!(no_temp_files(dir.path()));
    }

    #[test]
    fn a_missing_folder_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("nope");
        let error = write_atomically(&folder.join("out.bin"), b"x").unwrap_err();
        assert_eq!(error.step, Step::Create);
        assert_eq!(error.path, folder);
        assert_eq!(error.source.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_folder_is_synced_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        sync_dir(dir.path()).unwrap();
        if cfg!(unix) {
            let gone = dir.path().join("gone");
            let error = sync_dir(&gone).unwrap_err();
            assert_eq!((error.step, error.path), (Step::SyncFolder, gone));
        }
    }

    /// A folder this process cannot read cannot be opened to sync it: the
    /// commit says so after the rename (unless the process reads every
    /// folder anyway, as root does).
    #[cfg(unix)]
    #[test]
    fn the_commit_syncs_the_folder() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("write-only");
        fs::create_dir(&folder).unwrap();
        fs::set_permissions(&folder, Permissions::from_mode(0o300)).unwrap();
        let path = folder.join("out.bin");
        let result = write_atomically(&path, b"x");
        let readable = fs::read_dir(&folder).is_ok();
        fs::set_permissions(&folder, Permissions::from_mode(0o700)).unwrap();
        if readable {
            result.unwrap();
        } else {
            let error = result.unwrap_err();
            assert_eq!((error.step, error.path), (Step::SyncFolder, folder));
        }
        assert_eq!(fs::read(&path).unwrap(), b"x");
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_folder() {
        assert_eq!(folder_of(Path::new("out.csv")), PathBuf::from("."));
        assert_eq!(folder_of(Path::new("a/out.csv")), PathBuf::from("a"));
    }

    #[cfg(unix)]
    #[test]
    fn permissions_set_before_the_commit_are_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.txt");
        let mut file = AtomicFile::create(&path).unwrap();
        file.set_permissions(Permissions::from_mode(0o644)).unwrap();
        file.write_all(b"hello").unwrap();
        file.commit().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
