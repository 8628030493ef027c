//! Per-party rate limits and replay protection for signed requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::signature::WINDOW_SECONDS;

/// The most parties tracked at once; beyond it idle buckets are dropped.
const MAX_BUCKETS: usize = 100_000;

/// Token buckets, one per party or address.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            rate: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`; false when the party is over its rate.
    pub(crate) fn take(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Signatures seen within the validity window: a second use is a replay.
#[derive(Debug, Default)]
pub(crate) struct ReplayCache {
    seen: Mutex<HashMap<[u8; 64], i64>>,
}

impl ReplayCache {
    /// Records a signature created at `created`; false if it was seen.
    pub(crate) fn first_use(&self, signature: [u8; 64], created: i64, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            // Signatures older than the window are refused anyway.
            seen.retain(|_, at| (now - *at).abs() <= WINDOW_SECONDS);
        }
        seen.insert(signature, created).is_none()
    }
}
