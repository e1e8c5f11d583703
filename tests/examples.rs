//! Every flow in `mappings/` on every one of its fixtures, compared through insta with the
//! reviewed snapshots in `snapshots/`: the same cases and the same rendering as `fieldmap test`
//! (one code path, `fieldmap::review`). A change to a flow, a profile or a rule shows up as a
//! snapshot diff; accept intended changes with `fieldmap test --update` or `cargo insta review`.

use std::path::PathBuf;

use fieldmap::review;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_flow_matches_its_snapshots() {
    let (flows, errors) = review::cases(&[root().join("mappings")], &root().join("tests/fixtures"));
    assert!(
        errors.is_empty(),
        "mappings that do not compile:\n{}",
        errors.join("\n\n")
    );
    let mut count = 0;
    for (plan, cases) in &flows {
        assert!(
            cases.len() >= 3,
            "{}: every flow needs at least three fixtures in tests/fixtures/{}/",
            plan.name,
            plan.name
        );
        for case in cases {
            let input = std::fs::read(&case.fixture).expect("read fixture");
            let body = review::render_case(
                plan,
                &input,
                review::fixture_format(plan, &case.fixture),
                review::recalled_for(&case.fixture)
                    .expect("recall file")
                    .as_ref(),
            );
            insta::with_settings!({
                snapshot_path => root().join("snapshots"),
                prepend_module_to_snapshot => false,
                description => review::describe(case, &root()),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(case.snapshot_name.clone(), body);
            });
            count += 1;
        }
    }
    assert!(count >= 15, "{count} fixtures");
}

#[test]
fn snapshots_without_a_fixture_are_reported() {
    let (flows, _) = review::cases(&[root().join("mappings")], &root().join("tests/fixtures"));
    let stale = review::stale_snapshots(&flows, &root().join("snapshots"));
    assert!(
        stale.is_empty(),
        "snapshots with no fixture (delete them): {stale:?}"
    );
}
