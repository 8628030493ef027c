//! The dashboard in headless Chromium, driven over the DevTools protocol:
//! a manufacturer with a supplier that passes and a haulier that fails. The
//! administrator types the admin token into the sign-in form (never a URL);
//! the graph shows both verdicts, the link to the supplier's page leads to
//! its verification, a screenshot is saved, and signing out through the
//! CSRF-protected form ends the session. A one-time link signs a fresh
//! browser in once. Needs Debian's `chromium` (installed by tests/run.sh).

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use assure_access::{Clearance, Role};
use assure_node::config::VerifyConfig;
use assure_tests::{TIMEOUT, TestNode, relationship};
use base64::Engine as _;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";

const SUPPLIER_PROFILE: &str = r#"
name = "simple-supplier"
title = "Supplier"
[[requirement]]
id = "relationship"
kind = "relationship"
clauses = ["ISO28000:4.3"]
[[requirement]]
id = "scope"
kind = "scope"
clauses = ["ISO28000:4.3"]
"#;

/// Headless Chromium over `--remote-debugging-pipe`: commands go in on its
/// fd 3 and answers and events come out on fd 4, each a JSON text ending
/// in NUL. The two fds are FIFOs that a shell opens for it (the workspace
/// forbids `unsafe`, so no `dup2` before `exec`). Calls block the test's
/// own thread only; the nodes run on the runtime's workers.
struct Chromium {
    child: Child,
    commands: File,
    answers: mpsc::Receiver<Value>,
    /// Events read while waiting for an answer, oldest first.
    events: Vec<Value>,
    next_id: u64,
    _dir: tempfile::TempDir,
}

impl Chromium {
    fn launch() -> Self {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: run tests/run.sh, which installs Debian's chromium"
        );
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        for fifo in [&input, &output] {
            assert!(Command::new("mkfifo").arg(fifo).status().unwrap().success());
        }
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<"$CDP_IN" 4>"$CDP_OUT""#)
            .arg(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg("about:blank")
            .env("CDP_IN", &input)
            .env("CDP_OUT", &output)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // In the order the shell opens them: each open waits for the other
        // end.
        let commands = std::fs::OpenOptions::new()
            .write(true)
            .open(&input)
            .unwrap();
        let from_chromium = File::open(&output).unwrap();
        let (sender, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_chromium);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        message.pop();
                        let Ok(value) = serde_json::from_slice(&message) else {
                            continue;
                        };
                        if sender.send(value).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Self {
            child,
            commands,
            answers,
            events: Vec::new(),
            next_id: 0,
            _dir: dir,
        }
    }

    fn receive(&mut self, awaited: &str) -> Value {
        self.answers
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("chromium: no {awaited} ({e})"))
    }

    /// Sends a command (to a page when `session` is given) and returns its
    /// result.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        loop {
            let message = self.receive(method);
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Waits for the event `method` of page `session`, or takes it from the
    /// events already read.
    fn wait_for(&mut self, session: &str, method: &str) {
        let matches = |e: &Value| e["method"] == method && e["sessionId"] == session;
        if let Some(at) = self.events.iter().position(matches) {
            self.events.drain(..=at);
            return;
        }
        loop {
            let message = self.receive(method);
            if matches(&message) {
                return;
            }
            self.events.push(message);
        }
    }

    /// A new browser context: its own cookie jar, as a fresh browser.
    fn context(&mut self) -> String {
        let made = self.call(None, "Target.createBrowserContext", json!({}));
        made["browserContextId"].as_str().unwrap().to_owned()
    }

    /// A new tab (in `context`, or the default one); its page session.
    fn tab(&mut self, context: Option<&str>) -> String {
        let mut params = json!({ "url": "about:blank" });
        if let Some(context) = context {
            params["browserContextId"] = context.into();
        }
        let target = self.call(None, "Target.createTarget", params)["targetId"].clone();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        self.call(Some(&session), "Page.enable", json!({}));
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        );
        session
    }

    /// Evaluates a script expression in the page; its value.
    fn eval(&mut self, tab: &str, expression: &str) -> Value {
        let result = self.call(
            Some(tab),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// The page's document, as HTML.
    fn dom(&mut self, tab: &str) -> String {
        let html = self.eval(tab, "document.documentElement.outerHTML");
        html.as_str().unwrap().to_owned()
    }

    /// Opens `url` in the tab; the document once loaded.
    fn open(&mut self, tab: &str, url: &str) -> String {
        self.events.clear();
        self.call(Some(tab), "Page.navigate", json!({ "url": url }));
        self.wait_for(tab, "Page.loadEventFired");
        self.dom(tab)
    }

    /// Does what a person does to the page (`action`, a script expression:
    /// click, or focus before typing), then waits for the page it leads
    /// to.
    fn act(&mut self, tab: &str, action: &str) -> String {
        self.events.clear();
        self.eval(tab, action);
        self.wait_for(tab, "Page.loadEventFired");
        self.dom(tab)
    }

    /// Types `text` into the focused field and presses Enter; the page the
    /// form leads to.
    fn type_and_enter(&mut self, tab: &str, text: &str) -> String {
        self.call(Some(tab), "Input.insertText", json!({ "text": text }));
        self.events.clear();
        let enter = json!({
            "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"
        });
        let mut down = enter.clone();
        down["type"] = "keyDown".into();
        self.call(Some(tab), "Input.dispatchKeyEvent", down);
        let mut up = enter;
        up["type"] = "keyUp".into();
        self.call(Some(tab), "Input.dispatchKeyEvent", up);
        self.wait_for(tab, "Page.loadEventFired");
        self.dom(tab)
    }

    fn screenshot(&mut self, tab: &str) -> Vec<u8> {
        let shot = self.call(
            Some(tab),
            "Page.captureScreenshot",
            json!({ "format": "png" }),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn profile(name: &str) -> String {
    format!("kind = \"profile\"\nlegalName = \"{name}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_verdicts_and_links_to_a_providers_page() {
    let files = tempfile::tempdir().unwrap();
    let supplier_profile = files.path().join("supplier.toml");
    std::fs::write(&supplier_profile, SUPPLIER_PROFILE).unwrap();
    let logistics_profile = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/profiles/logistics-provider.toml"
    ));
    let mut maker = TestNode::start_with(110, "maker", |config| {
        config.verify = VerifyConfig {
            default_profile: Some(supplier_profile.clone()),
            profiles: vec![(vec!["road haulage".into()], logistics_profile.clone())],
        };
    })
    .await;
    let mut supplier = TestNode::start(111, "supplier").await;
    let mut haulier = TestNode::start(112, "haulier").await;
    let (m, s, h) = (maker.did(), supplier.did(), haulier.did());
    for author in [&supplier, &haulier] {
        author.grant(m, Clearance::Partner, &[Role::Customer]).await;
        maker.connect(author).await;
    }
    supplier
        .publish_wider(
            "partners",
            &[
                profile("Precision Castings BV"),
                relationship(s, m, "machined housings"),
                "kind = \"scope\"\nprocesses = [\"machined housings\"]\n".into(),
            ],
        )
        .await;
    haulier
        .publish_wider(
            "partners",
            &[
                profile("Rhine Road Haulage GmbH"),
                relationship(h, m, "road haulage"),
                "kind = \"scope\"\nprocesses = [\"warehousing\"]\n".into(),
            ],
        )
        .await;
    maker
        .publish_wider(
            "partners",
            &[
                relationship(s, m, "machined housings"),
                relationship(h, m, "road haulage"),
            ],
        )
        .await;
    for author in [&supplier, &haulier] {
        let log = author.log("partners");
        maker.wait_synced(log, 3).await;
    }

    let base = maker.api();
    let token = maker.admin_token();
    let mut chromium = Chromium::launch();
    let tab = chromium.tab(None);

    // Sign in: type the token into the form and press Enter.
    let form = chromium.open(&tab, &format!("{base}/login"));
    assert!(
        form.contains(r#"<form method="post" action="/login">"#),
        "{form}"
    );
    chromium.eval(&tab, "document.querySelector('input[name=token]').focus()");
    let home = chromium.type_and_enter(&tab, &token);
    let at = chromium.eval(&tab, "location.href");
    assert_eq!(at, format!("{base}/"), "the token is in no URL");
    assert!(home.contains("signed in as this node"), "{home}");
    assert!(home.contains("Supply chain"), "{home}");
    assert!(home.contains("Precision Castings BV") && home.contains("Rhine Road Haulage GmbH"));
    assert!(
        home.contains(r#"<td class="pass">pass"#),
        "supplier passes: {home}"
    );
    assert!(
        home.contains(r#"<td class="fail">fail"#),
        "haulier fails: {home}"
    );
    assert!(home.contains("<svg"), "the graph is drawn");
    let cookies = chromium.eval(&tab, "document.cookie");
    assert_eq!(cookies, "", "scripts cannot read the session cookie");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let png = chromium.screenshot(&tab);
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "suspiciously small screenshot");
    std::fs::write(&shot, &png).unwrap();

    // Follow the link from the graph to the supplier's page.
    let link = format!("/orgs/{s}");
    assert!(
        home.contains(&format!("href=\"{link}\"")),
        "no link to {link}"
    );
    let page = chromium.act(
        &tab,
        &format!("document.querySelector('table a[href=\"{link}\"]').click()"),
    );
    assert!(page.contains("Latest verification"), "{page}");
    assert!(page.contains("simple-supplier"));
    assert!(page.contains("machined housings"));

    // The admin pages: disclosures, grants, peers and sync state; alerts.
    let admin = chromium.open(&tab, &format!("{base}/admin"));
    for heading in [
        "Peers connected",
        "Logs and sync state",
        "Grants",
        "Disclosure log",
    ] {
        assert!(admin.contains(heading), "{heading} missing: {admin}");
    }
    let alerts = chromium.open(&tab, &format!("{base}/alerts"));
    assert!(
        alerts.contains("Certifications expiring within 90 days"),
        "{alerts}"
    );

    // Anonymous visitors (a fresh browser, no session cookie) see only
    // public data: no providers at all here, and no admin page.
    let fresh = chromium.context();
    let stranger = chromium.tab(Some(&fresh));
    let public = chromium.open(&stranger, &format!("{base}/"));
    assert!(!public.contains("Precision Castings BV"), "{public}");
    assert!(public.contains("public view"));
    let hidden = chromium.open(&stranger, &format!("{base}/admin"));
    assert!(hidden.contains("No such page.") && !hidden.contains("Disclosure log"));

    // A one-time link signs that fresh browser in once.
    let once = maker.node().dashboard_link().unwrap().unwrap();
    let button = chromium.open(&stranger, &once);
    assert!(button.contains("one-time link"), "{button}");
    let signed_in = chromium.act(&stranger, "document.querySelector('form button').click()");
    assert!(signed_in.contains("signed in as this node"), "{signed_in}");
    let again = chromium.open(&stranger, &once);
    assert!(again.contains("not valid"), "{again}");

    // Sign out through the header link and the form; the session is over.
    let sign_out = chromium.act(
        &tab,
        "document.querySelector('a[href=\"/logout\"]').click()",
    );
    assert!(sign_out.contains(r#"name="csrf""#), "{sign_out}");
    let out = chromium.act(&tab, "document.querySelector('form button').click()");
    assert!(out.contains("public view"), "{out}");
    let hidden = chromium.open(&tab, &format!("{base}/admin"));
    assert!(hidden.contains("No such page."), "{hidden}");
    // The other browser's session is its own.
    let still = chromium.open(&stranger, &format!("{base}/admin"));
    assert!(still.contains("Disclosure log"), "{still}");
    drop(chromium);

    for node in [&mut maker, &mut supplier, &mut haulier] {
        node.stop().await;
    }
}
