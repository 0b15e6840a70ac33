//! Stopping on request. A terminal's Ctrl-C signals the whole foreground process group, but an editor, a test runner
//! or a script that runs `cargo xtask ...` may signal xtask's own PID only (`cargo run` execs xtask in its place, so
//! that PID is xtask's). Without this module xtask would die at once and leave its children running: a
//! `lab --hold`'s lab-cloud and its private emulator, the tests of a `check --watch` (issue #26).
//!
//! So xtask notes SIGINT and SIGTERM, passes SIGINT on to the children it is waiting for (registered by
//! [`Interruptible`]), and lets them stop as they would on Ctrl-C; its own code then unwinds normally (a private
//! emulator is stopped by its `Drop`) and `main` exits with 130. A second signal ends xtask at once.

use std::io;
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The children xtask is waiting for, by PID (only processes it started).
static WAITED_FOR: Mutex<Vec<u32>> = Mutex::new(Vec::new());

extern "C" fn note(_signal: libc::c_int) {
    // Only async-signal-safe work here: an atomic swap, and `_exit` on the second signal.
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        unsafe { libc::_exit(130) };
    }
}

/// Installs the handlers and the thread that passes the signal on. Called once, first thing in `main`.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `note` is async-signal-safe; SA_RESTART keeps blocking calls (a child's wait) going.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    std::thread::spawn(|| {
        let mut told: Vec<u32> = vec![];
        loop {
            std::thread::sleep(Duration::from_millis(50));
            if !interrupted() {
                continue;
            }
            for &pid in WAITED_FOR.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                if !told.contains(&pid) {
                    // SAFETY: a PID of a child this process started and has not reaped yet (it is unregistered
                    // before `wait` returns its status), so it cannot name another process.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
                    told.push(pid);
                }
            }
        }
    });
}

/// Whether SIGINT or SIGTERM arrived: long loops stop, and `main` exits with 130.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `status` and `output` for a child that should stop when xtask is asked to.
pub trait Interruptible {
    fn status_interruptible(&mut self) -> io::Result<ExitStatus>;
    fn output_interruptible(&mut self) -> io::Result<Output>;
}

impl Interruptible for Command {
    fn status_interruptible(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        wait_registered(&mut child)
    }

    /// As `Command::output`, for a command whose stdout and stderr the caller set (piped, or inherited).
    fn output_interruptible(&mut self) -> io::Result<Output> {
        self.stdin(std::process::Stdio::null());
        let mut child = self.spawn()?;
        let read = |pipe: Option<Box<dyn io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = vec![];
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn io::Read + Send>));
        let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn io::Read + Send>));
        let status = wait_registered(&mut child)?;
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

/// Waits for `child` while it is registered in [`WAITED_FOR`]. The child is unregistered once it has exited but
/// before it is reaped (`waitid` with `WNOWAIT`), so its PID is never signalled after it could name another process.
fn wait_registered(child: &mut Child) -> io::Result<ExitStatus> {
    let pid = child.id();
    WAITED_FOR.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    if interrupted() {
        // Started after the signal: told at once, as the others were.
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    }
    let exited = loop {
        // SAFETY: waits for our own child without reaping it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let done = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if done == 0 {
            break Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            break Err(error);
        }
    };
    WAITED_FOR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&registered| registered != pid);
    exited?;
    child.wait()
}
