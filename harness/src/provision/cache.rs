//! The provisioning cache (`$XDG_CACHE_HOME/djbench`, default `~/.cache/djbench`): where things
//! live, the lock that keeps two djbench processes from building the same thing, and the marker
//! that says a tree is complete. It knows nothing of what is built.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Written last into a finished tree; a tree without it is half-built and ignored.
pub const MARKER: &str = ".djbench-complete.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `$XDG_CACHE_HOME/djbench`, else `$HOME/.cache/djbench`.
    pub fn from_env() -> Self {
        Self::at(crate::assets::cache_root())
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Build logs, kept after success and failure alike.
    pub fn log(&self, name: &str) -> io::Result<PathBuf> {
        let dir = self.dir("logs");
        fs::create_dir_all(&dir)?;
        Ok(dir.join(format!("{name}.log")))
    }

    /// The build log of the tree at `dir`: `logs/KIND-NAME.log`, NAME the tree's folder name.
    pub fn log_for(&self, kind: &str, dir: &Path) -> io::Result<PathBuf> {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        self.log(&format!("{kind}-{name}"))
    }

    /// Removes the tree at `dir` if there is one (what a build that stopped half-way left, or a
    /// stale copy), read-only folders included, so the next build starts clean.
    pub fn remove_tree(dir: &Path) -> io::Result<()> {
        if dir.exists() {
            make_writable(dir);
            fs::remove_dir_all(dir)?;
        }
        Ok(())
    }

    /// Takes the cache-wide lock, calling `waiting` with the holder's pid when another process
    /// has it. Held until the returned guard drops.
    pub fn lock(&self, waiting: impl FnOnce(&str)) -> io::Result<CacheLock> {
        fs::create_dir_all(&self.root)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.root.join(".lock"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                waiting(holder.trim());
                file.lock()?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        Ok(CacheLock { _file: file })
    }

    /// The marker of a finished tree, or None when it is missing or half-built.
    pub fn completed<T: DeserializeOwned>(dir: &Path) -> Option<T> {
        let text = fs::read_to_string(dir.join(MARKER)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn mark_complete<T: Serialize>(dir: &Path, facts: &T) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(facts).map_err(io::Error::other)?;
        crate::atomic::write_atomic(&dir.join(MARKER), &json)
    }

    /// Removes everything but the lock file.
    pub fn clean(&self) -> io::Result<()> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Ok(());
        };
        for entry in entries {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n == ".lock") {
                continue;
            }
            if path.is_dir() && !path.is_symlink() {
                Cache::remove_tree(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
        Ok(())
    }
}

/// Some unpacked trees (Debian packages) hold read-only folders that remove_dir_all trips on.
fn make_writable(dir: &Path) {
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(dir)
        .status();
}

/// Holds the cache lock; dropping it releases the lock.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

/// Moves a finished staging tree into place, replacing a stale (unmarked) one.
pub fn install_tree(staging: &Path, dest: &Path) -> io::Result<()> {
    Cache::remove_tree(dest)?;
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::rename(staging, dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_second_locker_waits_and_learns_who_holds_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path());
        let held = cache.lock(|_| panic!("nobody holds it yet")).unwrap();
        let (tx, rx) = mpsc::channel();
        let other = cache.clone();
        let waiter = std::thread::spawn(move || {
            let _second = other
                .lock(|holder| tx.send(holder.to_owned()).unwrap())
                .unwrap();
        });
        let holder = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(holder, std::process::id().to_string());
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiter.is_finished(), "the second locker must wait");
        drop(held);
        waiter.join().unwrap();
    }

    #[test]
    fn a_tree_counts_only_once_marked_complete() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        fs::create_dir_all(&tree).unwrap();
        assert_eq!(Cache::completed::<String>(&tree), None);
        Cache::mark_complete(&tree, &"facts".to_owned()).unwrap();
        assert_eq!(Cache::completed::<String>(&tree).as_deref(), Some("facts"));
    }

    #[test]
    fn clean_keeps_the_lock_and_removes_read_only_trees() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path());
        let _lock = cache.lock(|_| {}).unwrap();
        let ro = cache.dir("python/x/sub");
        fs::create_dir_all(&ro).unwrap();
        fs::write(ro.join("f"), "x").unwrap();
        std::process::Command::new("chmod")
            .args(["a-w"])
            .arg(&ro)
            .status()
            .unwrap();
        cache.clean().unwrap();
        assert!(!cache.dir("python").exists());
        assert!(cache.root().join(".lock").exists());
    }
}
