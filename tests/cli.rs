//! End-to-end tests of the `fieldmap` binary: real files, real pipes, real exit codes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fieldmap"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bench_mapping() -> PathBuf {
    root().join("mappings/bench/leads-to-chasedata.yaml")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run fieldmap")
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("output line is JSON"))
        .collect()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p
}

const MINI: &str = "name: mini\nsource: {format: csv}\nfields:\n  - to: Phone\n    from: phone\n    steps: [digits, {require: {len: 10, reason: invalid_phone}}]\n  - to: Name\n    from: name\n    steps: [trim]\n";

#[test]
fn sample_file_runs_and_reports_rejects_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let rej = dir.path().join("rej.jsonl");
    let o = run(&[
        "run",
        bench_mapping().to_str().unwrap(),
        "-i",
        root().join("examples/leads-sample.csv").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-r",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("read 300, written"), "{stderr}");
    let acc = jsonl(&out);
    let rejected = jsonl(&rej);
    assert_eq!(acc.len() + rejected.len(), 300);
    let keys: Vec<&str> = acc[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Campaign",
            "PrimaryPhone",
            "FirstName",
            "LastName",
            "Address",
            "City",
            "State",
            "ZipCode",
            "ClientId",
            "Notes",
            "CallbackDate",
            "adv_Loan__Amount",
            "adv_Credit__Score"
        ]
    );
    for r in &rejected {
        let reason = r["_reject_reason"].as_str().unwrap();
        assert!(
            reason == "invalid_phone" || reason == "invalid_state",
            "{r}"
        );
        assert!(
            r.get("lead_id").is_some(),
            "the original record follows: {r}"
        );
    }
}

#[test]
fn clean_input_exits_0_and_default_rejects_path_is_next_to_output() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), "m.yaml", MINI.as_bytes());
    let input = write(dir.path(), "in.csv", b"phone,name\n(949) 265-1111, Ann \n");
    let out = dir.path().join("out.jsonl");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"Phone\":\"9492651111\",\"Name\":\"Ann\"}\n"
    );
    assert!(
        !dir.path().join("out.jsonl.rejects.jsonl").exists(),
        "no rejects, no file"
    );

    let input = write(dir.path(), "bad.csv", b"phone,name\n123,Bob\n");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    let rej = jsonl(&dir.path().join("out.jsonl.rejects.jsonl"));
    assert_eq!(rej[0]["_reject_field"], "Phone");
    assert_eq!(rej[0]["_reject_rule"], "require");
    assert_eq!(rej[0]["_reject_row"], 1);
    assert_eq!(rej[0]["_reject_line"], 2);
    assert_eq!(rej[0]["phone"], "123");
}

#[test]
fn malformed_rows_are_rejected_with_position_and_the_rest_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), "m.yaml", MINI.as_bytes());
    let input = write(
        dir.path(),
        "in.csv",
        b"phone,name\n9492651111,A\n9492651112\n9492651113,\"multi\nline\"\n9492651114,\xff\xfe\n9492651115,E\n",
    );
    let out = dir.path().join("out.jsonl");
    let rej = dir.path().join("rej.jsonl");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-r",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    let names: Vec<String> = jsonl(&out)
        .iter()
        .map(|v| v["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["A", "multi\nline", "E"]);
    let rej = jsonl(&rej);
    assert_eq!(rej.len(), 2);
    assert_eq!(
        (
            rej[0]["_reject_reason"].as_str(),
            rej[0]["_reject_row"].as_u64(),
            rej[0]["_reject_line"].as_u64()
        ),
        (Some("malformed_row"), Some(2), Some(3))
    );
    assert_eq!(
        rej[0]["_reject_message"],
        "the row has 1 fields, the header has 2"
    );
    assert_eq!(
        (
            rej[1]["_reject_reason"].as_str(),
            rej[1]["_reject_row"].as_u64(),
            rej[1]["_reject_line"].as_u64()
        ),
        (Some("invalid_utf8"), Some(4), Some(6))
    );
    assert_eq!(
        rej[1]["phone"], "9492651114",
        "the original survives, lossily decoded"
    );
}

#[test]
fn jsonl_bad_lines_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.yaml",
        MINI.replace("format: csv", "format: jsonl").as_bytes(),
    );
    let input = write(dir.path(), "in.jsonl", b"{\"phone\":\"9492651111\",\"name\":\"A\"}\n[1,2]\n{\"phone\":\n\n{\"phone\":\"9492651111\"}\n");
    let out = dir.path().join("out.jsonl");
    let rej = dir.path().join("rej.csv");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-r",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        jsonl(&out).len(),
        2,
        "a missing name is not an error: the field is left out"
    );
    let rej = std::fs::read_to_string(&rej).unwrap();
    let lines: Vec<&str> = rej.lines().collect();
    assert_eq!(
        lines[0],
        "_reject_reason,_reject_row,_reject_line,_reject_field,_reject_rule,_reject_message,_record"
    );
    assert_eq!(
        lines[1],
        r#"not_an_object,2,2,,decode,"expected a JSON object, got a list","{""_raw"":""[1,2]""}""#
    );
    assert!(
        lines[2].starts_with("invalid_json,3,3,,decode,"),
        "{}",
        lines[2]
    );
}

#[test]
fn broken_mapping_never_starts_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.yaml",
        MINI.replace("[trim]", "[trm, {max_len: x}]").as_bytes(),
    );
    let out = dir.path().join("out.jsonl");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        "/nonexistent",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("m.yaml:9:13: unknown rule `trm`; did you mean `trim`?"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");

    let m = write(
        dir.path(),
        "m2.yaml",
        MINI.replace("[trim]", "[{regex_extract: {pattern: '(a'}}]")
            .as_bytes(),
    );
    let o = run(&["run", m.to_str().unwrap(), "-i", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("m2.yaml:9:13: rule `regex_extract`: bad pattern"),
        "{err}"
    );
}

#[test]
fn stdin_stream_writes_each_line_as_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.yaml",
        MINI.replace("format: csv", "format: jsonl").as_bytes(),
    );
    let mut child = bin()
        .args(["run", m.to_str().unwrap(), "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            tx.send(line).unwrap();
        }
    });
    for (i, name) in ["first", "second"].iter().enumerate() {
        writeln!(
            stdin,
            "{{\"phone\":\"(949) 265-111{i}\",\"name\":\"{name}\"}}"
        )
        .unwrap();
        stdin.flush().unwrap();
        // The input stays open: the output must come without waiting for the end of input.
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("output line while input is still open");
        assert_eq!(
            line,
            format!("{{\"Phone\":\"949265111{i}\",\"Name\":\"{name}\"}}\n")
        );
    }
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn output_formats_csv_json_query() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), "m.yaml", MINI.as_bytes());
    let input = write(
        dir.path(),
        "in.csv",
        b"phone,name\n9492651111,\"Lee, Ann\"\n9492651112,Bo Li\n",
    );
    for (fmt, want) in [
        (
            "csv",
            "Phone,Name\n9492651111,\"Lee, Ann\"\n9492651112,Bo Li\n",
        ),
        (
            "json",
            "[\n{\"Phone\":\"9492651111\",\"Name\":\"Lee, Ann\"},\n{\"Phone\":\"9492651112\",\"Name\":\"Bo Li\"}\n]\n",
        ),
        (
            "query",
            "Phone=9492651111&Name=Lee%2C%20Ann\nPhone=9492651112&Name=Bo%20Li\n",
        ),
        (
            "form",
            "Phone=9492651111&Name=Lee%2C+Ann\nPhone=9492651112&Name=Bo+Li\n",
        ),
    ] {
        let o = run(&[
            "run",
            m.to_str().unwrap(),
            "-i",
            input.to_str().unwrap(),
            "--output-format",
            fmt,
            "-q",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{fmt}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), want, "{fmt}");
    }
    let out = dir.path().join("named.csv");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("Phone,Name\n"),
        "the output's extension picks CSV: {text}"
    );
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "-i",
        write(dir.path(), "e.csv", b"phone,name\n")
            .to_str()
            .unwrap(),
        "--output-format",
        "json",
        "-q",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "[]\n",
        "an empty input is an empty array"
    );
}

#[test]
fn explain_shows_every_step_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "one.csv", b"lead_id,first_name,last_name,phone,state,created_at,notes,address,city,zip,Loan Amount,Credit Score\nL1, Ann ,Lee,+1 (949) 265-1111,california,2026-03-14T09:26:53.120Z,,,,92618.0,1,2\nL2,Bo,Li,12345,CA,,,,,,,\n");
    let o = run(&[
        "explain",
        bench_mapping().to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("PrimaryPhone  from phone -> \"+1 (949) 265-1111\""),
        "{text}"
    );
    assert!(text.contains("regex_replace  -> \"9492651111\""), "{text}");
    assert!(text.contains("\"State\": \"CA\""), "{text}");
    assert!(
        text.contains("\"CallbackDate\": \"03/14/2026 09:26:53\""),
        "{text}"
    );
    let o = run(&[
        "explain",
        bench_mapping().to_str().unwrap(),
        input.to_str().unwrap(),
        "--record",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("REJECTED: field PrimaryPhone, rule require, reason invalid_phone"),
        "{text}"
    );
}

/// The benchmark mapping gives exactly the Python reference's output (shared/bench/peers/py_csv.py)
/// on a freshly generated file, when the shared benchmark kit is beside the project.
#[test]
fn bench_mapping_matches_python_reference() {
    let kit = root().join("../shared/bench");
    if !kit.join("gen_leads.py").exists()
        || Command::new("python3").arg("--version").output().is_err()
    {
        eprintln!("SKIPPED: ../shared/bench or python3 not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("leads.csv");
    let ok = Command::new("python3")
        .args([
            kit.join("gen_leads.py").to_str().unwrap(),
            "3000",
            "--seed",
            "4242",
            "-o",
            input.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let (py, fm) = (dir.path().join("py"), dir.path().join("fm"));
    std::fs::create_dir_all(&py).unwrap();
    std::fs::create_dir_all(&fm).unwrap();
    let ok = Command::new("python3")
        .arg(kit.join("peers/py_csv.py"))
        .args([
            &input,
            &py.join("accepted.jsonl"),
            &py.join("rejects.jsonl"),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    run(&[
        "run",
        bench_mapping().to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        fm.join("accepted.jsonl").to_str().unwrap(),
        "-r",
        fm.join("rejects.jsonl").to_str().unwrap(),
        "-q",
    ]);
    let o = Command::new("python3")
        .arg(kit.join("compare.py"))
        .args([&py, &fm])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && report.contains("ALL SAME"),
        "{report}"
    );
}

#[test]
fn explain_never_shows_secrets_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.yaml",
        b"name: s\nsource: {format: json}\nfields:\n  - to: Authorization\n    template: 'Token {{env.FIELDMAP_TEST_API_KEY}}'\n  - to: id\n    from: id\n",
    );
    let p = write(dir.path(), "p.json", b"{\"id\": \"1\"}");
    let o = bin()
        .args(["explain", m.to_str().unwrap(), p.to_str().unwrap()])
        .env(
            "FIELDMAP_TEST_API_KEY",
            "bbc723b49b884743479d4719075fa14kj521d73a4",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(!text.contains("bbc723b49b88"), "{text}");
    assert!(
        text.contains("\"Authorization\": \"Token [env.FIELDMAP_TEST_API_KEY]\""),
        "{text}"
    );

    // Trying a mapping out does not need its secrets...
    let o = run(&["explain", m.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // ...running it does: an unset variable is refused before any data is read.
    let o = run(&["run", m.to_str().unwrap(), "--input", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("environment variable `FIELDMAP_TEST_API_KEY` is not set")
    );
}

#[test]
fn a_closed_output_pipe_ends_the_run_with_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    // Enough rows to fill the channels between threads.
    let mut csv = String::from("phone,name\n");
    for i in 0..200_000 {
        csv.push_str(&format!("949265{:04},Name {i}\n", i % 10_000));
    }
    let input = write(dir.path(), "big.csv", csv.as_bytes());
    let m = write(dir.path(), "m.yaml", MINI.as_bytes());
    let mut child = bin()
        .args([
            "run",
            m.to_str().unwrap(),
            "-i",
            input.to_str().unwrap(),
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(1));
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(err.contains("writing -"), "{err}");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("fieldmap did not stop after its output was closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_mapping_and_profile_in_the_repo_validates() {
    let out = bin()
        .current_dir(root())
        .args(["validate", "mappings"])
        .output()
        .expect("run fieldmap");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fieldmap validate mappings:\n{err}");
    assert!(err.contains("valid"), "{err}");
}

#[test]
fn fieldmap_test_passes_on_the_repo_and_shows_a_diff_when_a_flow_changes() {
    let out = bin()
        .current_dir(root())
        .arg("test")
        .output()
        .expect("run fieldmap");
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "fieldmap test:\n{stdout}\n{err}");
    assert!(err.contains(" 0 changed, 0 new"), "{err}");

    // A deliberate change to a flow: a copy of the repo's flow with one rule changed, tested
    // against the repo's snapshots.
    let dir = tempfile::tempdir().expect("tempdir");
    let flow = std::fs::read_to_string(
        root().join("mappings/delacon-call-end-to-leadsquared-call-log.yaml"),
    )
    .expect("read flow");
    let changed = flow.replace("value: Inbound", "value: Outbound");
    assert_ne!(flow, changed, "the flow still sets Direction: Inbound");
    std::fs::create_dir_all(dir.path().join("mappings")).expect("mkdir");
    let copy = dir
        .path()
        .join("mappings/delacon-call-end-to-leadsquared-call-log.yaml");
    std::fs::write(&copy, changed).expect("write flow");
    // The copy finds the repo's profiles and schemas through links next to it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            root().join("mappings/vendors"),
            dir.path().join("mappings/vendors"),
        )
        .expect("link vendors");
        std::os::unix::fs::symlink(root().join("schemas"), dir.path().join("schemas"))
            .expect("link schemas");
    }
    let out = bin()
        .current_dir(root())
        .args(["test", copy.to_str().expect("utf-8 path")])
        .output()
        .expect("run fieldmap");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("CHANGED"), "{stdout}");
    assert!(
        stdout.contains("-   \"Direction\": \"Inbound\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+   \"Direction\": \"Outbound\""),
        "{stdout}"
    );
}

#[test]
fn validate_names_file_line_and_column_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "bad.yaml",
        b"name: bad\nsource: {format: json}\nfields:\n  - to: a\n    from: b\n    steps: [trimm]\n",
    );
    let out = run(&["validate", p.to_str().expect("utf-8 path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.yaml:6:"), "{err}");
    assert!(err.contains("trim"), "{err}");
}

#[test]
fn test_update_writes_snapshots_and_never_deletes_those_of_a_broken_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("mappings")).expect("mkdir");
    std::fs::create_dir_all(d.join("tests/fixtures/f")).expect("mkdir");
    let flow =
        "name: f\nsource: {format: json}\nfields:\n  - to: A\n    from: a\n    steps: [trim]\n";
    write(&d.join("mappings"), "f.yaml", flow.as_bytes());
    for i in 1..=3 {
        write(
            &d.join("tests/fixtures/f"),
            &format!("0{i}.json"),
            format!("{{\"a\": \" {i} \"}}").as_bytes(),
        );
    }
    let test = |args: &[&str]| {
        bin()
            .current_dir(d)
            .arg("test")
            .args(args)
            .output()
            .expect("run fieldmap")
    };
    let o = test(&["--update"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snap = std::fs::read_to_string(d.join("snapshots/f__01.snap")).expect("snapshot written");
    assert!(snap.contains("\"A\": \"1\""), "{snap}");
    assert!(test(&[]).status.success());

    // A stale snapshot is reported, and deleted by --update.
    write(&d.join("snapshots"), "f__09-gone.snap", b"---\n---\nold\n");
    let o = test(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("STALE"));
    assert!(test(&["--update"]).status.success());
    assert!(!d.join("snapshots/f__09-gone.snap").exists());

    // The flow breaks: its snapshots are kept, and the run fails.
    write(
        &d.join("mappings"),
        "f.yaml",
        flow.replace("trim", "trimm").as_bytes(),
    );
    let o = test(&["--update"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `trim`"));
    assert!(
        d.join("snapshots/f__01.snap").exists(),
        "a broken flow's snapshots were deleted"
    );
}
