//! A forking author is always caught: one key, two data directories, each
//! publishing its own records, run against honest members in the layouts a
//! forger would try. Every honest reader of the log raises the alert, keeps
//! the two notes that cannot both be true (with the proof anyone can check
//! where their sizes differ), freezes its replica and passes the evidence
//! on; an honest author publishing fast raises nothing.

use std::sync::Arc;
use std::time::Duration;

use assure_access::{Clearance, Role};
use assure_log::SignedCheckpoint;
use assure_model::{Did, Keypair};
use assure_net::Event;
use assure_node::datadir::DataDir;
use assure_store::{Alert, Error, Evidence, LogId};
use assure_tests::{TestNode, control, free_address, wait};
use jiff::Timestamp;
use tokio::sync::broadcast;

use super::equivocation::copy_dir;

/// How long a reader may take to raise the alert.
const CAUGHT: Duration = Duration::from_secs(60);

/// The two copies of one author, and the log they fork.
struct Forked {
    a: TestNode,
    b: TestNode,
    log: LogId,
}

/// One organization key, two data directories, each node on an address of
/// its own that it keeps across restarts: both grant `readers`, and both
/// hold the first `shared` records, published before the directory was
/// copied.
async fn forked(seed: u8, readers: &[Did], shared: usize) -> Forked {
    let temp = Arc::new(tempfile::tempdir().unwrap());
    let (dir_a, dir_b) = (temp.path().join("author-a"), temp.path().join("author-b"));
    let key = || Keypair::from_seed([seed; 32]);
    DataDir::new(&dir_a)
        .init("Author", &key(), Timestamp::now())
        .unwrap();
    let mut a = TestNode::spawn(key(), dir_a.clone(), temp.clone()).await;
    for reader in readers {
        a.grant(*reader, Clearance::Partner, &[Role::Customer])
            .await;
    }
    let drafts: Vec<String> = (0..shared).map(|n| control(1000 + n)).collect();
    if !drafts.is_empty() {
        a.publish("partners", &drafts).await;
    }
    let log = a.log("partners");
    a.stop().await;
    copy_dir(&dir_a, &dir_b);
    let mut b = TestNode::spawn(key(), dir_b, temp).await;
    for node in [&mut a, &mut b] {
        node.stop().await;
        node.config.net.listen = vec![free_address()];
        node.restart().await;
    }
    Forked { a, b, log }
}

/// Publishes `count` records, one batch each, numbered from `from`.
async fn publish(author: &TestNode, from: usize, count: usize) {
    for n in from..from + count {
        author.publish("partners", &[control(n)]).await;
    }
}

/// Stops `gone` and starts `fork` on its address instead.
async fn replace(gone: &mut TestNode, fork: &mut TestNode) {
    gone.stop().await;
    fork.stop().await;
    fork.config.net.listen = gone.config.net.listen.clone();
    fork.restart().await;
}

/// The checkpoint `author` holds of its log.
fn head(author: &TestNode, log: LogId) -> String {
    let store = author.node().store();
    store
        .log_state(&store.as_owner().unwrap(), log)
        .unwrap()
        .checkpoint
        .to_string()
}

fn evidence(member: &TestNode, log: LogId) -> Option<Evidence> {
    let store = member.node().store();
    store.evidence(&store.as_owner().unwrap(), log).unwrap()
}

/// Waits (at most [`CAUGHT`]) until `member` holds evidence about `log`,
/// then checks what it keeps: evidence anyone can check with the author's
/// key alone, of the two checkpoints `pair` (smaller first), with a proof
/// where the sizes differ; one alert; a frozen replica.
async fn caught(member: &mut TestNode, log: LogId, pair: (&str, &str)) -> Evidence {
    let waited = tokio::time::timeout(CAUGHT, async {
        loop {
            if let Some(evidence) = evidence(member, log) {
                return evidence;
            }
            match member.events.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await;
    let evidence =
        waited.unwrap_or_else(|_| panic!("{} never caught the fork", member.dir.display()));
    evidence.check(log).unwrap();
    assert_eq!(
        (evidence.first.as_str(), evidence.second.as_str()),
        pair,
        "the pair kept: {}",
        evidence.reason
    );
    let size = |text: &str| SignedCheckpoint::parse(text).unwrap().checkpoint().size();
    assert_eq!(
        evidence.proof.is_some(),
        size(pair.0) != size(pair.1),
        "{}",
        evidence.reason
    );
    let store = member.node().store();
    let ours = store.as_owner().unwrap();
    let alerts = store.alerts(&ours).unwrap();
    let raised = alerts
        .iter()
        .filter(|a| a.kind == Alert::EQUIVOCATION && a.log() == Some(log))
        .count();
    assert_eq!(raised, 1, "{alerts:?}");
    if let Some(state) = store.log_state(&ours, log) {
        let refused = store.commit_prefix(
            log,
            &state.compartment,
            state.tree.len(),
            &[],
            &state.checkpoint,
            &[],
        );
        assert!(matches!(refused, Err(Error::Frozen(_))), "{refused:?}");
    }
    evidence
}

fn reader(seed: u8) -> Did {
    Keypair::from_seed([seed; 32]).did()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_different_sizes_carries_a_proof_and_reaches_every_reader() {
    // Both forks online, to different members: B and D read copy A, C
    // reads copy B, which has one record more.
    let Forked { a, b, log } = forked(150, &[reader(151), reader(152), reader(153)], 1).await;
    let mut m_b = TestNode::start(151, "b").await;
    let mut m_c = TestNode::start(152, "c").await;
    let mut m_d = TestNode::start(153, "d").await;
    publish(&a, 10, 1).await;
    publish(&b, 20, 2).await;
    for (member, author) in [(&m_b, &a), (&m_c, &b), (&m_d, &a)] {
        member.connect(author).await;
    }
    m_b.wait_synced(log, 2).await;
    m_c.wait_synced(log, 3).await;
    m_d.wait_synced(log, 2).await;
    let pair = (head(&a, log), head(&b, log));
    m_b.connect(&m_c).await;
    m_d.connect(&m_b).await;
    for member in [&mut m_b, &mut m_c, &mut m_d] {
        caught(member, log, (&pair.0, &pair.1)).await;
    }
    // Frozen: what copy A publishes next is not taken.
    publish(&a, 11, 1).await;
    let mut m_e = TestNode::start(154, "e").await;
    a.grant(m_e.did(), Clearance::Partner, &[Role::Customer])
        .await;
    m_e.connect(&a).await;
    m_e.wait_synced(log, 3).await;
    assert_eq!(m_b.size(log), Some(2));
    for mut node in [a, b, m_b, m_c, m_d, m_e] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_that_replaces_the_other_on_its_address_is_caught() {
    let Forked { mut a, mut b, log } = forked(155, &[reader(156), reader(157)], 1).await;
    let mut m_b = TestNode::start(156, "b").await;
    let mut m_c = TestNode::start(157, "c").await;
    publish(&a, 10, 1).await;
    m_b.connect(&a).await;
    m_c.connect(&a).await;
    m_b.wait_synced(log, 2).await;
    m_c.wait_synced(log, 2).await;
    m_b.connect(&m_c).await;
    m_b.wait_connected(&[m_c.did()]).await;
    let first = head(&a, log);

    // Copy B, one record longer and another history, takes A's address.
    publish(&b, 20, 2).await;
    let second = head(&b, log);
    replace(&mut a, &mut b).await;
    let author = a.did();
    wait(
        &mut m_b.events,
        |e| matches!(e, Event::Disconnected(d) if *d == author),
    )
    .await;
    m_b.connect(&b).await;
    caught(&mut m_b, log, (&first, &second)).await;
    // C, which held A's story, is caught up too (from B, or from B's copy
    // when it dials A's address again).
    caught(&mut m_c, log, (&first, &second)).await;
    for mut node in [a, b, m_b, m_c] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_a_history_rewrite_is_passed_on_to_co_readers() {
    // Copy A publishes three records; then it stops, and copy B, on an
    // address only B is given, rewrites the history with two others: C
    // and D can learn of it only from B.
    let readers = [reader(161), reader(162), reader(163)];
    let Forked { mut a, b, log } = forked(160, &readers, 0).await;
    let mut m_b = TestNode::start(161, "b").await;
    let mut m_c = TestNode::start(162, "c").await;
    let mut m_d = TestNode::start(163, "d").await;
    publish(&a, 10, 3).await;
    for member in [&m_b, &m_c, &m_d] {
        member.connect(&a).await;
    }
    for member in [&mut m_b, &mut m_c, &mut m_d] {
        member.wait_synced(log, 3).await;
    }
    m_c.connect(&m_b).await;
    m_b.wait_connected(&[m_c.did()]).await;
    let larger = head(&a, log);
    publish(&b, 20, 2).await;
    let smaller = head(&b, log);
    a.stop().await;
    let author = a.did();
    wait(
        &mut m_b.events,
        |e| matches!(e, Event::Disconnected(d) if *d == author),
    )
    .await;
    m_b.connect(&b).await;
    let pair = (smaller.as_str(), larger.as_str());
    caught(&mut m_b, log, pair).await;
    caught(&mut m_c, log, pair).await;

    // B restarted keeps the evidence, raises nothing twice, and passes it
    // to D, which read A's story and never met B before.
    m_b.restart().await;
    assert!(evidence(&m_b, log).is_some());
    m_d.connect(&m_b).await;
    caught(&mut m_d, log, pair).await;
    caught(&mut m_b, log, pair).await;
    for mut node in [a, b, m_b, m_c, m_d] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_consistent_copy_first_is_no_fork_and_the_later_fork_is_caught() {
    // Copy B is an older, consistent copy of A (one record); A goes on to
    // three, B forks at its second.
    let Forked { mut a, mut b, log } = forked(165, &[reader(166), reader(167)], 1).await;
    let mut m_b = TestNode::start(166, "b").await;
    let mut m_c = TestNode::start(167, "c").await;
    publish(&a, 10, 2).await;
    m_b.connect(&b).await;
    m_b.wait_synced(log, 1).await;
    // The current copy takes the older one's address: no fork, B catches
    // up.
    replace(&mut b, &mut a).await;
    let author = a.did();
    wait(
        &mut m_b.events,
        |e| matches!(e, Event::Disconnected(d) if *d == author),
    )
    .await;
    m_b.connect(&a).await;
    m_b.wait_synced(log, 3).await;
    assert!(evidence(&m_b, log).is_none());

    // Copy B, started again on an address of its own, forks.
    b.stop().await;
    b.config.net.listen = vec![free_address()];
    b.restart().await;
    publish(&b, 20, 1).await;
    m_c.connect(&b).await;
    m_c.wait_synced(log, 2).await;
    let pair = (head(&b, log), head(&a, log));
    m_c.connect(&m_b).await;
    caught(&mut m_b, log, (&pair.0, &pair.1)).await;
    caught(&mut m_c, log, (&pair.0, &pair.1)).await;
    for mut node in [a, b, m_b, m_c] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_fork_keeps_two_conflicting_notes_not_the_shared_one() {
    // Both copies publish while their members pull and compare.
    let Forked { a, b, log } = forked(170, &[reader(171), reader(172)], 1).await;
    let shared = head(&a, log);
    let mut m_b = TestNode::start(171, "b").await;
    let mut m_c = TestNode::start(172, "c").await;
    m_b.connect(&a).await;
    m_c.connect(&b).await;
    m_b.wait_synced(log, 1).await;
    m_c.wait_synced(log, 1).await;
    m_b.connect(&m_c).await;
    tokio::join!(publish(&a, 10, 6), publish(&b, 20, 4));
    for member in [&mut m_b, &mut m_c] {
        let waited = tokio::time::timeout(CAUGHT, async {
            loop {
                if let Some(evidence) = evidence(member, log) {
                    return evidence;
                }
                let _ = member.events.recv().await;
            }
        })
        .await;
        let evidence = waited.expect("the live fork is caught");
        // The pair kept conflicts (it checks), and neither is the note
        // both copies share.
        evidence.check(log).unwrap();
        assert_ne!(evidence.first, shared, "{}", evidence.reason);
        assert_ne!(evidence.second, shared, "{}", evidence.reason);
    }
    for member in [&mut m_b, &mut m_c] {
        let pair = evidence(member, log).unwrap();
        caught(member, log, (&pair.first, &pair.second)).await;
    }
    for mut node in [a, b, m_b, m_c] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_author_publishing_fast_raises_no_false_alarm() {
    let mut author = TestNode::start(175, "author").await;
    let mut members = Vec::new();
    for seed in 176..179 {
        let member = TestNode::start(seed, &format!("m{seed}")).await;
        author
            .grant(member.did(), Clearance::Partner, &[Role::Customer])
            .await;
        members.push(member);
    }
    author.publish("partners", &[control(1)]).await;
    let log = author.log("partners");
    for (n, member) in members.iter().enumerate() {
        member.connect(&author).await;
        for other in &members[..n] {
            member.connect(other).await;
        }
    }
    // Batches as fast as the author signs them, while members pull,
    // witness each other, and hold some of it in part.
    let batches = 40;
    for batch in 0..batches {
        let drafts: Vec<String> = (0..25).map(|n| control(100 + batch * 25 + n)).collect();
        author.publish("partners", &drafts).await;
    }
    let size = 1 + 25 * batches as u64;
    for member in &mut members {
        member.wait_synced(log, size).await;
    }
    // A last witness round with everyone, then nothing to show.
    author.publish("partners", &[control(9)]).await;
    for member in &mut members {
        member.wait_synced(log, size + 1).await;
    }
    for member in &members {
        assert!(
            evidence(member, log).is_none(),
            "{:?}",
            evidence(member, log)
        );
        let store = member.node().store();
        let alerts = store.alerts(&store.as_owner().unwrap()).unwrap();
        assert!(
            alerts.iter().all(|a| a.kind != Alert::EQUIVOCATION),
            "{alerts:?}"
        );
    }
    author.stop().await;
    for mut member in members {
        member.stop().await;
    }
}
