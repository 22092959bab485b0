//! The documentation's commands still run: every shell block of `README.md` and `docs/*.md`
//! marked as runnable (an HTML comment line `<!-- runnable -->` directly before its ```` ```sh ````
//! fence) runs as one `bash -euo pipefail` script and must exit 0.
//!
//! Each block runs on its own, in order, in a fresh temporary directory `T/work` where the
//! relative paths the documentation uses resolve: `data/`, `maps/` and `tests/` are symlinks to
//! the repository's, `../shared` (that is `T/shared`) to the repository's sibling `../shared`,
//! and `ems` is the binary under test (a symlink in `T/bin`, first on `PATH`). A block that uses
//! `../shared/data/` is skipped with a message when that data is missing, and so is one that
//! uses an outside tool ([`TOOLS`], e.g. `curl`) that is not installed; both fail under
//! `CI=true`. A failure names the file, the line, the command and its standard error.
//!
//! The README must open with the quick start, and links between these pages (with their `#`
//! anchors, GitHub style) must resolve.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The line that marks the next shell block as runnable.
const MARK: &str = "<!-- runnable -->";
/// The README's first code block: the quick start.
const QUICK_START: &str = "cargo run --release -- demo\ncargo test --release";
/// Fewer runnable blocks than this means the extraction (or the marking) broke.
const MIN_BLOCKS: usize = 25;
/// At least this many files (README included) must hold a runnable block.
const MIN_FILES: usize = 10;
/// A block still running after this long is killed and fails.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(180);
/// Outside tools a block may use besides `bash`, coreutils and `ems`: a block that uses one
/// that is missing is skipped, as the tests that drive outside tools are (failed under CI).
const TOOLS: &[&str] = &["curl"];

/// A runnable shell block.
struct Block {
    /// The file, relative to the repository.
    file: String,
    /// The 1-based line of the block's opening fence.
    fence_line: usize,
    script: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `README.md` and every `docs/*.md`, relative to the repository, in a fixed order.
fn doc_files() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    docs.sort();
    let mut files = vec!["README.md".to_string()];
    files.extend(docs);
    files
}

fn read(file: &str) -> String {
    std::fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The runnable blocks of `file`; a mark not followed by a ```` ```sh ```` block is an error.
fn runnable_blocks(file: &str) -> Vec<Block> {
    let text = read(file);
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == MARK {
            let fence = i + 1;
            assert!(
                lines.get(fence).is_some_and(|l| l.trim_end() == "```sh"),
                "{file}:{}: `{MARK}` must be directly followed by a ```sh fence",
                i + 1
            );
            let end = (fence + 1..lines.len())
                .find(|&j| lines[j].trim_end() == "```")
                .unwrap_or_else(|| panic!("{file}:{}: unterminated runnable block", fence + 1));
            blocks.push(Block {
                file: file.to_string(),
                fence_line: fence + 1,
                script: lines[fence + 1..end].join("\n"),
            });
            i = end;
        }
        i += 1;
    }
    blocks
}

fn all_blocks() -> Vec<Block> {
    doc_files()
        .iter()
        .flat_map(|f| runnable_blocks(f))
        .collect()
}

/// The datasets under `../shared/data/` that a block names (`../shared/data/NAME`).
fn shared_datasets(script: &str) -> Vec<String> {
    let mut names: Vec<String> = script
        .match_indices("../shared/data/")
        .map(|(at, m)| {
            script[at + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether `tool` is an executable on `PATH`.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// The outside tools `script` uses (a word of [`TOOLS`] at the start of a command) that are
/// not on `PATH`.
fn missing_tools(script: &str) -> Vec<String> {
    TOOLS
        .iter()
        .filter(|tool| {
            script.lines().any(|l| {
                l.trim_start()
                    .strip_prefix(**tool)
                    .is_some_and(|rest| rest.starts_with(' '))
            })
        })
        .filter(|tool| !on_path(tool))
        .map(|tool| tool.to_string())
        .collect()
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link)
        .unwrap_or_else(|e| panic!("symlink {} -> {}: {e}", link.display(), target.display()));
}

/// A fresh `T` with `T/bin/ems`, `T/shared` and `T/work/{data,maps,tests}`; returns `T`.
fn sandbox() -> tempfile::TempDir {
    let root = repo();
    let t = tempfile::tempdir().expect("temporary directory");
    let bin = t.path().join("bin");
    let work = t.path().join("work");
    std::fs::create_dir(&bin).unwrap();
    std::fs::create_dir(&work).unwrap();
    symlink(Path::new(env!("CARGO_BIN_EXE_ems")), &bin.join("ems"));
    let shared = root.join("../shared");
    if shared.exists() {
        symlink(&shared, &t.path().join("shared"));
    }
    for dir in ["data", "maps", "tests"] {
        symlink(&root.join(dir), &work.join(dir));
    }
    t
}

/// Kills the block's process group (bash and anything it left running).
fn kill_group(pid: u32) {
    // SAFETY: kill(2) on a process group this test created; errors (already gone) are ignored.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

/// Runs `block` in a fresh sandbox: `Ok` on exit status 0, else what failed.
fn run_block(block: &Block) -> Result<Duration, String> {
    let t = sandbox();
    let work = t.path().join("work");
    let path = format!(
        "{}:{}",
        t.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The trap names the failing command and its line in the Markdown file.
    let offset = block.fence_line - 1;
    let script = format!(
        "trap 's=$?; echo \"docs_runnable: exit status $s at {}:$((LINENO + {offset})): $BASH_COMMAND\" >&2' ERR\n{}\n",
        block.file, block.script
    );
    let stdout = t.path().join("stdout");
    let stderr = t.path().join("stderr");
    let started = Instant::now();
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&work)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            break Some(status);
        }
        if started.elapsed() > BLOCK_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    kill_group(child.id());
    let _ = child.wait();
    let elapsed = started.elapsed();
    let err = std::fs::read_to_string(&stderr).unwrap_or_default();
    let tail: String = {
        let chars: Vec<char> = err.chars().collect();
        chars[chars.len().saturating_sub(4000)..].iter().collect()
    };
    let failing = err
        .lines()
        .rev()
        .find(|l| l.starts_with("docs_runnable: "))
        .map(|l| l.trim_start_matches("docs_runnable: ").to_string());
    match status {
        Some(s) if s.success() => Ok(elapsed),
        Some(s) => Err(format!(
            "{}:{}: the block failed ({s}){}\n--- block ---\n{}\n--- stderr ---\n{tail}",
            block.file,
            block.fence_line,
            failing.map(|f| format!(": {f}")).unwrap_or_default(),
            block.script
        )),
        None => Err(format!(
            "{}:{}: the block did not finish within {} s and was killed\n--- block ---\n{}\n--- stderr ---\n{tail}",
            block.file,
            block.fence_line,
            BLOCK_TIMEOUT.as_secs(),
            block.script
        )),
    }
}

#[test]
fn readme_opens_with_the_quick_start() {
    let text = read("README.md");
    let mut headed = text.lines().filter(|l| !l.trim().is_empty());
    assert!(
        headed.next().is_some_and(|l| l.starts_with("# ")),
        "README.md: no title line"
    );
    assert_eq!(
        headed.next(),
        Some("## Quick start"),
        "README.md: `## Quick start` must follow the title"
    );
    let lines: Vec<&str> = text.lines().collect();
    let open = lines
        .iter()
        .position(|l| l.starts_with("```"))
        .expect("README.md has a code block");
    let close = (open + 1..lines.len())
        .find(|&j| lines[j].starts_with("```"))
        .expect("README.md: the first code block is closed");
    assert_eq!(
        lines[open + 1..close].join("\n"),
        QUICK_START,
        "README.md:{}: the first code block must be exactly the two quick-start commands",
        open + 1
    );
}

#[test]
fn enough_blocks_are_runnable() {
    let blocks = all_blocks();
    assert!(
        blocks.len() >= MIN_BLOCKS,
        "only {} runnable blocks (at least {MIN_BLOCKS} expected): is `{MARK}` still used?",
        blocks.len()
    );
    let mut files: Vec<&str> = blocks.iter().map(|b| b.file.as_str()).collect();
    files.dedup();
    assert!(
        files.len() >= MIN_FILES,
        "runnable blocks in only {} files ({files:?}); at least {MIN_FILES} expected",
        files.len()
    );
    for b in &blocks {
        assert!(
            !b.script.trim().is_empty(),
            "{}:{}: empty runnable block",
            b.file,
            b.fence_line
        );
    }
}

#[test]
fn runnable_blocks_exit_zero() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let shared_data = repo().join("../shared/data");
    let started = Instant::now();
    let (mut ran, mut skipped, mut failures) = (0, 0, Vec::new());
    for block in all_blocks() {
        let mut missing: Vec<String> = shared_datasets(&block.script)
            .into_iter()
            .filter(|name| !shared_data.join(name).exists())
            .map(|name| format!("../shared/data/{name}"))
            .collect();
        missing.extend(
            missing_tools(&block.script)
                .into_iter()
                .map(|tool| format!("`{tool}` (not on PATH)")),
        );
        if !missing.is_empty() {
            let why = format!(
                "{}:{}: missing {}",
                block.file,
                block.fence_line,
                missing.join(", ")
            );
            if ci {
                failures.push(format!("{why} (CI=true: what the tests need is required)"));
            } else {
                eprintln!("skipping {why}");
                skipped += 1;
            }
            continue;
        }
        match run_block(&block) {
            Ok(took) => {
                ran += 1;
                eprintln!(
                    "ok {}:{} ({:.1} s)",
                    block.file,
                    block.fence_line,
                    took.as_secs_f64()
                );
            }
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "{ran} runnable blocks ran, {skipped} skipped, {} failed, in {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            let a = anchor(line.trim_start_matches('#'));
            let n = seen.iter().filter(|s| **s == a).count();
            seen.push(a.clone());
            out.push(if n == 0 { a } else { format!("{a}-{n}") });
        }
    }
    out
}

#[test]
fn links_between_pages_resolve() {
    let mut broken = Vec::new();
    for file in doc_files() {
        let text = read(&file);
        let dir = Path::new(&file).parent().unwrap().to_path_buf();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, frag) = target.split_once('#').unwrap_or((target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path).to_string_lossy().into_owned()
            };
            let full = repo().join(&linked);
            if !full.exists() {
                broken.push(format!("{file}: `{target}`: no file {linked}"));
                continue;
            }
            if !frag.is_empty()
                && linked.ends_with(".md")
                && !anchors(&read(&linked)).iter().any(|a| a == frag)
            {
                broken.push(format!(
                    "{file}: `{target}`: no heading #{frag} in {linked}"
                ));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
