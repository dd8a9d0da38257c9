//! Scenario files: finding them, reading them strictly, checking them, and turning them into a
//! plan of runs. Owns the file format and its errors; it starts nothing and measures nothing.

mod diagnostic;
pub mod faults;
mod locate;
pub mod model;
mod plan;
mod sweep;
pub mod units;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::Diagnostic;
pub use locate::{NotFound, ScenarioDirs, locate};
pub use model::ScenarioFile;
pub use plan::{Overrides, Plan, PlannedRun, ProjectPlan, Skipped};

use model::{Deployment, Endpoint, LoadModel};

/// A scenario that parsed and passed every check.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub file: ScenarioFile,
}

/// Why a scenario could not be read: the file, its text (for snippets), and every problem.
#[derive(Debug)]
pub struct Invalid {
    pub path: PathBuf,
    pub source: String,
    pub problems: Vec<Diagnostic>,
}

impl Invalid {
    fn one(path: &Path, source: String, problem: Diagnostic) -> Self {
        Self {
            path: path.to_owned(),
            source,
            problems: vec![problem],
        }
    }

    pub fn render(&self, styled: bool) -> String {
        self.problems
            .iter()
            .map(|p| p.render(&self.source, styled))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Reads and checks the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, Invalid> {
    match std::fs::read(path) {
        Ok(bytes) => parse(path, &bytes),
        Err(e) => Err(Invalid::one(
            path,
            String::new(),
            Diagnostic {
                file: path.to_owned(),
                line: 0,
                column: 0,
                width: 1,
                message: format!("cannot read the file: {e}"),
                help: None,
            },
        )),
    }
}

/// Parses and checks scenario text. `path` only names the source in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Scenario, Invalid> {
    let source = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(bytes).into_owned();
            let line = good.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() as u64 + 1;
            let d = Diagnostic {
                file: path.to_owned(),
                line,
                column,
                width: 1,
                message: format!(
                    "not UTF-8 text: byte 0x{:02x} cannot start a character",
                    bytes[e.valid_up_to()]
                ),
                help: Some("a scenario is a YAML text file in UTF-8".into()),
            };
            return Err(Invalid::one(path, text, d));
        }
    };
    if is_blank(&source) {
        let d = Diagnostic {
            file: path.to_owned(),
            line: 1,
            column: 1,
            width: 1,
            message: "the file is empty: a scenario needs at least `name:`".into(),
            help: Some("start from `djbench list` or scenarios/README.md".into()),
        };
        return Err(Invalid::one(path, source, d));
    }
    let file: ScenarioFile = match serde_saphyr::from_str(&source) {
        Ok(file) => file,
        Err(e) => {
            let d = Diagnostic::from_yaml(path, &e);
            return Err(Invalid::one(path, source, d));
        }
    };
    let mut problems = validate::check(path, &file);
    problems.sort_by_key(|p| (p.line, p.column));
    if problems.is_empty() {
        Ok(Scenario {
            path: path.to_owned(),
            file: sweep::expanded(file),
        })
    } else {
        Err(Invalid {
            path: path.to_owned(),
            source,
            problems,
        })
    }
}

/// No YAML document at all: only white space and comments.
fn is_blank(source: &str) -> bool {
    source
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .all(|l| l.is_empty() || l.starts_with('#'))
}

/// The load shape with its defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub model: LoadModel,
    pub connections: u32,
    /// Requests per second, open loop only.
    pub rate: Option<f64>,
    pub poisson: bool,
}

impl Scenario {
    pub fn name(&self) -> &str {
        &self.file.name.value
    }

    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.file.modes.iter().map(|e| &e.value.0)
    }

    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.file.workload.endpoints.iter().map(|e| &e.value.0)
    }

    pub fn load(&self) -> Load {
        let w = &self.file.workload;
        let model = w.model.as_ref().map_or(
            if w.rate.is_some() {
                LoadModel::Open
            } else {
                LoadModel::Closed
            },
            |m| m.value,
        );
        let connections = w.connections.map_or(
            match model {
                LoadModel::Closed => 16,
                LoadModel::Open => 256,
            },
            |c| c.get(),
        );
        Load {
            model,
            connections,
            rate: w.rate.as_ref().map(|r| r.value.0),
            poisson: w
                .arrivals
                .as_ref()
                .is_some_and(|a| a.value == model::Arrivals::Poisson),
        }
    }
}
