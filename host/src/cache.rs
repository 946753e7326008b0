//! The compiled-code cache: the component compiled to native code once and loaded at later starts.
//!
//! Loading a cache entry runs its native code, so an entry is trusted only when no one but the
//! server's user could have written it: the directory and the file belong to that user and are
//! not writable by group or others, and the file is a plain file, not a symlink. Otherwise the
//! component is compiled in memory and the log says why. Because no one else can write the
//! directory, no one can swap the file between the check and the load.

use std::hash::{Hash, Hasher};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Why a cache directory or entry is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// Owned by another user.
    #[error("{path} belongs to user {owner}, not to this server's user {user}")]
    NotOurs {
        /// The directory or file.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// The server's effective uid.
        user: u32,
    },
    /// Writable by the group or by others.
    #[error("{path} is writable by other users (mode {mode:o}); make it 0700 (directory) or 0600 (file)")]
    WritableByOthers {
        /// The directory or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The entry is a symlink, or not a plain file.
    #[error("{path} is not a plain file (a symlink or something else)")]
    NotAPlainFile {
        /// The entry.
        path: PathBuf,
    },
    /// The directory could not be created or read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
}

/// What happened to the cache when the component was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    /// No cache directory is configured.
    Off,
    /// The compiled component was loaded from the cache.
    Loaded,
    /// Compiled now, and stored for the next start (`false` when storing failed).
    Compiled {
        /// Whether the entry was written.
        stored: bool,
    },
    /// Compiled in memory: the cache was not trusted.
    Refused(Untrusted),
}

fn owned_and_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), Untrusted> {
    let user = rustix::process::geteuid().as_raw();
    if metadata.uid() != user {
        return Err(Untrusted::NotOurs {
            path: path.to_owned(),
            owner: metadata.uid(),
            user,
        });
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Untrusted::WritableByOthers {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Creates `dir` (mode 0700) when it does not exist, then checks that only this user can write it,
/// and that no parent lets another user replace it: each is this user's or root's, and one that
/// others may write is sticky and root's (as `/tmp` is), so that nobody can rename what is in it.
pub fn trusted_dir(dir: &Path) -> Result<(), Untrusted> {
    let unreadable = |err: std::io::Error| Untrusted::Unreadable {
        path: dir.to_owned(),
        reason: err.to_string(),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(unreadable)?;
    let real = std::fs::canonicalize(dir).map_err(unreadable)?;
    let metadata = std::fs::metadata(&real).map_err(unreadable)?;
    owned_and_private(dir, &metadata)?;
    for parent in real.ancestors().skip(1) {
        let metadata = std::fs::metadata(parent).map_err(unreadable)?;
        let sticky_and_roots = metadata.mode() & 0o1000 != 0 && metadata.uid() == 0;
        if metadata.uid() == 0 && (metadata.mode() & 0o022 == 0 || sticky_and_roots) {
            continue;
        }
        owned_and_private(parent, &metadata)?;
    }
    Ok(())
}

/// Reads an entry of a trusted directory, opened once without following a link: a plain file
/// that only this user can write, checked on the open file itself. `None`: there is none.
pub fn read_trusted_file(file: &Path) -> Result<Option<Vec<u8>>, Untrusted> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt;
    let not_plain = || Untrusted::NotAPlainFile { path: file.to_owned() };
    let mut opened = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(file)
    {
        Ok(opened) => opened,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(not_plain()),
    };
    let metadata = opened.metadata().map_err(|_| not_plain())?;
    if !metadata.file_type().is_file() {
        return Err(not_plain());
    }
    owned_and_private(file, &metadata)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or_default());
    opened.read_to_end(&mut bytes).map_err(|err| Untrusted::Unreadable {
        path: file.to_owned(),
        reason: err.to_string(),
    })?;
    Ok(Some(bytes))
}

/// The cache entry's path: keyed by the component's bytes and the engine's compatibility hash
/// (wasmtime version and settings).
pub fn entry(dir: &Path, engine: &Engine, bytes: &[u8]) -> PathBuf {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let digest = Sha256::new()
        .chain_update(bytes)
        .chain_update(engine_hash.finish().to_le_bytes())
        .finalize();
    let key: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    dir.join(format!("taiga-component-{key}.cwasm"))
}

fn compile(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Component> {
    Component::from_binary(engine, bytes)
        .map_err(anyhow::Error::from)
        .context("compiling the component")
}

/// Compiles the component, or loads its compiled form from a trusted cache entry.
pub fn load(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> anyhow::Result<(Component, LoadOutcome)> {
    let Some(dir) = dir else {
        return Ok((compile(engine, bytes)?, LoadOutcome::Off));
    };
    if let Err(reason) = trusted_dir(dir) {
        tracing::warn!(error = %reason, "not using the compiled-code cache; compiling in memory");
        return Ok((compile(engine, bytes)?, LoadOutcome::Refused(reason)));
    }
    let path = entry(dir, engine, bytes);
    let cached = match read_trusted_file(&path) {
        Ok(cached) => cached,
        Err(reason) => {
            tracing::warn!(error = %reason, "not using the compiled-code cache entry; compiling in memory");
            return Ok((compile(engine, bytes)?, LoadOutcome::Refused(reason)));
        }
    };
    if let Some(compiled) = cached {
        // SAFETY: these bytes were read from one open of a plain file that only this user can
        // write, in a directory no one else can replace, under a key that includes the engine's
        // compatibility hash; wasmtime also checks their header and refuses an incompatible artifact.
        match unsafe { Component::deserialize(engine, &compiled) } {
            Ok(component) => {
                tracing::debug!(path = %path.display(), "loaded the compiled component from the cache");
                return Ok((component, LoadOutcome::Loaded));
            }
            Err(err) => tracing::warn!(path = %path.display(), error = %err, "ignoring an unusable cache entry"),
        }
    }
    let component = compile(engine, bytes)?;
    let stored = match store(&path, &component) {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), error = %err, "could not cache the compiled component");
            false
        }
    };
    Ok((component, LoadOutcome::Compiled { stored }))
}

/// Writes the entry through a temporary file (mode 0600) renamed into place.
fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(&component.serialize()?)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

#[cfg(test)]
mod tests;
