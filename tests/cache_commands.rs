//! Damaged road caches through the commands (issue #14, item 8): `ems route`, `ems check` and
//! `ems serve` on 1,050 damaged copies of a real cache (truncated, bytes changed, a garbage
//! tail, and garbage sections with a correct checksum, which get past the checksum to the
//! decoder's own checks) never panic: each answers, or exits 2 with an error naming the cache.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use rand::{RngExt, SeedableRng};

const HEAD: usize = 8 + 4 + 8 + 4;

/// A damaged copy of `bytes` (a cache with a hierarchy section), by `case`.
fn damage(bytes: &[u8], case: usize, rng: &mut rand::rngs::ChaCha8Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let len = u64::from_le_bytes(b[12..20].try_into().unwrap()) as usize;
    match case % 5 {
        0 => b.truncate(rng.random_range(0..bytes.len())),
        1 => {
            for _ in 0..rng.random_range(1..8) {
                let k = rng.random_range(0..b.len());
                b[k] = rng.random();
            }
        }
        2 => {
            let k = rng.random_range(8..b.len());
            b[k..].iter_mut().for_each(|x| *x = rng.random());
        }
        3 => {
            // The network section damaged, its checksum recomputed.
            for _ in 0..rng.random_range(1..16) {
                let k = rng.random_range(HEAD..HEAD + len);
                b[k] = rng.random();
            }
            let sum = crc32fast::hash(&b[HEAD..HEAD + len]);
            b[20..24].copy_from_slice(&sum.to_le_bytes());
        }
        _ => {
            // The hierarchy section damaged, its checksum recomputed.
            let ch = HEAD + len;
            let h = ch + 4 + 8 + 8 + 4;
            if b.len() > h {
                for _ in 0..rng.random_range(1..16) {
                    let k = rng.random_range(h..b.len());
                    b[k] = rng.random();
                }
                let sum = crc32fast::hash(&b[h..]);
                b[h - 4..h].copy_from_slice(&sum.to_le_bytes());
            }
        }
    }
    b
}

fn ems() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ems"))
}

/// Exit 0, or exit 2 with an error; never a panic (101) or a signal.
fn no_panic(what: &str, code: Option<i32>, stderr: &str) {
    assert!(
        matches!(code, Some(0) | Some(2)) && !stderr.contains("panicked"),
        "{what}: exit {code:?}\n{stderr}"
    );
}

fn serve_once(scenario: &Path, db: &Path) -> (Option<i32>, String) {
    let mut child = ems()
        .args(["serve", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(scenario)
        .arg("--db")
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    if line.contains("listening") {
        child.kill().unwrap();
        child.wait().unwrap();
        return (Some(0), String::new());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn issue_14_damaged_caches_never_panic_route_check_or_serve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("good.ems");
    let out = ems()
        .arg("import")
        .arg(root.join("maps/monaco.osm.pbf"))
        .arg("--out")
        .arg(&cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&cache).unwrap();
    // The demo scenario, on a cache of its own.
    for f in std::fs::read_dir(root.join("data/demo")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let toml = std::fs::read_to_string(root.join("data/demo/scenario.toml")).unwrap();
    let toml = toml.replace("../../maps/monaco.osm.pbf", "map.ems");
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, toml).unwrap();
    let map = dir.path().join("map.ems");
    // The undamaged cache works for all three.
    std::fs::write(&map, &bytes).unwrap();
    let o = ems()
        .arg("check")
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        serve_once(&scenario, &dir.path().join("ok.sqlite")).0,
        Some(0)
    );

    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(14);
    let (mut answered, mut refused, mut named) = (0, 0, 0);
    for case in 0..1050 {
        std::fs::write(&map, damage(&bytes, case, &mut rng)).unwrap();
        let (what, code, err) = match case % 7 {
            0..=3 => {
                let o = ems()
                    .args([
                        "route",
                        "--from",
                        "7.4167,43.7325",
                        "--to",
                        "7.4270,43.7400",
                        "--map",
                    ])
                    .arg(&map)
                    .output()
                    .unwrap();
                (
                    "route",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                )
            }
            4 | 5 => {
                let o = ems()
                    .arg("check")
                    .arg("--scenario")
                    .arg(&scenario)
                    .output()
                    .unwrap();
                (
                    "check",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                )
            }
            _ => {
                let (c, e) = serve_once(&scenario, &dir.path().join(format!("s{case}.sqlite")));
                ("serve", c, e)
            }
        };
        no_panic(&format!("case {case} ({what})"), code, &err);
        if code == Some(0) {
            answered += 1;
        } else {
            // Damage the checks catch names the cache; a section that decodes into valid but
            // wrong roads gets the command's own error (such as "point … is 4,862 km from the
            // nearest road").
            assert!(err.contains("error: "), "case {case} ({what}): {err}");
            if err.contains("map.ems") {
                named += 1;
            }
            refused += 1;
        }
    }
    println!(
        "1,050 damaged caches: {answered} answered, {refused} refused with an error \
         ({named} naming the cache), 0 panics"
    );
    assert!(named > 500, "{named} errors named the cache");
}
