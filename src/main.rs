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
    /// Print the JSON Schema of mapping files (schemas/mapping.schema.json).
    Schema,
    /// List the transformation rules, or print their reference (`--markdown`).
    Rules {
        /// Print docs/rules.md.
        #[arg(long)]
        markdown: bool,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s)
        .ok_or_else(|| format!("unknown format `{s}`: use json, jsonl, csv, query or form"))
}

fn compile(path: &Path) -> Result<Plan, ExitCode> {
    let loaded = mapping::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_FATAL)
    })?;
    Plan::compile(&loaded, CompileOptions::default()).map_err(|errs| {
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
            let plan = match compile(&mapping) {
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
            let plan = match compile(&mapping) {
                Ok(p) => p,
                Err(code) => return code,
            };
            explain(
                &plan,
                &payload,
                record,
                format.unwrap_or(plan.source.format),
            )
        }
        Command::Schema => {
            use std::io::Write;
            let _ = std::io::stdout()
                .lock()
                .write_all(fieldmap::docs::mapping_schema().as_bytes());
            ExitCode::SUCCESS
        }
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
    let mut reader = match fieldmap::codec::read::open(input, format, plan.source.delimiter) {
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
