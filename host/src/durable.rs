//! Files that must survive a crash whole: written beside their final name,
//! fsynced, renamed into place, and the rename itself made durable by an
//! fsync of the directory (a rename lives in the directory, not the file).

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` so that after a crash the file is either absent
/// or whole, and once this returns it is there. Creates the parent
/// directory if needed (and makes that creation durable too). Concurrent
/// writers of the same path each use their own temporary file; the last
/// rename wins.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", uuid::Uuid::now_v7().simple()));
    let tmp = std::path::PathBuf::from(tmp);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// Makes the entries of `dir` (creations, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_whole_files_into_new_directories_and_leaves_no_temporary() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("ab").join("cd").join("blob");
        super::write_file(&path, b"first").unwrap();
        super::write_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["blob"], "no temporary file is left behind");
    }
}
