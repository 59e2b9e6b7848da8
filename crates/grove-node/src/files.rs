//! Reading a circle file or a bundle from disk, bounded. An import reads its file whole
//! before checking it, so without a bound `grove circle import /dev/zero` (or a file given
//! by mistake, or a pipe that never ends) takes the machine's memory. Each format has a
//! stated maximum; a larger input is refused after reading at most one byte past it, so
//! memory stays bounded by the maximum whatever the input.

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
