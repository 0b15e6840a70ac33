//! The `lab-cloud` binary's commands, one module each; each parses nothing (the types come from `lab-contract`)
//! and owns its printing and its exit code.

pub mod check;
pub mod deployment;
pub mod front_door;
pub mod invoke;
pub mod lab;
pub mod serve;
pub mod target;

/// Stops on Ctrl-C or SIGTERM (how xtask and `cloud down` stop the data plane).
pub async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
