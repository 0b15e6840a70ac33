//! The book: mdBook (pinned in `tools`, installed into `.lab/tools` when missing), building, serving, and a check of every
//! internal link and anchor of the built HTML.

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::steps::root;

/// The pinned mdbook (from PATH, or installed into `.lab/tools`).
pub fn mdbook() -> Result<PathBuf> {
    crate::tools::MDBOOK.path()
}

pub fn book_dir() -> PathBuf {
    root().join("book")
}

/// Where mdBook writes the HTML (book.toml's `build-dir`).
pub fn html_dir() -> PathBuf {
    book_dir().join("book")
}

pub fn build() -> Result<()> {
    let output = Command::new(mdbook()?)
        .arg("build")
        .arg(book_dir())
        .output()
        .context("running mdbook")?;
    let log = String::from_utf8_lossy(&output.stderr);
    // mdBook reports a missing `{{#include}}` or anchor as an error but still exits 0.
    if !output.status.success() || log.contains("ERROR") {
        bail!("mdbook build failed:\n{log}");
    }
    Ok(())
}

pub fn serve(port: u16) -> Result<()> {
    let status = Command::new(mdbook()?)
        .arg("serve")
        .arg(book_dir())
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--open"])
        .status()?;
    if !status.success() {
        bail!("mdbook serve stopped with {status}");
    }
    Ok(())
}

/// Every `href` and `src` of the built book that points inside it must name an existing file and, with `#x`, an
/// existing `id="x"` on that page. Returns the broken links as "page: link".
pub fn broken_links(html_dir: &Path) -> Result<Vec<String>> {
    let pages = crate::files::with_extension(html_dir, "html")?;
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = vec![];
    for page in &pages {
        let text = std::fs::read_to_string(page)?;
        ids.insert(page.clone(), attribute_values(&text, "id").into_iter().collect());
        texts.push((page.clone(), text));
    }

    let mut broken = vec![];
    for (page, text) in &texts {
        // Links, and the pictures and scripts pages load.
        let links = attribute_values(text, "href")
            .into_iter()
            .chain(attribute_values(text, "src"));
        for link in links {
            // External links, and the site-root links of mdBook's 404 page (they depend on where the book is served).
            if link.contains("://")
                || link.starts_with("mailto:")
                || link.starts_with("javascript:")
                || link.starts_with('/')
            {
                continue;
            }
            let (path, anchor) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                normalize(&page.parent().expect("a page has a folder").join(path))
            };
            let exists = if target.is_dir() {
                target.join("index.html").exists()
            } else {
                target.exists()
            };
            let anchor_ok = anchor.is_empty()
                || target.extension().is_none_or(|ext| ext != "html")
                || ids.get(&target).is_some_and(|known| known.contains(anchor));
            if !exists || !anchor_ok {
                let page = page.strip_prefix(html_dir).unwrap_or(page);
                broken.push(format!("{}: {link}", page.display()));
            }
        }
    }
    Ok(broken)
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The values of every `name="..."` attribute in an HTML text.
fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    let mut values = vec![];
    let mut rest = html;
    while let Some(start) = rest.find(&needle) {
        rest = &rest[start + needle.len()..];
        if let Some(end) = rest.find('"') {
            values.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_missing_pages_and_anchors() {
        let dir = std::env::temp_dir().join(format!("xtask-links-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("a.html"),
            r##"<h1 id="top">A</h1><a href="sub/b.html#there">b</a> <a href="#top">t</a>
            <a href="missing.html">m</a> <a href="sub/b.html#nowhere">n</a> <a href="https://aws.amazon.com/">x</a>"##,
        )
        .unwrap();
        std::fs::write(
            dir.join("sub/b.html"),
            r#"<p id="there"><a href="../a.html">back</a></p>"#,
        )
        .unwrap();
        let broken = broken_links(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            broken,
            vec![
                "a.html: missing.html".to_owned(),
                "a.html: sub/b.html#nowhere".to_owned()
            ]
        );
    }
}
