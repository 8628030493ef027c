//! The redial schedule (DESIGN.md §5 "Peers"): capped exponential backoff
//! with jitter. Pure: the randomness comes in as a number, so the schedule
//! is tested without a clock or a generator.

use std::time::Duration;

/// The delay before the first redial.
pub(crate) const FIRST: Duration = Duration::from_secs(1);
/// The longest delay before jitter: doubling stops here, so that a link
/// back after a long partition is used within 36 s.
pub(crate) const CAP: Duration = Duration::from_secs(30);
/// Each delay is moved by up to this fraction either way, so that the
/// partners of a node that restarts do not all dial it at the same instant.
pub(crate) const JITTER: f64 = 0.2;

/// Failed attempts to reach one peer since it was last connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The delay before the next attempt, given `unit`, a random number in
    /// `[0, 1)`; counts one more attempt.
    pub(crate) fn next(&mut self, unit: f64) -> Duration {
        let delay = delay(self.failures, unit);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// A connection lasted: the next disconnect starts over from
    /// [`FIRST`].
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The delay after `failures` attempts: [`FIRST`] doubled that many times,
/// at most [`CAP`], then scaled by a factor in `[1 − JITTER, 1 + JITTER]`
/// picked by `unit` (clamped into `[0, 1]`).
pub(crate) fn delay(failures: u32, unit: f64) -> Duration {
    let base = FIRST
        .saturating_mul(2u32.saturating_pow(failures.min(31)))
        .min(CAP);
    let unit = if unit.is_nan() {
        0.5
    } else {
        unit.clamp(0.0, 1.0)
    };
    base.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit)
}

/// A random number in `[0, 1)` for [`Backoff::next`]; the middle of the
/// range if the system has no randomness to give (the schedule then still
/// backs off, only without jitter).
pub(crate) fn random_unit() -> f64 {
    // 53 random bits: every value a double represents exactly in [0, 1).
    getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn without_jitter_the_delay_doubles_from_one_second_to_half_a_minute() {
        let mut backoff = Backoff::default();
        let seconds: Vec<u64> = (0..10).map(|_| backoff.next(0.5).as_secs()).collect();
        assert_eq!(seconds, [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.next(0.5), FIRST, "a connection starts over");
    }

    #[test]
    fn random_units_are_in_range_and_vary() {
        let units: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(units.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(
            units.iter().any(|u| (u - units[0]).abs() > 1e-9),
            "jitter that never varies is no jitter"
        );
    }

    proptest! {
        #[test]
        fn every_delay_is_the_capped_base_within_the_jitter(
            failures in 0u32..1000,
            unit in proptest::num::f64::ANY,
        ) {
            let base = FIRST.saturating_mul(1 << failures.min(5)).min(CAP);
            let got = delay(failures, unit);
            prop_assert!(got >= base.mul_f64(1.0 - JITTER), "{got:?} below {base:?}");
            prop_assert!(got <= base.mul_f64(1.0 + JITTER), "{got:?} above {base:?}");
            prop_assert!(got <= CAP.mul_f64(1.0 + JITTER));
        }

        #[test]
        fn delays_double_to_the_cap_and_start_over_on_a_reset(
            units in proptest::collection::vec(0.0f64..1.0, 1..40),
            reset_at in 0usize..40,
        ) {
            let mut backoff = Backoff::default();
            let mut bases = Vec::new();
            for (n, unit) in units.iter().enumerate() {
                if n == reset_at {
                    backoff.reset();
                    bases.clear();
                }
                let got = backoff.next(*unit);
                // Undo the jitter to find the base the schedule used.
                let base = got.as_secs_f64() / (1.0 - JITTER + 2.0 * JITTER * unit);
                bases.push(base);
            }
            // After a reset (or from the start) the bases are 1 s, doubling,
            // then 30 s for good.
            prop_assert!((bases[0] - 1.0).abs() < 1e-6, "{bases:?}");
            for pair in bases.windows(2) {
                let want = (pair[0] * 2.0).min(CAP.as_secs_f64());
                prop_assert!((pair[1] - want).abs() < 1e-6, "{bases:?}");
            }
        }

        #[test]
        fn jitter_spreads_the_partners_of_a_restarted_node(
            failures in 0u32..10,
        ) {
            let (low, high) = (delay(failures, 0.0), delay(failures, 1.0));
            let spread = high.as_secs_f64() / low.as_secs_f64();
            prop_assert!((spread - (1.0 + JITTER) / (1.0 - JITTER)).abs() < 1e-6);
        }
    }
}
