//! The local cloud's AWS APIs: a pinned moto server in a project-local virtualenv, on 127.0.0.1.
//!
//! State lives in `.lab/` at the repository root: `venv/` (moto), `cloud.json` (the running server's PID and port),
//! `moto.log`. Only a server this module started (its PID in `cloud.json`) is ever stopped.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::steps::root;

/// The emulator, pinned: its behaviour (and its quirks) are what the local cloud was measured against.
pub const MOTO_VERSION: &str = "5.2.5";
pub const REGION: &str = "us-east-1";

pub fn state_dir() -> PathBuf {
    root().join(".lab")
}

fn venv() -> PathBuf {
    state_dir().join("venv")
}

fn venv_python() -> PathBuf {
    venv().join("bin/python")
}

fn state_file() -> PathBuf {
    state_dir().join("cloud.json")
}

/// The launcher moto is started through: moto's own server with its per-record Kinesis → Lambda push turned off
/// (it made every put ~20× slower once a mapping existed; `lab-cloud`'s pollers deliver the records instead).
const LAUNCHER: &str = "xtask/cloud/moto_server.py";

fn launcher() -> PathBuf {
    root().join(LAUNCHER)
}

/// A running emulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cloud {
    pub pid: u32,
    pub port: u16,
    /// The data plane (`lab-cloud serve`: event source mappings, Firehose) of a cloud kept up with `cloud up`.
    #[serde(default)]
    pub data_plane_pid: Option<u32>,
    /// The data plane's Kinesis front door (AWS's shard limits), in front of the emulator: once it runs, the
    /// cloud's endpoint for every client.
    #[serde(default)]
    pub gateway_port: Option<u16>,
}

impl Cloud {
    /// Where clients go: the front door when the data plane runs one, else the emulator itself.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway_port.unwrap_or(self.port))
    }

    /// The emulator behind the front door: what the local cloud's own tests talk to (they start their own front
    /// doors in front of it).
    pub fn emulator_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the AWS SDK (and the AWS CLI) at this cloud, with the local administrator's
    /// credentials (valid nowhere else), so that nothing run with it can reach a real account.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint().as_str()),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", lab_contract::LOCAL_ADMIN_ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", lab_contract::LOCAL_ADMIN_SECRET_KEY),
            // Long-term keys carry no session token (and a learner's own must not ride along with them).
            ("AWS_SESSION_TOKEN", ""),
            ("AWS_PROFILE", ""),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    /// The shell lines that point a terminal at this cloud (`cloud up` prints them to copy). The empty profile that
    /// [`Cloud::env`] gives processes becomes `unset AWS_PROFILE`: botocore-based clients (boto3, the AWS CLI) read
    /// `AWS_PROFILE=` as a profile named "" and fail ("The config profile () could not be found"): an environment
    /// variable overrides the configuration files, the profile included
    /// (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html).
    pub fn shell_lines(&self) -> Vec<String> {
        self.env()
            .into_iter()
            .map(|(key, value)| {
                if value.is_empty() {
                    format!("unset {key}")
                } else {
                    format!("export {key}={value}")
                }
            })
            .collect()
    }

    /// Whether the server answers HTTP.
    pub fn answers(&self) -> bool {
        http_get(self.port, "/moto-api/").is_some()
    }

    /// Whether its front door answers HTTP (it passes the emulator's own `/moto-api/` on).
    pub fn front_door_answers(&self) -> bool {
        self.gateway_port
            .is_some_and(|port| http_get(port, "/moto-api/").is_some())
    }
}

/// Whether `cloud`'s processes are still the ones we started: its emulator, and its front door if it has one.
pub fn is_ours(cloud: &Cloud) -> bool {
    is_our_server(cloud.pid) && cloud.data_plane_pid.is_none_or(|pid| runs(pid, "lab-cloud"))
}

/// A minimal HTTP GET on 127.0.0.1; the status code, or `None` if nothing answered.
fn http_get(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Installs moto into `.lab/venv` unless the pinned version is already there.
pub fn install() -> Result<()> {
    if installed_version().as_deref() == Some(MOTO_VERSION) {
        return Ok(());
    }
    ensure_venv()?;
    eprintln!("local cloud: installing moto {MOTO_VERSION} (the AWS emulator; about 30 s, once)");
    let status = Command::new(venv_python())
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("moto[server]=={MOTO_VERSION}"))
        .status()?;
    if !status.success() {
        bail!("installing moto {MOTO_VERSION} with pip failed (see pip's message above); it needs access to PyPI");
    }
    Ok(())
}

/// The project's Python virtualenv (moto and cargo-lambda live there), made on first use.
fn ensure_venv() -> Result<()> {
    std::fs::create_dir_all(state_dir())?;
    if venv_python().exists() {
        return Ok(());
    }
    let python = which_python().context(
        "the local cloud needs Python 3 (3.9 or newer) for its AWS emulator, and `python3` is not on PATH.\n\
         Install it (Debian/Ubuntu: `sudo apt-get install python3 python3-venv`; macOS: `brew install python`), \
         then run the command again.",
    )?;
    eprintln!("local cloud: creating a Python virtualenv in {}", venv().display());
    let status = Command::new(&python).args(["-m", "venv"]).arg(venv()).status()?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(venv());
        bail!(
            "`{python} -m venv` failed. On Debian/Ubuntu the venv module is a separate package: \
             `sudo apt-get install python3-venv`."
        );
    }
    Ok(())
}

/// cargo-lambda, pinned: its PyPI package brings a prebuilt binary and zig, which cross-compiles the functions
/// for Lambda's Amazon Linux without Docker.
pub const CARGO_LAMBDA_VERSION: &str = "1.9.2";

/// Installs cargo-lambda into the project's virtualenv (once) and returns its executable.
pub fn install_cargo_lambda() -> Result<PathBuf> {
    let executable = venv().join("bin/cargo-lambda");
    let installed = Command::new(venv_python())
        .args(["-m", "pip", "show", "cargo-lambda"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("Version: {CARGO_LAMBDA_VERSION}")));
    if installed && executable.exists() {
        return Ok(executable);
    }
    ensure_venv()?;
    eprintln!("deploy: installing cargo-lambda {CARGO_LAMBDA_VERSION} and zig into the project's virtualenv (once)");
    let status = Command::new(venv_python())
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("cargo-lambda=={CARGO_LAMBDA_VERSION}"))
        .status()?;
    if !status.success() {
        bail!("installing cargo-lambda with pip failed (see pip's message above); it needs access to PyPI");
    }
    Ok(executable)
}

/// The virtualenv's bin folder, for a PATH on which cargo-lambda finds zig.
pub fn venv_bin() -> PathBuf {
    venv().join("bin")
}

/// The local cloud kept up for later commands (`cloud up`): the running one, or a new one with its data plane.
/// `no_limits`: the data plane's Kinesis front door enforces no shard limit (moto's own behaviour).
pub fn up(lab_cloud: impl FnOnce() -> Result<PathBuf>, no_limits: bool) -> Result<Cloud> {
    let serve = lab_contract::Serve {
        no_limits,
        ..lab_contract::Serve::default()
    };
    up_with(lab_cloud, serve)
}

/// [`up`] with `lab-cloud serve`'s every setting (shard limits, faults injected on purpose and their seed).
pub fn up_with(lab_cloud: impl FnOnce() -> Result<PathBuf>, serve: lab_contract::Serve) -> Result<Cloud> {
    if let Some(cloud) = running() {
        if serve.faults.faults.is_some() {
            eprintln!(
                "note: the local cloud was already up, and keeps the settings it was started with; for these faults, \
                 `cargo xtask cloud down` and then `cargo xtask cloud up --faults ...`"
            );
        }
        return Ok(cloud);
    }
    let mut cloud = start(true)?;
    std::fs::write(state_file(), serde_json::to_string(&cloud)?)?;
    if let Err(error) = lab_cloud().and_then(|binary| start_data_plane(&mut cloud, &binary, serve)) {
        stop(&cloud);
        return Err(error);
    }
    Ok(cloud)
}

fn which_python() -> Option<String> {
    ["python3", "python"].into_iter().map(str::to_owned).find(|python| {
        Command::new(python)
            .args(["-c", "import sys; assert sys.version_info >= (3, 9)"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

fn installed_version() -> Option<String> {
    let output = Command::new(venv_python())
        .args(["-c", "import importlib.metadata as m; print(m.version('moto'))"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The cloud recorded in `.lab/cloud.json`, if it is still running and answering.
pub fn running() -> Option<Cloud> {
    let text = std::fs::read_to_string(state_file()).ok()?;
    let cloud: Cloud = serde_json::from_str(&text).ok()?;
    (is_our_server(cloud.pid) && cloud.answers()).then_some(cloud)
}

/// Whether `pid` is still the moto server we started (and not a process that reused its PID): run through the
/// launcher, or (started by an older xtask) as `python -m moto.server`.
fn is_our_server(pid: u32) -> bool {
    runs(pid, "moto_server.py") || runs(pid, "moto.server")
}

/// Whether process `pid` exists and its command line contains `what`.
fn runs(pid: u32, what: &str) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => String::from_utf8_lossy(&cmdline).contains(what),
        // No /proc (macOS): ask `ps`.
        Err(_) => Command::new("ps")
            .args(["-p", &pid.to_string(), "-o", "command="])
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(what)),
    }
}

/// Starts `lab-cloud serve` for a cloud kept up: it runs the event source mappings and Firehose delivery streams
/// that anyone (a learner's own code, the AWS CLI) registers in the emulator, with the functions' code under
/// `.lab/cloud/functions/<name>/bootstrap`. Recorded with the cloud, stopped with it.
pub fn start_data_plane(cloud: &mut Cloud, lab_cloud: &std::path::Path, serve: lab_contract::Serve) -> Result<()> {
    start_serve(cloud, lab_cloud, &state_dir().join("cloud"), serve)?;
    std::fs::write(state_file(), serde_json::to_string(cloud)?)?;
    Ok(())
}

/// Starts `lab-cloud serve` in front of `cloud`'s emulator, its state in `state`, and waits until its front door
/// answers; the cloud then knows the front door's port and the process's PID (stopped with it).
pub fn start_serve(
    cloud: &mut Cloud,
    lab_cloud: &std::path::Path,
    state: &std::path::Path,
    serve: lab_contract::Serve,
) -> Result<()> {
    std::fs::create_dir_all(state)?;
    let log = std::fs::File::create(state.join("lab-cloud.log"))?;
    // `lab-cloud serve` writes its front door's endpoint here once it listens.
    let endpoint_file = state.join("gateway-endpoint");
    let _ = std::fs::remove_file(&endpoint_file);
    let _ = std::fs::remove_file(state.join(DASHBOARD_URL_FILE));
    let mut command = Command::new(lab_cloud);
    command
        // The data plane itself talks to the emulator (its front door forwards there).
        .envs(cloud.env())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", cloud.port))
        .args(
            lab_contract::LabCloud {
                state: state.to_owned(),
                command: lab_contract::Command::Serve(serve),
            }
            .to_args(),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    cloud.data_plane_pid = Some(command.spawn().context("starting lab-cloud serve")?.id());
    let started = Instant::now();
    let gateway_port = loop {
        let written = std::fs::read_to_string(&endpoint_file).unwrap_or_default();
        let port = written
            .rsplit(':')
            .next()
            .and_then(|port| port.trim().parse::<u16>().ok());
        if let Some(port) = port.filter(|port| http_get(*port, "/moto-api/").is_some()) {
            break port;
        }
        if started.elapsed() > Duration::from_secs(30) {
            stop(cloud);
            bail!(
                "lab-cloud serve's front door did not answer within 30 s; see {}",
                state.join("lab-cloud.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    cloud.gateway_port = Some(gateway_port);
    Ok(())
}

/// Where `lab-cloud serve` writes its dashboard's address once it listens.
const DASHBOARD_URL_FILE: &str = "dashboard-url";

/// The dashboard of the cloud kept up, when it has one.
pub fn dashboard_url() -> Option<String> {
    let url = std::fs::read_to_string(state_dir().join("cloud").join(DASHBOARD_URL_FILE)).ok()?;
    Some(url.trim().to_owned()).filter(|url| !url.is_empty())
}

/// A port nothing listens on, on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts a moto server on a free port of 127.0.0.1 and waits until it answers. A `detached` server (`cloud up`)
/// runs in its own process group so it outlives the command; otherwise a Ctrl-C stops it with the command.
pub fn start(detached: bool) -> Result<Cloud> {
    install()?;
    let port = free_port()?;
    let log = std::fs::File::create(state_dir().join("moto.log"))?;
    let mut command = Command::new(venv_python());
    command
        .arg(launcher())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // The emulator is a server, not an AWS client: botocore inside it reads AWS_PROFILE and the like, and a profile
    // it cannot find (a learner's, or the empty one clients get here) turns every request into an HTTP 500.
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("AWS_")) {
        command.env_remove(key);
    }
    if detached {
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
    }
    let child = command.spawn().context("starting the moto server")?;
    let cloud = Cloud {
        pid: child.id(),
        port,
        data_plane_pid: None,
        gateway_port: None,
    };

    let started = Instant::now();
    while !cloud.answers() {
        if started.elapsed() > Duration::from_secs(30) {
            stop(&cloud);
            bail!(
                "the moto server did not answer on port {port} within 30 s; see {}",
                state_dir().join("moto.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Without Docker moto cannot run functions; tell it not to try, so each Kinesis put stays cheap.
    let _ = post_json(port, "/moto-api/config", r#"{"lambda": {"use_docker": false}}"#);
    Ok(cloud)
}

fn post_json(port: u16, path: &str, body: &str) -> Option<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.0 200").then_some(())
}

/// Stops a server this module started (by PID, after checking it is still ours), and its data plane.
pub fn stop(cloud: &Cloud) {
    if let Some(pid) = cloud.data_plane_pid.filter(|pid| runs(*pid, "lab-cloud")) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    if is_our_server(cloud.pid) {
        let _ = Command::new("kill").arg(cloud.pid.to_string()).status();
        let started = Instant::now();
        while is_our_server(cloud.pid) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Ok(text) = std::fs::read_to_string(state_file())
        && let Ok(recorded) = serde_json::from_str::<Cloud>(&text)
        && recorded.pid == cloud.pid
    {
        let _ = std::fs::remove_file(state_file());
    }
}

/// The cloud for one command: the running one if `cloud up` left one, else a new one that `Session` stops when
/// dropped (also when the command fails), or for `check`, the warm one it keeps between checks.
pub struct Session {
    pub cloud: Cloud,
    kind: Kind,
}

/// Whose cloud a session uses, which says who stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Started for this command, stopped after it.
    Own,
    /// Left running by `cargo xtask cloud up` (or `deploy`).
    KeptUp,
    /// The check cloud kept warm (see [`crate::check_cloud`]); `reused`: it was already running.
    Warm { reused: bool },
}

impl Session {
    /// A new emulator of this command's own, alone (no front door): for a command that opens its own (`lab`) or
    /// tests one (the local cloud's own tests).
    pub fn emulator() -> Result<Session> {
        Ok(Session {
            cloud: start(false)?,
            kind: Kind::Own,
        })
    }

    /// A new local cloud of this command's own, even if `cloud up` left one running: an emulator and, in front of
    /// it, the front door where AWS's rules live (IAM, validation, lifecycle, the Kinesis engine); no data plane (the
    /// step tests run their own mappings).
    pub fn private() -> Result<Session> {
        let lab_cloud = crate::lab::lab_cloud_binary()?;
        let mut cloud = start(false)?;
        let state = state_dir().join("sessions").join(std::process::id().to_string());
        let serve = lab_contract::Serve {
            front_door_only: true,
            dashboard: lab_contract::DashboardArgs {
                dashboard_port: None,
                no_dashboard: true,
            },
            ..lab_contract::Serve::default()
        };
        start_serve(&mut cloud, &lab_cloud, &state, serve)?;
        Ok(Session { cloud, kind: Kind::Own })
    }

    /// The cloud `cloud up` left running, else the check cloud kept warm (started now if none is).
    pub fn open() -> Result<Session> {
        if let Some(cloud) = running() {
            return Ok(Session {
                cloud,
                kind: Kind::KeptUp,
            });
        }
        let (cloud, reused) = crate::check_cloud::open()?;
        Ok(Session {
            cloud,
            kind: Kind::Warm { reused },
        })
    }

    /// Counts the failed tests of a run on this session's cloud, when it is the warm one (it is replaced after
    /// too many: a failed test may leave what it made behind).
    pub fn count_failures(&self, failed: u32) -> Result<()> {
        match self.kind {
            Kind::Warm { .. } => crate::check_cloud::count_failures(&self.cloud, failed),
            Kind::Own | Kind::KeptUp => Ok(()),
        }
    }

    /// One line saying which cloud a command uses, so that a learner knows what the tests met (and left behind).
    pub fn describe(&self) -> String {
        session_line(&self.cloud.endpoint(), self.kind)
    }
}

fn session_line(endpoint: &str, kind: Kind) -> String {
    match kind {
        Kind::Own => format!("The local cloud: {endpoint}, started for this command and stopped after it."),
        Kind::KeptUp => format!(
            "The local cloud: {endpoint}, already running (started by `cargo xtask cloud up` or `deploy`), and left \
             running with what the tests made there; `cargo xtask cloud down` stops it."
        ),
        Kind::Warm { reused } => format!(
            "The local cloud: {endpoint}, {} and kept warm for your next check: it stops after {} idle minutes, or \
             with `cargo xtask cloud down`.",
            if reused {
                "already running for checks"
            } else {
                "started for checks"
            },
            crate::check_cloud::IDLE_SECONDS / 60
        ),
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.kind == Kind::Own {
            stop(&self.cloud);
            let _ = std::fs::remove_dir_all(state_dir().join("sessions").join(std::process::id().to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_says_which_cloud_it_uses_and_whether_it_was_running() {
        let kept = session_line("http://127.0.0.1:4566", Kind::KeptUp);
        assert!(
            kept.contains("http://127.0.0.1:4566") && kept.contains("already running"),
            "{kept}"
        );
        assert!(kept.contains("cargo xtask cloud down"), "{kept}");
        let own = session_line("http://127.0.0.1:4567", Kind::Own);
        assert!(
            own.contains("http://127.0.0.1:4567") && own.contains("stopped after it"),
            "{own}"
        );
        assert!(!own.contains("already running"), "{own}");
        for reused in [false, true] {
            let warm = session_line("http://127.0.0.1:4568", Kind::Warm { reused });
            assert!(
                warm.contains("http://127.0.0.1:4568") && warm.contains("10 idle minutes"),
                "{warm}"
            );
            assert!(warm.contains("cargo xtask cloud down"), "{warm}");
            assert_eq!(warm.contains("already running"), reused, "{warm}");
        }
    }

    /// The lines `cloud up` prints, sourced in `sh` with a profile set as a learner's shell may have, then a boto3
    /// client (botocore reads AWS_PROFILE as the AWS CLI does) from the emulator's own virtualenv lists the streams.
    #[test]
    fn the_printed_environment_works_for_boto3() {
        let session = Session::private().unwrap();
        let lines = session.cloud.shell_lines();
        assert!(lines.contains(&"unset AWS_PROFILE".to_owned()), "{lines:?}");
        assert!(
            !lines.iter().any(|line| line.ends_with('=')),
            "an empty export: {lines:?}"
        );
        let script = format!(
            "{}\n{} -c 'import boto3; print(boto3.client(\"kinesis\").list_streams()[\"StreamNames\"])'\n",
            lines.join("\n"),
            venv_python().display()
        );
        let output = Command::new("sh")
            .args(["-c", &script])
            .env("AWS_PROFILE", "a-profile-of-the-learner")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "boto3 with the printed environment: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "[]");
    }
}
