//! The book in a real browser: Debian's Chromium, headless, driven by ChromeDriver over WebDriver (plain HTTP
//! on 127.0.0.1). Every chapter page is served over HTTP, loaded, and must log no console error; every picture
//! on it must have rendered (decoded, with a size); the introduction is saved as a screenshot.

use anyhow::{Context, Result, bail};
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

/// Loads every chapter in headless Chromium; fails on a console error or a picture that did not render.
pub fn check(html: &Path, screenshot: &Path) -> Result<Report> {
    ensure_browser()?;
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
    let driver_port = crate::cloud::free_port()?;
    let _driver = Started(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?,
    );
    wait_for_port(http_port)?;
    wait_for_port(driver_port)?;

    let profile = std::env::temp_dir().join(format!("kinesis-lab-chromium-{}", std::process::id()));
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
    let session = webdriver(driver_port, "POST", "/session", Some(&capabilities))?;
    let id = session["sessionId"].as_str().context("a WebDriver session")?.to_owned();
    let outcome = visit_all(driver_port, &id, http_port, html, screenshot);
    let _ = webdriver(driver_port, "DELETE", &format!("/session/{id}"), None);
    let _ = std::fs::remove_dir_all(&profile);
    outcome
}

fn visit_all(driver: u16, id: &str, http_port: u16, html: &Path, screenshot: &Path) -> Result<Report> {
    let mut problems = vec![];
    let mut pictures = 0;
    let pages = chapter_pages(html)?;
    for page in &pages {
        let url = format!("http://127.0.0.1:{http_port}/{page}");
        webdriver(
            driver,
            "POST",
            &format!("/session/{id}/url"),
            Some(&json!({ "url": url })),
        )?;
        // Every picture: loaded, decoded, with a size (an SVG that fails to parse has none).
        let images = webdriver(
            driver,
            "POST",
            &format!("/session/{id}/execute/sync"),
            Some(&json!({
                "script": "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);",
                "args": []
            })),
        )?;
        for image in images.as_array().into_iter().flatten() {
            pictures += 1;
            if image[1] != json!(true) {
                problems.push(format!("{page}: the picture {} did not render", image[0]));
            }
        }
        let title = webdriver(driver, "GET", &format!("/session/{id}/title"), None)?;
        if title.as_str().is_none_or(|t| t.is_empty()) {
            problems.push(format!("{page}: no title; the page did not load"));
        }
        let log = webdriver(
            driver,
            "POST",
            &format!("/session/{id}/se/log"),
            Some(&json!({ "type": "browser" })),
        )?;
        for entry in log.as_array().into_iter().flatten() {
            if entry["level"] == "SEVERE" {
                problems.push(format!("{page}: console error: {}", entry["message"]));
            }
        }
        if page == &pages[0] {
            let png = webdriver(driver, "GET", &format!("/session/{id}/screenshot"), None)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(png.as_str().context("a screenshot")?)
                .context("the screenshot's base64")?;
            std::fs::write(screenshot, bytes)?;
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
