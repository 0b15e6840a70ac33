//! The book and the lab's dashboard in a real browser: Debian's Chromium, headless, driven by ChromeDriver over
//! WebDriver (plain HTTP on 127.0.0.1).
//!
//! - The book ([`check`]): every chapter page is served over HTTP, loaded, and must log no console error; every
//!   picture on it must have rendered (decoded, with a size); the introduction is saved as a screenshot.
//! - The dashboard ([`dashboard_check`]): a short real lab with `--hold`, its page watched until the run is over; it
//!   fails on a console error, a figure that never leaves zero, a map that did not render or is drawn away from its
//!   readings ([`crate::map_check`]), and on last figures that disagree with the lab's summary. Screenshots mid-run
//!   and at the end.

use anyhow::{Context, Result, bail};

use crate::map_check;
use base64::Engine;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What the browser saw of the book.
pub struct Report {
    pub pages: usize,
    pub pictures: usize,
    pub screenshot: PathBuf,
}

/// Installs Debian's Chromium and ChromeDriver when they are missing (as root, the way CI runs).
fn ensure_browser() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    eprintln!("book: installing Debian's chromium and chromium-driver for the browser test (once)");
    let install = || {
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "chromium-driver",
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get").arg("update").stdout(Stdio::null()).status();
        if !install() {
            bail!(
                "the browser test needs Debian's `chromium` and `chromium-driver`: `sudo apt-get install chromium chromium-driver`"
            );
        }
    }
    Ok(())
}

/// A child process stopped (by its PID, which we started) when dropped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16) -> Result<()> {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("nothing listens on 127.0.0.1:{port} after 20 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// One WebDriver request; WebDriver answers `{"value": ...}`, or an error inside it.
fn webdriver(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // Read the head, then exactly the body it announces: ChromeDriver may keep the connection open.
    let mut response = Vec::new();
    let mut buffer = [0u8; 65536];
    let (head, body_start) = loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            bail!("ChromeDriver closed the connection without an answer");
        }
        response.extend_from_slice(&buffer[..n]);
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&response[..end]).to_ascii_lowercase(), end + 4);
        }
    };
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &response[body_start..];
        let complete = match length {
            Some(length) => body.len() >= length,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..n]);
    }
    let body = &response[body_start..];
    let body = if chunked { dechunk(body) } else { body.to_vec() };
    let json_text = String::from_utf8_lossy(&body);
    let text = format!("{head}\n\n{json_text}");
    let answer: Value = serde_json::from_str(&json_text).with_context(|| format!("WebDriver answered: {text}"))?;
    if let Some(error) = answer["value"]["error"].as_str() {
        bail!("WebDriver {method} {path}: {error}: {}", answer["value"]["message"]);
    }
    Ok(answer["value"].clone())
}

/// The body of a chunked HTTP answer: sizes are byte counts, so this works on bytes.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|size| usize::from_str_radix(size.trim(), 16).ok());
        let rest = &body[end + 2..];
        match size {
            Some(size) if size > 0 && rest.len() >= size => {
                out.extend_from_slice(&rest[..size]);
                body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
            }
            _ => break,
        }
    }
    out
}

/// The chapter pages of the built book, from its table of contents (mdBook's `print.html` and `404.html` aside).
fn chapter_pages(html: &Path) -> Result<Vec<String>> {
    let summary = std::fs::read_to_string(html.parent().context("book/")?.join("src/SUMMARY.md"))?;
    let mut pages = vec![];
    for line in summary.lines() {
        if let Some(start) = line.find("](") {
            let target = &line[start + 2..];
            if let Some(end) = target.find(')') {
                pages.push(target[..end].replace(".md", ".html"));
            }
        }
    }
    if pages.is_empty() {
        bail!("no chapter in SUMMARY.md");
    }
    Ok(pages)
}

/// A headless Chromium session through a ChromeDriver of its own; both end when it is dropped.
struct Browser {
    port: u16,
    id: String,
    profile: PathBuf,
    _driver: Started,
}

impl Browser {
    fn open() -> Result<Browser> {
        ensure_browser()?;
        let port = crate::cloud::free_port()?;
        let driver = Started(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting chromedriver")?,
        );
        wait_for_port(port)?;
        let profile = std::env::temp_dir().join(format!("kinesis-lab-chromium-{}-{port}", std::process::id()));
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    // Headless as root in a sandbox, and quiet: this machine's network is closed, and background
                    // connections would only fail noisily.
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--window-size=1280,900", format!("--user-data-dir={}", profile.display())]
                },
                "goog:loggingPrefs": { "browser": "ALL" }
            }}
        });
        let session = webdriver(port, "POST", "/session", Some(&capabilities))?;
        let id = session["sessionId"].as_str().context("a WebDriver session")?.to_owned();
        Ok(Browser {
            port,
            id,
            profile,
            _driver: driver,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        webdriver(self.port, method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(&json!({ "url": url }))).map(|_| ())
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    fn run(&self, script: &str) -> Result<Value> {
        self.call("POST", "/execute/sync", Some(&json!({ "script": script, "args": [] })))
    }

    /// The console's errors since the last call.
    fn console_errors(&self) -> Result<Vec<String>> {
        let log = self.call("POST", "/se/log", Some(&json!({ "type": "browser" })))?;
        Ok(log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// A screenshot of the whole page: the window is made as tall as the page first (a dashboard grows as its
    /// figures arrive, and WebDriver's screenshot is of the window only).
    fn screenshot_page(&self, path: &Path) -> Result<()> {
        let sizes =
            self.run("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];")?;
        let (page, chrome) = (sizes[0].as_f64().unwrap_or(0.0), sizes[1].as_f64().unwrap_or(0.0));
        self.call(
            "POST",
            "/window/rect",
            Some(&json!({ "width": DASHBOARD_WIDTH, "height": page + chrome })),
        )?;
        self.screenshot(path)
    }

    fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.call("GET", "/screenshot", None)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().context("a screenshot")?)
            .context("the screenshot's base64")?;
        std::fs::create_dir_all(path.parent().context("a folder")?)?;
        std::fs::write(path, bytes)?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = webdriver(self.port, "DELETE", &format!("/session/{}", self.id), None);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Loads every chapter in headless Chromium; fails on a console error or a picture that did not render.
pub fn check(html: &Path, screenshot: &Path) -> Result<Report> {
    let http_port = crate::cloud::free_port()?;
    // A static server for the built book: the browser loads pages over HTTP, as `book --serve` does.
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .context("the browser test serves the book with Python's http.server, and there is no python3")?;
    let _server = Started(
        Command::new(python)
            .args(["-m", "http.server", "--bind", "127.0.0.1", &http_port.to_string()])
            .current_dir(html)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the book's HTTP server")?,
    );
    let browser = Browser::open()?;
    wait_for_port(http_port)?;
    visit_all(&browser, http_port, html, screenshot)
}

fn visit_all(browser: &Browser, http_port: u16, html: &Path, screenshot: &Path) -> Result<Report> {
    let mut problems = vec![];
    let mut pictures = 0;
    let pages = chapter_pages(html)?;
    for page in &pages {
        browser.go(&format!("http://127.0.0.1:{http_port}/{page}"))?;
        // Every picture: loaded, decoded, with a size (an SVG that fails to parse has none).
        let images = browser.run(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);",
        )?;
        for image in images.as_array().into_iter().flatten() {
            pictures += 1;
            if image[1] != json!(true) {
                problems.push(format!("{page}: the picture {} did not render", image[0]));
            }
        }
        let title = browser.call("GET", "/title", None)?;
        if title.as_str().is_none_or(|t| t.is_empty()) {
            problems.push(format!("{page}: no title; the page did not load"));
        }
        for error in browser.console_errors()? {
            problems.push(format!("{page}: console error: {error}"));
        }
        if page == &pages[0] {
            browser.screenshot(screenshot)?;
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(Report {
        pages: pages.len(),
        pictures,
        screenshot: screenshot.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The lab's dashboard.

/// What the dashboard check runs and where it saves its screenshots.
pub struct DashboardCheck {
    pub records: u64,
    /// `--scenario` for the lab (`None`: its default).
    pub scenario: Option<String>,
    /// `<folder>/dashboard-<name>-live.png` and `-end.png`.
    pub screenshots: PathBuf,
    pub name: String,
    /// Print what the lab prints (its summary).
    pub echo: bool,
}

/// What the check saw.
pub struct DashboardReport {
    pub live: PathBuf,
    pub end: PathBuf,
    /// `/api/metrics` once the run was over, and the lab's JSON summary.
    pub metrics: Value,
    /// The analysis' pictures the page showed, and the anomaly rings in them checked against the cells.
    pub pictures: usize,
    pub rings_checked: usize,
    pub summary: Value,
    pub seconds: f64,
}

/// The browser window's width for the dashboard (the book's screenshots are this wide).
const DASHBOARD_WIDTH: u32 = 1360;

/// Figures that must leave zero during a run: the page's `data-figure` ids.
const MUST_MOVE: [&str; 5] = [
    "totals.produced",
    "totals.records_per_s",
    "totals.consumed",
    "totals.delivered",
    "totals.windows_closed",
];

/// The page as the check reads it: its phase, every figure's number, and the analysis' picture as rendered (the
/// address it came from, whether its land is drawn, its cells with readings and its anomaly rings, in screen pixels:
/// what [`map_check`] judges), or the note the panel shows instead of one.
const READ_PAGE: &str = r#"
const figures = {};
document.querySelectorAll('[data-figure]').forEach(e => { figures[e.dataset.figure] = Number(e.dataset.value || 0); });
const picture = document.querySelector('#map svg');
const box = e => { const b = e.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
const land = picture ? picture.querySelector('path.land') : null;
const landBox = land ? land.getBoundingClientRect() : null;
const note = document.querySelector('#map .empty');
const all = selector => picture ? Array.from(picture.querySelectorAll(selector)) : [];
return {
  phase: document.getElementById('status').dataset.phase || '',
  status: document.getElementById('status').textContent,
  figures,
  picture: picture ? picture.dataset.picture || '' : null,
  note: note ? note.textContent : null,
  land: !!(landBox && landBox.width > 100 && landBox.height > 50),
  map: {
    cells: all('rect.cell').filter(r => Number(r.dataset.count) > 0).map(r => ({
      row: Number(r.dataset.row), column: Number(r.dataset.column), count: Number(r.dataset.count), box: box(r),
    })),
    rings: all('circle.anomaly').map(c => ({ box: box(c), title: c.textContent })),
  },
};
"#;

/// A group of processes we started (the lab's), stopped by its id when dropped: Ctrl-C first, as a learner would.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-INT", "--", &group]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if self.0.try_wait().is_ok_and(|status| status.is_some()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// Runs `cargo xtask lab --hold` (this executable), watches its dashboard in Chromium until the run is over, and
/// compares the last figures with the lab's JSON summary.
pub fn dashboard_check(check: &DashboardCheck) -> Result<DashboardReport> {
    let started = Instant::now();
    let port = crate::cloud::free_port()?;
    let log_path = check.screenshots.join(format!("dashboard-{}-lab.log", check.name));
    std::fs::create_dir_all(&check.screenshots)?;
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["lab", "--records", &check.records.to_string(), "--hold", "--json"]);
    command.args(["--dashboard-port", &port.to_string()]);
    if let Some(scenario) = &check.scenario {
        command.args(["--scenario", scenario]);
    }
    // Its own process group, so that stopping it stops the lab-cloud and the emulator it started, and nothing else.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let lab = Group(
        command
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()
            .context("starting cargo xtask lab")?,
    );
    let mut lab = lab;
    let summary = read_summary_line(&mut lab.0, check.echo);
    wait_for_dashboard(&mut lab.0, port, &log_path)?;
    let browser = Browser::open()?;
    browser.call(
        "POST",
        "/window/rect",
        Some(&json!({ "width": DASHBOARD_WIDTH, "height": 2000 })),
    )?;
    browser.go(&format!("http://127.0.0.1:{port}/"))?;
    let shots = Shots {
        live: check.screenshots.join(format!("dashboard-{}-live.png", check.name)),
        misplaced: check
            .screenshots
            .join(format!("dashboard-{}-misplaced.png", check.name)),
    };
    let end = check.screenshots.join(format!("dashboard-{}-end.png", check.name));
    let watched = watch(&browser, port, &shots, &log_path)?;
    browser.screenshot_page(&end)?;
    let metrics: Value = serde_json::from_str(&http_get(port, "/api/metrics")?)?;
    let summary = summary
        .recv_timeout(Duration::from_secs(30))
        .context("the lab printed no JSON summary")?;
    let mut problems = map_problems(&watched, &metrics)?;
    problems.extend(disagreements(&metrics, &summary));
    if !problems.is_empty() {
        bail!("the dashboard check failed:\n  {}", problems.join("\n  "));
    }
    Ok(DashboardReport {
        live: shots.live,
        end,
        metrics,
        pictures: watched.pictures,
        rings_checked: watched.rings_checked,
        summary,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What is wrong with the analysis' picture at the end of the run: not drawn, no land, no cell, no ring ever checked
/// (so its placement never was), or busiest cells that the figures list and the picture does not show.
fn map_problems(watched: &Watched, metrics: &Value) -> Result<Vec<String>> {
    let page = &watched.page;
    let picture: map_check::Picture = serde_json::from_value(page["map"].clone())?;
    let mut problems = vec![];
    if page["picture"].is_null() {
        problems.push(format!(
            "the analysis panel shows no picture; it says: {}",
            page["note"].as_str().unwrap_or("nothing")
        ));
    } else if !page["land"].as_bool().unwrap_or(false) {
        problems.push("the map's land outline did not render".to_owned());
    }
    if picture.cells.is_empty() {
        problems.push("the map has no cell with readings: the analysis' window never showed".to_owned());
    }
    if watched.rings_checked == 0 {
        problems.push(format!(
            "no anomaly ring was drawn in any of the {} pictures shown, so where the map puts the cells was never \
             checked (the fleet glitches 1% of its readings: a run of a few thousand records has some)",
            watched.pictures
        ));
    }
    problems.extend(map_check::busiest_not_drawn(&picture, &metrics["analysis"]["busiest"]));
    Ok(problems)
}

/// The last line of the lab's standard output that is a JSON object (its `--json` summary), read on a thread.
fn read_summary_line(lab: &mut Child, echo: bool) -> std::sync::mpsc::Receiver<Value> {
    let (send, receive) = std::sync::mpsc::channel();
    let stdout = lab.stdout.take().expect("piped");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if echo {
                println!("{line}");
            }
            if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(&line) {
                let _ = send.send(value);
            }
        }
    });
    receive
}

/// Waits until the dashboard answers (the lab builds the steps first: minutes on a cold build).
fn wait_for_dashboard(lab: &mut Child, port: u16, log: &Path) -> Result<()> {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = lab.try_wait()? {
            bail!(
                "the lab ended ({status}) before its dashboard answered; its output: {}",
                log.display()
            );
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!(
                "no dashboard on 127.0.0.1:{port} after 15 minutes; the lab's output: {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Where the watch saves its screenshots: `live` while records flow, `misplaced` when the map is drawn wrong.
struct Shots {
    live: PathBuf,
    misplaced: PathBuf,
}

/// What the watch saw: the page as it read it last, and the pictures whose rings it checked.
struct Watched {
    page: Value,
    pictures: usize,
    rings_checked: usize,
}

/// Reads the page twice a second until the run is over: fails on a console error, on a map drawn away from its
/// readings (each picture shown, [`map_check::judge`]), or on a figure of [`MUST_MOVE`] still at zero when it is
/// over. Saves the live screenshot while records flow (at the first moment the map also shows a window, if there is
/// one; at the end if records never were seen flowing). The run is over when the page says so and shows the
/// picture of the last figures.
fn watch(browser: &Browser, port: u16, shots: &Shots, log: &Path) -> Result<Watched> {
    let started = Instant::now();
    let mut peaks: std::collections::BTreeMap<&str, f64> = MUST_MOVE.iter().map(|id| (*id, 0.0)).collect();
    let (mut live_taken, mut live_has_map) = (false, false);
    let mut checked = std::collections::BTreeMap::new();
    loop {
        let errors = browser.console_errors()?;
        if !errors.is_empty() {
            bail!("the dashboard logged console errors:\n  {}", errors.join("\n  "));
        }
        let page = browser.run(READ_PAGE)?;
        for (id, peak) in &mut peaks {
            *peak = peak.max(page["figures"][*id].as_f64().unwrap_or(0.0));
        }
        if let Some(shown) = page["picture"].as_str() {
            let picture: map_check::Picture = serde_json::from_value(page["map"].clone())?;
            if let Err(problem) = map_check::judge(&picture) {
                browser.screenshot_page(&shots.misplaced)?;
                bail!("{problem}\n  (the page: {})", shots.misplaced.display());
            }
            checked.insert(shown.to_owned(), picture.rings.len());
        }
        let flowing = page["figures"]["totals.records_per_s"].as_f64().unwrap_or(0.0) > 0.0;
        let has_map = !page["map"]["cells"].as_array().is_none_or(Vec::is_empty);
        let done = page["phase"] == "done" && shows_the_last_picture(&page, port)?;
        // The live picture: records flowing, and once a window has closed, that moment (the better picture).
        if !done && flowing && (!live_taken || (has_map && !live_has_map)) {
            browser.screenshot_page(&shots.live)?;
            live_taken = true;
            live_has_map = has_map;
        }
        if done {
            if !live_taken {
                browser.screenshot_page(&shots.live)?;
            }
            let still: Vec<&str> = peaks.iter().filter(|(_, p)| **p == 0.0).map(|(id, _)| *id).collect();
            if !still.is_empty() {
                bail!("these figures never left zero: {}", still.join(", "));
            }
            return Ok(Watched {
                page,
                pictures: checked.len(),
                rings_checked: checked.values().sum(),
            });
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "the run was not over after 10 minutes (the page says: {}); the lab's output: {}",
                page["status"],
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Whether the page shows the picture `/api/metrics` names (it fetches a new one after the figures that name it).
fn shows_the_last_picture(page: &Value, port: u16) -> Result<bool> {
    let metrics: Value = serde_json::from_str(&http_get(port, "/api/metrics")?)?;
    Ok(metrics["analysis"]["heatmap"].as_str() == page["picture"].as_str())
}

/// Where the last figures and the lab's summary disagree: produced, consumed, delivered, throttled, given up. The
/// dashboard counts records as the stream and Firehose handled them; the summary counts distinct records, so a record
/// stored twice (a producer's call that timed out after it was stored, then sent again) is one more on the dashboard.
fn disagreements(metrics: &Value, summary: &Value) -> Vec<String> {
    let consumers = || {
        let mappings = metrics["mappings"].as_array().into_iter().flatten();
        mappings.filter(|m| m["tumbling_window_s"].is_null())
    };
    let given_up: u64 = consumers().map(|m| m["records_given_up"].as_u64().unwrap_or(0)).sum();
    let number = |value: &Value| value.as_u64();
    let duplicates = number(&summary["duplicates_in_s3"]).unwrap_or(0);
    let shown = |field: &str| number(&metrics["totals"][field]);
    let pairs = [
        ("consumed", shown("consumed"), number(&summary["consumed"])),
        (
            "delivered",
            shown("delivered"),
            number(&summary["delivered"]).map(|n| n + duplicates),
        ),
        ("throttled", shown("throttled"), number(&summary["throttled"])),
        ("given up", Some(given_up), number(&summary["failed"])),
    ];
    let mut problems = vec![];
    for (name, shown, said) in pairs {
        // A summary without the figure (an older lab) has nothing to disagree with.
        if said.is_some() && shown != said {
            problems.push(format!(
                "{name}: the dashboard shows {shown:?}, the lab's summary says {said:?}"
            ));
        }
    }
    // The stream's records: distinct ones and, when the summary counts them, those stored twice.
    let (produced, distinct) = (
        shown("produced").unwrap_or(0),
        number(&summary["produced"]).unwrap_or(0),
    );
    let agree = match number(&summary["duplicates_in_stream"]) {
        Some(twice) => produced == distinct + twice,
        None => produced >= distinct && (duplicates > 0 || produced == distinct),
    };
    if !agree {
        problems.push(format!(
            "produced: the dashboard shows {produced}, the lab's summary says {distinct} distinct and {} stored twice",
            summary["duplicates_in_stream"]
        ));
    }
    problems
}

/// One `GET` on 127.0.0.1, its body (the dashboard closes the connection after answering).
fn http_get(port: u16, path: &str) -> Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").context("an HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("GET {path}: {}", head.lines().next().unwrap_or_default());
    }
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        String::from_utf8_lossy(&dechunk(body.as_bytes())).into_owned()
    } else {
        body.to_owned()
    };
    Ok(body)
}
