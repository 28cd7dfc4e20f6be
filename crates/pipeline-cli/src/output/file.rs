//! Writing an output file (a report, a chart) atomically: a temporary file
//! in the target's folder, flushed to disk, then renamed over the target,
//! so a reader never sees half a file and a failure leaves no debris.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

use crate::exit::UserError;

/// Writes `bytes` to `path`, replacing any file there.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
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
    let mut file = tempfile::NamedTempFile::new_in(folder).with_context(failed)?;
    // A temporary file is private (0600); the output is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let permissions = std::fs::Permissions::from_mode(0o644);
        file.as_file()
            .set_permissions(permissions)
            .with_context(failed)?;
    }
    file.write_all(bytes).with_context(failed)?;
    file.as_file().sync_all().with_context(failed)?;
    file.persist(path)
        .map_err(|e| e.error)
        .with_context(failed)?;
    // Make the rename itself durable; not every platform can open a folder.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
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
