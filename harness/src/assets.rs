//! The files djbench ships beside its code (the sample Django project with its launchers,
//! requirement pins and seed data, and the shipped scenarios) and where djbench keeps files on this machine.
//! The files are embedded in the binary at build time and written once into the cache, under
//! a hash of their content, so an installed djbench (`cargo install`, a wheel) works from any
//! directory and a rebuilt one never serves an older copy. It knows nothing of what the files
//! mean, and imports nothing else of djbench.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

static SAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../django_sample");
static SCENARIOS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../scenarios");
/// The seed data `manage.py seed` loads, found from the sample app at `../fixtures/seed`.
static SEED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/seed");

/// Each embedded tree and where it goes below the root, as the checkout lays them out.
const TREES: [(&str, &Dir<'static>); 3] = [
    ("django_sample", &SAMPLE),
    ("scenarios", &SCENARIOS),
    ("fixtures/seed", &SEED),
];

/// `$XDG_CACHE_HOME/djbench`, else `$HOME/.cache/djbench` (`/tmp/djbench` with neither).
pub fn cache_root() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join("djbench")
}

/// The folder holding `django_sample/`, `scenarios/` and `fixtures/seed/`, written on first use. When it cannot
/// be written, that is said once, and whatever then reads from it names the missing path.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = cache_root().join("shipped").join(content_hash());
        if !dir.is_dir()
            && let Err(e) = write_all(&dir)
        {
            eprintln!(
                "djbench: warning: could not write its sample app and scenarios into {}: {e}",
                dir.display()
            );
        }
        dir
    })
}

/// The sample Django project the deployments serve.
pub fn sample_dir() -> PathBuf {
    root().join("django_sample")
}

/// The shipped scenarios, where a bare name is looked up after `./scenarios`.
pub fn scenarios_dir() -> PathBuf {
    root().join("scenarios")
}

/// Sixteen hex digits of a hash over every embedded file's path and content.
fn content_hash() -> String {
    let mut h = Sha256::new();
    for (name, dir) in TREES {
        for f in files(dir) {
            h.update(name.as_bytes());
            h.update(f.path().as_os_str().as_encoded_bytes());
            h.update((f.contents().len() as u64).to_le_bytes());
            h.update(f.contents());
        }
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file below `dir`, bytecode caches left out (a checkout that ran Python has them).
fn files<'a>(dir: &'a Dir<'a>) -> Vec<&'a include_dir::File<'a>> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in d.entries() {
            match e {
                include_dir::DirEntry::Dir(sub) if !sub.path().ends_with("__pycache__") => {
                    stack.push(sub);
                }
                include_dir::DirEntry::File(f)
                    if f.path().extension().is_none_or(|x| x != "pyc") =>
                {
                    out.push(f);
                }
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

/// Writes both trees beside `dir`, then renames them into place: a reader never sees half of
/// them, and two djbench processes writing at once both end with the same complete copy.
fn write_all(dir: &Path) -> io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let staging = parent.join(format!(
        ".{}.{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&staging);
    for (name, tree) in TREES {
        for f in files(tree) {
            let path = staging.join(name).join(f.path());
            if let Some(p) = path.parent() {
                fs::create_dir_all(p)?;
            }
            fs::write(&path, f.contents())?;
        }
    }
    match fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // Another process got there first with the same content.
        Err(_) if dir.is_dir() => fs::remove_dir_all(&staging),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_are_written_once_and_match_the_checkout() {
        let sample = sample_dir();
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for f in [
            "manage.py",
            "serve/subinterpreters.py",
            "requirements/gil.txt",
        ] {
            assert_eq!(
                fs::read(sample.join(f)).unwrap(),
                fs::read(checkout.join("django_sample").join(f)).unwrap(),
                "{f}"
            );
        }
        let scenarios = scenarios_dir();
        assert!(scenarios.join("compare_modes.yaml").is_file());
        // Where the sample app's `seed` command looks for its data.
        assert!(sample.join("../fixtures/seed/articles.csv").is_file());
        assert_eq!(sample_dir(), sample);
        assert_eq!(content_hash().len(), 16);
    }
}
