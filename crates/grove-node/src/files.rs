//! Reading a circle file or a bundle from disk, bounded. An import reads its file whole
//! before checking it, so without a bound `grove circle import /dev/zero` (or a file given
//! by mistake, or a pipe that never ends) takes the machine's memory. Each format has a
//! stated maximum; a larger input is refused after reading at most one byte past it, so
//! memory stays bounded by the maximum whatever the input.
//!
//! And writing exports: atomically (an interrupted export leaves nothing under the name
//! asked for) and owner-only (a circle's files are as private as the home they come from).

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use crate::error::{NodeError, Result};

const MIB: u64 = 1024 * 1024;

/// The largest circle file (`grove circle export`) an import reads. Decisions take ~254 B
/// each in an export with their signatures (BENCHMARKS.md), so this holds about a million
/// decisions, ten times the largest circle we measure; it is also the largest payload a
/// peer may send in one frame (`grove_net::wire::MAX_PAYLOAD_LEN`), so a join answer can
/// carry no larger circle either.
pub const MAX_CIRCLE_FILE: u64 = 256 * MIB;

/// The largest bundle (`grove bundle export`) an import reads: a bundle is a sealed circle
/// file plus a header of a few hundred bytes, so the same bound with room for that header.
pub const MAX_BUNDLE_FILE: u64 = MAX_CIRCLE_FILE + MIB;

/// Reads a circle file, refusing one larger than [`MAX_CIRCLE_FILE`].
pub fn read_circle_file(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, MAX_CIRCLE_FILE, "circle file")
}

/// Reads a bundle, refusing one larger than [`MAX_BUNDLE_FILE`].
pub fn read_bundle_file(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, MAX_BUNDLE_FILE, "bundle")
}

/// Reads `path` whole if it holds at most `max` bytes. A regular file's size is checked
/// before anything is read; anything else (a pipe, a device) is read up to `max + 1` bytes.
fn read_bounded(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>> {
    let cannot = |cause| NodeError::ReadFile {
        path: path.to_path_buf(),
        cause,
    };
    let too_large = || NodeError::TooLarge {
        path: path.to_path_buf(),
        what,
        max_mib: max / MIB,
    };
    let file = File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if meta.is_dir() {
        return Err(cannot(std::io::Error::from(
            std::io::ErrorKind::IsADirectory,
        )));
    }
    let hint = if meta.is_file() {
        if meta.len() > max {
            return Err(too_large());
        }
        meta.len()
    } else {
        0
    };
    let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    // The file may grow after the size check; `take` bounds the read either way.
    file.take(max + 1).read_to_end(&mut data).map_err(cannot)?;
    if data.len() as u64 > max {
        return Err(too_large());
    }
    Ok(data)
}

/// A one-file export goes to a path that is not a directory, in a directory that exists.
pub fn check_out_file(path: &Path, what: &str) -> Result<()> {
    if path.is_dir() {
        return Err(NodeError::OutIsDirectory {
            path: path.to_path_buf(),
            what: what.to_string(),
        });
    }
    parent_is_dir(path)
}

/// A directory export goes to a new directory, or an empty one: never among other files,
/// which it could overwrite or be mistaken for.
pub fn check_out_dir(path: &Path) -> Result<()> {
    if path.exists() {
        let empty = std::fs::read_dir(path)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false);
        if !path.is_dir() || !empty {
            return Err(NodeError::OutNotEmpty {
                path: path.to_path_buf(),
            });
        }
    }
    parent_is_dir(path)
}

/// The directory an export goes into exists (a relative name's is the working directory).
fn parent_is_dir(path: &Path) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => Err(NodeError::OutDirMissing {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// Writes beside the target and renames, so an interrupted export never leaves half a file
/// under the name asked for. The file is the owner's alone (0600): a circle file holds the
/// whole circle and its key in the clear, and other users of the machine must not read it
/// any more than the home it came from.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let tmp = path.with_extension("grove-partial");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // A partial file left by an earlier run keeps its old mode through `open`.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        NodeError::WriteFile {
            path: path.to_path_buf(),
            cause: e,
        }
    })
}

/// Writes every file into a fresh owner-only directory beside `dir` and renames it into
/// place, so an interrupted export leaves nothing under the name asked for. Files are 0600
/// and the directory 0700, as the home they come from.
pub fn write_dir_atomically(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
    let tmp = dir.with_extension("grove-partial");
    let write = || -> std::io::Result<()> {
        if tmp.exists() {
            // Left by an interrupted run: ours to replace.
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))?;
        for (name, data) in files {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp.join(name))?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(data)?;
            file.sync_all()?;
        }
        // Replaces `dir` only if it is empty (checked before, and rename refuses otherwise).
        std::fs::rename(&tmp, dir)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        NodeError::WriteFile {
            path: dir.to_path_buf(),
            cause: e,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeErrorKind;

    #[test]
    fn reads_up_to_the_bound_and_refuses_one_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![1u8; 2 * MIB as usize]).unwrap();
        assert_eq!(
            read_bounded(&path, 2 * MIB, "circle file").unwrap().len(),
            2 * MIB as usize
        );
        std::fs::write(&path, vec![1u8; 2 * MIB as usize + 1]).unwrap();
        let err = read_bounded(&path, 2 * MIB, "circle file").unwrap_err();
        assert_eq!(err.kind(), NodeErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            format!(
                "{} is larger than the 2 MiB a circle file may be; is it the right file?",
                path.display()
            )
        );
        let err = read_bounded(dir.path(), MIB, "bundle").unwrap_err();
        assert!(err.to_string().starts_with("cannot read"), "{err}");
        assert_eq!(err.kind(), NodeErrorKind::Io);
    }

    #[test]
    fn an_endless_stream_is_cut_one_byte_past_the_bound() {
        let err = read_bounded(Path::new("/dev/zero"), MIB, "bundle").unwrap_err();
        assert_eq!(err.kind(), NodeErrorKind::Invalid, "{err}");
        assert!(err.to_string().contains("1 MiB a bundle may be"), "{err}");
    }
}
