//! Graded hints, from the one table (`steps/steps.toml`): which learner function a failing test or a compile error
//! is about, how far the learner has read its hints (`.lab/hints/<step>.json`), and the chapters' hint blocks, which
//! are generated from the table so that nothing is written twice.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;

use crate::starter;
use crate::steps::{Hint, LEVELS, Step};

const MARKER: &str = "// learner:";
pub const BEGIN: &str = "<!-- hints:begin";
pub const END: &str = "<!-- hints:end -->";

/// A function of a source file: its name (`Type::method` in an `impl Type`) and its lines, 1-based, from `fn` to
/// the closing brace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub first_line: usize,
    /// The line of the body's opening brace.
    pub body_line: usize,
    pub last_line: usize,
}

/// Every function of a file with a body, free or in an inherent `impl`, modules included, in the file's order.
pub fn functions(source: &str) -> Result<Vec<Function>> {
    let file = syn::parse_file(source)?;
    let mut found = vec![];
    collect(&file.items, &mut found);
    found.sort_by_key(|function| function.first_line);
    Ok(found)
}

fn collect(items: &[syn::Item], found: &mut Vec<Function>) {
    let function = |name: String, sig: &syn::Signature, block: &syn::Block| Function {
        name,
        first_line: sig.fn_token.span().start().line,
        body_line: block.brace_token.span.open().start().line,
        last_line: block.brace_token.span.close().start().line,
    };
    for item in items {
        match item {
            syn::Item::Fn(item) => found.push(function(item.sig.ident.to_string(), &item.sig, &item.block)),
            syn::Item::Impl(block) => {
                let owner = match block.self_ty.as_ref() {
                    syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                for item in &block.items {
                    if let syn::ImplItem::Fn(method) = item {
                        let name = match &owner {
                            Some(owner) => format!("{owner}::{}", method.sig.ident),
                            None => method.sig.ident.to_string(),
                        };
                        found.push(function(name, &method.sig, &method.block));
                    }
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect(items, found);
                }
            }
            _ => {}
        }
    }
}

/// The functions a `// learner:` marker stands above, in one solution source file.
pub fn marked_functions(solution: &str) -> Result<Vec<String>> {
    let all = functions(solution)?;
    let mut marked = vec![];
    for (index, line) in solution.lines().enumerate() {
        if line.trim_start().starts_with(MARKER) {
            let Some(next) = all.iter().find(|function| function.first_line > index + 1) else {
                bail!("line {}: `{MARKER}` is not followed by a function", index + 1);
            };
            marked.push(next.name.clone());
        }
    }
    Ok(marked)
}

/// Every learner function of a step, as (file relative to `src/`, name), from its solution's markers.
pub fn learner_functions(step: &Step) -> Result<Vec<(PathBuf, String)>> {
    let src = step.solution_dir().join("src");
    let mut all = vec![];
    for path in starter::rust_files(&src)? {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let relative = path.strip_prefix(&src).expect("under src").to_path_buf();
        for name in marked_functions(&text).with_context(|| format!("in {}", path.display()))? {
            all.push((relative.clone(), name));
        }
    }
    Ok(all)
}

/// Level 3, the code: the body of `function` in the step's solution, its statements dedented, read from the
/// solution itself so that the hint is the tested code.
pub fn solution_body(step: &Step, function: &str) -> Result<String> {
    let (file, _) = learner_functions(step)?
        .into_iter()
        .find(|(_, name)| name == function)
        .with_context(|| format!("`{function}` is no learner function of solutions/{}", step.id))?;
    let path = step.solution_dir().join("src").join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let found = functions(&text)?
        .into_iter()
        .find(|f| f.name == function)
        .context("the function is in its file")?;
    let lines: Vec<&str> = text.lines().collect();
    let body = &lines[found.body_line..found.last_line.saturating_sub(1).max(found.body_line)];
    let indent = body
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = body.iter().map(|line| line.get(indent..).unwrap_or("")).collect();
    Ok(dedented.join("\n"))
}

/// A piece of a hint: words (wrapped to fit) or code (shown as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Prose(String),
    Code(String),
}

/// What hint `level` (1 to 3) of `hint` says.
pub fn level(step: &Step, hint: &Hint, level: usize) -> Vec<Block> {
    match level {
        1 => vec![Block::Prose(hint.idea.clone())],
        2 => vec![Block::Prose(hint.approach.clone())],
        _ => {
            let mut blocks: Vec<Block> = hint.code_note.iter().cloned().map(Block::Prose).collect();
            blocks.push(match solution_body(step, &hint.function) {
                Ok(code) => Block::Code(code),
                Err(error) => Block::Prose(format!("(the solution's code cannot be read: {error:#})")),
            });
            blocks
        }
    }
}

/// For a terminal: words wrapped at 100 columns, code as it is, each line after `indent`.
pub fn terminal(blocks: &[Block], indent: &str) -> String {
    let shown: Vec<String> = blocks
        .iter()
        .map(|block| match block {
            Block::Prose(text) => wrap(text, 100, indent),
            Block::Code(code) => code
                .lines()
                .map(|line| format!("{indent}{line}").trim_end().to_owned())
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect();
    shown.join("\n\n")
}

/// For the book: paragraphs wrapped at 116 columns, code in a Rust block.
pub fn markdown(blocks: &[Block]) -> String {
    let shown: Vec<String> = blocks
        .iter()
        .map(|block| match block {
            Block::Prose(text) => wrap(text, 116, ""),
            Block::Code(code) => format!("```rust,noplayground\n{code}\n```"),
        })
        .collect();
    shown.join("\n\n")
}

/// The learner function a compiler error is in: its first `--> file:line:column` inside the step's `src/`, mapped
/// to the learner function (a `// learner:` one of the solution) whose lines hold it in the learner's file. None
/// when the error is elsewhere (the tests, given code) or the file does not parse.
pub fn function_of_error<'a>(step: &'a Step, dir: &Path, error: &str) -> Option<&'a Hint> {
    let (file, line) = error_location(error)?;
    let src = dir.join("src");
    let relative = crate::steps::root().join(file);
    let in_src = relative.strip_prefix(&src).ok()?;
    let text = std::fs::read_to_string(src.join(in_src)).ok()?;
    let learner: Vec<String> = learner_functions(step)
        .ok()?
        .into_iter()
        .filter(|(path, _)| path == in_src)
        .map(|(_, name)| name)
        .collect();
    let function = functions(&text).ok()?.into_iter().find(|function| {
        (function.first_line..=function.last_line).contains(&line) && learner.contains(&function.name)
    })?;
    step.hint_for_function(&function.name)
}

/// The file and line of a rendered diagnostic's primary span (its first ` --> file:line:column`), colours removed.
pub fn error_location(rendered: &str) -> Option<(PathBuf, usize)> {
    let plain = strip_ansi(rendered);
    let location = plain.lines().find_map(|line| line.trim_start().strip_prefix("--> "))?;
    let mut parts = location.trim().rsplitn(3, ':');
    let _column = parts.next()?;
    let line = parts.next()?.parse().ok()?;
    Some((PathBuf::from(parts.next()?), line))
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How far the learner has read: the function `check` last found failing, and the highest level shown for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub function: String,
    pub level: usize,
}

fn progress_path(step: &Step) -> PathBuf {
    crate::cloud::state_dir()
        .join("hints")
        .join(format!("{}.json", step.id))
}

pub fn read_progress(step: &Step) -> Option<Progress> {
    serde_json::from_str(&std::fs::read_to_string(progress_path(step)).ok()?).ok()
}

/// What `check` records after a verdict: the failing function at level 1 (kept at its level when it is the same
/// function as before), or nothing once no function fails.
pub fn after_check(previous: Option<Progress>, failing: Option<&str>) -> Option<Progress> {
    let failing = failing?;
    Some(match previous {
        Some(progress) if progress.function == failing => progress,
        _ => Progress {
            function: failing.to_owned(),
            level: 1,
        },
    })
}

pub fn write_progress(step: &Step, progress: Option<&Progress>) -> Result<()> {
    let path = progress_path(step);
    match progress {
        Some(progress) => {
            std::fs::create_dir_all(path.parent().expect("a folder"))?;
            std::fs::write(&path, serde_json::to_string(progress)?)
                .with_context(|| format!("writing {}", path.display()))
        }
        None => match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
            _ => Ok(()),
        },
    }
}

/// Text wrapped at `width` columns, each line after `indent`. A word that Markdown would read as the start of a
/// block (`- `, `> `, `#`, `1.`, `|`, `<`, `===`) never begins a line, so the wrapped text stays one paragraph in
/// the book.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    for word in text.split_whitespace() {
        let too_long = indent.len() + line.len() + 1 + word.len() > width;
        if !line.is_empty() && too_long && !starts_a_block(word) {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .iter()
        .map(|line| format!("{indent}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn starts_a_block(word: &str) -> bool {
    let numbered = word.trim_end_matches(['.', ')']).chars().all(|c| c.is_ascii_digit())
        && word.ends_with(['.', ')'])
        && word.len() > 1;
    matches!(word, "-" | "+" | "*" | ">" | "=" | "|")
        || word.starts_with(['#', '>', '|', '<', '='])
        || word.chars().all(|c| c == '-')
        || numbered
}

/// The chapter's hint block, from the table: one collapsed entry per function, each level inside the one before.
pub fn chapter_block(step: &Step) -> String {
    let intro = format!(
        "Open a hint only when you are stuck, and one level at a time: the idea, then the approach, then the code. \
         `cargo xtask hint {}` shows them the same way, for the function whose test fails.",
        step.id
    );
    // A learner may open this file itself rather than the served book: tell them, invisibly in the book, that
    // everything below is open here, the code last.
    let raw = format!(
        "<!-- Reading this file as it is? Every hint below is open, the code last: stop here if you want to find it \
         yourself. The served book (`cargo xtask book --serve`, then http://127.0.0.1:3000) collapses them, and \
         `cargo xtask hint {}` reveals them one level at a time. -->",
        step.id
    );
    let mut out = format!(
        "{BEGIN} generated from steps/steps.toml by `cargo xtask starters`: edit the table, not this block -->\n\
         {}\n## Hints\n\n{}\n",
        wrap(&raw, 116, ""),
        wrap(&intro, 116, "")
    );
    for hint in &step.hints {
        out.push_str(&format!(
            "\n<details>\n<summary><code>{}</code>: hint 1, {}</summary>\n\n",
            hint.function, LEVELS[0]
        ));
        for (index, name) in LEVELS.iter().enumerate() {
            if index > 0 {
                out.push_str(&format!("<details>\n<summary>Hint {}: {name}</summary>\n\n", index + 1));
            }
            out.push_str(&format!("{}\n\n", markdown(&level(step, hint, index + 1))));
        }
        out.push_str("</details>\n</details>\n</details>\n");
    }
    out.push_str(END);
    out
}

/// The chapter with its block between the markers replaced by `block`.
pub fn with_block(chapter: &str, block: &str) -> Result<String> {
    let (Some(start), Some(end)) = (chapter.find(BEGIN), chapter.find(END)) else {
        bail!("no `{BEGIN} ... -->` and `{END}` markers: put them where the hints go");
    };
    if end < start {
        bail!("`{END}` comes before `{BEGIN}`");
    }
    Ok(format!("{}{block}{}", &chapter[..start], &chapter[end + END.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"pub struct Tally;

// learner: count it
pub fn count(a: u8) -> u8 {
    a
}

impl Tally {
    pub fn given(&self) {}

    // learner: add them
    /// Adds.
    pub fn add(&self, b: u8) -> u8 {
        b + 1
    }
}
"#;

    #[test]
    fn functions_are_named_with_their_impl_and_span_their_body() {
        let found = functions(SOURCE).unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["count", "Tally::given", "Tally::add"]);
        assert_eq!((found[0].first_line, found[0].last_line), (4, 6));
        assert_eq!((found[2].first_line, found[2].last_line), (13, 15));
        assert_eq!(marked_functions(SOURCE).unwrap(), ["count", "Tally::add"]);
    }

    #[test]
    fn an_error_is_located_by_its_primary_span_even_in_colour() {
        let rendered = "\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0308]\u{1b}[0m: mismatched types\n  \
                        \u{1b}[0m\u{1b}[1m\u{1b}[38;5;12m--> \u{1b}[0msteps/step-2/src/lib.rs:123:9\n   |\n\
                        note: ...\n  --> other.rs:1:1\n";
        assert_eq!(
            error_location(rendered),
            Some((PathBuf::from("steps/step-2/src/lib.rs"), 123))
        );
        assert_eq!(error_location("error: could not find `Cargo.toml`"), None);
    }

    /// A compile error inside a learner function's body gets that function's hint; one in given code gets none.
    #[test]
    fn a_compile_error_gets_the_hint_of_the_learner_function_it_is_in() {
        let step = crate::steps::find("step-2").unwrap();
        let dir = step.starter_dir();
        let text = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        let all = functions(&text).unwrap();
        let line_of = |name: &str| all.iter().find(|f| f.name == name).unwrap().first_line + 1;
        let error = |line: usize| {
            format!("error[E0425]: cannot find value `x` in this scope\n   --> steps/step-2/src/lib.rs:{line}:9\n")
        };
        let hinted = |line| function_of_error(&step, &dir, &error(line)).map(|hint| hint.function.as_str());
        assert_eq!(hinted(line_of("batches")), Some("batches"));
        assert_eq!(hinted(line_of("Producer::send")), Some("Producer::send"));
        // `RetryPolicy::default` is given code: no hint rather than a wrong one.
        assert_eq!(hinted(line_of("RetryPolicy::default")), None);
        // An error in a test file is not the learner's function either.
        let in_tests = "error: x\n  --> steps/step-2/tests/step.rs:10:5\n";
        assert!(function_of_error(&step, &dir, in_tests).is_none());
    }

    /// Level 3 is the solution's own body of the function, dedented: the tested code, never a copy.
    #[test]
    fn the_code_hint_is_the_solutions_body() {
        let step = crate::steps::find("step-5").unwrap();
        let body = solution_body(&step, "heat").unwrap();
        let solution = std::fs::read_to_string(step.solution_dir().join("src/lib.rs")).unwrap();
        assert!(body.starts_with("if count == 0"), "{body}");
        assert!(!body.contains("pub fn heat") && !body.starts_with(' '), "{body}");
        for line in body.lines().filter(|line| !line.is_empty()) {
            assert!(solution.contains(&format!("    {line}")), "not the solution's: {line}");
        }
        assert!(solution_body(&step, "render").is_err(), "not a learner function");
    }

    #[test]
    fn progress_follows_the_failing_function_and_ends_when_it_passes() {
        let at = |function: &str, level| Progress {
            function: function.to_owned(),
            level,
        };
        assert_eq!(after_check(None, Some("batches")), Some(at("batches", 1)));
        // The same function keeps the level reached; another starts again at 1; none failing forgets it.
        assert_eq!(
            after_check(Some(at("batches", 3)), Some("batches")),
            Some(at("batches", 3))
        );
        assert_eq!(after_check(Some(at("batches", 3)), Some("send")), Some(at("send", 1)));
        assert_eq!(after_check(Some(at("batches", 2)), None), None);
    }

    #[test]
    fn the_block_between_the_markers_is_replaced_and_the_rest_kept() {
        let chapter = format!("before\n{BEGIN} x -->\nold\n{END}\nafter\n");
        assert_eq!(with_block(&chapter, "NEW").unwrap(), "before\nNEW\nafter\n");
        assert!(with_block("no markers", "NEW").is_err());
    }

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let text = "one two three four five six seven eight nine ten";
        let wrapped = wrap(text, 16, "  ");
        assert!(
            wrapped.lines().all(|line| line.len() <= 16 && line.starts_with("  ")),
            "{wrapped}"
        );
        assert_eq!(wrapped.split_whitespace().collect::<Vec<_>>().join(" "), text);
        // Markdown would read a line starting with these as a list, a quote, a heading, a table or HTML.
        for word in ["-", ">", "#", "1.", "|", "<b>", "==="] {
            let text = format!("aaaa bbbb cccc {word} dddd");
            let wrapped = wrap(&text, 14, "");
            assert!(wrapped.lines().all(|line| !line.starts_with(word)), "{word}: {wrapped}");
        }
    }
}
