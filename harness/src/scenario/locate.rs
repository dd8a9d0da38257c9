//! Finding a scenario file from what the user typed: a path, or a bare name that resolves in a
//! `scenarios/` folder. Touches nothing but the file system's metadata.

use std::fmt;
use std::path::{Path, PathBuf};

/// The folders a bare name is looked up in, in order: `./scenarios`, then the shipped
/// scenarios this build of djbench carries (written into its cache by `assets`).
#[derive(Debug, Clone)]
pub struct ScenarioDirs(pub Vec<PathBuf>);

impl Default for ScenarioDirs {
    fn default() -> Self {
        Self(vec![
            PathBuf::from("scenarios"),
            crate::assets::scenarios_dir(),
        ])
    }
}

impl ScenarioDirs {
    /// The first folder that exists: where `list` looks.
    pub fn first_existing(&self) -> Option<&Path> {
        self.0.iter().map(PathBuf::as_path).find(|d| d.is_dir())
    }
}

/// No file found for what the user typed; says every path tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    pub given: String,
    pub tried: Vec<PathBuf>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "no scenario `{}`; tried:", self.given)?;
        for path in &self.tried {
            writeln!(f, "  {}", path.display())?;
        }
        write!(f, "`djbench list` shows the shipped scenarios")
    }
}

/// Resolves `given`: an existing path wins; a name without a folder is then looked up as
/// `DIR/NAME` and `DIR/NAME.yaml` in each scenario folder.
pub fn locate(given: &str, dirs: &ScenarioDirs) -> Result<PathBuf, NotFound> {
    let direct = PathBuf::from(given);
    let mut tried = vec![direct.clone()];
    if direct.is_file() {
        return Ok(direct);
    }
    let bare = !given.contains('/') && !given.is_empty();
    if bare {
        for dir in &dirs.0 {
            let mut candidates = vec![dir.join(given)];
            if !given.ends_with(".yaml") && !given.ends_with(".yml") {
                candidates.insert(0, dir.join(format!("{given}.yaml")));
            }
            for candidate in candidates {
                if candidate.is_file() {
                    return Ok(candidate);
                }
                tried.push(candidate);
            }
        }
    }
    Err(NotFound {
        given: given.to_owned(),
        tried,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs_with(files: &[&str]) -> (tempfile::TempDir, ScenarioDirs) {
        let tmp = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(tmp.path().join(f), "name: x\n").unwrap();
        }
        let dirs = ScenarioDirs(vec![tmp.path().to_owned()]);
        (tmp, dirs)
    }

    #[test]
    fn a_bare_name_resolves_with_or_without_its_extension() {
        let (tmp, dirs) = dirs_with(&["free_threaded.yaml"]);
        let want = tmp.path().join("free_threaded.yaml");
        assert_eq!(locate("free_threaded", &dirs).unwrap(), want);
        assert_eq!(locate("free_threaded.yaml", &dirs).unwrap(), want);
    }

    #[test]
    fn a_missing_name_lists_every_path_tried() {
        let (tmp, dirs) = dirs_with(&[]);
        let err = locate("nope", &dirs).unwrap_err();
        assert_eq!(
            err.tried,
            vec![
                PathBuf::from("nope"),
                tmp.path().join("nope.yaml"),
                tmp.path().join("nope")
            ]
        );
        assert!(err.to_string().contains("nope.yaml"));
    }

    #[test]
    fn a_path_with_a_folder_is_not_looked_up_by_name() {
        let (_tmp, dirs) = dirs_with(&["x.yaml"]);
        let err = locate("elsewhere/x.yaml", &dirs).unwrap_err();
        assert_eq!(err.tried, vec![PathBuf::from("elsewhere/x.yaml")]);
    }
}
