//! Delivery: the outbox's records to their destinations, with reqwest.
//!
//! One scheduler task keeps the pending records in time order and starts each when it is due,
//! within its endpoint's concurrency and rate limits. A send that fails on the network, with a
//! 5xx, 408 or 429 is tried again after an exponential back-off with jitter (or the answer's
//! `Retry-After`); any other refusal, and a record past its endpoint's attempts or age, goes to
//! the dead letters. One record never holds up another: each is its own task, and a record that
//! keeps failing only ever waits for its own next attempt.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use super::flows::Flows;
use super::outbox::{Entry, Outbox, now_ms};
use crate::wire::{Delivery, Verdict};

/// Back-off of the first retry; doubled for each further one, up to [`MAX_BACKOFF`].
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: MAX_BACKOFF,
        }
    }
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Backoff {
    /// The wait before attempt `attempts + 1`: base * 2^(attempts-1), capped, with "equal
    /// jitter" (between half and all of it), so retries of many records spread out.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
            .min(self.max);
        let half = exp / 2;
        let jitter = rand::random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

/// Records waiting, in due order ((next attempt, id)), and by id.
type Queue = (BTreeSet<(u64, u128)>, HashMap<u128, Entry>);

/// Per-endpoint limits.
struct Lane {
    /// The settings the lane was made for: a reload that changes them gets a new lane.
    config: Delivery,
    permits: Arc<Semaphore>,
    /// When the next request may start, for the rate limit.
    next_slot: Mutex<Instant>,
    interval: Option<Duration>,
}

/// The delivery side of the sidecar.
#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

struct Inner {
    outbox: Outbox,
    flows: Flows,
    client: reqwest::Client,
    backoff: Backoff,
    queue: Mutex<Queue>,
    wake: Notify,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    in_flight: std::sync::atomic::AtomicUsize,
    stopping: std::sync::atomic::AtomicBool,
}

impl Deliverer {
    pub fn new(outbox: Outbox, flows: Flows, backoff: Backoff) -> Result<Deliverer, String> {
        let client = reqwest::Client::builder()
            // A redirect is an answer, not a delivery: following it would re-send a POST as a
            // GET without its body (and count that as delivered), and send the endpoint's URL,
            // credentials included, as the Referer to wherever the redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("fieldmap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let d = Deliverer {
            inner: Arc::new(Inner {
                outbox,
                flows,
                client,
                backoff,
                queue: Mutex::new((BTreeSet::new(), HashMap::new())),
                wake: Notify::new(),
                lanes: Mutex::new(HashMap::new()),
                in_flight: std::sync::atomic::AtomicUsize::new(0),
                stopping: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        // What was pending when the sidecar stopped (or was killed) resumes.
        for e in d.inner.outbox.pending()? {
            d.schedule(e);
        }
        Ok(d)
    }

    /// Records waiting (in memory: the same as pending in the outbox).
    pub fn depth(&self) -> usize {
        self.inner.queue.lock().map_or(0, |q| q.1.len())
    }

    /// Sends under way.
    pub fn in_flight(&self) -> usize {
        self.inner
            .in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queue a record (already in the outbox).
    pub fn schedule(&self, e: Entry) {
        if let Ok(mut q) = self.inner.queue.lock() {
            q.0.insert((e.next_ms, e.id));
            q.1.insert(e.id, e);
        }
        metrics::gauge!("fieldmap_queue_depth").set(self.depth() as f64);
        self.inner.wake.notify_one();
    }

    /// Stop starting new sends; wait up to `grace` for those under way.
    pub async fn stop(&self, grace: Duration) {
        self.inner
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.wake.notify_one();
        let until = Instant::now() + grace;
        while self.in_flight() > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The scheduler: runs until [`Deliverer::stop`].
    pub async fn run(self) {
        loop {
            if self
                .inner
                .stopping
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
            }
            let now = now_ms();
            let (due, next) = {
                let Ok(mut q) = self.inner.queue.lock() else {
                    return;
                };
                let mut due = Vec::new();
                while let Some(&(t, id)) = q.0.first() {
                    if t > now {
                        break;
                    }
                    q.0.pop_first();
                    if let Some(e) = q.1.remove(&id) {
                        due.push(e);
                    }
                }
                (due, q.0.first().map(|(t, _)| *t))
            };
            for e in due {
                let me = self.clone();
                me.inner
                    .in_flight
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    me.attempt(e).await;
                    me.inner
                        .in_flight
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                });
            }
            let wait = next.map_or(Duration::from_secs(3600), |t| {
                Duration::from_millis(t.saturating_sub(now_ms()))
            });
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The endpoint's lane; a new one when its delivery settings changed (a reload). Sends
    /// already holding the old lane's permits finish under the old limits.
    fn lane(&self, endpoint: &str, d: &Delivery) -> Arc<Lane> {
        let make = || {
            Arc::new(Lane {
                config: d.clone(),
                permits: Arc::new(Semaphore::new(d.concurrency)),
                next_slot: Mutex::new(Instant::now()),
                interval: d.rate.map(|r| Duration::from_secs_f64(1.0 / r)),
            })
        };
        let Ok(mut lanes) = self.inner.lanes.lock() else {
            return make();
        };
        match lanes.get(endpoint) {
            Some(l) if l.config == *d => l.clone(),
            _ => {
                let l = make();
                lanes.insert(endpoint.to_owned(), l.clone());
                l
            }
        }
    }

    /// One attempt at one record, and what follows from its answer.
    async fn attempt(&self, mut e: Entry) {
        let Some(plan) = self.inner.flows.get(&e.flow) else {
            e.last_error = format!("the flow `{}` is no longer loaded", e.flow);
            return self.bury(e).await;
        };
        let Some(wire) = plan.wire.as_ref() else {
            e.last_error = format!("the flow `{}` no longer has a destination endpoint", e.flow);
            return self.bury(e).await;
        };
        let lane = self.lane(&e.endpoint, &wire.delivery);
        let Ok(_permit) = lane.permits.clone().acquire_owned().await else {
            return;
        };
        if let Some(interval) = lane.interval {
            let start = {
                let Ok(mut slot) = lane.next_slot.lock() else {
                    return;
                };
                let start = (*slot).max(Instant::now());
                *slot = start + interval;
                start
            };
            tokio::time::sleep_until(start.into()).await;
        }
        let req = wire.assemble(&e.encoded);
        let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
            .unwrap_or(reqwest::Method::POST);
        let mut rb = self
            .inner
            .client
            .request(method, &req.url)
            .timeout(wire.delivery.timeout)
            .header("Idempotency-Key", e.key());
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if !req.body.is_empty() {
            rb = rb.body(req.body);
        }
        e.attempts += 1;
        let started = Instant::now();
        let (verdict, retry_after) = match rb.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                let body = resp.bytes().await.unwrap_or_default();
                (wire.response.judge(status, &body), retry_after)
            }
            Err(err) => (
                Verdict::Retry {
                    reason: network_reason(err),
                },
                None,
            ),
        };
        metrics::histogram!("fieldmap_delivery_seconds", "endpoint" => e.endpoint.clone())
            .record(started.elapsed().as_secs_f64());
        match verdict {
            Verdict::Delivered { id } => {
                let key = e.id;
                if let Err(err) = self.outbox(move |o| o.done(key)).await {
                    tracing::error!(record = %e.key(), error = %err, "delivered, but the outbox could not forget it: it will be sent again");
                }
                metrics::counter!("fieldmap_delivered_total", "flow" => e.flow.clone(), "endpoint" => e.endpoint.clone()).increment(1);
                tracing::info!(record = %e.key(), request_id = %e.request_id, flow = %e.flow, endpoint = %e.endpoint, attempts = e.attempts, vendor_id = id.as_deref().unwrap_or(""), "delivered");
            }
            Verdict::Failed { reason } => {
                e.last_error = plan.redact(&reason);
                self.bury(e).await;
            }
            Verdict::Retry { reason } => {
                e.last_error = plan.redact(&reason);
                let age = Duration::from_millis(now_ms().saturating_sub(e.created_ms));
                if e.attempts >= wire.delivery.max_attempts || age >= wire.delivery.max_age {
                    e.last_error = format!(
                        "gave up after {} attempt(s) over {}s: {}",
                        e.attempts,
                        age.as_secs(),
                        e.last_error
                    );
                    return self.bury(e).await;
                }
                let wait = retry_after
                    .map(|d| d.min(MAX_BACKOFF))
                    .unwrap_or_else(|| self.inner.backoff.delay(e.attempts));
                e.next_ms = now_ms() + wait.as_millis() as u64;
                metrics::counter!("fieldmap_retried_total", "flow" => e.flow.clone(), "endpoint" => e.endpoint.clone()).increment(1);
                tracing::warn!(record = %e.key(), request_id = %e.request_id, flow = %e.flow, endpoint = %e.endpoint, attempts = e.attempts, retry_in_ms = wait.as_millis() as u64, reason = %e.last_error, "delivery failed; will retry");
                let copy = e.clone();
                match self.outbox(move |o| o.update(copy)).await {
                    Ok(()) => self.schedule(e),
                    Err(err) => {
                        tracing::error!(record = %e.key(), error = %err, "the outbox could not record the attempt; retrying from memory");
                        self.schedule(e);
                    }
                }
            }
        }
        metrics::gauge!("fieldmap_queue_depth").set(self.depth() as f64);
    }

    /// Run an outbox operation on a blocking thread: a commit waits for the disk, and the
    /// runtime's worker threads must not (on 2 cores that stalls half of the sidecar).
    async fn outbox(
        &self,
        op: impl FnOnce(&Outbox) -> Result<(), String> + Send + 'static,
    ) -> Result<(), String> {
        let o = self.inner.outbox.clone();
        tokio::task::spawn_blocking(move || op(&o))
            .await
            .map_err(|e| format!("outbox: {e}"))?
    }

    async fn bury(&self, e: Entry) {
        metrics::counter!("fieldmap_dead_lettered_total", "flow" => e.flow.clone(), "endpoint" => e.endpoint.clone()).increment(1);
        tracing::error!(record = %e.key(), request_id = %e.request_id, flow = %e.flow, endpoint = %e.endpoint, attempts = e.attempts, reason = %e.last_error, "delivery failed for good; moved to the dead letters");
        let copy = e.clone();
        if let Err(err) = self.outbox(move |o| o.dead(copy)).await {
            tracing::error!(record = %e.key(), error = %err, "the outbox could not move the record to the dead letters; it stays pending");
        }
    }
}

/// A network failure in words, without the URL (it may carry credentials).
fn network_reason(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        format!("network error: {e}")
    }
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?;
    let secs = at.timestamp().as_second() - jiff::Timestamp::now().as_second();
    Some(Duration::from_secs(secs.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = b.delay(1);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = b.delay(3);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            let d30 = b.delay(30);
            assert!(
                d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1),
                "{d30:?}"
            );
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
