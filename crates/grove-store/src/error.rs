//! The store's error type. Every message says what happened and what to do, because these
//! messages reach people through the CLI and the desktop window unchanged.

use std::io;
use std::path::{Path, PathBuf};

/// What went wrong, for callers that branch on the cause rather than print the message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Another process holds the Grove home.
    Locked,
    /// The files on disk are not a valid store.
    Corrupt,
    /// The disk is full.
    DiskFull,
    /// The OS refused access to the Grove home.
    PermissionDenied,
    /// Any other I/O failure.
    Io,
    /// A circle id, document key or meta key the store cannot hold.
    InvalidName,
    /// sled reported a misuse or a bug of its own.
    Internal,
    /// The store is encrypted and no passphrase was given.
    PassphraseNeeded,
    /// The passphrase given does not open the store.
    WrongPassphrase,
    /// A passphrase was given for a store that is not encrypted.
    NotEncrypted,
}

#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    #[error(
        "the Grove home at {} is in use by another grove process; stop it or use its node",
        dir.display()
    )]
    Locked { dir: PathBuf },

    #[error(
        "the Grove store at {} is corrupt ({detail}); restore it from a backup, or move it \
         aside and rejoin your circles from a peer",
        dir.display()
    )]
    Corrupt { dir: PathBuf, detail: String },

    #[error(
        "the disk holding the Grove home at {} is full; free some space and retry; nothing was lost",
        dir.display()
    )]
    DiskFull {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "permission denied on the Grove home at {}; make it readable and writable by this user",
        dir.display()
    )]
    PermissionDenied {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "I/O error on the Grove home at {} while {doing}: {cause}; check the disk and retry",
        dir.display()
    )]
    Io {
        dir: PathBuf,
        doing: &'static str,
        /// In the message rather than a `source`, so a printed chain does not repeat it.
        cause: io::Error,
    },

    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: &'static str,
    },

    #[error(
        "the store at {} hit an internal error ({detail}); please report it with this message",
        dir.display()
    )]
    Internal { dir: PathBuf, detail: String },

    #[error(
        "the Grove home at {} is encrypted; give its passphrase (set GROVE_PASSPHRASE, or \
         type it when asked)",
        dir.display()
    )]
    PassphraseNeeded { dir: PathBuf },

    #[error(
        "wrong passphrase for the Grove home at {}; nothing was read or changed; try again",
        dir.display()
    )]
    WrongPassphrase { dir: PathBuf },

    #[error(
        "the Grove home at {} is not encrypted, yet a passphrase was given; unset \
         GROVE_PASSPHRASE, or encrypt the home first by setting a passphrase",
        dir.display()
    )]
    NotEncrypted { dir: PathBuf },
}

impl StoreError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            StoreError::Locked { .. } => StoreErrorKind::Locked,
            StoreError::Corrupt { .. } => StoreErrorKind::Corrupt,
            StoreError::DiskFull { .. } => StoreErrorKind::DiskFull,
            StoreError::PermissionDenied { .. } => StoreErrorKind::PermissionDenied,
            StoreError::Io { .. } => StoreErrorKind::Io,
            StoreError::InvalidName { .. } => StoreErrorKind::InvalidName,
            StoreError::Internal { .. } => StoreErrorKind::Internal,
            StoreError::PassphraseNeeded { .. } => StoreErrorKind::PassphraseNeeded,
            StoreError::WrongPassphrase { .. } => StoreErrorKind::WrongPassphrase,
            StoreError::NotEncrypted { .. } => StoreErrorKind::NotEncrypted,
        }
    }

    pub(crate) fn corrupt(dir: &Path, detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            dir: dir.to_path_buf(),
            detail: detail.into(),
        }
    }

    /// Classifies an I/O error so disk-full and permission problems get their own advice.
    pub(crate) fn io(dir: &Path, doing: &'static str, source: io::Error) -> Self {
        let dir = dir.to_path_buf();
        if is_disk_full(&source) {
            StoreError::DiskFull { dir, source }
        } else if source.kind() == io::ErrorKind::PermissionDenied {
            StoreError::PermissionDenied { dir, source }
        } else {
            StoreError::Io {
                dir,
                doing,
                cause: source,
            }
        }
    }

    pub(crate) fn sled(dir: &Path, doing: &'static str, err: sled::Error) -> Self {
        match err {
            sled::Error::Io(source) => {
                if is_sled_lock(&source) {
                    StoreError::Locked {
                        dir: dir.to_path_buf(),
                    }
                } else {
                    StoreError::io(dir, doing, source)
                }
            }
            sled::Error::Corruption { at, .. } => StoreError::corrupt(
                dir,
                match at {
                    Some(at) => format!("sled found corrupt data at {at} while {doing}"),
                    None => format!("sled found corrupt data while {doing}"),
                },
            ),
            other => StoreError::Internal {
                dir: dir.to_path_buf(),
                detail: format!("{other} while {doing}"),
            },
        }
    }
}

fn is_disk_full(err: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    err.kind() == io::ErrorKind::StorageFull || (cfg!(unix) && err.raw_os_error() == Some(ENOSPC))
}

/// sled reports its own lock failure as a plain io error with this text.
pub(crate) fn is_sled_lock(err: &std::io::Error) -> bool {
    err.to_string().contains("could not acquire lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_disk_full_and_says_nothing_was_lost() {
        let err = StoreError::io(
            Path::new("/h"),
            "appending",
            io::Error::from_raw_os_error(28),
        );
        assert_eq!(
            err.kind(),
            StoreErrorKind::DiskFull,
            "ENOSPC must map to DiskFull"
        );
        assert!(
            err.to_string().contains("free some space and retry"),
            "the message must say what to do: {err}"
        );
    }

    #[test]
    fn permission_denied_is_its_own_kind() {
        let err = StoreError::io(
            Path::new("/h"),
            "opening",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(err.kind(), StoreErrorKind::PermissionDenied);
    }

    #[test]
    fn sled_lock_failure_is_locked() {
        let err = StoreError::sled(
            Path::new("/h"),
            "opening",
            sled::Error::Io(io::Error::other(
                "could not acquire lock on \"/h/db\": Os { code: 11 }",
            )),
        );
        assert_eq!(err.kind(), StoreErrorKind::Locked);
        assert!(err.to_string().contains("in use by another grove process"));
    }
}
