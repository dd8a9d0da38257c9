//! djbench's own panics: what one said, and the panics its tests inject (debug builds only) to
//! reach its handling of its own bugs through the real binary. A leaf, so that any thread's
//! code (the run, the sampler) can use it without importing the modules that run them.

/// In debug builds only, panics when `DJBENCH_FAULT` names `at` (`measure`, `sampler`): how
/// the tests reach djbench's handling of its own bugs through the real binary.
pub fn fault(at: &str) {
    if cfg!(debug_assertions) && std::env::var("DJBENCH_FAULT").is_ok_and(|f| f == at) {
        panic!("DJBENCH_FAULT={at}: a panic injected for a test");
    }
}

/// What a panic said, from its payload (a `&str` or a `String` for `panic!` with a message).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}
