//! Writing the template: to stdout, or atomically to a file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the template could not be written. A file that existed is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {}: cannot create a file in {}: {error}", path.display(), dir.display())]
    NoFileInDirectory {
        path: PathBuf,
        dir: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {}: {error}", path.display())]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, then a rename,
/// so a failure leaves no half-written template and an existing file untouched.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let failed = |error| WriteError::File {
        path: path.to_owned(),
        error,
    };
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(|error| WriteError::NoFileInDirectory {
            path: path.to_owned(),
            dir: dir.to_owned(),
            error,
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Writes `text` to stdout.
pub fn print(text: &str) -> Result<(), WriteError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(WriteError::Stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_names_the_file_and_leaves_it_as_it_was() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("stack.json");
        write_atomically(&path, "{}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        let missing = dir.path().join("no-such-dir/stack.json");
        let error = write_atomically(&missing, "{}").unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "cannot write {}: cannot create a file in {}",
                missing.display(),
                dir.path().join("no-such-dir").display()
            )),
            "{error}"
        );
        // A directory where the file should be: the rename fails, the directory stays.
        let taken = dir.path().join("taken");
        std::fs::create_dir(&taken).unwrap();
        let error = write_atomically(&taken, "{}").unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("cannot write {}: ", taken.display())),
            "{error}"
        );
        assert!(taken.is_dir());
    }
}
