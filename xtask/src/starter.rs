//! Starters are generated from solutions, so the two never drift: a starter is its solution with the body of each
//! function marked `// learner: <what to write>` replaced by `todo!("<what to write>")`.
//!
//! The marker goes on its own line above the function (above its doc comment and `// ANCHOR:` line too), so that
//! the book, which includes the solution by anchor, never shows it. `// ANCHOR` lines and markers are left out of
//! starters; everything else (types, helpers, `main`) is kept as written.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;

const MARKER: &str = "// learner:";
const MAX_MESSAGE: usize = 96;

/// The starter version of one solution source file.
pub fn starter_source(solution: &str) -> Result<String> {
    let file = syn::parse_file(solution).context("the solution does not parse as Rust")?;
    let bodies = function_bodies(&file.items);
    let lines: Vec<&str> = solution.lines().collect();

    // (marker line, body) pairs, all 0-based lines.
    let mut replacements = vec![];
    for (index, line) in lines.iter().enumerate() {
        let Some(message) = line.trim_start().strip_prefix(MARKER) else {
            continue;
        };
        let Some(body) = bodies.iter().find(|body| body.fn_line > index) else {
            bail!("line {}: `{MARKER}` is not followed by a function", index + 1);
        };
        let message = message.trim();
        // A longer `todo!` would not fit on one line, and rustfmt would then disagree with the generated starter.
        if message.len() > MAX_MESSAGE {
            bail!(
                "line {}: a `{MARKER}` message may be {MAX_MESSAGE} characters at most",
                index + 1
            );
        }
        replacements.push((message.to_owned(), body.clone()));
    }

    let mut out = String::with_capacity(solution.len());
    let mut skip_until = None;
    for (index, line) in lines.iter().enumerate() {
        if let Some(end) = skip_until {
            if index <= end {
                continue;
            }
            skip_until = None;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with(MARKER) || trimmed.starts_with("// ANCHOR") {
            continue;
        }
        if let Some((message, body)) = replacements.iter().find(|(_, body)| body.open.0 == index) {
            let indent: String = lines[body.fn_line].chars().take_while(|c| c.is_whitespace()).collect();
            let head = &line[..byte_index(line, body.open.1)];
            let tail = &lines[body.close.0][byte_index(lines[body.close.0], body.close.1 + 1)..];
            out.push_str(&format!("{head}{{\n{indent}    todo!({message:?})\n{indent}}}{tail}\n"));
            skip_until = Some(body.close.0);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Column (in chars) to byte index.
fn byte_index(line: &str, column: usize) -> usize {
    line.char_indices().nth(column).map_or(line.len(), |(index, _)| index)
}

#[derive(Debug, Clone)]
struct Body {
    /// Line of the `fn` keyword.
    fn_line: usize,
    /// (line, column) of the body's `{` and `}`.
    open: (usize, usize),
    close: (usize, usize),
}

fn body(sig: &syn::Signature, block: &syn::Block) -> Body {
    let position = |p: proc_macro2::LineColumn| (p.line - 1, p.column);
    let braces = block.brace_token.span;
    Body {
        fn_line: sig.fn_token.span().start().line - 1,
        open: position(braces.open().start()),
        close: position(braces.close().start()),
    }
}

fn function_bodies(items: &[syn::Item]) -> Vec<Body> {
    let mut bodies = vec![];
    for item in items {
        match item {
            syn::Item::Fn(function) => bodies.push(body(&function.sig, &function.block)),
            syn::Item::Impl(block) => {
                for item in &block.items {
                    if let syn::ImplItem::Fn(function) = item {
                        bodies.push(body(&function.sig, &function.block));
                    }
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    bodies.extend(function_bodies(items));
                }
            }
            _ => {}
        }
    }
    bodies.sort_by_key(|body| body.fn_line);
    bodies
}

/// Every source file of a solution crate's `src/`, as (path relative to `src/`, starter text).
pub fn starter_files(solution_dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let src = solution_dir.join("src");
    let mut files = vec![];
    for path in rust_files(&src)? {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let starter = starter_source(&text).with_context(|| format!("making the starter of {}", path.display()))?;
        files.push((path.strip_prefix(&src).expect("under src").to_path_buf(), starter));
    }
    Ok(files)
}

pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    crate::files::with_extension(dir, "rs")
}

#[cfg(test)]
mod tests {
    use super::starter_source;

    #[test]
    fn marked_bodies_become_todo_and_the_rest_stays() {
        let solution = r#"use std::fmt;

/// Kept as it is.
fn helper() -> u8 {
    1
}

// learner: add the two numbers
// ANCHOR: add
/// Adds.
pub fn add(a: u8, b: u8) -> u8 {
    let s = "}{";
    a + b
}
// ANCHOR_END: add

impl Thing {
    // learner: say hello
    pub async fn hello(&self) -> String { format!("hello {}", self.0) }
}
"#;
        let starter = starter_source(solution).unwrap();
        assert_eq!(
            starter,
            r#"use std::fmt;

/// Kept as it is.
fn helper() -> u8 {
    1
}

/// Adds.
pub fn add(a: u8, b: u8) -> u8 {
    todo!("add the two numbers")
}

impl Thing {
    pub async fn hello(&self) -> String {
        todo!("say hello")
    }
}
"#
        );
    }

    #[test]
    fn a_marker_without_a_function_is_an_error() {
        assert!(starter_source("const A: u8 = 1;\n// learner: nothing follows\n").is_err());
    }
}
