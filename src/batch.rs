//! `fieldmap run`: a whole input through a plan, in parallel, in order, in constant memory.
//!
//! Three kinds of threads: one reader cuts the input into batches of raw items; workers decode,
//! transform and encode whole batches (output and rejects bytes); the calling thread writes the
//! encoded batches in input order. Channels are bounded, so memory stays constant whatever the
//! input size. The writer flushes whenever it has nothing else to do, which is what makes a pipe
//! (`tail -f leads.jsonl | fieldmap run m.yaml`) produce each line as soon as it arrives.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::codec::read::{self, ItemReader};
use crate::codec::{self, Encoder, Item, Original, Position, Raw, RejectEncoder};
use crate::engine::{Failure, Plan};
use crate::mapping::{Format, RejectInfo};
use crate::record::{Chunk, Headers};

/// Where to read or write: a file or the standard stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Std,
    File(PathBuf),
}

impl Target {
    pub fn parse(s: &str) -> Target {
        if s == "-" {
            Target::Std
        } else {
            Target::File(PathBuf::from(s))
        }
    }
    fn format(&self) -> Option<Format> {
        match self {
            Target::Std => None,
            Target::File(p) => Format::from_extension(p),
        }
    }
    fn describe(&self) -> String {
        match self {
            Target::Std => "-".into(),
            Target::File(p) => p.display().to_string(),
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: Target,
    pub output: Target,
    /// Where rejected records go; `None`: next to a file output as `<output>.rejects.jsonl`, or
    /// standard error when the output is standard output.
    pub rejects: Option<Target>,
    pub input_format: Option<Format>,
    pub output_format: Option<Format>,
    /// Show a progress bar (only drawn when standard error is a terminal).
    pub progress: bool,
    /// Worker threads (default: the number of cores).
    pub workers: Option<usize>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub read: u64,
    pub written: u64,
    pub rejected: u64,
    /// Rejections per reason, most frequent first.
    pub reasons: Vec<(String, u64)>,
    pub elapsed: Duration,
    pub rejects_to: String,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read {}, written {}, rejected {}",
            self.read, self.written, self.rejected
        )?;
        if !self.reasons.is_empty() {
            let r: Vec<String> = self
                .reasons
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            write!(f, " ({})", r.join(", "))?;
        }
        let secs = self.elapsed.as_secs_f64();
        write!(f, " in {secs:.2}s")?;
        if secs > 0.0 && self.read > 0 {
            write!(f, " ({:.0} records/s)", self.read as f64 / secs)?;
        }
        if self.rejected > 0 {
            write!(f, "; rejects in {}", self.rejects_to)?;
        }
        Ok(())
    }
}

/// A failure that stops the run.
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

struct Batch {
    seq: u64,
    items: Vec<Item>,
    bytes_read: u64,
}

#[derive(Default)]
struct Done {
    seq: u64,
    out: Vec<u8>,
    rej: Vec<u8>,
    /// Number of records in `out` (for the JSON array's first comma).
    read: u64,
    written: u64,
    reasons: Vec<(String, u64)>,
    bytes_read: u64,
}

impl Done {
    /// Write a rejected record and count its reason.
    fn reject(&mut self, renc: &RejectEncoder, pos: Position, f: &Failure, original: Original<'_>) {
        renc.encode(pos, f, original, &mut self.rej);
        match self
            .reasons
            .iter_mut()
            .find(|(r, _)| r == f.reason.as_ref())
        {
            Some((_, n)) => *n += 1,
            None => self.reasons.push((f.reason.to_string(), 1)),
        }
    }
}

fn open_input(t: &Target) -> Result<(Box<dyn Read + Send>, Option<u64>), RunError> {
    match t {
        Target::Std => Ok((Box::new(io::stdin()), None)),
        Target::File(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| RunError(format!("cannot open input {}: {e}", p.display())))?;
            let len = f.metadata().ok().map(|m| m.len());
            Ok((Box::new(f), len))
        }
    }
}

fn open_output(t: &Target, what: &str) -> Result<Box<dyn Write + Send>, RunError> {
    match t {
        Target::Std => Ok(Box::new(io::stdout())),
        Target::File(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| RunError(format!("cannot create {what} {}: {e}", p.display())))?;
            Ok(Box::new(f))
        }
    }
}

/// The CSV output columns: the mapping's fields, then the extras.
fn csv_columns(plan: &Plan, headers: Option<&Headers>) -> Result<Vec<String>, RunError> {
    plan.columns(headers).map_err(|why| RunError(format!("CSV output needs its columns before the first record, but {why}; use a JSON output format")))
}

/// Run a plan over an input.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Summary, RunError> {
    let started = Instant::now();
    let in_format = opts
        .input_format
        .or_else(|| opts.input.format())
        .unwrap_or(plan.source_format);
    // An explicit flag, then what the output file's name says (`-o leads.csv`), then the mapping.
    let out_format = opts
        .output_format
        .or_else(|| opts.output.format())
        .or(plan.destination.format)
        .unwrap_or(Format::Jsonl);
    let (input, total) = open_input(&opts.input)?;
    let mut reader = read::open(
        input,
        in_format,
        plan.source.delimiter,
        plan.trailing_commas,
    )
    .map_err(|e| RunError(format!("{}: {}", opts.input.describe(), e.0)))?;
    let headers = reader.headers().cloned();
    if let Some(h) = &headers {
        let dup = h.duplicates();
        if !dup.is_empty() {
            eprintln!(
                "fieldmap: warning: the CSV header repeats {}; the first column of each name is used",
                dup.join(", ")
            );
        }
        let missing = plan.missing_columns(h);
        if !missing.is_empty() && !h.names().is_empty() {
            eprintln!(
                "fieldmap: warning: the input has no column {}; those fields will be empty (columns: {})",
                missing.join(", "),
                h.names().join(", ")
            );
        }
    }

    let columns = if out_format == Format::Csv {
        csv_columns(plan, headers.as_deref())?
    } else {
        // Not needed, but when known the encoder prepares the keys' JSON once.
        plan.columns(headers.as_deref()).unwrap_or_default()
    };
    let encoder = Encoder::new(
        out_format,
        plan.destination.nulls,
        plan.destination.delimiter.map_or(b',', |c| c as u8),
        columns,
    );
    let rejects_target = match &opts.rejects {
        Some(t) => t.clone(),
        None => match &opts.output {
            Target::File(p) => {
                let mut s = p.clone().into_os_string();
                s.push(".rejects.jsonl");
                Target::File(PathBuf::from(s))
            }
            Target::Std => Target::Std,
        },
    };
    let rejects_csv = rejects_target.format() == Some(Format::Csv);
    let rej_encoder = RejectEncoder::new(
        if plan.rejects.include.is_empty() {
            vec![RejectInfo::Reason]
        } else {
            plan.rejects.include.clone()
        },
        rejects_csv,
        headers.as_ref().map(|h| h.names().to_vec()),
    );

    let mut out = io::BufWriter::with_capacity(1 << 20, open_output(&opts.output, "output")?);
    // Rejects to "standard" go to standard error: standard output carries the records.
    let mut rej_sink: Option<Box<dyn Write + Send>> = None;
    let rejects_to = match &rejects_target {
        Target::Std => "standard error".to_owned(),
        Target::File(p) => p.display().to_string(),
    };

    let workers = opts
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let (batch_tx, batch_rx) = bounded::<Batch>(workers * 2);
    let (done_tx, done_rx) = bounded::<Done>(workers * 2);
    let recycle = Recycle::new(workers);

    let progress = progress_bar(opts.progress, total);
    let mut summary = Summary {
        rejects_to: rejects_to.clone(),
        ..Summary::default()
    };
    let mut reasons: HashMap<String, u64> = HashMap::new();

    let shared = Shared {
        plan,
        format: in_format,
        headers: headers.as_ref(),
        enc: &encoder,
        renc: &rej_encoder,
        recycle: &recycle,
    };
    let result = std::thread::scope(|s| -> Result<(), RunError> {
        // Owned by this closure: if writing fails and it returns early, dropping the receiver
        // makes the workers' sends fail, they stop, and so does the reader (no deadlock).
        let done_rx = done_rx;
        let recycle = &recycle;
        let reader_thread = s.spawn(move || read_batches(&mut *reader, &batch_tx, recycle));
        for _ in 0..workers {
            let rx = batch_rx.clone();
            let tx = done_tx.clone();
            let shared = &shared;
            s.spawn(move || work(shared, &rx, &tx));
        }
        drop(batch_rx);
        drop(done_tx);

        out.write_all(&encoder.begin())
            .map_err(|e| write_err(&opts.output, e))?;
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next = 0u64;
        let mut any_written = false;
        let mut last_draw = Instant::now();
        loop {
            let done = match done_rx.try_recv() {
                Ok(d) => Some(d),
                Err(crossbeam_channel::TryRecvError::Empty) => {
                    // Nothing ready: hand what we have to the reader of our output.
                    out.flush().map_err(|e| write_err(&opts.output, e))?;
                    if let Some(r) = rej_sink.as_mut() {
                        r.flush().map_err(|e| write_err(&rejects_target, e))?;
                    }
                    done_rx.recv().ok()
                }
                Err(crossbeam_channel::TryRecvError::Disconnected) => None,
            };
            let Some(done) = done else { break };
            pending.insert(done.seq, done);
            while let Some(mut d) = pending.remove(&next) {
                next += 1;
                if !any_written && d.written > 0 && out_format == Format::Json {
                    // Drop the leading comma of the first JSON array element.
                    d.out.remove(0);
                }
                any_written |= d.written > 0;
                out.write_all(&d.out)
                    .map_err(|e| write_err(&opts.output, e))?;
                recycle.give_buffer(d.out);
                if !d.rej.is_empty() {
                    if rej_sink.is_none() {
                        let mut sink: Box<dyn Write + Send> = match &rejects_target {
                            Target::Std => Box::new(io::stderr()),
                            t => Box::new(io::BufWriter::new(open_output(t, "rejects file")?)),
                        };
                        sink.write_all(&rej_encoder.begin())
                            .map_err(|e| write_err(&rejects_target, e))?;
                        rej_sink = Some(sink);
                    }
                    if let Some(r) = rej_sink.as_mut() {
                        r.write_all(&d.rej)
                            .map_err(|e| write_err(&rejects_target, e))?;
                    }
                }
                recycle.give_buffer(d.rej);
                summary.read += d.read;
                summary.written += d.written;
                for (r, n) in d.reasons {
                    summary.rejected += n;
                    *reasons.entry(r).or_default() += n;
                }
                if let Some(pb) = &progress
                    && last_draw.elapsed() > Duration::from_millis(100)
                {
                    last_draw = Instant::now();
                    pb.set_position(d.bytes_read);
                    let rate = summary.read as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    pb.set_message(format!(
                        "{} records, {rate:.0}/s, {} rejected",
                        summary.read, summary.rejected
                    ));
                }
            }
        }
        match reader_thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(RunError(format!("reading {}: {e}", opts.input.describe()))),
            Err(_) => return Err(RunError("the reader thread panicked".into())),
        }
        out.write_all(&encoder.end(any_written))
            .map_err(|e| write_err(&opts.output, e))?;
        out.flush().map_err(|e| write_err(&opts.output, e))?;
        if let Some(r) = rej_sink.as_mut() {
            r.flush().map_err(|e| write_err(&rejects_target, e))?;
        }
        Ok(())
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    result?;
    let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    summary.reasons = reasons;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn write_err(t: &Target, e: io::Error) -> RunError {
    RunError(format!("writing {}: {e}", t.describe()))
}

fn progress_bar(enabled: bool, total: Option<u64>) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !io::stderr().is_terminal() {
        return None;
    }
    let pb = match total {
        Some(t) => indicatif::ProgressBar::new(t).with_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    Some(pb)
}

/// Records per batch: large enough to amortise channel hand-offs, small enough for latency.
const BATCH: usize = 1024;

/// The big buffers of a batch go back to the thread that fills them, to be filled again: the
/// reader's items and CSV chunk (from the workers), the workers' output buffers (from the
/// writer). Allocated for every batch by one thread and freed by another, they cost allocator
/// work and fresh pages all run long. The channels are bounded and only tried: a buffer with
/// nowhere to go is freed, a thread that finds none allocates one.
struct Recycle {
    buffers: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
    batches: (Sender<Spare>, Receiver<Spare>),
}

/// What a worker gives back of a batch.
struct Spare {
    items: Vec<Item>,
    /// The CSV chunk its rows shared, when it was one (it always is).
    chunk: Option<Chunk>,
}

impl Recycle {
    fn new(workers: usize) -> Recycle {
        // Enough for every batch in flight: queued, being worked on, done and waiting.
        let n = workers * 4 + 2;
        Recycle {
            buffers: bounded(2 * n),
            batches: bounded(n),
        }
    }

    /// An empty buffer, reused when one is available.
    fn take_buffer(&self) -> Vec<u8> {
        self.buffers.1.try_recv().unwrap_or_default()
    }

    fn give_buffer(&self, mut b: Vec<u8>) {
        b.clear();
        let _ = self.buffers.0.try_send(b);
    }
}

fn read_batches(
    reader: &mut dyn ItemReader,
    tx: &Sender<Batch>,
    recycle: &Recycle,
) -> io::Result<()> {
    let mut seq = 0;
    loop {
        let mut items = match recycle.batches.1.try_recv() {
            Ok(spare) => {
                if let Some(chunk) = spare.chunk {
                    reader.reuse(chunk);
                }
                spare.items
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        let more = reader.next_batch(&mut items, BATCH)?;
        if !items.is_empty() {
            let b = Batch {
                seq,
                items,
                bytes_read: reader.bytes_read(),
            };
            seq += 1;
            if tx.send(b).is_err() {
                return Ok(());
            }
        }
        if !more {
            return Ok(());
        }
    }
}

/// What every worker uses.
struct Shared<'a> {
    plan: &'a Plan,
    format: Format,
    headers: Option<&'a Arc<Headers>>,
    enc: &'a Encoder,
    renc: &'a RejectEncoder,
    recycle: &'a Recycle,
}

fn work(w: &Shared<'_>, rx: &Receiver<Batch>, tx: &Sender<Done>) {
    for mut batch in rx {
        let mut d = Done {
            seq: batch.seq,
            bytes_read: batch.bytes_read,
            out: w.recycle.take_buffer(),
            rej: w.recycle.take_buffer(),
            ..Done::default()
        };
        d.out.reserve(batch.items.len() * 256);
        // The chunk the rows share, to give it back once they are all done with.
        let chunk = batch.items.iter().find_map(|i| match &i.raw {
            Raw::Csv(r) => Some(r.chunk.clone()),
            _ => None,
        });
        for item in batch.items.drain(..) {
            d.read += 1;
            let pos = item.pos;
            match codec::decode(item.raw, w.format, w.headers, w.plan.trailing_commas) {
                Err(e) => d.reject(w.renc, pos, &e.failure(), Original::Object(&e.original)),
                Ok(rec) => match w
                    .plan
                    .apply(&rec)
                    .and_then(|o| w.enc.encode(&o, &mut d.out))
                {
                    Ok(()) => d.written += 1,
                    Err(mut f) => {
                        // A value a template built from a secret can end up in a message.
                        f.message = w.plan.redact(&f.message);
                        d.reject(w.renc, pos, &f, Original::Record(&rec))
                    }
                },
            }
        }
        let spare = Spare {
            items: batch.items,
            chunk: chunk.and_then(|c| Arc::try_unwrap(c).ok()),
        };
        let _ = w.recycle.batches.0.try_send(spare);
        if tx.send(d).is_err() {
            return;
        }
    }
}
