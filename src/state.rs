//! The small files adapters keep beside their store (a session, the rooms or
//! threads made for hand-offs): readable by the bot's account only, written
//! whole or not at all, and read leniently (a damaged file is reported and
//! the adapter starts afresh rather than not at all).

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

/// Creates a folder readable by this user only.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes a file readable by this user only, through a temporary file and a
/// rename, so a crash never leaves half of it.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
}

/// A JSON state file, or the empty state when there is none or it cannot be
/// read (`what` names it in the error log).
pub fn load_json<T: DeserializeOwned + Default>(path: &Path, what: &str) -> T {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            // Kept aside for a person to look at, never overwritten.
            let aside = path.with_extension("damaged");
            let _ = std::fs::rename(path, &aside);
            tracing::error!(error = %e, file = %aside.display(), "{what} is unreadable and was set aside; starting empty");
            T::default()
        }),
        Err(_) => T::default(),
    }
}

pub fn save_json<T: Serialize>(path: &Path, value: &T, what: &str) {
    let result = serde_json::to_vec_pretty(value)
        .map_err(std::io::Error::other)
        .and_then(|bytes| write_private(path, &bytes));
    if let Err(e) = result {
        tracing::error!(error = %e, "{what} could not be saved");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_state_file_starts_empty_and_a_saved_one_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.json");
        std::fs::write(&path, "{ half a fi").unwrap();
        let empty: std::collections::BTreeMap<i64, String> = load_json(&path, "the book");
        assert!(empty.is_empty());
        assert!(dir.path().join("book.damaged").exists(), "kept aside");
        let book = std::collections::BTreeMap::from([(1i64, "x".to_string())]);
        save_json(&path, &book, "the book");
        let read: std::collections::BTreeMap<i64, String> = load_json(&path, "the book");
        assert_eq!(read, book);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
