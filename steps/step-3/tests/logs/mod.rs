//! Reading what a test logged. Given: you need not read it to do the step.
//!
//! The test binary has one subscriber, the function's own JSON format ([`json_logs`]), set once as the global
//! default, as the function's `main` sets it before its first batch. It hands each line to the thread that logged
//! it, which keeps the line only while it is [`captured`]: tests run side by side on their own threads, so a test
//! reads its own lines and nobody else's.
//!
//! Why not a subscriber per test (`tracing::subscriber::with_default`)? It loses lines now and then. tracing decides
//! once per log call site, the first time any thread reaches it, whether anybody listens (its "interest"), and caches
//! the answer for every thread. While a scoped subscriber is the only one, a site first reached by another test's
//! thread is answered by *that* thread's default (none): "never", and the capturing test's own `info!` is skipped.
//! Rebuilding the cache (`rebuild_interest_cache`) narrows the window but cannot close it.
//!
//! Why this cannot lose a line:
//! - no log call site of this crate is reached before [`install`] has returned: `tests/step.rs` calls `handler` only
//!   in `invoke`
//!   and `Batch::log` only inside [`captured`], and both call `install` first (the end-to-end test's function is
//!   another process, with its own `main`). `Once` makes the install happen before whatever follows any call of it,
//!   on every thread;
//! - so every call site of ours is reached for the first time after the global subscriber exists, and its interest
//!   is asked of that subscriber (the default of every thread, since no scoped one is ever set): "always" for INFO
//!   and WARN. The maximum level tracing checks first (`LevelFilter::current`) is set to INFO by the same install;
//! - nothing changes either afterwards: no other subscriber is ever registered, nothing rebuilds the cache.
//!
//! Every line is then formatted and written, on the thread that logged it; whether it is kept depends only on that
//! thread, not on timing. A test that calls `handler` or `Batch::log` must do it after `install` too (through
//! `invoke` or `captured`), or a first call racing the install could be cached as "never" again.

use consumer::json_logs;
use std::cell::RefCell;
use std::io::Write;
use std::sync::Once;
use tracing::level_filters::LevelFilter;

thread_local! {
    /// What this thread has logged since [`captured`] began, or `None` when it is not capturing.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// The writer of every line: the buffer of the thread that logged it, if that thread is capturing.
struct ThisThread;

impl Write for ThisThread {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with_borrow_mut(|captured| {
            if let Some(buffer) = captured {
                buffer.extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sets the test binary's subscriber, the first time; does nothing after. Call it before anything can log.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        tracing::subscriber::set_global_default(json_logs(|| ThisThread, LevelFilter::INFO))
            .expect("nothing else in the step's test binary sets a subscriber");
    });
}

/// Runs `log` and returns what it logged on this thread: the function's JSON lines, at INFO and above.
pub fn captured(log: impl FnOnce()) -> String {
    install();
    CAPTURED.set(Some(Vec::new()));
    log();
    let bytes = CAPTURED.take().unwrap_or_default();
    String::from_utf8(bytes).expect("the JSON log lines are UTF-8")
}
