//! Misbehaviour (DESIGN.md §5 "Peers"): strikes count requests that decode
//! and break the protocol or the limits — never a stream that the network
//! closed, reset or cut. Strikes decay, and the block a peer earns past the
//! limit expires; a party granted again is unblocked at once (the loop
//! decides that, see `EventLoop::lift_blocks`). Pure: time comes in as an
//! argument.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Strikes after which a peer is cut off and blocked.
pub(super) const MAX_STRIKES: u32 = 20;
/// Strikes for a request that does not decode, or declares too many bytes.
pub(super) const MALFORMED_STRIKES: u32 = 5;
/// One strike is forgiven per this much good (or no) behaviour.
pub(super) const DECAY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Count {
    strikes: u32,
    /// From when the next strike is forgiven.
    since: Instant,
}

/// A block for misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Block {
    /// When it lifts.
    pub(super) until: Instant,
    /// The version of the grant the party held when blocked: a grant
    /// given again (another version) lifts the block.
    pub(super) grant: Option<u64>,
}

/// Strikes and blocks, per peer.
#[derive(Debug)]
pub(super) struct Strikes {
    counts: HashMap<PeerId, Count>,
    blocks: HashMap<PeerId, Block>,
    block_for: Duration,
}

impl Strikes {
    /// Blocks last `block_for`.
    pub(super) fn new(block_for: Duration) -> Self {
        Self {
            counts: HashMap::new(),
            blocks: HashMap::new(),
            block_for,
        }
    }

    /// Counts `weight` strikes against `peer` at `now`, after forgiving
    /// what decayed. Returns whether the peer is now past the limit: it is
    /// then blocked (holding grant version `grant`) and its count cleared.
    pub(super) fn strike(
        &mut self,
        peer: PeerId,
        weight: u32,
        grant: Option<u64>,
        now: Instant,
    ) -> bool {
        let count = self.counts.entry(peer).or_insert(Count {
            strikes: 0,
            since: now,
        });
        decay(count, now);
        count.strikes = count.strikes.saturating_add(weight);
        if count.strikes < MAX_STRIKES {
            return false;
        }
        self.counts.remove(&peer);
        self.blocks.insert(
            peer,
            Block {
                until: now + self.block_for,
                grant,
            },
        );
        true
    }

    /// The strikes held against `peer` at `now`.
    #[cfg(test)]
    fn count(&mut self, peer: &PeerId, now: Instant) -> u32 {
        self.counts.get_mut(peer).map_or(0, |count| {
            decay(count, now);
            count.strikes
        })
    }

    /// Peers blocked for misbehaviour, with their block.
    pub(super) fn blocks(&self) -> impl Iterator<Item = (&PeerId, &Block)> {
        self.blocks.iter()
    }

    pub(super) fn is_blocked(&self, peer: &PeerId) -> bool {
        self.blocks.contains_key(peer)
    }

    /// Ends the block of `peer`; whether it was blocked.
    pub(super) fn lift(&mut self, peer: &PeerId) -> bool {
        self.blocks.remove(peer).is_some()
    }

    /// Ends every block due at `now` and returns those peers; forgets
    /// counts that decayed to nothing (so that throwaway keys cannot grow
    /// the map).
    pub(super) fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        self.counts.retain(|_, count| {
            decay(count, now);
            count.strikes > 0
        });
        let due: Vec<PeerId> = self
            .blocks
            .iter()
            .filter(|(_, block)| block.until <= now)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &due {
            self.blocks.remove(peer);
        }
        due
    }
}

/// Forgives one strike per [`DECAY`] since the count last changed.
fn decay(count: &mut Count, now: Instant) {
    let periods = now.saturating_duration_since(count.since).as_secs() / DECAY.as_secs();
    if periods == 0 {
        return;
    }
    let forgiven = u32::try_from(periods).unwrap_or(u32::MAX);
    count.strikes = count.strikes.saturating_sub(forgiven);
    count.since = match count.strikes {
        0 => now,
        _ => count.since + DECAY * forgiven,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: Duration = Duration::from_secs(600);

    #[test]
    fn strikes_decay_one_a_minute_so_rare_faults_never_add_up() {
        let peer = PeerId::random();
        let mut strikes = Strikes::new(BLOCK);
        let t0 = Instant::now();
        // A malformed request every five minutes, for five hours: each is
        // forgiven before the next.
        for minute in 0..60 {
            let now = t0 + DECAY * (minute * 5);
            assert!(
                !strikes.strike(peer, MALFORMED_STRIKES, None, now),
                "{minute}"
            );
        }
        let later = t0 + DECAY * 295;
        assert_eq!(strikes.count(&peer, later), MALFORMED_STRIKES);
        assert_eq!(strikes.count(&peer, later + DECAY * 2), 3);
        assert_eq!(strikes.count(&peer, later + DECAY * 10), 0);
        // Half a minute is no decay at all.
        strikes.strike(peer, 2, None, later + DECAY * 10);
        assert_eq!(strikes.count(&peer, later + DECAY * 10 + DECAY / 2), 2);
    }

    #[test]
    fn a_burst_of_misbehaviour_blocks_and_the_block_expires() {
        let peer = PeerId::random();
        let mut strikes = Strikes::new(BLOCK);
        let t0 = Instant::now();
        for n in 0..3 {
            assert!(!strikes.strike(peer, MALFORMED_STRIKES, Some(1), t0), "{n}");
        }
        assert!(strikes.strike(peer, MALFORMED_STRIKES, Some(1), t0));
        assert!(strikes.is_blocked(&peer));
        assert_eq!(strikes.count(&peer, t0), 0, "a block starts the count over");
        assert!(
            strikes
                .expire(t0 + BLOCK - Duration::from_secs(1))
                .is_empty()
        );
        assert_eq!(strikes.expire(t0 + BLOCK), [peer]);
        assert!(!strikes.is_blocked(&peer));
        assert!(!strikes.lift(&peer), "nothing left to lift");
    }

    #[test]
    fn counts_that_decayed_to_nothing_are_forgotten() {
        let mut strikes = Strikes::new(BLOCK);
        let t0 = Instant::now();
        for _ in 0..100 {
            strikes.strike(PeerId::random(), 1, None, t0);
        }
        strikes.expire(t0 + DECAY);
        assert!(strikes.counts.is_empty());
    }
}
