//! The outbox: every accepted record waiting for delivery, on disk, in `--data-dir`.
//!
//! A sender gets its success answer only after its record is committed here (redb, fsync on
//! commit). Commits are grouped: one writer thread takes every operation waiting when it wakes
//! and commits them in one transaction, so many concurrent webhooks share one fsync instead of
//! queueing behind one each. Delivered records are deleted; records that failed for good, or too
//! many times, move to the dead-letter table, where `fieldmap dlq` lists, shows, replays and drops
//! them.
//!
//! An entry keeps what is particular to its record (the flow, the encoded fields, the
//! idempotency key), never the URL or the credentials: those are added when it is sent, from
//! the flow's current endpoint and the environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::wire::Encoded;

const PENDING: TableDefinition<u128, &[u8]> = TableDefinition::new("pending");
const DEAD: TableDefinition<u128, &[u8]> = TableDefinition::new("dead");
/// Fields kept by `remember`: "name\0key" -> a [`Memo`] as JSON.
const MEMORY: TableDefinition<&str, &[u8]> = TableDefinition::new("memory");

/// Fields a record left for a later one (`remember` / `recall`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memo {
    pub name: String,
    pub key: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Forgotten after this (milliseconds since the epoch).
    pub expires_ms: u64,
}

fn memo_key(name: &str, key: &str) -> String {
    format!("{name}\0{key}")
}

/// One record waiting for delivery (or dead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Time-ordered and unique: also the idempotency key the destination sees.
    pub id: u128,
    /// The flow that produced it (its endpoint, URL and credentials are looked up when sent).
    pub flow: String,
    /// `vendor/endpoint`, for metrics and listings.
    pub endpoint: String,
    pub encoded: Encoded,
    /// The request id of the inbound request that produced it, for the logs.
    pub request_id: String,
    /// Milliseconds since the epoch.
    pub created_ms: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// When to try next (milliseconds since the epoch).
    pub next_ms: u64,
    /// What went wrong last.
    #[serde(default)]
    pub last_error: String,
}

impl Entry {
    /// The idempotency key: the id as 32 hex digits.
    pub fn key(&self) -> String {
        format!("{:032x}", self.id)
    }
}

/// Parse an id as printed by [`Entry::key`].
pub fn parse_key(s: &str) -> Option<u128> {
    u128::from_str_radix(s.trim(), 16).ok()
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Ids: milliseconds in the high 64 bits, a counter in the low ones, so ids sort by creation
/// and never repeat within a process; a random start of the counter keeps two processes (a
/// restart within the same millisecond) apart.
pub struct Ids {
    counter: std::sync::atomic::AtomicU64,
}

impl Default for Ids {
    fn default() -> Self {
        Ids {
            counter: std::sync::atomic::AtomicU64::new(u64::from(rand::random::<u32>())),
        }
    }
}

impl Ids {
    pub fn next(&self) -> u128 {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (u128::from(now_ms()) << 64) | u128::from(n)
    }
}

/// A change to the outbox.
enum Op {
    /// Add new entries (pending).
    Put(Entry),
    /// Replace a pending entry (after a failed attempt).
    Update(Entry),
    /// Delivered: remove from pending.
    Done(u128),
    /// Move to dead letters.
    Dead(Entry),
    /// Move a dead entry back to pending, due now.
    Replay(u128),
    /// Remove a dead entry.
    Drop(u128),
    /// Keep fields for a later record.
    Remember(Memo),
    /// Nothing: make every earlier commit durable.
    Sync,
}

impl Op {
    /// Whether the commit must be on disk before the operation is acknowledged. A delivery noted
    /// (`Done`) or an attempt counted (`Update`) may be lost in a crash: the record is then
    /// delivered again, with the same idempotency key, which at-least-once allows. Their
    /// commits skip the fsync, and become durable with the next durable commit, at most
    /// [`SYNC_AFTER`] later.
    fn durable(&self) -> bool {
        !matches!(self, Op::Done(_) | Op::Update(_))
    }
}

/// How long the writer leaves non-durable commits (deliveries noted) without a durable one.
const SYNC_AFTER: Duration = Duration::from_millis(100);

type Ack = std::sync::mpsc::SyncSender<Result<bool, String>>;

/// The outbox, shared by the HTTP handlers and the delivery loop.
#[derive(Clone)]
pub struct Outbox {
    db: Arc<Database>,
    tx: crossbeam_channel::Sender<(Op, Option<Ack>)>,
    path: PathBuf,
}

/// An error opening or using the outbox.
#[derive(Debug)]
pub struct OutboxError(pub String);

impl std::fmt::Display for OutboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Outbox {
    /// Open the outbox in `dir`, which must exist (for `fieldmap dlq`: a mistyped directory is
    /// an error, not an empty outbox).
    pub fn open_existing(dir: &Path) -> Result<Outbox, OutboxError> {
        let path = dir.join("outbox.redb");
        if !path.is_file() {
            return Err(OutboxError(format!(
                "no outbox in {} (no {}): is it the sidecar's --data-dir?",
                dir.display(),
                path.display()
            )));
        }
        Outbox::open(dir)
    }

    /// Open (or create) the outbox in `dir`.
    pub fn open(dir: &Path) -> Result<Outbox, OutboxError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| OutboxError(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("outbox.redb");
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => OutboxError(format!(
                "{} is in use by another fieldmap (a running sidecar?): stop it, or use its HTTP API",
                path.display()
            )),
            e => OutboxError(format!("cannot open {}: {e}", path.display())),
        })?;
        {
            let w = db.begin_write().map_err(|e| OutboxError(err(e)))?;
            w.open_table(PENDING).map_err(|e| OutboxError(err(e)))?;
            w.open_table(DEAD).map_err(|e| OutboxError(err(e)))?;
            w.open_table(MEMORY).map_err(|e| OutboxError(err(e)))?;
            w.commit().map_err(|e| OutboxError(err(e)))?;
        }
        let db = Arc::new(db);
        let (tx, rx) = crossbeam_channel::bounded::<(Op, Option<Ack>)>(4096);
        let wdb = db.clone();
        std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || writer(&wdb, &rx))
            .map_err(|e| OutboxError(format!("cannot start the outbox writer: {e}")))?;
        Ok(Outbox { db, tx, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, op: Op) -> Result<bool, String> {
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        self.tx
            .send((op, Some(ack)))
            .map_err(|_| "the outbox writer has stopped".to_owned())?;
        done.recv()
            .map_err(|_| "the outbox writer has stopped".to_owned())?
    }

    /// Make every commit so far durable (deliveries are noted without waiting for the disk);
    /// for a clean shutdown.
    pub fn flush(&self) -> Result<(), String> {
        self.send(Op::Sync).map(|_| ())
    }

    /// Add an entry; returns once it is on disk.
    pub fn put(&self, e: Entry) -> Result<(), String> {
        self.send(Op::Put(e)).map(|_| ())
    }

    /// Store what an accepted record leaves: its delivery and the fields it remembers, in one
    /// commit; returns once they are on disk.
    pub fn accept(&self, e: Option<Entry>, memo: Option<Memo>) -> Result<(), String> {
        let ops: Vec<Op> = e
            .map(Op::Put)
            .into_iter()
            .chain(memo.map(Op::Remember))
            .collect();
        let n = ops.len();
        let (ack, done) = std::sync::mpsc::sync_channel(n.max(1));
        for op in ops {
            self.tx
                .send((op, Some(ack.clone())))
                .map_err(|_| "the outbox writer has stopped".to_owned())?;
        }
        drop(ack);
        for _ in 0..n {
            done.recv()
                .map_err(|_| "the outbox writer has stopped".to_owned())??;
        }
        Ok(())
    }

    /// The same as [`Outbox::accept`], for async code: waits on a blocking thread.
    pub async fn accept_async(&self, e: Option<Entry>, memo: Option<Memo>) -> Result<(), String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.accept(e, memo))
            .await
            .map_err(|e| format!("outbox: {e}"))?
    }

    /// The fields kept under `name`/`key`, unless forgotten.
    pub fn recall(&self, name: &str, key: &str) -> Result<Option<Memo>, String> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(MEMORY).map_err(err)?;
        let Some(v) = t.get(memo_key(name, key).as_str()).map_err(err)? else {
            return Ok(None);
        };
        let m: Memo = serde_json::from_slice(v.value()).map_err(err)?;
        Ok((m.expires_ms > now_ms()).then_some(m))
    }

    /// Record a failed attempt (the entry carries its new `attempts`, `next_ms`, `last_error`).
    pub fn update(&self, e: Entry) -> Result<(), String> {
        self.send(Op::Update(e)).map(|_| ())
    }

    /// The entry was delivered.
    pub fn done(&self, id: u128) -> Result<(), String> {
        self.send(Op::Done(id)).map(|_| ())
    }

    /// Move the entry to the dead letters.
    pub fn dead(&self, e: Entry) -> Result<(), String> {
        self.send(Op::Dead(e)).map(|_| ())
    }

    /// Move a dead entry back to pending; false when there is no such dead entry.
    pub fn replay(&self, id: u128) -> Result<bool, String> {
        self.send(Op::Replay(id))
    }

    /// Remove a dead entry; false when there is no such dead entry.
    pub fn drop_dead(&self, id: u128) -> Result<bool, String> {
        self.send(Op::Drop(id))
    }

    fn list(&self, table: TableDefinition<u128, &[u8]>) -> Result<Vec<Entry>, String> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(table).map_err(err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(err)? {
            let (_, v) = item.map_err(err)?;
            match serde_json::from_slice::<Entry>(v.value()) {
                Ok(e) => out.push(e),
                Err(e) => return Err(format!("a damaged outbox entry: {e}")),
            }
        }
        Ok(out)
    }

    /// Every pending entry, oldest first.
    pub fn pending(&self) -> Result<Vec<Entry>, String> {
        self.list(PENDING)
    }

    /// Every dead entry, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<Entry>, String> {
        self.list(DEAD)
    }

    /// Pending and dead counts.
    pub fn counts(&self) -> Result<(u64, u64), String> {
        let r = self.db.begin_read().map_err(err)?;
        let p = r.open_table(PENDING).map_err(err)?.len().map_err(err)?;
        let d = r.open_table(DEAD).map_err(err)?.len().map_err(err)?;
        Ok((p, d))
    }

    /// One dead entry.
    pub fn dead_entry(&self, id: u128) -> Result<Option<Entry>, String> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(DEAD).map_err(err)?;
        match t.get(id).map_err(err)? {
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|e| format!("a damaged outbox entry: {e}")),
            None => Ok(None),
        }
    }
}

fn writer(db: &Database, rx: &crossbeam_channel::Receiver<(Op, Option<Ack>)>) {
    // Non-durable commits not yet followed by a durable one.
    let mut unsynced = false;
    loop {
        let next = if unsynced {
            rx.recv_timeout(SYNC_AFTER)
        } else {
            rx.recv()
                .map_err(|_| crossbeam_channel::RecvTimeoutError::Disconnected)
        };
        let first = match next {
            Ok(op) => op,
            Err(e) => {
                if unsynced {
                    let results = apply(db, &[(Op::Sync, None)]);
                    unsynced = results.iter().any(Result::is_err);
                    if let Some(Err(e)) = results.first() {
                        tracing::error!(error = %e, "outbox: cannot make deliveries durable");
                    }
                }
                match e {
                    crossbeam_channel::RecvTimeoutError::Timeout => continue,
                    crossbeam_channel::RecvTimeoutError::Disconnected => return,
                }
            }
        };
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let results = apply(db, &batch);
        if batch.iter().any(|(op, _)| op.durable()) {
            unsynced = false;
        } else if results.iter().any(Result::is_ok) {
            unsynced = true;
        }
        for ((_, ack), result) in batch.into_iter().zip(results) {
            if let Some(ack) = ack {
                let _ = ack.send(result);
            }
        }
    }
}

/// Apply a batch in one transaction; one result per operation (all errors when the commit
/// fails: nothing of the batch is on disk then). The commit is durable (fsync) when one of the
/// operations needs it.
fn apply(db: &Database, batch: &[(Op, Option<Ack>)]) -> Vec<Result<bool, String>> {
    let run = || -> Result<Vec<Result<bool, String>>, String> {
        let mut w = db.begin_write().map_err(err)?;
        if !batch.iter().any(|(op, _)| op.durable()) {
            w.set_durability(redb::Durability::None).map_err(err)?;
        }
        let mut results = Vec::with_capacity(batch.len());
        {
            let mut pending = w.open_table(PENDING).map_err(err)?;
            let mut dead = w.open_table(DEAD).map_err(err)?;
            let mut memory = w.open_table(MEMORY).map_err(err)?;
            for (op, _) in batch {
                let r = match op {
                    Op::Put(e) | Op::Update(e) => serde_json::to_vec(e)
                        .map_err(err)
                        .and_then(|b| pending.insert(e.id, b.as_slice()).map_err(err))
                        .map(|_| true),
                    Op::Done(id) => pending.remove(*id).map_err(err).map(|o| o.is_some()),
                    Op::Dead(e) => serde_json::to_vec(e)
                        .map_err(err)
                        .and_then(|b| {
                            pending.remove(e.id).map_err(err)?;
                            dead.insert(e.id, b.as_slice()).map_err(err)
                        })
                        .map(|_| true),
                    Op::Replay(id) => {
                        let got = dead.remove(*id).map_err(err)?.map(|v| v.value().to_vec());
                        match got {
                            None => Ok(false),
                            Some(bytes) => {
                                let mut e: Entry = serde_json::from_slice(&bytes).map_err(err)?;
                                e.next_ms = now_ms();
                                e.attempts = 0;
                                let b = serde_json::to_vec(&e).map_err(err)?;
                                pending.insert(e.id, b.as_slice()).map_err(err)?;
                                Ok(true)
                            }
                        }
                    }
                    Op::Drop(id) => dead.remove(*id).map_err(err).map(|o| o.is_some()),
                    Op::Sync => Ok(true),
                    Op::Remember(m) => serde_json::to_vec(m)
                        .map_err(err)
                        .and_then(|b| {
                            memory
                                .insert(memo_key(&m.name, &m.key).as_str(), b.as_slice())
                                .map_err(err)
                        })
                        .map(|_| true),
                };
                results.push(r);
            }
        }
        w.commit().map_err(err)?;
        Ok(results)
    };
    match run() {
        Ok(r) => r,
        Err(e) => batch
            .iter()
            .map(|_| Err(format!("outbox commit failed: {e}")))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ids: &Ids, flow: &str) -> Entry {
        Entry {
            id: ids.next(),
            flow: flow.into(),
            endpoint: "acme/lead".into(),
            encoded: Encoded {
                query: String::new(),
                body: "{\"a\":1}".into(),
            },
            request_id: "r1".into(),
            created_ms: now_ms(),
            attempts: 0,
            next_ms: now_ms(),
            last_error: String::new(),
        }
    }

    /// The outbox in `dir` again, once the writer thread of the previous one has let it go
    /// (it does when every handle is dropped).
    fn reopen(dir: &Path) -> Outbox {
        (0..100)
            .find_map(|_| {
                Outbox::open(dir).ok().or_else(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    None
                })
            })
            .expect("reopened")
    }

    #[test]
    fn entries_survive_a_reopen_and_move_between_tables() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Ids::default();
        let (a, b) = (entry(&ids, "f"), entry(&ids, "g"));
        assert!(a.id < b.id, "ids sort by creation");
        {
            let o = Outbox::open(dir.path()).unwrap();
            o.put(a.clone()).unwrap();
            o.put(b.clone()).unwrap();
            let mut failed = b.clone();
            failed.attempts = 1;
            failed.last_error = "HTTP 503".into();
            o.update(failed).unwrap();
            assert_eq!(o.counts().unwrap(), (2, 0));
        }
        let o = reopen(dir.path());
        let p = o.pending().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0], a);
        assert_eq!((p[1].attempts, p[1].last_error.as_str()), (1, "HTTP 503"));
    }

    /// Deliveries are noted in commits without an fsync; they become durable with the next
    /// durable commit, after a moment of quiet, on `flush`, and when the outbox is closed.
    #[test]
    fn deliveries_noted_without_waiting_for_the_disk_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Ids::default();
        let (a, b, c) = (entry(&ids, "f"), entry(&ids, "f"), entry(&ids, "f"));
        {
            let o = Outbox::open(dir.path()).unwrap();
            for e in [&a, &b, &c] {
                o.put(e.clone()).unwrap();
            }
            o.done(a.id).unwrap();
            std::thread::sleep(SYNC_AFTER * 3); // synced by the writer when idle
            o.done(b.id).unwrap();
            o.flush().unwrap();
            assert_eq!(o.counts().unwrap(), (1, 0));
        }
        let o = reopen(dir.path());
        assert_eq!(o.pending().unwrap(), vec![c]);
    }

    #[test]
    fn dead_letters_replay_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Ids::default();
        let o = Outbox::open(dir.path()).unwrap();
        let a = entry(&ids, "f");
        o.put(a.clone()).unwrap();
        let mut d = a.clone();
        d.attempts = 7;
        d.last_error = "HTTP 400: bad phone".into();
        o.dead(d).unwrap();
        assert_eq!(o.counts().unwrap(), (0, 1));
        assert_eq!(
            o.dead_entry(a.id).unwrap().unwrap().last_error,
            "HTTP 400: bad phone"
        );
        assert!(o.replay(a.id).unwrap());
        assert!(!o.replay(a.id).unwrap(), "already replayed");
        let p = o.pending().unwrap();
        assert_eq!((p.len(), p[0].attempts), (1, 0));
        o.dead(p[0].clone()).unwrap();
        assert!(o.drop_dead(a.id).unwrap());
        assert_eq!(o.counts().unwrap(), (0, 0));
        assert_eq!(parse_key(&a.key()), Some(a.id));
    }

    #[test]
    fn remembered_fields_are_recalled_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let mut fields = serde_json::Map::new();
        fields.insert("PLA_Caller_Phone_Number".into(), "+61444444444".into());
        let memo = |key: &str, expires_ms| Memo {
            name: "delacon-call".into(),
            key: key.into(),
            fields: fields.clone(),
            expires_ms,
        };
        let ids = Ids::default();
        o.accept(
            Some(entry(&ids, "f")),
            Some(memo("1122334", now_ms() + 60_000)),
        )
        .unwrap();
        o.accept(None, Some(memo("old", now_ms() - 1))).unwrap();
        assert_eq!(o.counts().unwrap(), (1, 0));
        let got = o.recall("delacon-call", "1122334").unwrap().unwrap();
        assert_eq!(got.fields["PLA_Caller_Phone_Number"], "+61444444444");
        assert_eq!(o.recall("delacon-call", "old").unwrap(), None, "expired");
        assert_eq!(o.recall("other", "1122334").unwrap(), None);
    }

    #[test]
    fn concurrent_puts_are_all_committed() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let ids = Arc::new(Ids::default());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (o, ids) = (o.clone(), ids.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        o.put(entry(&ids, "f")).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(o.counts().unwrap(), (400, 0));
    }
}
