//! A command whose standard output is closed early (`assure records | head
//! -1`) ends quietly with 141, as `cat` would, instead of a panic.

use std::process::Stdio;

use crate::common::{Node, example};

/// Runs `args` with a standard output nobody reads: the pipe's read end is
/// closed before the command starts, so its first write fails with EPIPE.
fn with_stdout_closed(node: &Node, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = node
        .command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_kind_of_output_quietly() {
    let (node, _) = Node::init("Supplier");
    node.ok(&["publish", &example("scope.toml"), "-c", "partners"]);
    for args in [
        &["catalog"][..],
        &["catalog", "--json"],
        &["records"],
        &["records", "--json"],
        &["id"],
    ] {
        let (code, stderr) = with_stdout_closed(&node, args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(141), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
