//! Which circle ids, document keys and meta keys the store accepts, and which meta keys belong
//! to a circle. Both stores check names the same way so MemStore cannot accept what SledStore
//! would refuse.

use crate::StoreError;

/// The prefix of every meta key that belongs to `circle`; `delete_circle` removes them all.
///
/// Callers keep per-circle metadata (sync states, settings) under this prefix, e.g.
/// `format!("{}sync/{peer}", circle_meta_prefix(circle))`. Circle ids cannot contain `/`, so
/// one circle's prefix never covers another circle's keys.
pub fn circle_meta_prefix(circle: &str) -> String {
    format!("circle/{circle}/")
}

pub(crate) fn check_circle(circle: &str) -> Result<(), StoreError> {
    let reason = if circle.is_empty() {
        "a circle id cannot be empty"
    } else if circle.contains('\0') {
        "a circle id cannot contain a NUL character"
    } else if circle.contains('/') {
        "a circle id cannot contain '/'"
    } else {
        return Ok(());
    };
    Err(invalid("circle id", circle, reason))
}

pub(crate) fn check_doc(doc: &str) -> Result<(), StoreError> {
    let reason = if doc.is_empty() {
        "a document key cannot be empty"
    } else if doc.contains('\0') {
        "a document key cannot contain a NUL character"
    } else {
        return Ok(());
    };
    Err(invalid("document key", doc, reason))
}

pub(crate) fn check_meta_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(invalid("meta key", key, "a meta key cannot be empty"));
    }
    Ok(())
}

fn invalid(what: &'static str, name: &str, reason: &'static str) -> StoreError {
    StoreError::InvalidName {
        what,
        name: name.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreErrorKind;

    #[test]
    fn refuses_names_the_key_layout_cannot_hold() {
        for bad in ["", "a\0b", "a/b"] {
            let err = check_circle(bad).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::InvalidName, "circle {bad:?}");
        }
        for bad in ["", "x\0"] {
            let err = check_doc(bad).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::InvalidName, "doc {bad:?}");
        }
        assert!(
            check_doc("decisions/2026-11").is_ok(),
            "docs may nest with '/'"
        );
        assert!(check_meta_key("").is_err());
    }

    #[test]
    fn error_names_the_offending_value() {
        let err = check_doc("a\0b").unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
    }
}
