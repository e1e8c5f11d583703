//! The `fieldmap` command line. Parsing arguments and mapping errors to exit codes only; the work
//! is in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use fieldmap::batch::{self, RunOptions, Target};
use fieldmap::engine::{CompileOptions, Plan};
use fieldmap::mapping::{self, Format};

/// Exit code: a fatal error (bad mapping, unreadable input, write failure).
const EXIT_FATAL: u8 = 1;
/// `fieldmap test` (and `cargo test`) want at least this many fixtures per flow.
const MIN_FIXTURES: usize = 3;
/// Exit code: the run finished but some records were rejected.
const EXIT_REJECTS: u8 = 3;

#[derive(Parser)]
#[command(
    name = "fieldmap",
    version,
    about = "Map lead and call data between vendors with YAML mapping files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transform a file or a stream (stdin to stdout) with a mapping.
    ///
    /// Exit codes: 0 every record written; 3 finished, some records rejected (see the rejects
    /// file); 1 fatal error (bad mapping, unreadable input); 2 bad command line.
    Run {
        /// The mapping file (YAML).
        mapping: PathBuf,
        /// Input file, or `-` for standard input.
        #[arg(short, long, default_value = "-")]
        input: String,
        /// Output file, or `-` for standard output.
        #[arg(short, long, default_value = "-")]
        output: String,
        /// Rejects file (`.csv` for CSV, else JSONL). Default: `<output>.rejects.jsonl`, or
        /// standard error when writing to standard output.
        #[arg(short, long)]
        rejects: Option<String>,
        /// Input format, overriding the mapping's `source.format` and the file extension.
        #[arg(long, value_parser = parse_format)]
        input_format: Option<Format>,
        /// Output format, overriding the mapping's `destination.format` and the file extension.
        #[arg(long, value_parser = parse_format)]
        output_format: Option<Format>,
        /// Worker threads (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// No progress bar, no summary line.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show what a mapping does to one record: each field's input, each step's result, and why a
    /// record is rejected.
    Explain {
        /// The mapping file (YAML).
        mapping: PathBuf,
        /// A file holding the record (in the mapping's source format), or `-` for standard input.
        payload: String,
        /// Which record of the file (1 = the first).
        #[arg(long, default_value_t = 1)]
        record: u64,
        /// Payload format, overriding the mapping's `source.format`.
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
    },
    /// Check mappings and vendor profiles without running them: the file format, rules and their
    /// options, templates and the variables they use, regexes, vendor references, and each flow
    /// against its destination endpoint (required fields produced, allowed values, length limits).
    ///
    /// Exit codes: 0 everything is valid; 1 something is wrong (each problem is printed with
    /// file:line:column).
    Validate {
        /// Mapping and profile files, or directories to search (default: mappings/).
        #[arg(default_value = "mappings")]
        paths: Vec<PathBuf>,
        /// Print warnings too (they do not change the exit code).
        #[arg(short, long)]
        warnings: bool,
    },
    /// Run every fixture of every flow (tests/fixtures/<flow>/) and compare what would go over
    /// the wire with its snapshot (snapshots/<flow>__<fixture>.snap).
    ///
    /// Exit codes: 0 every snapshot matches; 1 a snapshot differs or is missing (a diff is
    /// printed), or a mapping does not compile. `--update` writes the snapshots instead.
    Test {
        /// Flows, or directories of flows (default: mappings/).
        #[arg(default_value = "mappings")]
        paths: Vec<PathBuf>,
        /// Write new and changed snapshots.
        #[arg(long)]
        update: bool,
        /// Where fixtures are.
        #[arg(long, default_value = "tests/fixtures")]
        fixtures: PathBuf,
        /// Where snapshots are.
        #[arg(long, default_value = "snapshots")]
        snapshots: PathBuf,
    },
    /// Run the sidecar: receive vendor webhooks on /in/{flow}, answer each sender, store every
    /// accepted record durably, and deliver it to its destination with retries. See
    /// docs/serve.md.
    ///
    /// Exit codes: 0 after a clean shutdown (SIGTERM, Ctrl-C); 1 when it cannot start.
    Serve {
        /// The directory of flows (and vendors/ profiles).
        #[arg(long, default_value = "mappings")]
        mappings: PathBuf,
        /// Serve only this flow (repeat for several); default: every flow under --mappings.
        #[arg(long = "flow")]
        flows: Vec<String>,
        /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free one, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Where the outbox (pending deliveries and dead letters) is kept.
        #[arg(long, default_value = "fieldmap-data")]
        data_dir: PathBuf,
        /// The largest request body, in bytes; larger requests get 413.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_body: usize,
        /// How long a request may take before it gets 408 (`10s`, `500ms`).
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        request_timeout: std::time::Duration,
        /// The wait before the first retry of a failed delivery; doubled each time, up to 5 minutes.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        retry_base: std::time::Duration,
        /// Look for changed mapping files this often and reload them (`0s`: only on SIGHUP).
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        watch: std::time::Duration,
        /// Logs as JSON lines (one object per event) instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Manage the dead letters: records the sidecar could not deliver.
    ///
    /// Works on `--data-dir` directly when the sidecar is stopped, or through a running
    /// sidecar's API with `--server URL` (and FIELDMAP_ADMIN_TOKEN set for both).
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
        /// The sidecar's data directory (when it is not running).
        #[arg(long, global = true, default_value = "fieldmap-data")]
        data_dir: PathBuf,
        /// A running sidecar's base URL (`http://127.0.0.1:8080`).
        #[arg(long, global = true)]
        server: Option<String>,
    },
    /// Print the JSON Schema of mapping files (schemas/mapping.schema.json), or with `--profile`
    /// of vendor profiles (schemas/vendor-profile.schema.json).
    Schema {
        /// The schema of vendor profiles.
        #[arg(long)]
        profile: bool,
    },
    /// List the transformation rules, or print their reference (`--markdown`).
    Rules {
        /// Print docs/rules.md.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand)]
enum DlqAction {
    /// One line per dead letter: id, flow, endpoint, attempts, last error.
    List,
    /// One dead letter in full.
    Show { id: String },
    /// Deliver again (an id, or `all`).
    Replay { id: String },
    /// Forget a dead letter.
    Drop { id: String },
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    fieldmap::profile::parse_duration(s)
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s)
        .ok_or_else(|| format!("unknown format `{s}`: use json, jsonl, csv, query or form"))
}

fn compile(path: &Path, opts: CompileOptions) -> Result<Plan, ExitCode> {
    let loaded = mapping::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_FATAL)
    })?;
    Plan::compile(&loaded, opts).map_err(|errs| {
        for e in &errs {
            eprintln!("{e}\n");
        }
        eprintln!(
            "{}: {} error(s); nothing was run",
            path.display(),
            errs.len()
        );
        ExitCode::from(EXIT_FATAL)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            mapping,
            input,
            output,
            rejects,
            input_format,
            output_format,
            workers,
            quiet,
        } => {
            let plan = match compile(&mapping, CompileOptions::default()) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let opts = RunOptions {
                input: Target::parse(&input),
                output: Target::parse(&output),
                rejects: rejects.as_deref().map(Target::parse),
                input_format,
                output_format,
                progress: !quiet,
                workers,
            };
            match batch::run(&plan, &opts) {
                Ok(summary) => {
                    if !quiet {
                        eprintln!("fieldmap: {summary}");
                    }
                    if summary.rejected > 0 {
                        ExitCode::from(EXIT_REJECTS)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("fieldmap: {e}");
                    ExitCode::from(EXIT_FATAL)
                }
            }
        }
        Command::Explain {
            mapping,
            payload,
            record,
            format,
        } => {
            // Trying a mapping out should not need its secrets: variables that are not set take their
            // default or declared example (and secrets stay redacted in what is shown).
            let opts = CompileOptions {
                env: fieldmap::env::EnvMode::Lenient,
                now: None,
            };
            let plan = match compile(&mapping, opts) {
                Ok(p) => p,
                Err(code) => return code,
            };
            explain(
                &plan,
                &payload,
                record,
                format.unwrap_or(plan.source_format),
            )
        }
        Command::Schema { profile } => {
            use std::io::Write;
            let text = if profile {
                fieldmap::docs::profile_schema()
            } else {
                fieldmap::docs::mapping_schema()
            };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Command::Validate { paths, warnings } => validate(&paths, warnings),
        Command::Serve {
            mappings,
            flows,
            listen,
            data_dir,
            max_body,
            request_timeout,
            retry_base,
            watch,
            log_json,
        } => {
            init_logs(log_json);
            let opts = fieldmap::serve::ServeOptions {
                mappings,
                only: flows,
                listen,
                data_dir,
                max_body,
                request_timeout,
                backoff: fieldmap::serve::deliver::Backoff {
                    base: retry_base,
                    max: fieldmap::serve::deliver::MAX_BACKOFF,
                },
                watch: (!watch.is_zero()).then_some(watch),
                shutdown_grace: std::time::Duration::from_secs(10),
            };
            match fieldmap::serve::serve(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("fieldmap serve: {e}");
                    ExitCode::from(EXIT_FATAL)
                }
            }
        }
        Command::Dlq {
            action,
            data_dir,
            server,
        } => dlq(action, &data_dir, server.as_deref()),
        Command::Test {
            paths,
            update,
            fixtures,
            snapshots,
        } => test(&paths, update, &fixtures, &snapshots),
        Command::Rules { markdown } => {
            use std::io::Write;
            let text = if markdown {
                fieldmap::docs::rules_markdown()
            } else {
                fieldmap::transform::RULES
                    .iter()
                    .map(|d| format!("{:<20} {}\n", d.name, d.summary))
                    .collect()
            };
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
    }
}

/// Logs on standard error: text by default, JSON lines with `--log-json`; the level from
/// `RUST_LOG` (default `info`).
fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn dlq(action: DlqAction, data_dir: &Path, server: Option<&str>) -> ExitCode {
    use fieldmap::serve::outbox::{Outbox, parse_key};
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Some(url) = server {
        return dlq_remote(action, url);
    }
    let outbox = match Outbox::open_existing(data_dir) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fieldmap dlq: {e}");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    let id_of = |s: &str| {
        parse_key(s).ok_or_else(|| {
            eprintln!("fieldmap dlq: `{s}` is not an id (32 hex digits, as `dlq list` shows)");
            ExitCode::from(EXIT_FATAL)
        })
    };
    let fail = |e: String| {
        eprintln!("fieldmap dlq: {e}");
        ExitCode::from(EXIT_FATAL)
    };
    match action {
        DlqAction::List => match outbox.dead_letters() {
            Ok(list) => {
                for e in &list {
                    let _ = writeln!(
                        out,
                        "{}  {}  {}  attempts={}  {}",
                        e.key(),
                        e.flow,
                        e.endpoint,
                        e.attempts,
                        e.last_error
                    );
                }
                eprintln!("{} dead letter(s)", list.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        DlqAction::Show { id } => {
            let id = match id_of(&id) {
                Ok(i) => i,
                Err(c) => return c,
            };
            match outbox.dead_entry(id) {
                Ok(Some(e)) => {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&e).unwrap_or_default()
                    );
                    ExitCode::SUCCESS
                }
                Ok(None) => fail("no such dead letter".into()),
                Err(e) => fail(e),
            }
        }
        DlqAction::Replay { id } => {
            let ids: Vec<u128> = if id == "all" {
                match outbox.dead_letters() {
                    Ok(l) => l.iter().map(|e| e.id).collect(),
                    Err(e) => return fail(e),
                }
            } else {
                match id_of(&id) {
                    Ok(i) => vec![i],
                    Err(c) => return c,
                }
            };
            let mut n = 0;
            for id in ids {
                match outbox.replay(id) {
                    Ok(true) => n += 1,
                    Ok(false) => {}
                    Err(e) => return fail(e),
                }
            }
            eprintln!("{n} record(s) back in the outbox; the sidecar delivers them when it starts");
            if n == 0 && id != "all" {
                return fail("no such dead letter".into());
            }
            ExitCode::SUCCESS
        }
        DlqAction::Drop { id } => {
            let id = match id_of(&id) {
                Ok(i) => i,
                Err(c) => return c,
            };
            match outbox.drop_dead(id) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => fail("no such dead letter".into()),
                Err(e) => fail(e),
            }
        }
    }
}

/// `dlq` through a running sidecar's API.
fn dlq_remote(action: DlqAction, base: &str) -> ExitCode {
    let token = std::env::var("FIELDMAP_ADMIN_TOKEN").unwrap_or_default();
    let base = base.trim_end_matches('/');
    let (method, url) = match &action {
        DlqAction::List => (reqwest::Method::GET, format!("{base}/dlq")),
        DlqAction::Show { id } => (reqwest::Method::GET, format!("{base}/dlq/{id}")),
        DlqAction::Replay { id } => (reqwest::Method::POST, format!("{base}/dlq/{id}/replay")),
        DlqAction::Drop { id } => (reqwest::Method::DELETE, format!("{base}/dlq/{id}")),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fieldmap dlq: {e}");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    let result = rt.block_on(async {
        let resp = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.without_url().to_string())?;
        Ok::<_, String>((status, text))
    });
    match result {
        Ok((status, text)) => {
            println!("{text}");
            if status.is_success() {
                ExitCode::SUCCESS
            } else {
                eprintln!("fieldmap dlq: {status}");
                ExitCode::from(EXIT_FATAL)
            }
        }
        Err(e) => {
            eprintln!("fieldmap dlq: cannot reach {base}: {e}");
            ExitCode::from(EXIT_FATAL)
        }
    }
}

fn validate(paths: &[PathBuf], show_warnings: bool) -> ExitCode {
    let report = fieldmap::validate::validate(paths);
    for e in &report.errors {
        eprintln!("error: {e}\n");
    }
    if show_warnings {
        for w in &report.warnings {
            eprintln!("warning: {w}\n");
        }
    }
    let warn_note = if report.warnings.is_empty() || show_warnings {
        String::new()
    } else {
        format!(
            ", {} warning(s) (show them with --warnings)",
            report.warnings.len()
        )
    };
    if report.files == 0 {
        eprintln!("fieldmap validate: no mapping or profile files found");
        return ExitCode::from(EXIT_FATAL);
    }
    if report.errors.is_empty() {
        eprintln!(
            "fieldmap validate: {} mapping(s), {} profile(s): valid{warn_note}",
            report.mappings, report.profiles
        );
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "fieldmap validate: {} mapping(s), {} profile(s): {} error(s){warn_note}",
            report.mappings,
            report.profiles,
            report.errors.len()
        );
        ExitCode::from(EXIT_FATAL)
    }
}

fn test(paths: &[PathBuf], update: bool, fixtures: &Path, snapshots: &Path) -> ExitCode {
    use fieldmap::review::{self, Outcome};
    use std::io::Write;
    // Written with `writeln!` and errors ignored: `fieldmap test | head` must not panic.
    let mut out = std::io::stdout().lock();
    let root = std::env::current_dir().unwrap_or_default();
    let (flows, errors) = review::cases(paths, fixtures);
    for e in &errors {
        eprintln!("error: {e}\n");
    }
    let (mut same, mut changed, mut new, mut written, mut without) = (0, 0, 0, 0, 0);
    for (plan, cases) in &flows {
        if cases.len() < MIN_FIXTURES {
            without += 1;
            eprintln!(
                "error: {} has {} fixture(s) in {}; every flow needs at least {MIN_FIXTURES} (its vendor's sample and edge cases)",
                plan.name,
                cases.len(),
                fixtures.join(&plan.name).display()
            );
        }
        for case in cases {
            match review::check(plan, case, snapshots, &root, update) {
                Ok(Outcome::Same) => same += 1,
                Ok(Outcome::Written) => {
                    written += 1;
                    let _ = writeln!(out, "written   {}", case.snapshot_name);
                }
                Ok(Outcome::New { body }) => {
                    new += 1;
                    let _ = writeln!(
                        out,
                        "NEW       {} ({}): no snapshot yet; it would be:\n{}",
                        case.snapshot_name,
                        review::describe(case, &root),
                        body
                    );
                }
                Ok(Outcome::Changed { diff }) => {
                    changed += 1;
                    let _ = writeln!(
                        out,
                        "CHANGED   {} ({}):\n{}",
                        case.snapshot_name,
                        review::describe(case, &root),
                        diff
                    );
                }
                Err(e) => {
                    changed += 1;
                    let _ = writeln!(out, "ERROR     {}: {e}", case.fixture.display());
                }
            }
        }
    }
    // Only when testing everything, and only when every flow loaded: a flow that does not
    // compile produces no cases, and its snapshots are not stale but waiting.
    let stale = if paths == [PathBuf::from("mappings")] && errors.is_empty() {
        review::stale_snapshots(&flows, snapshots)
    } else {
        Vec::new()
    };
    for p in &stale {
        if update {
            match std::fs::remove_file(p) {
                Ok(()) => {
                    let _ = writeln!(out, "deleted   {} (no fixture produces it)", p.display());
                }
                Err(e) => {
                    let _ = writeln!(out, "ERROR     cannot delete {}: {e}", p.display());
                }
            }
        } else {
            let _ = writeln!(
                out,
                "STALE     {}: no fixture produces it (--update deletes it)",
                p.display()
            );
        }
    }
    let stale_n = if update { 0 } else { stale.len() };
    let flows_n = flows.len();
    eprintln!(
        "fieldmap test: {flows_n} flow(s), {} fixture(s): {same} same, {changed} changed, {new} new, {written} written{}{}",
        same + changed + new + written,
        if without > 0 {
            format!(", {without} flow(s) with too few fixtures")
        } else {
            String::new()
        },
        if errors.is_empty() {
            String::new()
        } else {
            format!(", {} mapping error(s)", errors.len())
        },
    );
    if changed + new + stale_n > 0 && !update {
        eprintln!("review the differences; if they are intended, run `fieldmap test --update`");
    }
    if changed + new + stale_n + without > 0 || !errors.is_empty() || flows_n == 0 {
        ExitCode::from(EXIT_FATAL)
    } else {
        ExitCode::SUCCESS
    }
}

fn explain(plan: &Plan, payload: &str, n: u64, format: Format) -> ExitCode {
    let input: Box<dyn std::io::Read + Send> = if payload == "-" {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(payload) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("fieldmap: cannot open {payload}: {e}");
                return ExitCode::from(EXIT_FATAL);
            }
        }
    };
    let mut reader = match fieldmap::codec::read::open(
        input,
        format,
        plan.source.delimiter,
        plan.trailing_commas,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fieldmap: {payload}: {}", e.0);
            return ExitCode::from(EXIT_FATAL);
        }
    };
    let mut items = Vec::new();
    loop {
        match reader.next_batch(&mut items, 1024) {
            Ok(more) => {
                if items.len() as u64 >= n || !more {
                    break;
                }
            }
            Err(e) => {
                eprintln!("fieldmap: reading {payload}: {e}");
                return ExitCode::from(EXIT_FATAL);
            }
        }
    }
    let Some(item) = items.into_iter().nth(n.saturating_sub(1) as usize) else {
        eprintln!("fieldmap: {payload} has fewer than {n} record(s)");
        return ExitCode::from(EXIT_FATAL);
    };
    let headers = reader.headers().cloned();
    let (text, accepted) =
        fieldmap::explain::render(plan, item.pos, item.raw, format, headers.as_ref());
    {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    if accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTS)
    }
}

/// mimalloc instead of glibc's allocator: the workers allocate and free small strings for every
/// field of every record, which glibc's malloc does with about 10% more instructions in all (and,
/// before batches shared their buffers, with arena lock contention between threads). Built with
/// `no_thp` (Cargo.toml): otherwise mimalloc asks for transparent huge pages, and on machines that
/// grant them on request (`madvise` mode) every touched 2 MiB counts in full: 57 MiB resident on
/// 1M rows instead of 22.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
