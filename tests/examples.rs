//! Every example mapping on every one of its fixtures, compared with the reviewed snapshots in
//! `snapshots/`. A change to a mapping or a rule shows up as a snapshot diff; accept intended
//! changes with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test examples`).

use std::path::{Path, PathBuf};

use fieldmap::engine::{CompileOptions, Plan};
use fieldmap::mapping;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The mappings that have fixtures: `mappings/examples/*.yaml` and the benchmark mapping.
fn mappings() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("mappings/examples"))
        .expect("mappings/examples")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    out.push(root().join("mappings/bench/leads-to-chasedata.yaml"));
    out.sort();
    out
}

fn fixtures(name: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures").join(name);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (every example mapping needs fixtures)",
                dir.display()
            )
        })
        .map(|e| e.expect("dir entry").path())
        .collect();
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn example_mappings_match_their_snapshots() {
    let mut count = 0;
    for m in mappings() {
        let loaded = mapping::load(&m).unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::compile(&loaded, CompileOptions::default())
            .unwrap_or_else(|e| panic!("{}", e[0]));
        let fx = fixtures(&plan.name);
        assert!(fx.len() >= 3, "{}: at least three fixtures", plan.name);
        for f in fx {
            let input = std::fs::read(&f).expect("read fixture");
            let body = fieldmap::review::render_fixture(&plan, &input, plan.source.format);
            let name = format!(
                "{}__{}",
                plan.name,
                f.file_stem().and_then(|s| s.to_str()).unwrap_or("fixture")
            );
            insta::with_settings!({
                snapshot_path => root().join("snapshots"),
                prepend_module_to_snapshot => false,
                description => format!("{} on {}", rel(&m), rel(&f)),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name, body);
            });
            count += 1;
        }
    }
    assert!(count >= 15, "{count} fixtures");
}
