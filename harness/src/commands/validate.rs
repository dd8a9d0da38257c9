//! `djbench validate`: checks scenario files and says how many runs each plans. It runs
//! nothing.

use anstream::{eprintln, println};

use std::time::SystemTime;

use super::{Exit, load, plural};
use crate::scenario::{Overrides, Plan, ScenarioDirs};

pub(super) fn validate(given: &[String], dirs: &ScenarioDirs) -> Exit {
    let mut bad = 0;
    for name in given {
        match load(name, dirs) {
            Ok(s) => {
                let plan = Plan::new(&s, &Overrides::default(), SystemTime::now());
                println!(
                    "ok   {}  ({}: {} × {}, {} runs)",
                    s.path.display(),
                    s.name(),
                    plural(s.file.modes.len(), "deployment"),
                    plural(plan.repetitions as usize, "repetition"),
                    plan.runs.len()
                );
            }
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} invalid", plural(given.len(), "scenario"));
        Exit::BadInput
    } else {
        Exit::Ok
    }
}
