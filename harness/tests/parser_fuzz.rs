//! Whatever bytes a scenario file holds, reading it and rendering its errors must not panic:
//! a user's mistake gets a message, never a backtrace.

use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;

static SHIPPED: LazyLock<Vec<String>> = LazyLock::new(shipped_texts);

fn shipped_texts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.sort();
    texts
}

/// Parses, and on failure renders every diagnostic, checking it points into the file.
fn read_and_render(bytes: &[u8]) {
    match djbench::scenario::parse(Path::new("fuzz.yaml"), bytes) {
        Ok(s) => {
            // A scenario that parsed must also plan.
            let plan = djbench::scenario::Plan::new(
                &s,
                &Default::default(),
                std::time::SystemTime::UNIX_EPOCH,
            );
            assert!(!plan.runs.is_empty());
        }
        Err(invalid) => {
            assert!(!invalid.problems.is_empty());
            for styled in [false, true] {
                let text = invalid.render(styled);
                assert!(text.contains("fuzz.yaml"), "{text}");
            }
            let lines = invalid.source.lines().count() as u64 + 1;
            for p in &invalid.problems {
                assert!(
                    p.line <= lines.max(1),
                    "{p} points past the end ({lines} lines)"
                );
                assert!(!p.message.is_empty());
            }
        }
    }
}

/// Text that looks like YAML often enough to get past the tokenizer.
fn yamlish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        r"([a-z_]{1,12}|[-:\[\]{},#&*!|>'\x22%@`?]|[0-9]{1,6}(ms|s|m|%|/s|MiB)?| {1,4}|\n|\t|é|µ){0,80}",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_and_render(&bytes);
    }

    #[test]
    fn yaml_like_text_never_panics(text in yamlish()) {
        read_and_render(text.as_bytes());
    }

    #[test]
    fn edited_real_scenarios_never_panic(
        which in 0usize..7,
        at in any::<prop::sample::Index>(),
        len in 0usize..40,
        insert in yamlish(),
    ) {
        let text = &SHIPPED[which % SHIPPED.len()];
        let mut bytes = text.as_bytes().to_vec();
        let start = at.index(bytes.len() + 1);
        let end = (start + len).min(bytes.len());
        bytes.splice(start..end, insert.bytes());
        read_and_render(&bytes);
    }
}
