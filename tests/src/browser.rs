//! Browser scenarios: a Playwright script in `tests/browser/scenarios/`,
//! driving Debian's chromium against the real nodes a test started.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Runs `tests/browser/scenarios/NAME.mjs` with `nodes` (URLs, tokens,
/// DIDs) in its environment; panics with its output when it fails.
/// Screenshots go to `target/screenshots/NAME/`.
pub fn scenario(name: &str, nodes: &serde_json::Value) {
    let browser = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/browser"));
    assert!(
        browser.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run tests/run.sh, which installs it (npm ci in tests/browser)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run tests/run.sh, which installs Debian's chromium"
    );
    let shots = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/screenshots"
    ))
    .join(name);
    let script = browser.join("scenarios").join(format!("{name}.mjs"));
    let mut child = Command::new("node")
        .arg(&script)
        .env("ASSURE_SCENARIO", nodes.to_string())
        .env("ASSURE_SCREENSHOTS", &shots)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node (Node.js) on PATH");
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while child.try_wait().expect("waiting for node").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("the scenario's output");
    assert!(
        out.status.success(),
        "browser scenario {name} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
