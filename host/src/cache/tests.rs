use std::os::unix::fs::PermissionsExt;

use super::*;

/// The smallest component there is: its header and nothing else.
const EMPTY_COMPONENT: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

fn engine() -> Engine {
    Engine::new(wasmtime::Config::new().wasm_component_model(true)).unwrap()
}

/// A fresh directory under the system's temporary directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("taiga-mcp-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn refusal(outcome: LoadOutcome) -> Untrusted {
    match outcome {
        LoadOutcome::Refused(reason) => reason,
        other => panic!("the cache was used: {other:?}"),
    }
}

/// Another user's uid, given to files with `chown`: only root may, which is how CI runs.
fn as_other_user(path: &Path) -> bool {
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::lchown(path, Some(65534), None).unwrap();
        true
    } else {
        eprintln!("not root: cannot give {} to another user", path.display());
        false
    }
}

#[test]
fn a_private_directory_is_created_then_used() {
    let scratch = Scratch::new("private");
    let engine = engine();
    let (_, first) = load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    assert_eq!(first, LoadOutcome::Compiled { stored: true });
    let mode = std::fs::metadata(&scratch.0).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let entry = entry(&scratch.0, &engine, EMPTY_COMPONENT);
    assert_eq!(std::fs::metadata(&entry).unwrap().mode() & 0o777, 0o600);
    let (_, second) = load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    assert_eq!(second, LoadOutcome::Loaded);
}

#[test]
fn a_world_writable_directory_is_not_used() {
    let scratch = Scratch::new("world");
    let engine = engine();
    load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    set_mode(&scratch.0, 0o777);
    let reason = refusal(load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap().1);
    assert!(
        matches!(reason, Untrusted::WritableByOthers { mode: 0o777, .. }),
        "{reason}"
    );
    // Not written to either.
    std::fs::remove_file(entry(&scratch.0, &engine, EMPTY_COMPONENT)).unwrap();
    refusal(load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap().1);
    assert_eq!(std::fs::read_dir(&scratch.0).unwrap().count(), 0);
}

#[test]
fn an_entry_writable_by_the_group_is_not_loaded() {
    let scratch = Scratch::new("group");
    let engine = engine();
    load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    set_mode(&entry(&scratch.0, &engine, EMPTY_COMPONENT), 0o660);
    let reason = refusal(load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap().1);
    assert!(
        matches!(reason, Untrusted::WritableByOthers { mode: 0o660, .. }),
        "{reason}"
    );
}

#[test]
fn a_symlinked_entry_is_not_loaded() {
    let scratch = Scratch::new("symlink");
    let engine = engine();
    load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    let entry = entry(&scratch.0, &engine, EMPTY_COMPONENT);
    let elsewhere = scratch.0.join("planted.cwasm");
    std::fs::rename(&entry, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
    let reason = refusal(load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap().1);
    assert!(matches!(reason, Untrusted::NotAPlainFile { .. }), "{reason}");
}

#[test]
fn an_entry_or_a_directory_of_another_user_is_not_used() {
    let scratch = Scratch::new("owner");
    let engine = engine();
    load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    if !as_other_user(&entry(&scratch.0, &engine, EMPTY_COMPONENT)) {
        return;
    }
    let reason = refusal(load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap().1);
    assert!(matches!(reason, Untrusted::NotOurs { owner: 65534, .. }), "{reason}");
    as_other_user(&scratch.0);
    let reason = refusal(load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap().1);
    assert!(
        matches!(&reason, Untrusted::NotOurs { path, .. } if *path == scratch.0),
        "{reason}"
    );
}

#[test]
fn a_directory_whose_parent_others_may_write_is_not_used() {
    let scratch = Scratch::new("parent");
    std::fs::create_dir_all(&scratch.0).unwrap();
    let dir = scratch.0.join("cache");
    // The parent is this user's, and anyone may write it (no sticky bit): another user could
    // rename the private cache directory away and put their own in its place.
    set_mode(&scratch.0, 0o777);
    let (_, outcome) = load(&engine(), EMPTY_COMPONENT, Some(&dir)).unwrap();
    assert!(matches!(refusal(outcome), Untrusted::WritableByOthers { path, .. } if path == scratch.0));
    set_mode(&scratch.0, 0o755);
    let (_, outcome) = load(&engine(), EMPTY_COMPONENT, Some(&dir)).unwrap();
    assert_eq!(outcome, LoadOutcome::Compiled { stored: true });
}

#[test]
fn an_entry_is_checked_on_the_file_it_reads() {
    let scratch = Scratch::new("fifo");
    let engine = engine();
    trusted_dir(&scratch.0).unwrap();
    let entry = entry(&scratch.0, &engine, EMPTY_COMPONENT);
    // Not a plain file: a named pipe would block a read by path; the one open refuses it.
    let made = std::process::Command::new("mkfifo").arg(&entry).status().unwrap();
    assert!(made.success());
    let (_, outcome) = load(&engine, EMPTY_COMPONENT, Some(&scratch.0)).unwrap();
    assert!(matches!(refusal(outcome), Untrusted::NotAPlainFile { .. }));
}
