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

/// Parses and checks scenario text. `path` only names the source in errors. Per-core worker
/// counts (`4/core`) are multiplied out over the CPUs the deployments will run on.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Scenario, Invalid> {
    parse_for(path, bytes, None)
}

/// [`parse`], with per-core counts multiplied by `cores` instead of the CPUs found here.
pub fn parse_for(path: &Path, bytes: &[u8], cores: Option<u32>) -> Result<Scenario, Invalid> {
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
    let mut file = file;
    let cores = cores.unwrap_or_else(|| deployment_cores(&file));
    let mut problems = per_core(path, &mut file, cores);
    problems.extend(validate::check(path, &file));
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

/// CPUs the deployments run on: the scenario's `isolation.deployment` set, else every CPU
/// djbench may use.
pub fn deployment_cores(file: &ScenarioFile) -> u32 {
    match &file.isolation {
        Some(iso) if !iso.value.deployment.is_empty() => iso.value.deployment.len() as u32,
        _ => crate::host::cores() as u32,
    }
}

/// Multiplies every per-core worker count out over `cores`, each product checked at its place.
fn per_core(path: &Path, file: &mut ScenarioFile, cores: u32) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for entry in &mut file.modes {
        let d = &mut entry.value.0;
        for (key, w) in [
            ("web_workers", &mut d.web_workers),
            ("task_workers", &mut d.task_workers),
        ] {
            if let Err(why) = w.value.resolve(cores) {
                out.push(
                    Diagnostic::at(path, w.referenced, format!("`{key}`: {why}"))
                        .with_help("write a smaller number a core, or a plain number".to_owned()),
                );
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::parse_for;

    const TALK: &str = "name: t\nmodes:\n  - {mode: gunicorn_celery, web_workers: 1/core}\n  - \
                        {mode: free_threaded, web_workers: 4/core, task_workers: 3}\n";

    #[test]
    fn a_count_a_core_is_multiplied_by_the_cores_and_a_plain_count_is_not() {
        for cores in [2, 8] {
            let s = parse_for(Path::new("t.yaml"), TALK.as_bytes(), Some(cores)).unwrap();
            let counts: Vec<(u32, Option<u32>, u32)> = s
                .deployments()
                .map(|d| {
                    let w = d.web_workers.value;
                    (w.get(), w.per_core(), d.task_workers.value.get())
                })
                .collect();
            assert_eq!(counts, [(cores, Some(1), 2), (4 * cores, Some(4), 3)]);
        }
    }

    #[test]
    fn a_count_a_core_is_written_back_as_written() {
        let s = parse_for(Path::new("t.yaml"), TALK.as_bytes(), Some(2)).unwrap();
        let json = serde_json::to_value(&s.file.modes[1]).unwrap();
        assert_eq!(json["web_workers"], "4/core");
        assert_eq!(json["task_workers"], 3);
        let d = s.deployments().nth(1).unwrap();
        assert_eq!(d.web_workers.value.to_string(), "8 (4/core)");
    }

    #[test]
    fn a_product_past_the_limit_is_an_error_at_its_value() {
        let yaml = "name: t\nmodes:\n  - mode: free_threaded\n    web_workers: 100/core\n";
        let e = parse_for(Path::new("t.yaml"), yaml.as_bytes(), Some(4)).unwrap_err();
        let p = &e.problems[0];
        assert_eq!((p.line, p.column), (4, 18), "{p}");
        assert!(
            p.message
                .contains("`100/core` is 400 on this machine's 4 cores: at most 256"),
            "{p}"
        );
        assert!(parse_for(Path::new("t.yaml"), yaml.as_bytes(), Some(2)).is_ok());
    }

    #[test]
    fn a_misspelt_count_a_core_says_what_is_expected() {
        for bad in ["4/cores", "0/core", "four/core", "-1/core"] {
            let yaml =
                format!("name: t\nmodes:\n  - mode: free_threaded\n    web_workers: {bad}\n");
            let e = parse_for(Path::new("t.yaml"), yaml.as_bytes(), Some(2)).unwrap_err();
            assert!(
                e.problems[0].message.contains("such as `4/core`"),
                "{bad}: {}",
                e.problems[0]
            );
        }
    }
}
