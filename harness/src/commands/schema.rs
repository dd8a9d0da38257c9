//! `djbench schema`: the JSON Schema of a scenario file, from its typed model.

use super::{Exit, print_json};
use crate::scenario::model::ScenarioFile;

pub(super) fn schema() -> Exit {
    let schema = schemars::schema_for!(ScenarioFile);
    print_json(&schema);
    Exit::Ok
}
