//! `djbench report`: summary.md and report.html (and the bmf and CSV exports) rebuilt from a
//! results.json. The reading is `results`', the writing `report`'s.

use anstream::eprintln;

use std::path::Path;

use super::Exit;

pub(super) fn report_cmd(
    results: &Path,
    out: Option<&Path>,
    exports: &[crate::cli::Export],
) -> Exit {
    let doc = match crate::results::read(results) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| results.parent().map(Path::to_path_buf).unwrap_or_default());
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| crate::report::write(&dir, &doc)) {
        eprintln!(
            "error: cannot write {}: {e}",
            dir.join("summary.md").display()
        );
        return Exit::BadInput;
    }
    print!("{}", crate::report::summary_md(&doc));
    eprintln!("\nwrote {}", dir.join("summary.md").display());
    for e in exports {
        let (name, bytes) = match e {
            crate::cli::Export::Bmf => (
                "bmf.json",
                serde_json::to_vec_pretty(&crate::report::bmf(&doc)).unwrap_or_default(),
            ),
            crate::cli::Export::Csv => {
                ("seconds.csv", crate::report::seconds_csv(&doc).into_bytes())
            }
        };
        let path = dir.join(name);
        if let Err(e) = crate::atomic::write_atomic(&path, &bytes) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::BadInput;
        }
        eprintln!("wrote {}", path.display());
    }
    Exit::Ok
}
