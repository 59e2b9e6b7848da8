//! The open exports (`circle export --format automerge|json|markdown`): each holds what a
//! 2,000-decision demo circle holds, readable without Grove, and refusals leave nothing.

use super::*;
use std::os::unix::fs::PermissionsExt as _;

/// A demo circle of 2,000 decisions, as the issue asks of every format.
fn demo() -> Grove {
    let g = Grove::new();
    g.create(&["demo", "--decisions", "2000"]);
    g
}

/// Runs an export; it must say on stderr that the files are unencrypted and unsigned.
fn export(g: &Grove, format: &str, out: &Path) {
    let out = g
        .cmd(&[
            "circle",
            "export",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{format} export failed: {stderr}");
    assert!(
        stderr.contains("unencrypted and unsigned"),
        "a {format} export warns before writing: {stderr}"
    );
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn decision_list(g: &Grove) -> Vec<Json> {
    g.list(&["decision", "list", "--all"])
}

#[test]
fn json_export_holds_what_the_lists_hold() {
    let g = demo();
    let file = g.file("circle.json");
    export(&g, "json", &file);
    assert_eq!(mode(&file), 0o600, "the export is the owner's alone");
    let json: Json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();

    assert_eq!(json["circle"]["id"], g.json(&["circle", "show"])["id"]);
    for (key, args) in [
        ("values", vec!["value", "list"]),
        ("principles", vec!["principle", "list"]),
        ("teams", vec!["team", "list"]),
        ("members", vec!["member", "list"]),
        ("proposals", vec!["proposal", "list"]),
        ("roles", vec!["role", "list"]),
        ("reviews", vec!["review", "list"]),
    ] {
        let mut listed = g.list(&args);
        if key == "proposals" {
            // The list adds each consent round as it stands now; the export keeps the
            // proposals themselves.
            for p in &mut listed {
                let p = p.as_object_mut().unwrap();
                for round in ["deadline", "voices", "blocking", "can_pass"] {
                    assert!(p.remove(round).is_some(), "`proposal list` shows {round}");
                }
            }
        }
        assert_eq!(
            json[key],
            Json::Array(listed),
            "`{key}` of the export equals `grove {}`",
            args.join(" ")
        );
    }
    let decisions = decision_list(&g);
    assert_eq!(decisions.len(), 2000);
    assert_eq!(json["decisions"], Json::Array(decisions));
    // Tensions are recomputed on each read; the same ones come back.
    let exported = json["tensions"].as_array().unwrap();
    assert_eq!(
        sorted(ids(exported)),
        sorted(ids(&g.list(&["tension", "list", "--all"])))
    );
    // Principles carry their history, decisions their results and readers.
    assert!(json["principles"][0]["versions"].is_array());
    assert!(json["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["result"].is_object() && !d["readers"].as_array().unwrap().is_empty()));
}

#[test]
fn automerge_export_loads_with_the_automerge_crate_alone() {
    use automerge::ReadDoc as _;
    let g = demo();
    let dir = g.file("am");
    export(&g, "automerge", &dir);
    assert_eq!(mode(&dir), 0o700);

    let manifest: Json =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["circle"]["id"], g.json(&["circle", "show"])["id"]);
    let docs = manifest["documents"].as_array().unwrap();
    let mut listed: Vec<String> = docs
        .iter()
        .map(|d| d["file"].as_str().unwrap().to_string())
        .collect();
    listed.push("manifest.json".to_string());
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(sorted(listed), on_disk, "the manifest names every file");

    let mut ids_in_months = Vec::new();
    let mut core_seen = false;
    let mut escalations_seen = false;
    for d in docs {
        let path = dir.join(d["file"].as_str().unwrap());
        assert_eq!(mode(&path), 0o600);
        let doc = automerge::Automerge::load(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
        match d["kind"].as_str().unwrap() {
            "core" => {
                core_seen = true;
                let (_, meta) = doc.get(automerge::ROOT, "meta").unwrap().unwrap();
                let (id, _) = doc.get(&meta, "id").unwrap().unwrap();
                assert_eq!(
                    id.as_scalar().and_then(|s| s.as_str()).unwrap(),
                    manifest["circle"]["id"].as_str().unwrap()
                );
                for collection in ["values", "principles", "teams", "members"] {
                    assert!(doc.get(automerge::ROOT, collection).unwrap().is_some());
                }
            }
            "month" => {
                let month = d["month"].as_str().unwrap().replace('-', "");
                for id in doc.keys(automerge::ROOT) {
                    assert!(id.starts_with(&format!("d-{month}-")), "{id} in {month}");
                    ids_in_months.push(id);
                }
            }
            "escalations" => {
                // The demo's centre-zone decisions raised escalations, kept out of the core.
                assert!(doc.keys(automerge::ROOT).all(|id| id.starts_with("e-")));
                assert!(doc.keys(automerge::ROOT).next().is_some());
                escalations_seen = true;
            }
            other => panic!("unknown kind {other}"),
        }
    }
    assert!(core_seen, "the core document is exported");
    assert!(escalations_seen, "the escalations' document is exported");
    assert_eq!(ids_in_months.len(), 2000);
    assert_eq!(sorted(ids_in_months), sorted(ids(&decision_list(&g))));
}

#[test]
fn markdown_export_has_a_file_per_month_with_every_decision() {
    let g = demo();
    let dir = g.file("md");
    export(&g, "markdown", &dir);
    assert_eq!(mode(&dir), 0o700);
    let decisions = decision_list(&g);
    let mut months: Vec<String> = decisions
        .iter()
        .map(|d| d["created_at"].as_str().unwrap()[..7].to_string())
        .collect();
    months.sort();
    months.dedup();
    let mut expected: Vec<String> = months.iter().map(|m| format!("decisions-{m}.md")).collect();
    expected.push("values-and-principles.md".to_string());
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, sorted(expected));

    for d in &decisions {
        let month = &d["created_at"].as_str().unwrap()[..7];
        let path = dir.join(format!("decisions-{month}.md"));
        assert_eq!(mode(&path), 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        let id = d["id"].as_str().unwrap();
        assert!(text.contains(id), "{id} is in {}", path.display());
        assert!(text.contains(d["choice"].as_str().unwrap()));
    }
    let vp = std::fs::read_to_string(dir.join("values-and-principles.md")).unwrap();
    for v in g.list(&["value", "list"]) {
        assert!(vp.contains(v["title"].as_str().unwrap()));
    }
    for p in g.list(&["principle", "list"]) {
        assert!(vp.contains(p["statement"].as_str().unwrap()));
    }
}

#[test]
fn open_exports_refuse_bad_paths_and_locked_homes_leaving_nothing() {
    let g = Grove::new();
    let b = basics(&g);
    log(&g, &b.team, &b.principle, &[]);

    // Under a regular file: no directory can be made there (tests run as root, so
    // permissions would not stop them).
    let file = g.file("file.txt");
    std::fs::write(&file, "not a directory").unwrap();
    for format in ["automerge", "json", "markdown"] {
        let out = file.join("sub");
        let err = g.fail(
            1,
            &[
                "circle",
                "export",
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(err.contains("cannot write"), "{format}: {err}");
    }
    // A directory export never goes among other files.
    let full = g.file("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "mine").unwrap();
    for format in ["automerge", "markdown"] {
        let err = g.fail(
            1,
            &[
                "circle",
                "export",
                "--format",
                format,
                "--out",
                full.to_str().unwrap(),
            ],
        );
        assert!(err.contains("not an empty directory"), "{format}: {err}");
    }
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    // An empty directory is fine.
    let empty = g.file("empty");
    std::fs::create_dir(&empty).unwrap();
    export(&g, "markdown", &empty);
    assert!(empty.join("values-and-principles.md").exists());
    assert_no_partial_files(g.dir.path());

    // A locked (encrypted) home without its passphrase exports nothing.
    let sealed = Grove::new();
    sealed.set_env("GROVE_PASSPHRASE", Some("pw"));
    sealed.json(&["init", "--passphrase"]);
    sealed.create(&["circle", "create", "Sealed"]);
    sealed.set_env("GROVE_PASSPHRASE", None);
    for format in ["automerge", "json", "markdown"] {
        let out = sealed.file(&format!("out-{format}"));
        let err = sealed.fail(
            1,
            &[
                "circle",
                "export",
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(err.contains("is encrypted"), "{format}: {err}");
        assert!(!out.exists(), "{format}: nothing written");
    }
    assert_no_partial_files(sealed.dir.path());
}

#[test]
fn the_warning_reaches_the_user_when_a_serving_node_writes_the_export() {
    let g = Grove::new();
    let b = basics(&g);
    log(&g, &b.team, &b.principle, &[]);
    let _served = serve_any(&g);
    let file = g.file("served.json");
    export(&g, "json", &file);
    let json: Json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(json["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(mode(&file), 0o600);
}
