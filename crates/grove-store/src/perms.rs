//! Owner-only permissions for the Grove home. Whoever can read an unencrypted home can copy
//! it and act as this device (its key is in there), so another user of the same machine must
//! not be able to read or even list it: the home directory is 0700, every file the store
//! writes 0600, whatever the umask (a mode given at creation is only ever narrowed by the
//! umask, so each is also set explicitly afterwards).
//!
//! sled creates its own files with the default mode; [`tighten`] narrows them after sled
//! opens, and the 0700 directory already keeps others out while they exist.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};

/// Bits no one but the owner may have on anything in the home.
#[cfg(unix)]
const OTHERS: u32 = 0o077;
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents, 0700 as the XDG base directory spec asks of a data
/// directory) and makes sure `dir` itself is 0700 if it had to be created.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder.create(dir)?;
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
    Ok(())
}

/// Opens (creating if asked) a file readable and writable by the owner only; an existing
/// file keeps its content under `options` and loses any group/other bits.
pub(crate) fn open_file(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    options.mode(FILE_MODE);
    let file = options.open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// Creates (or truncates) a file for writing, owner-only.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    open_file(
        File::options().write(true).create(true).truncate(true),
        path,
    )
}

/// Makes an open file owner-only (fchmod: no second lookup of its path).
pub(crate) fn restrict(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        let mode = file.metadata()?.permissions().mode();
        if mode & OTHERS != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & !OTHERS & 0o7777))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// What [`tighten`] did.
#[derive(Debug, Default)]
pub(crate) struct Tightened {
    /// Entries that had group or other bits and lost them.
    pub fixed: usize,
    /// The first entry whose bits could not be taken away (e.g. a file system without Unix
    /// permissions), with why.
    pub stuck: Option<(PathBuf, io::Error)>,
}

/// Takes group and other bits off `path` and, if it is a directory, off everything under
/// it. Symlinks are left alone (and not followed); entries that vanish meanwhile (sled
/// removes old snapshots) are skipped.
pub(crate) fn tighten(path: &Path, done: &mut Tightened) {
    tighten_one(path, done);
    let Ok(entries) = fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            tighten(&entry.path(), done);
        } else {
            tighten_one(&entry.path(), done);
        }
    }
}

/// `tighten` for `path` alone.
pub(crate) fn tighten_one(path: &Path, done: &mut Tightened) {
    #[cfg(unix)]
    {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                done.stuck.get_or_insert((path.to_path_buf(), e));
                return;
            }
        };
        let mode = meta.permissions().mode();
        if meta.file_type().is_symlink() || mode & OTHERS == 0 {
            return;
        }
        // A sticky directory is shared on purpose (/tmp): closing it would break everyone
        // else's use of it, so it is reported instead.
        if meta.is_dir() && mode & 0o1000 != 0 {
            done.stuck.get_or_insert((
                path.to_path_buf(),
                io::Error::other("it is a directory shared by all users; give Grove its own"),
            ));
            return;
        }
        let narrowed = fs::Permissions::from_mode(mode & !OTHERS & 0o7777);
        // Some file systems (FAT, some network mounts) accept chmod and ignore it: look again.
        let result = fs::set_permissions(path, narrowed).and_then(|()| {
            match fs::symlink_metadata(path)?.permissions().mode() & OTHERS {
                0 => Ok(()),
                _ => Err(io::Error::other(
                    "the file system does not keep Unix permissions",
                )),
            }
        });
        match result {
            Ok(()) => done.fixed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                done.stuck.get_or_insert((path.to_path_buf(), e));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, done);
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_entries_are_owner_only_whatever_the_umask_allowed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/home");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700, "new parents too");
        let file = dir.join("f");
        fs::write(&file, b"old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        drop(create_file(&file).unwrap());
        assert_eq!(mode(&file), 0o600, "an existing file is narrowed too");
        drop(create_file(&dir.join("g")).unwrap());
        assert_eq!(mode(&dir.join("g")), 0o600);
    }

    #[test]
    fn tighten_narrows_a_tree_and_counts_what_it_changed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("home");
        fs::create_dir_all(dir.join("db/blobs")).unwrap();
        fs::write(dir.join("db/conf"), b"x").unwrap();
        fs::write(dir.join("db/blobs/1"), b"x").unwrap();
        let outside = root.path().join("outside");
        fs::write(&outside, b"x").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        for (p, m) in [
            ("", 0o755),
            ("db", 0o777),
            ("db/blobs", 0o750),
            ("db/conf", 0o644),
            ("db/blobs/1", 0o604),
        ] {
            fs::set_permissions(dir.join(p), fs::Permissions::from_mode(m)).unwrap();
        }
        let mut done = Tightened::default();
        tighten(&dir, &mut done);
        assert_eq!(done.fixed, 5);
        assert!(done.stuck.is_none(), "{:?}", done.stuck);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("db/blobs")), 0o700);
        assert_eq!(mode(&dir.join("db/conf")), 0o600);
        assert_eq!(mode(&dir.join("db/blobs/1")), 0o600);
        assert_eq!(mode(&outside), 0o644, "links are not followed");
        let mut again = Tightened::default();
        tighten(&dir, &mut again);
        assert_eq!(again.fixed, 0);
    }

    #[test]
    fn a_shared_sticky_directory_is_reported_not_closed() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let mut done = Tightened::default();
        tighten_one(&shared, &mut done);
        assert_eq!(done.fixed, 0);
        assert!(done.stuck.is_some());
        assert_eq!(mode(&shared), 0o1777);
    }
}
