//! A small headless Chromium driver over the DevTools protocol (CDP): JSON over a WebSocket, with
//! the tokio-tungstenite client the tests already use. The wall display tests need five commands
//! (open a tab, size it, navigate, evaluate, screenshot), so a CDP crate (whose generated protocol
//! types are a large build, and lag the browser) or chromedriver would be more than they need.
//!
//! Chromium is Debian's (`/usr/bin/chromium`, or `$TALLY_CHROMIUM`); without it the tests fail,
//! naming `gateway/scripts/install-chromium.sh`.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod office;

use crate::support::PATIENCE;

/// Flags for a quiet, headless browser on a machine without internet: without the background
/// networking flags Chromium keeps dialling out, and those connections are refused here.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
];

/// The browser binary, or a failure that says how to install it.
pub fn chromium_path() -> PathBuf {
    let path = std::env::var_os("TALLY_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.is_file(),
        "Chromium not found at {} (set TALLY_CHROMIUM to use another): the wall display tests \
         need it; install it with `gateway/scripts/install-chromium.sh`",
        path.display()
    );
    path
}

/// Every visible tile lies inside the viewport and is big enough to read; nothing scrolls.
pub const FITS: &str = "(() => { const tiles = [...document.querySelectorAll('.tile:not([hidden])')]; \
     return tiles.length > 0 && document.documentElement.scrollHeight <= innerHeight \
       && document.documentElement.scrollWidth <= innerWidth \
       && tiles.every((t) => { const r = t.getBoundingClientRect(); \
         return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth \
           && r.width >= 160 && r.height >= 110; }); })()";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One headless Chromium with one tab.
pub struct Browser {
    child: Child,
    socket: Socket,
    session: String,
    next_id: u64,
    stderr: Arc<Mutex<Vec<String>>>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on a fresh profile and opens a tab of `width`×`height` CSS pixels.
    pub async fn launch(width: u32, height: u32) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium_path())
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        // Chromium prints its DevTools address on stderr; keep draining stderr afterwards so that
        // the browser never blocks on a full pipe (and keep it for failure messages).
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let endpoint = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await.unwrap_or(None) {
                stderr.lock().unwrap().push(line.clone());
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("chromium did not start: {:?}", stderr.lock().unwrap()));
        let drain = Arc::clone(&stderr);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                drain.lock().unwrap().push(line);
            }
        });
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .expect("DevTools connection");
        let mut browser = Self {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            stderr,
            _profile: profile,
        };
        let target = browser
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = browser
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.resize(width, height).await;
        browser
    }

    /// Sends a command (to the tab's session, or to the browser) and returns its result. Events
    /// in between are ignored: no domain is enabled, so there are few.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::Text(command.to_string().into()))
            .await
            .expect("DevTools command sent");
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method} within {PATIENCE:?}"));
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    return json!({ "error": format!("DevTools connection closed during {method}") });
                }
            };
            let answer: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if answer["id"] != json!(id) {
                continue;
            }
            if let Some(error) = answer.get("error") {
                return json!({ "error": error });
            }
            return answer["result"].clone();
        }
    }

    /// A command to the tab that must succeed.
    async fn tab(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        let result = self.call(Some(&session), method, params).await;
        assert!(result.get("error").is_none(), "{method} failed: {result}");
        result
    }

    /// Sets the tab's viewport.
    pub async fn resize(&mut self, width: u32, height: u32) {
        self.tab(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
    }

    /// Navigates the tab.
    pub async fn goto(&mut self, url: &str) {
        let result = self.tab("Page.navigate", json!({ "url": url })).await;
        assert!(
            result.get("errorText").is_none(),
            "navigation to {url} failed: {result}"
        );
    }

    /// Evaluates `expression` in the page (awaiting it if it is a promise) and returns its
    /// value, or `Err` with the exception text.
    pub async fn try_eval(&mut self, expression: &str) -> Result<Value, String> {
        let session = self.session.clone();
        let result = self
            .call(
                Some(&session),
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(error) = result.get("error") {
            return Err(error.to_string());
        }
        if let Some(details) = result.get("exceptionDetails") {
            return Err(details.to_string());
        }
        Ok(result["result"]["value"].clone())
    }

    /// Evaluates `expression` in the page; fails the test on an exception.
    pub async fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|err| panic!("`{expression}` threw: {err}"))
    }

    /// Waits until `condition` (a JavaScript expression) is truthy in the page and returns its
    /// value. Event-driven: the page re-checks the condition on every DOM change (a
    /// MutationObserver), so there is no polling interval; it fails after the test's patience,
    /// showing `describe` (an expression) evaluated at that moment.
    pub async fn wait_for(&mut self, what: &str, condition: &str, describe: &str) -> Value {
        let expression = format!(
            "new Promise((resolve) => {{
                const check = () => {{ try {{ return ({condition}); }} catch (_) {{ return false; }} }};
                const first = check();
                if (first) return resolve(first);
                const observer = new MutationObserver(() => {{
                    const value = check();
                    if (value) {{ observer.disconnect(); resolve(value); }}
                }});
                observer.observe(document, {{ subtree: true, childList: true, attributes: true, characterData: true }});
            }})"
        );
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.try_eval(&expression)).await {
                Ok(Ok(value)) => return value,
                // The page navigated under the observer (its context was destroyed): look again.
                Ok(Err(err)) if err.contains("context") => continue,
                Ok(Err(err)) => panic!("waiting for {what}: {err}"),
                Err(_) => {
                    let state = self.try_eval(describe).await;
                    panic!("{what}: not within {PATIENCE:?}; the page shows {state:?}");
                }
            }
        }
    }

    /// A PNG screenshot of the viewport, written to `path`.
    pub async fn screenshot(&mut self, path: &std::path::Path) {
        let shot = self
            .tab("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// What Chromium printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Closes the browser and waits for it to exit.
    pub async fn close(mut self) {
        let _ = self.call(None, "Browser.close", json!({})).await;
        if tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
