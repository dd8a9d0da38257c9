//! Just enough of Python's lexical structure to read a Django project's settings and URLconfs
//! without running them: comments, string literals, bracketed call arguments, top-level
//! imports, decorators and module-to-file lookup. It owns no Django knowledge (that is
//! `env` and `urls`) and never executes or imports anything.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One Python file, read: its text with comments blanked, and the same text with string
/// contents blanked too, so that searches for code never match prose or data. Both keep every
/// byte where it was, so an offset found in one indexes the other.
#[derive(Debug)]
pub struct Source {
    /// The text, comments replaced by spaces.
    pub code: String,
    /// `code` with the contents of every string literal replaced by spaces (quotes kept).
    pub masked: String,
    /// Every string literal: its span in `code` (prefix and quotes included) and contents.
    pub literals: Vec<Literal>,
}

#[derive(Debug, Clone)]
pub struct Literal {
    pub span: Range<usize>,
    /// The text between the quotes, escapes left as written; None for an f-string, whose
    /// value is not known without running it.
    pub value: Option<String>,
}

impl Source {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut code = bytes.to_vec();
        let mut masked = bytes.to_vec();
        let mut literals = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        code[i] = b' ';
                        masked[i] = b' ';
                        i += 1;
                    }
                }
                q @ (b'"' | b'\'') => {
                    // A prefix (r, b, f, u, rb, …) sits right before the quote.
                    let mut start = i;
                    while i - start < 2 && start > 0 && b"rRbBuUfF".contains(&bytes[start - 1]) {
                        start -= 1;
                    }
                    if start > 0 && is_ident_byte(bytes[start - 1]) {
                        start = i;
                    }
                    let prefix = &text[start..i];
                    let triple = bytes[i..].starts_with(&[q, q, q]);
                    let open = if triple { 3 } else { 1 };
                    let body = i + open;
                    let mut j = body;
                    let end_body = loop {
                        if j >= bytes.len() {
                            break bytes.len();
                        }
                        if bytes[j] == b'\\' {
                            j += 2;
                            continue;
                        }
                        if !triple && bytes[j] == b'\n' {
                            break j;
                        }
                        if bytes[j] == q && (!triple || bytes[j..].starts_with(&[q, q, q])) {
                            break j;
                        }
                        j += 1;
                    };
                    let end = (end_body
                        + if end_body < bytes.len() && bytes[end_body] == q {
                            open
                        } else {
                            0
                        })
                    .min(bytes.len());
                    for b in &mut masked[body..end_body.min(bytes.len())] {
                        if *b != b'\n' {
                            *b = b' ';
                        }
                    }
                    let value = (!prefix.contains(['f', 'F']))
                        .then(|| text[body..end_body.min(text.len())].to_owned());
                    literals.push(Literal {
                        span: start..end,
                        value,
                    });
                    i = end.max(i + 1);
                }
                _ => i += 1,
            }
        }
        // Only whole characters were blanked (a comment or a string's contents), so both stay
        // UTF-8.
        Source {
            code: String::from_utf8(code).unwrap_or_default(),
            masked: String::from_utf8(masked).unwrap_or_default(),
            literals,
        }
    }

    /// The literal whose span is exactly `range` (whitespace around it ignored).
    pub fn literal_at(&self, range: Range<usize>) -> Option<&Literal> {
        let text = &self.code[range.clone()];
        let start = range.start + (text.len() - text.trim_start().len());
        let end = range.start + text.trim_end().len();
        self.literals.iter().find(|l| l.span == (start..end))
    }

    /// The string value of the literal that is exactly `range`.
    pub fn string_at(&self, range: Range<usize>) -> Option<&str> {
        self.literal_at(range)?.value.as_deref()
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.code[..offset.min(self.code.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1
    }

    /// Offsets just after `name(` wherever `name` is called and not the tail of a longer
    /// identifier (`path(` and `urls.path(` but not `re_path(`); `name` may be dotted.
    pub fn calls(&self, name: &str) -> Vec<usize> {
        let needle = format!("{name}(");
        self.masked
            .match_indices(&needle)
            .filter(|(at, _)| *at == 0 || !is_ident_byte(self.masked.as_bytes()[at - 1]))
            .map(|(at, _)| at + needle.len())
            .collect()
    }

    /// The arguments of the call whose `(` ends just before `open`: the span of each
    /// top-level argument (trimmed), up to the matching `)`. None when it never closes.
    pub fn call_args(&self, open: usize) -> Option<Vec<Range<usize>>> {
        let b = self.masked.as_bytes();
        let mut depth = 0usize;
        let mut args = Vec::new();
        let mut start = open;
        let mut i = open;
        while i < b.len() {
            match b[i] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth > 0 => depth -= 1,
                b')' | b']' | b'}' => {
                    push_trimmed(&self.masked, start..i, &mut args);
                    return Some(args);
                }
                b',' if depth == 0 => {
                    push_trimmed(&self.masked, start..i, &mut args);
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// The value of a module-level assignment of a string literal, `NAME = "value"`.
    pub fn assigned_string(&self, name: &str) -> Option<String> {
        let mut offset = 0;
        for line in self.masked.split_inclusive('\n') {
            let here = offset;
            offset += line.len();
            let Some(rest) = line.strip_prefix(name) else {
                continue;
            };
            let after = rest.trim_start();
            if !after.starts_with('=') || after.starts_with("==") {
                continue;
            }
            let from = here + name.len() + (rest.len() - after.len()) + 1;
            let to = here + line.trim_end().len();
            if let Some(v) = self.string_at(from..to) {
                return Some(v.to_owned());
            }
        }
        None
    }

    /// Names bound by the module's top-level imports.
    pub fn imports(&self, module: &Module) -> BTreeMap<String, Binding> {
        let mut out = BTreeMap::new();
        for stmt in self.statements() {
            let stmt = stmt.replace(['(', ')', '\\'], " ");
            let words = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(rest) = words.strip_prefix("from ") {
                let Some((from, names)) = rest.split_once(" import ") else {
                    continue;
                };
                let Some(from) = module.resolve(from.trim()) else {
                    continue;
                };
                for name in names.split(',') {
                    let mut parts = name.split(" as ").map(str::trim);
                    let (Some(item), alias) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    if item.is_empty() || item == "*" {
                        continue;
                    }
                    out.insert(
                        alias.unwrap_or(item).to_owned(),
                        Binding::From {
                            module: from.clone(),
                            item: item.to_owned(),
                        },
                    );
                }
            } else if let Some(rest) = words.strip_prefix("import ") {
                for name in rest.split(',') {
                    let mut parts = name.split(" as ").map(str::trim);
                    let Some(dotted) = parts.next().filter(|d| !d.is_empty()) else {
                        continue;
                    };
                    match parts.next() {
                        Some(alias) => {
                            out.insert(alias.to_owned(), Binding::Module(dotted.to_owned()));
                        }
                        None => {
                            let first = dotted.split('.').next().unwrap_or(dotted);
                            out.insert(first.to_owned(), Binding::Module(first.to_owned()));
                        }
                    }
                }
            }
        }
        out
    }

    /// The modules of `from m import *` statements, resolved against `module`: settings split
    /// over files (`from .base import *`) are read through them.
    pub fn star_imports(&self, module: &Module) -> Vec<String> {
        self.statements()
            .iter()
            .filter_map(|stmt| {
                let words = stmt.split_whitespace().collect::<Vec<_>>();
                match words.as_slice() {
                    ["from", from, "import", "*"] => module.resolve(from),
                    _ => None,
                }
            })
            .collect()
    }

    /// Module-level statements that start with `from ` or `import `, across lines where
    /// brackets or a backslash continue them.
    fn statements(&self) -> Vec<String> {
        self.top_level_lines()
            .filter(|r| {
                let l = &self.masked[r.clone()];
                l.starts_with("from ") || l.starts_with("import ")
            })
            .map(|r| self.masked[r].to_owned())
            .collect()
    }

    /// The decorators of every top-level `def` and `async def`, by function name: each
    /// decorator's text from `@` to its end (arguments included, across lines).
    pub fn decorated_functions(&self) -> BTreeMap<String, Vec<Range<usize>>> {
        let mut out = BTreeMap::new();
        let mut pending: Vec<Range<usize>> = Vec::new();
        for r in self.top_level_lines() {
            let line = &self.masked[r.clone()];
            if line.starts_with('@') {
                pending.push(r);
                continue;
            }
            let def = line
                .strip_prefix("def ")
                .or_else(|| line.strip_prefix("async def "));
            match def {
                Some(def) => {
                    let name: String = def
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.insert(name, std::mem::take(&mut pending));
                }
                None => pending.clear(),
            }
        }
        out
    }

    /// The logical lines that start at column 0 (not blank), each running on while brackets
    /// are open or a backslash ends the line.
    fn top_level_lines(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let b = self.masked.as_bytes();
        let mut i = 0;
        std::iter::from_fn(move || {
            while i < b.len() {
                let start = i;
                let mut depth = 0i32;
                while i < b.len() {
                    match b[i] {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth -= 1,
                        b'\\' if b.get(i + 1) == Some(&b'\n') => i += 1,
                        b'\n' if depth <= 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                let end = i;
                i += 1;
                let line = &self.masked[start..end];
                if !line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                    return Some(start..end);
                }
            }
            None
        })
    }
}

fn push_trimmed(text: &str, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[r.clone()];
    if s.trim().is_empty() {
        return;
    }
    let start = r.start + (s.len() - s.trim_start().len());
    out.push(start..r.start + s.trim_end().len());
}

pub fn is_ident_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80
}

/// What an import binds a name to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// `import a.b as x` (x is a.b) or `import a.b` (a is a).
    Module(String),
    /// `from m import item [as x]`: item is a function, a class or a submodule of m.
    From { module: String, item: String },
}

/// A module of the project: its dotted name and whether it is a package's `__init__.py`
/// (which decides what a relative import means).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub is_package: bool,
}

impl Module {
    /// The module `name` names, when it is a file under `dir`.
    pub fn find(dir: &Path, name: &str) -> Option<(Module, PathBuf)> {
        if name.is_empty() || !name.split('.').all(is_identifier) {
            return None;
        }
        let base = dir.join(name.replace('.', "/"));
        let file = base.with_extension("py");
        if file.is_file() {
            return Some((
                Module {
                    name: name.to_owned(),
                    is_package: false,
                },
                file,
            ));
        }
        let init = base.join("__init__.py");
        init.is_file().then(|| {
            (
                Module {
                    name: name.to_owned(),
                    is_package: true,
                },
                init,
            )
        })
    }

    /// The absolute module a `from X import` names, X relative (`.views`, `..`) or not.
    pub fn resolve(&self, from: &str) -> Option<String> {
        let dots = from.chars().take_while(|&c| c == '.').count();
        if dots == 0 {
            return Some(from.to_owned());
        }
        let mut package: Vec<&str> = self.name.split('.').collect();
        if !self.is_package {
            package.pop();
        }
        for _ in 1..dots {
            package.pop()?;
        }
        // Beyond the top-level package: Python refuses it too.
        if package.is_empty() {
            return None;
        }
        let rest = &from[dots..];
        if !rest.is_empty() {
            package.push(rest);
        }
        Some(package.join("."))
    }
}

pub use crate::check::project::is_identifier;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_do_not_look_like_code() {
        let s = Source::new("x = 'a # b'  # path(\"no\")\ny = r\"c\"\n\"\"\"doc path(\n\"\"\"\n");
        assert_eq!(s.masked.lines().next().unwrap().trim_end(), "x = '     '");
        assert!(s.calls("path").is_empty());
        let values: Vec<_> = s.literals.iter().map(|l| l.value.clone()).collect();
        assert_eq!(
            values,
            [
                Some("a # b".into()),
                Some("c".into()),
                Some("doc path(\n".into())
            ]
        );
        assert_eq!(&s.code[s.literals[1].span.clone()], "r\"c\"");
    }

    #[test]
    fn call_arguments_split_at_top_level_commas() {
        let s = Source::new("path('a/', include(('m.urls', 'ns')), name='x')");
        let open = s.calls("path")[0];
        let args = s.call_args(open).unwrap();
        let texts: Vec<_> = args.iter().map(|r| &s.code[r.clone()]).collect();
        assert_eq!(texts, ["'a/'", "include(('m.urls', 'ns'))", "name='x'"]);
        assert_eq!(s.string_at(args[0].clone()), Some("a/"));
        assert!(
            s.calls("include").len() == 1 && Source::new("re_path(x)").calls("path").is_empty()
        );
    }

    #[test]
    fn imports_bind_names_to_modules() {
        let m = Module {
            name: "shop.urls".into(),
            is_package: false,
        };
        let s = Source::new(
            "from . import views\nfrom .api import (\n  orders,\n  stock as st,\n)\nimport a.b as c\nimport d.e\n",
        );
        let b = s.imports(&m);
        assert_eq!(
            b["views"],
            Binding::From {
                module: "shop".into(),
                item: "views".into()
            }
        );
        assert_eq!(
            b["st"],
            Binding::From {
                module: "shop.api".into(),
                item: "stock".into()
            }
        );
        assert_eq!(b["c"], Binding::Module("a.b".into()));
        assert_eq!(b["d"], Binding::Module("d".into()));
        assert_eq!(m.resolve("..x"), None);
    }

    #[test]
    fn decorators_belong_to_the_def_below_them() {
        let s = Source::new(
            "@a\n@b(\n  ['POST'],\n)\ndef f(r):\n    @inner\n    def g(): pass\n\nx = 1\n@c\nasync def h(): pass\ndef k(): pass\n",
        );
        let d = s.decorated_functions();
        let text = |name: &str| -> Vec<String> {
            d[name]
                .iter()
                .map(|r| s.code[r.clone()].trim().to_owned())
                .collect()
        };
        assert_eq!(text("f"), ["@a", "@b(\n  ['POST'],\n)"]);
        assert_eq!(text("h"), ["@c"]);
        assert!(text("k").is_empty());
    }

    #[test]
    fn a_module_level_string_assignment_is_read() {
        let s = Source::new("ROOT_URLCONF = \"site.urls\"\nROOT_URLCONF_X = 'no'\n");
        assert_eq!(
            s.assigned_string("ROOT_URLCONF").as_deref(),
            Some("site.urls")
        );
        assert_eq!(s.assigned_string("LOGIN_URL"), None);
    }
}
