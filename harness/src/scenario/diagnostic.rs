//! Errors in a scenario file, pointed at: file, line, column, the offending line with a caret,
//! and a hint where one helps. Owns the wording and rendering of those errors; it does not
//! decide what is an error.

use std::fmt;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_saphyr::{DefaultMessageFormatter, Location, MessageFormatter};

/// One problem in one file, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the place is unknown (then no snippet is shown).
    pub line: u64,
    /// 1-based, in characters.
    pub column: u64,
    /// Length of the marked text in characters; 0 marks the word (key or value) that starts
    /// there. At least one caret is drawn.
    pub width: u64,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn at(file: &Path, location: Location, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: location.line(),
            column: location.column(),
            width: location.span().len().max(1),
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Turns a serde-saphyr error into a diagnostic, adding a "did you mean" for misspelt keys
    /// and names.
    pub fn from_yaml(file: &Path, err: &serde_saphyr::Error) -> Self {
        let inner = err.without_snippet();
        let full = reword(&DefaultMessageFormatter.format_message(inner));
        let location = err.location().unwrap_or(Location::UNKNOWN);
        let help = did_you_mean(&full);
        // The valid names move into the hint, so the headline stays one short line.
        let message = match (&help, full.split_once(", expected one of ")) {
            (Some(_), Some((head, _))) => head.to_owned(),
            _ => full,
        };
        Self {
            file: file.to_owned(),
            line: location.line(),
            column: location.column(),
            width: 0,
            message,
            help,
        }
    }

    /// `file:line:column`, or just the file when the place is unknown.
    pub fn place(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }

    /// The full report with the source line and a caret; `styled` adds terminal colours.
    pub fn render(&self, source: &str, styled: bool) -> String {
        let title = format!("{}: {}", self.place(), self.message);
        let path = self.file.display().to_string();
        let mut groups = Vec::new();
        let mut group = Group::with_title(Level::ERROR.primary_title(&title));
        if let Some((start, span)) = self.byte_span(source) {
            let first = self.line.saturating_sub(2).max(1) as usize;
            let line_start = nth_line_start(source, first);
            let excerpt_end = source[span.end..]
                .find('\n')
                .map_or(source.len(), |i| span.end + i);
            group = group.element(
                Snippet::source(&source[line_start..excerpt_end])
                    .line_start(first)
                    .path(&path)
                    .annotation(
                        AnnotationKind::Primary.span(start - line_start..span.end - line_start),
                    ),
            );
        }
        groups.push(group);
        if let Some(help) = &self.help {
            groups.push(Group::with_title(Level::HELP.secondary_title(help)));
        }
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&groups)
    }

    /// The marked text as a byte range of `source`, or None when the place is not in it.
    fn byte_span(&self, source: &str) -> Option<(usize, std::ops::Range<usize>)> {
        if self.line == 0 {
            return None;
        }
        let line_start = nth_line_start(source, self.line as usize);
        if line_start > source.len() {
            return None;
        }
        let line = source[line_start..].split('\n').next().unwrap_or("");
        let char_offset = |chars: u64| {
            line.char_indices()
                .nth(chars as usize)
                .map_or(line.len(), |(i, _)| i)
        };
        let start = char_offset(self.column.saturating_sub(1));
        let width = if self.width == 0 {
            line[start..]
                .chars()
                .take_while(|&c| !c.is_whitespace() && !":,[]{}#".contains(c))
                .count()
                .max(1) as u64
        } else {
            self.width
        };
        let end = char_offset(self.column.saturating_sub(1) + width).max(start);
        Some((line_start + start, line_start + start..line_start + end))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// Byte offset where 1-based line `n` starts (past the end when there are fewer lines).
fn nth_line_start(source: &str, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    source
        .match_indices('\n')
        .nth(n - 2)
        .map_or(source.len() + 1, |(i, _)| i + 1)
}

/// The YAML library speaks to programmers; a scenario's author reads these instead.
fn reword(message: &str) -> String {
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        return format!("duplicate key `{key}`: it is already set above in the same mapping");
    }
    if message.starts_with("multiple YAML documents") {
        return "a scenario is one YAML document, but this file has another after `---`".into();
    }
    match message {
        "expected mapping start" => "expected a mapping here (`key: value` lines)".into(),
        "expected sequence start" => "expected a list here (`- item` lines or `[a, b]`)".into(),
        _ => message
            .replacen("unknown field `", "unknown key `", 1)
            .replacen("unknown variant `", "unknown value `", 1),
    }
}

/// For "unknown key `x`, expected one of a, b" and "unknown value …" messages: the closest
/// valid name, and otherwise the list of valid ones.
fn did_you_mean(message: &str) -> Option<String> {
    let what = ["unknown key `", "unknown value `"]
        .into_iter()
        .find(|p| message.starts_with(p))?;
    let rest = &message[what.len()..];
    let given = &rest[..rest.find('`')?];
    let expected: Vec<&str> = message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))?
        .1
        .split(',')
        .map(|s| s.trim().trim_matches('`'))
        .filter(|s| !s.is_empty())
        .collect();
    let noun = if what.contains("key") { "key" } else { "value" };
    let valid = format!("valid {noun}s here: {}", expected.join(", "));
    Some(match closest(given, &expected) {
        Some(best) => format!("did you mean `{best}`? ({valid})"),
        None => valid,
    })
}

/// The candidate nearest to `given`, when it is near enough to be a likely typo.
pub fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    candidates
        .iter()
        .map(|c| {
            let distance = strsim::damerau_levenshtein(&given_lower, &c.to_lowercase());
            // A shortened name (`gunicorn` for `gunicorn_celery`) is as good as a typo.
            let prefix = given_lower.len() >= 3 && c.starts_with(&given_lower);
            (if prefix { 0 } else { distance }, *c)
        })
        .filter(|&(d, c)| d <= (c.len() / 3).max(2))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let help = did_you_mean("unknown key `duraton`, expected one of name, duration, modes");
        assert_eq!(
            help.as_deref(),
            Some("did you mean `duration`? (valid keys here: name, duration, modes)")
        );
    }

    #[test]
    fn suggests_a_mode_from_a_prefix() {
        let help = did_you_mean(
            "unknown value `gunicorn`, expected one of `gunicorn_celery`, `subinterpreters`",
        );
        assert!(help.unwrap().starts_with("did you mean `gunicorn_celery`?"));
    }

    #[test]
    fn lists_the_valid_keys_when_nothing_is_close() {
        let help = did_you_mean("unknown key `zzzzzz`, expected one of name, modes");
        assert_eq!(help.as_deref(), Some("valid keys here: name, modes"));
    }

    #[test]
    fn renders_the_line_and_a_caret() {
        let d = Diagnostic {
            file: "s.yaml".into(),
            line: 2,
            column: 7,
            width: 3,
            message: "bad".into(),
            help: Some("fix it".into()),
        };
        let out = d.render("name: x\nrate: -30\n", false);
        assert!(out.contains("s.yaml:2:7: bad"), "{out}");
        assert!(out.contains("2 | rate: -30"), "{out}");
        assert!(out.contains("^^^"), "{out}");
        assert!(out.contains("help: fix it"), "{out}");
    }

    #[test]
    fn renders_without_a_snippet_when_the_place_is_unknown() {
        let d = Diagnostic {
            file: "s.yaml".into(),
            line: 0,
            column: 0,
            width: 1,
            message: "bad".into(),
            help: None,
        };
        assert!(d.render("", false).contains("s.yaml: bad"));
    }
}
