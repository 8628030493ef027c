//! The README's "Running a real node" section, run as written with the real
//! binary: two nodes from config files, a grant, a publish, a verify.

use std::process::Command;

#[test]
fn the_readme_section_on_running_a_real_node_works_as_written() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let section = readme
        .split("## Running a real node")
        .nth(1)
        .expect("README has the section");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section has a shell block");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_assure"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Nodes the script started are stopped however it ends.
    let script = format!("trap 'jobs -p | xargs -r kill 2>/dev/null' EXIT\n{script}");
    let out = Command::new("timeout")
        .args(["120", "bash", "-euo", "pipefail", "-c", &script])
        .current_dir(root)
        .env("PATH", path)
        .env_remove("ASSURE_DATA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no `{id}` row in:\n{stdout}"))
            .to_owned()
    };
    assert!(stdout.contains("against component-supplier"), "{stdout}");
    assert!(row("relationship").contains("pass"), "{stdout}");
    assert!(row("scope").contains("pass"), "{stdout}");
    assert!(row("governance").contains("inconclusive"), "{stdout}");
    assert!(stdout.contains("INCONCLUSIVE"), "{stdout}");
}
