//! `djbench init`: finds the project (as `check` does), surveys it, and writes the starter
//! scenario, refusing to overwrite a file without --force. What is read and written is
//! `init`'s; this file owns the flags, the messages and the exit status.

use std::path::{Path, PathBuf};

use anstream::{eprintln, println};

use super::{Exit, plural};
use crate::cli::InitArgs;
use crate::init::{self, Placement};

pub(super) fn init_cmd(args: &InitArgs) -> Exit {
    let project = match args.project.find() {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    // The file as the user named it (or would find it), for the messages.
    let (out, shown) = match &args.out {
        Some(o) => (o.clone(), o.clone()),
        None if args.project.path == Path::new(".") => (
            project.dir.join("djbench.yaml"),
            PathBuf::from("djbench.yaml"),
        ),
        None => (
            project.dir.join("djbench.yaml"),
            args.project.path.join("djbench.yaml"),
        ),
    };
    let flag = if args.out.is_some() { "--out " } else { "" };
    if out.is_dir() {
        eprintln!(
            "error: {flag}{}: is a directory; expected the scenario file to write, like \
             {}/djbench.yaml",
            shown.display(),
            shown.display()
        );
        return Exit::BadInput;
    }
    if out.symlink_metadata().is_ok() && !args.force {
        eprintln!(
            "error: {flag}{}: already exists; pass --force to overwrite it",
            shown.display()
        );
        return Exit::BadInput;
    }
    let folder = match out.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_owned(),
        None => PathBuf::from("."),
    };
    let folder = match std::fs::create_dir_all(&folder).and_then(|()| folder.canonicalize()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "error: {flag}{}: cannot make its folder {}: {e}",
                shown.display(),
                folder.display()
            );
            return Exit::BadInput;
        }
    };

    let survey = init::survey(&project, args.project.settings.is_none());
    let placement = Placement {
        app_path: init::relative(&folder, &survey.dir)
            .to_string_lossy()
            .replace('\\', "/"),
        file_name: out
            .file_name()
            .map_or("djbench.yaml".into(), |n| n.to_string_lossy().into_owned()),
    };
    let text = init::render(&survey, &placement);
    if let Err(e) = crate::atomic::write_atomic(&out, text.as_bytes()) {
        eprintln!("error: {flag}{}: cannot write it: {e}", shown.display());
        return Exit::BadInput;
    }

    let routes = &survey.urls.routes;
    let get = routes.iter().filter(|r| r.takes_get()).count();
    let body = routes.len() - get;
    let env: Vec<&str> = survey
        .env
        .iter()
        .filter(|(r, _)| init::placeholder(&r.name).is_some())
        .map(|(r, _)| r.name.as_str())
        .collect();
    println!(
        "wrote {}: {} (settings {}, requirements {})",
        shown.display(),
        survey.name,
        survey.settings,
        project.requirements.path().display()
    );
    println!(
        "  endpoints: {}{}",
        if get == 0 {
            "none found, `/` written for you to edit".to_owned()
        } else {
            plural(get, "GET")
        },
        if body == 0 {
            String::new()
        } else {
            format!(", {body} more commented out (they need a request body)")
        }
    );
    println!(
        "  env: {}",
        if env.is_empty() {
            "none (the settings read no database or broker variable)".to_owned()
        } else {
            env.join(", ")
        }
    );
    println!(
        "  setup: migrate{}",
        survey
            .fixtures
            .iter()
            .map(|f| format!(", loaddata {}", f.name))
            .collect::<String>()
    );
    println!("next: djbench scenario {}", shell_word(&shown));
    Exit::Ok
}

/// A path as one shell word: as is when safe, else single-quoted.
fn shell_word(path: &Path) -> String {
    let s = path.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%~".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
