//! `check`'s quick links: a step's tests are built with its `fast-link` feature, which takes the heavy dependencies
//! (the SDK, lambda_runtime, tokio, the local cloud) from one shared library, `xtask/fastlink`, built once. Statically
//! linked, each of the four to six executables an edit rebuilds read about 200 libraries (400 MB) and took 0.6 to
//! 1 s to link on 2 cores; against the shared library, a tenth of that (book/src/appendix.md, "The fast loop").
//!
//! Rust links a program against a Rust shared library only if both link the standard library dynamically too
//! (`-C prefer-dynamic`). Cargo has no per-crate setting for it on stable, so xtask passes it itself: cargo runs
//! xtask as its `RUSTC_WRAPPER`, and xtask adds the flag to the compilations that need it — the shared library's and
//! those built with the feature — and runs the compiler. Those units are the feature's own (cargo keeps them apart
//! from the plain builds, whose fingerprints differ by the feature), so the lab, the deploy and a plain
//! `cargo test` build and link as before. At run time the executables find the shared library and the standard
//! library's through the library path xtask sets ([`runtime_env`]).
//!
//! Linux only: elsewhere `check` builds as before.

use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The steps' feature (each step's Cargo.toml).
pub const FEATURE: &str = "fast-link";

/// Set in the environment of the cargo xtask runs as its compiler wrapper: `1`, or the wrapper the learner had set
/// (`RUSTC_WRAPPER`, sccache say), which xtask then runs the compiler through.
const WRAPPER_VARIABLE: &str = "LAB_FAST_LINK_WRAPPER";

/// Whether `check` links its steps against the shared library here.
pub fn available() -> bool {
    cfg!(target_os = "linux")
}

/// Makes `cargo` run this executable as its compiler wrapper (in front of the learner's own, if one is set).
pub fn wrap(cargo: &mut Command) -> Result<()> {
    let xtask = std::env::current_exe().context("finding xtask's own executable")?;
    let theirs = std::env::var_os("RUSTC_WRAPPER").filter(|w| !w.is_empty() && *w != xtask.as_os_str());
    cargo
        .env("RUSTC_WRAPPER", &xtask)
        .env(WRAPPER_VARIABLE, theirs.unwrap_or_else(|| "1".into()));
    Ok(())
}

/// When cargo runs xtask as its compiler wrapper (`xtask <rustc> <arguments>...`): runs the compiler with the flags
/// [`added_flags`] adds, and returns its exit code. `None` otherwise.
pub fn run_as_wrapper() -> Option<ExitCode> {
    let theirs = std::env::var_os(WRAPPER_VARIABLE)?;
    let mut arguments = std::env::args_os().skip(1);
    let rustc = arguments.next()?;
    let arguments: Vec<OsString> = arguments.collect();
    let mut command = if theirs == "1" {
        Command::new(&rustc)
    } else {
        let mut command = Command::new(&theirs);
        command.arg(&rustc);
        command
    };
    command.args(&arguments);
    let text: Vec<String> = arguments.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    command.args(added_flags(&text));
    let code = match command.status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(error) => {
            eprintln!(
                "cargo xtask (as the compiler wrapper): running {}: {error}",
                rustc.to_string_lossy()
            );
            1
        }
    };
    Some(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// What xtask adds to a compilation: `-C prefer-dynamic` to the shared library's and to every one with the
/// `fast-link` feature (a step's library, its binaries, its tests), nothing to any other.
///
/// The shared library is also linked with `-Bsymbolic`: its calls to its own functions are bound when it is linked,
/// not looked up by name each time a program starts. Without it, each executable, and each function the local
/// Lambda host starts, spent 0.13 s in the dynamic loader resolving 358,000 symbols by their (long, mangled) names
/// before `main`; with it, 2,000 lookups and 0.01 s. The lookups would only matter if an executable defined a
/// symbol the library also defines and the library had to use the executable's: Rust code never asks for that
/// (each crate is in the library once; a generic function compiled in both is the same code), and the
/// standard library, a shared library of its own, is still looked up as before.
fn added_flags(arguments: &[String]) -> Vec<&'static str> {
    let feature = format!("feature=\"{FEATURE}\"");
    let is_pair = |first: &str, second: &str| arguments.windows(2).any(|pair| pair[0] == first && pair[1] == second);
    if is_pair("--crate-name", "lab_fastlink") {
        vec!["-C", "prefer-dynamic", "-C", "link-arg=-Wl,-Bsymbolic"]
    } else if is_pair("--cfg", &feature) {
        vec!["-C", "prefer-dynamic"]
    } else {
        vec![]
    }
}

/// What the executables built with the feature need in their environment to start: the library path, with the
/// shared library's folder (`deps`, where cargo puts the test executables too) and the standard library's
/// ([`standard_library_dir`]).
pub fn runtime_env(deps: &Path, standard_library: PathBuf) -> Result<Vec<(String, String)>> {
    let mut path = std::env::join_paths([deps.to_owned(), standard_library]).context("the library path")?;
    if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH").filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(existing);
    }
    Ok(vec![(
        "LD_LIBRARY_PATH".to_owned(),
        path.to_string_lossy().into_owned(),
    )])
}

/// `rustc --print target-libdir`: where the toolchain's `libstd-*.so` is. (`check` asks while cargo builds: through
/// rustup's proxy it takes about 0.05 s.)
pub fn standard_library_dir() -> Result<PathBuf> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir"])
        .output()
        .with_context(|| format!("running {rustc} --print target-libdir"))?;
    if !output.status.success() {
        bail!(
            "{rustc} --print target-libdir failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn only_the_shared_library_and_the_features_own_crates_link_the_standard_library_dynamically() {
        assert_eq!(
            added_flags(&arguments("--crate-name lab_fastlink --edition=2024 src/lib.rs")),
            ["-C", "prefer-dynamic", "-C", "link-arg=-Wl,-Bsymbolic"]
        );
        assert_eq!(
            added_flags(&arguments(
                "--crate-name step --test --cfg feature=\"fast-link\" tests/step.rs"
            )),
            ["-C", "prefer-dynamic"]
        );
        assert!(added_flags(&arguments("--crate-name step --test tests/step.rs")).is_empty());
        assert!(
            added_flags(&arguments(
                "--crate-name tokio --cfg feature=\"rt-multi-thread\" src/lib.rs"
            ))
            .is_empty()
        );
        assert!(added_flags(&arguments("--crate-name lab_fastlink_not src/lib.rs")).is_empty());
    }
}
