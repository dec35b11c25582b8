//! `vnetlab web` in a real browser: lab 01 up, the page opened in headless
//! Chromium driven over the DevTools protocol (a small client over
//! tungstenite), and real traffic that the page must show — a ping moves a
//! peering's counter, a blocked ssh appears in the drop stream with its
//! reason. A screenshot is kept as target/web-lab01.png. Needs root (the
//! lab) and Debian's chromium (scripts/setup installs it).
#![cfg(feature = "root-tests")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

mod common;
use common::{BIN, Lab, text};

const LAB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/01-peering-basics");
const PASSWORD: &str = "Learn-Peering-2026!";
/// Every wait is bounded by this; none is asserted on for speed.
const LIMIT: Duration = Duration::from_secs(30);

impl Lab {
    fn up() -> Lab {
        let lab = Lab::named("h9web");
        let o = Command::new(BIN)
            .args(["up", LAB_DIR, "--lab", &lab.0])
            .stdin(Stdio::null())
            .output()
            .expect("run vnetlab up");
        assert!(o.status.success(), "up failed: {}", text(&o));
        lab
    }

    fn exec(&self, vm: &str, argv: &[&str]) -> Output {
        Command::new(BIN)
            .args(["exec", "--lab", &self.0, vm, "--"])
            .args(argv)
            .env("SSHPASS", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .expect("run vnetlab exec")
    }
}

/// A child process killed and reaped when the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first line of `stream` that holds `marker`, read on a thread so the
/// wait is bounded; the rest of the stream is drained so the child never
/// blocks on a full pipe.
fn line_with(stream: impl Read + Send + 'static, marker: &'static str) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if line.contains(marker)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("no line with '{marker}' within {LIMIT:?}"))
}

/// A minimal DevTools-protocol client: commands by id on the browser's
/// websocket, a page's commands under its (flattened) session.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) = tungstenite::connect(url).expect("connect to the browser's DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(LIMIT)).expect("read timeout");
        }
        Cdp { ws, next: 0 }
    }

    /// One command; its result (events that arrive meanwhile are skipped).
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let mut msg = json!({ "id": self.next, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send a DevTools command");
        loop {
            let m = self.ws.read().expect("a DevTools answer");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).expect("DevTools JSON");
            if v["id"] == self.next {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }
}

/// A page in the browser, its JavaScript evaluated in it.
struct Page<'a> {
    cdp: &'a mut Cdp,
    session: String,
}

impl Page<'_> {
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.cdp.call(
            Some(&self.session),
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// Polls `expr` until `ok` holds for its value; the last value.
    fn wait_for(&mut self, what: &str, expr: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + LIMIT;
        loop {
            let v = self.eval(expr);
            if ok(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; last: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A plain HTTP GET's status line, for the token check outside the browser.
fn status_line(addr: &str, target: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to vnetlab web");
    s.set_read_timeout(Some(LIMIT)).expect("read timeout");
    write!(s, "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("send");
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("status line");
    line.trim().to_string()
}

#[test]
fn web_page_shows_lab01_live_in_headless_chromium() {
    let lab = Lab::up();
    let mut web = Killed(
        Command::new(BIN)
            .args(["web", "--lab", &lab.0, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start vnetlab web"),
    );
    let url = line_with(web.0.stdout.take().expect("web stdout"), "?token=");
    let url = url.trim().to_string();
    let (base, token) = url.split_once("/?token=").expect("a URL with a token");
    let addr = base.trim_start_matches("http://").to_string();

    // Without the token, or with another one, nothing is served.
    assert!(status_line(&addr, "/").contains(" 403 "), "no token");
    assert!(
        status_line(&addr, "/api/graph?token=0000").contains(" 403 "),
        "wrong token"
    );
    assert!(
        status_line(&addr, &format!("/?token={token}")).contains(" 200 "),
        "the token"
    );

    let profile = TempDir(std::env::temp_dir().join(format!("vnetlab-h9web-chromium-{}", std::process::id())));
    let mut chromium = Killed(
        Command::new("chromium")
            .args([
                "--headless",
                // As root Chromium's sandbox cannot start; the page is ours.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1400,1100",
            ])
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium (scripts/setup installs it)"),
    );
    let listening = line_with(
        chromium.0.stderr.take().expect("chromium stderr"),
        "DevTools listening on",
    );
    let ws_url = listening.split_whitespace().last().expect("the ws:// URL").to_string();
    let mut cdp = Cdp::connect(&ws_url);
    let target = cdp.call(None, "Target.createTarget", json!({ "url": url }));
    let attached = cdp.call(
        None,
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    let session = attached["sessionId"].as_str().expect("a session").to_string();
    let mut page = Page { cdp: &mut cdp, session };

    // The diagram shows every VM of lab 01, each node clickable.
    page.wait_for(
        "the diagram's VMs",
        "[...document.querySelectorAll('#diagram [data-vm]')].map(e => e.dataset.vm).sort()",
        |v| v == &json!(["MarketingVM", "ResearchVM", "SalesVM"]),
    );

    // A ping from SalesVM to MarketingVM moves the peering's counter.
    let carried = |p: &mut Page| -> Option<u64> {
        p.eval("(document.querySelector('#peerings tr[data-peering=\"SalesVNet/SalesVNet-To-MarketingVNet\"] td.carried') || {}).textContent")
            .as_str()
            .and_then(|s| s.parse().ok())
    };
    page.wait_for(
        "the peering's counter",
        "!!document.querySelector('#peerings tr[data-peering=\"SalesVNet/SalesVNet-To-MarketingVNet\"] td.carried')",
        |v| v == &json!(true),
    );
    let before = carried(&mut page).expect("a number");
    let o = lab.exec(
        "SalesVM",
        &["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-w", "3", "10.2.1.4"],
    );
    assert!(o.status.success(), "ping SalesVM -> MarketingVM: {}", text(&o));
    let deadline = Instant::now() + LIMIT;
    let after = loop {
        let now = carried(&mut page).unwrap_or(before);
        if now >= before + 3 {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the peering counter stayed at {now} (was {before})"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("SalesVNet-To-MarketingVNet carried packets on the page: {before} -> {after}");

    // A blocked ssh (SalesVM -> ResearchVM: peering is not transitive)
    // appears in the drop stream with its reason.
    page.wait_for(
        "the drop stream",
        "document.querySelector('#drops-state').textContent",
        |v| v == &json!("(live)"),
    );
    let o = lab.exec(
        "SalesVM",
        &[
            "sshpass",
            "-e",
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=2",
            "azureuser@10.3.1.4",
            "hostname",
        ],
    );
    assert!(!o.status.success(), "ssh SalesVM -> ResearchVM should be blocked");
    let line = page.wait_for(
        "the blocked ssh in the drop stream",
        "[...document.querySelectorAll('#drops li')].map(l => l.textContent).find(t => t.includes('-> 10.3.1.4:22 tcp')) || ''",
        |v| v.as_str().is_some_and(|t| !t.is_empty()),
    );
    let line = line.as_str().unwrap_or_default();
    assert!(line.contains("not transitive") && line.contains("SalesVM"), "{line}");

    // A click on a VM shows its effective routes and NSG rules.
    page.eval("document.querySelector('#diagram [data-vm=\"SalesVM\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))");
    let routes = page.wait_for(
        "SalesVM's effective routes",
        "(document.querySelector('#vm-out pre.routes') || {}).textContent || ''",
        |v| v.as_str().is_some_and(|t| t.contains("VNetPeering")),
    );
    assert!(routes.as_str().unwrap_or_default().contains("10.2.0.0/16"), "{routes}");
    page.wait_for(
        "SalesVM's NSG rules",
        "(document.querySelector('#vm-out pre.nsg') || {}).textContent || ''",
        |v| v.as_str().is_some_and(|t| t.contains("DenyAllInBound")),
    );

    // The explain box asks the verdict function.
    page.eval(
        "(() => { const f = document.querySelector('#explain'); f.from.value = 'SalesVM'; f.to.value = 'ResearchVM'; \
         f.port.value = '22'; f.protocol.value = 'tcp'; f.requestSubmit(); })()",
    );
    page.wait_for(
        "the explain answer",
        "document.querySelector('#explain-out').textContent",
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("10.3.1.4:22 tcp") && t.contains("not transitive"))
        },
    );

    // The VM panel's capture link downloads a pcapng of what the fabric
    // saw, each packet's verdict in its comment (3 s here; the page asks 10).
    let href = page.eval("document.querySelector('#vm-out a.capture').href");
    let href = href
        .as_str()
        .expect("a capture link")
        .replace("seconds=10", "seconds=3");
    page.eval(&format!(
        "window.capHeaders = false; window.cap = null; fetch({href:?}).then(r => {{ window.capHeaders = true; \
         return r.arrayBuffer().then(a => {{ const b = new Uint8Array(a); window.cap = {{ status: r.status, \
         type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition') || '', \
         magic: [...b.slice(0, 4)].map(x => x.toString(16).padStart(2, '0')).join(''), \
         text: new TextDecoder('latin1').decode(b) }}; }}); }}); true"
    ));
    // The headers come once the daemon's tap is in place.
    page.wait_for("the capture's start", "window.capHeaders", |v| v == &json!(true));
    let o = lab.exec(
        "SalesVM",
        &["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-w", "2", "10.2.1.4"],
    );
    assert!(o.status.success(), "ping during the capture: {}", text(&o));
    let cap = page.wait_for("the capture's file", "window.cap", |v| !v.is_null());
    assert_eq!(cap["status"], 200, "{}", cap["text"]);
    assert_eq!(cap["type"], "application/x-pcapng");
    assert!(
        cap["disposition"].as_str().is_some_and(|d| d.contains(".pcapng")),
        "{}",
        cap["disposition"]
    );
    // A pcapng section header block starts 0x0A0D0D0A.
    assert_eq!(cap["magic"], "0a0d0d0a");
    let body = cap["text"].as_str().unwrap_or_default();
    assert!(
        body.contains("delivered to") && body.contains("SalesVNet-To-MarketingVNet"),
        "no delivered ping with its peering in the capture"
    );

    let shot = page.cdp.call(
        Some(&page.session),
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true }),
    );
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("base64 PNG");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir");
    let path = target_dir.join("web-lab01.png");
    std::fs::write(&path, &png).expect("write the screenshot");
    println!("screenshot: {}", path.display());
}
