//! Listing files: the one helper every module that walks a folder shares.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Every file below `dir` whose name ends in `.<extension>`, sorted.
pub fn with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == extension) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
