//! Partitions between two real `assure run` processes, each in its own
//! network namespace, joined through a third that routes between them
//! (issue "a long partition cuts the author off for good"). The partition
//! is a blackhole: the router drops every packet silently (a `blackhole`
//! route per host), so neither side sees an error, only silence — as
//! behind a failed link or a firewall that drops. After each partition,
//! restart or late start, the member must hold what the author published
//! meanwhile within 60 s of the link coming back.
//!
//! Needs root (network namespaces); skipped with a message elsewhere.
//! Scenarios run in parallel threads, so the file takes about three
//! minutes.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Node, granted, json};
use crate::network::Running;

/// How long the member may take to catch up after the link is back.
const RECONVERGE: u64 = 60;

/// Runs `ip` with `args`; whether it succeeded.
fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

fn ip_ok(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process may make network namespaces; says why not.
fn privileged() -> bool {
    let probe = format!("assure-probe-{}", std::process::id());
    if !ip(&["netns", "add", &probe]) {
        eprintln!(
            "skipped: partition tests need `ip netns add` (run as root with iproute2 installed)"
        );
        return false;
    }
    ip(&["netns", "del", &probe]);
    true
}

/// Three namespaces: the author's, the member's and a router between
/// them. Deleted on drop, whatever happened.
struct Link {
    author: String,
    member: String,
    router: String,
    author_ip: String,
    member_ip: String,
}

impl Link {
    fn new(n: u8) -> Self {
        let tag = format!("{}-{n}", std::process::id());
        let link = Self {
            author: format!("assure-a-{tag}"),
            member: format!("assure-m-{tag}"),
            router: format!("assure-r-{tag}"),
            author_ip: format!("10.91.{n}.2"),
            member_ip: format!("10.92.{n}.2"),
        };
        for ns in [&link.author, &link.member, &link.router] {
            ip_ok(&["netns", "add", ns]);
            ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let r = link.router.as_str();
        for (ns, dev, peer, net) in [
            (&link.author, "va", "ra", format!("10.91.{n}")),
            (&link.member, "vm", "rm", format!("10.92.{n}")),
        ] {
            ip_ok(&[
                "-n", r, "link", "add", dev, "type", "veth", "peer", "name", peer,
            ]);
            ip_ok(&["-n", r, "link", "set", dev, "netns", ns]);
            ip_ok(&["-n", r, "addr", "add", &format!("{net}.1/24"), "dev", peer]);
            ip_ok(&["-n", r, "link", "set", peer, "up"]);
            ip_ok(&["-n", ns, "addr", "add", &format!("{net}.2/24"), "dev", dev]);
            ip_ok(&["-n", ns, "link", "set", dev, "up"]);
            ip_ok(&[
                "-n",
                ns,
                "route",
                "add",
                "default",
                "via",
                &format!("{net}.1"),
            ]);
        }
        let forward = Command::new("ip")
            .args(["netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            .status()
            .unwrap();
        assert!(forward.success());
        link
    }

    /// Drops every packet between the two, silently.
    fn cut(&self) {
        for host in [&self.author_ip, &self.member_ip] {
            ip_ok(&[
                "-n",
                &self.router,
                "route",
                "add",
                "blackhole",
                &format!("{host}/32"),
            ]);
        }
    }

    fn heal(&self) {
        for host in [&self.author_ip, &self.member_ip] {
            ip_ok(&[
                "-n",
                &self.router,
                "route",
                "del",
                "blackhole",
                &format!("{host}/32"),
            ]);
        }
    }

    fn config(&self, node: &Node, ip: &str, bootstrap: Option<&str>) -> String {
        let mut text = format!(
            "data_dir = \"{}\"\nlisten = [\"/ip4/{ip}/tcp/4001\"]\n\
             [log]\nlevel = \"info,assure_net=debug\"\n[api]\nlisten = \"off\"\n",
            node.data().display()
        );
        if let Some(did) = bootstrap {
            text += &format!(
                "[[bootstrap]]\ndid = \"{did}\"\naddress = \"/ip4/{}/tcp/4001\"\n",
                self.author_ip
            );
        }
        text
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for ns in [&self.author, &self.member, &self.router] {
            ip(&["netns", "del", ns]);
        }
    }
}

/// An author and its member, in their namespaces.
struct Pair {
    link: Link,
    author: Node,
    author_did: String,
    member: Node,
    published: usize,
}

impl Pair {
    fn new(n: u8) -> Self {
        let (author, author_did, member, _) = granted("Manufacturer", "Supplier");
        let mut pair = Self {
            link: Link::new(n),
            author,
            author_did,
            member,
            published: 0,
        };
        pair.publish();
        pair
    }

    /// Publishes one more record in the author's partners compartment
    /// (through the running author when there is one).
    fn publish(&mut self) {
        self.published += 1;
        let draft = self.author.file(
            &format!("record-{}.toml", self.published),
            format!(
                "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"implemented\"\n\
                 statement = \"Monitored around the clock (record {}).\"\n",
                self.published
            ),
        );
        self.author
            .ok(&["publish", &draft, "--compartment", "partners"]);
    }

    fn run_author(&self) -> Running {
        let config = self.link.config(&self.author, &self.link.author_ip, None);
        run_in(
            &self.author,
            &config,
            &self.link.author,
            &self.link.author_ip,
        )
    }

    fn run_member(&self) -> Running {
        let config = self
            .link
            .config(&self.member, &self.link.member_ip, Some(&self.author_did));
        run_in(
            &self.member,
            &config,
            &self.link.member,
            &self.link.member_ip,
        )
    }

    /// The records the member holds (asked through the running member).
    fn held(&self) -> usize {
        let out = self.member.run(&["records", "--json", "--limit", "1000"]);
        if !out.status.success() {
            return 0;
        }
        json(&String::from_utf8_lossy(&out.stdout))
            .as_array()
            .map_or(0, Vec::len)
    }

    /// Waits until the member holds everything published, at most
    /// [`RECONVERGE`] seconds; returns how long it took. On a timeout,
    /// prints what both nodes logged, and fails.
    fn reconverged(&self, what: &str, author: &Running, member: &Running) -> Duration {
        let since = Instant::now();
        while self.held() < self.published {
            if since.elapsed() > Duration::from_secs(RECONVERGE) {
                for (name, node, running) in [
                    ("author", &self.author, author),
                    ("member", &self.member, member),
                ] {
                    for line in running.printed() {
                        eprintln!("{what} / {name}: {line}");
                    }
                    let log = std::fs::read_to_string(log_of(node)).unwrap_or_default();
                    let lines: Vec<&str> = log.lines().collect();
                    for line in &lines[lines.len().saturating_sub(80)..] {
                        eprintln!("{what} / {name} log: {line}");
                    }
                }
                panic!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        since.elapsed()
    }

    /// A node's log lines that say something went wrong with a peer.
    fn complaints(running: &Running) -> Vec<String> {
        running
            .printed()
            .into_iter()
            .filter(|line| line.contains("cut off") || line.contains("malformed"))
            .collect()
    }
}

/// Where a node run by [`run_in`] logs.
fn log_of(node: &Node) -> std::path::PathBuf {
    node.dir.path().join("node.log")
}

/// Runs `node` in namespace `ns`, logging to [`log_of`], until it
/// listens on `ip`.
fn run_in(node: &Node, config: &str, ns: &str, ip: &str) -> Running {
    let log = log_of(node);
    let script = format!("exec \"$0\" \"$@\" 2>>'{}'", log.display());
    let wrapper = ["ip", "netns", "exec", ns, "sh", "-c", &script];
    let running = Running::start_under(node, config, &wrapper);
    running.wait_for(&["listening", ip]);
    running
}

/// A blackhole of `seconds` between member and author; the author
/// publishes during it.
fn partition(n: u8, seconds: u64) -> Duration {
    let mut pair = Pair::new(n);
    let author = pair.run_author();
    let member = pair.run_member();
    pair.reconverged("the first sync", &author, &member);
    pair.link.cut();
    std::thread::sleep(Duration::from_secs(2));
    pair.publish();
    std::thread::sleep(Duration::from_secs(seconds.saturating_sub(2)));
    pair.link.heal();
    let what = format!("the member after a {seconds} s partition");
    let took = pair.reconverged(&what, &author, &member);
    for running in [&author, &member] {
        let complaints = Pair::complaints(running);
        assert!(complaints.is_empty(), "{what}: {complaints:?}");
    }
    member.stop();
    author.stop();
    took
}

/// A named scenario; it returns how long the member took after the heal.
type Scenario = (&'static str, Box<dyn FnOnce() -> Duration + Send>);

/// Runs scenarios in parallel threads, each on its own link; fails with
/// every scenario that failed.
fn in_parallel(scenarios: Vec<Scenario>) {
    let running: Vec<_> = scenarios
        .into_iter()
        .map(|(name, run)| (name, std::thread::spawn(run)))
        .collect();
    let mut failed = Vec::new();
    for (name, thread) in running {
        match thread.join() {
            Ok(took) => eprintln!("{name}: reconverged {took:?} after the heal"),
            Err(_) => failed.push(name),
        }
    }
    assert!(failed.is_empty(), "failed: {failed:?}");
}

#[test]
fn a_long_partition_does_not_cut_the_author_off() {
    if !privileged() {
        return;
    }
    in_parallel(vec![
        ("5 s blackhole", Box::new(|| partition(1, 5))),
        ("45 s blackhole", Box::new(|| partition(2, 45))),
        ("120 s blackhole", Box::new(|| partition(3, 120))),
    ]);
}

/// The author restarted on the same address, having published while it
/// was down.
fn restarted() -> Duration {
    let mut pair = Pair::new(4);
    let author = pair.run_author();
    let member = pair.run_member();
    pair.reconverged("the first sync", &author, &member);
    author.stop();
    pair.publish();
    std::thread::sleep(Duration::from_secs(5));
    let author = pair.run_author();
    let took = pair.reconverged("the member after the author's restart", &author, &member);
    member.stop();
    author.stop();
    took
}

/// The author is down when the member starts, and comes up later.
fn late_author() -> Duration {
    let pair = Pair::new(5);
    let member = pair.run_member();
    std::thread::sleep(Duration::from_secs(20));
    let author = pair.run_author();
    let took = pair.reconverged("the member after the author came up", &author, &member);
    member.stop();
    author.stop();
    took
}

#[test]
fn a_member_reconverges_with_an_author_restarted_or_started_late() {
    if !privileged() {
        return;
    }
    in_parallel(vec![
        ("author restarted", Box::new(restarted)),
        ("author down at the member's start", Box::new(late_author)),
    ]);
}
