//! Reading and writing entity maps in an Automerge document.
//!
//! Every entity is a map of scalar fields. Reading walks the map once (`map_range`), which
//! is what keeps `decision list` fast at 100,000 entries. When two devices set the same
//! field concurrently Automerge keeps both values; [`Fields`] keeps them all so the UI can
//! show both until someone picks (by setting the field again).

use std::borrow::Cow;

use automerge::{
    transaction::Transactable, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, ValueRef,
};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{CoreError, Result};

/// A field that holds more than one value because devices edited it concurrently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    pub field: String,
    /// Every concurrent value; the first is the one shown by default.
    pub values: Vec<String>,
    /// The device (public key, hex) that wrote each value, in the same order: a person
    /// picking between versions needs to know whose each one is. Empty where only the
    /// field's name was read (decision listings).
    #[serde(default)]
    pub devices: Vec<String>,
}

/// One entity's fields, read in a single pass. Keys and strings are borrowed from the
/// document: only what a reader keeps is copied (a whole log reads ~15 fields of each of
/// its decisions).
pub(crate) struct Fields<'a> {
    scalars: Vec<(Cow<'a, str>, Scalar<'a>)>,
    objects: Vec<(Cow<'a, str>, ObjId)>,
    conflicted: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone)]
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Bool(bool),
    Other,
}

impl<'a> Fields<'a> {
    pub(crate) fn read<D: ReadDoc>(doc: &'a D, obj: &ObjId) -> Fields<'a> {
        let mut scalars = Vec::new();
        let mut objects = Vec::new();
        let mut conflicted = Vec::new();
        for item in doc.map_range(obj, ..) {
            if item.conflict {
                conflicted.push(item.key.clone());
            }
            match item.value {
                ValueRef::Object(_) => {
                    let id = item.id();
                    objects.push((item.key, id));
                }
                ValueRef::Scalar(s) => scalars.push((item.key, Scalar::from_ref(s))),
            }
        }
        Fields {
            scalars,
            objects,
            conflicted,
        }
    }

    /// A list of strings, read from the list object.
    pub(crate) fn list<D: ReadDoc>(&self, doc: &D, key: &str) -> Vec<String> {
        str_list(doc, self.obj(key))
    }

    fn scalar(&self, key: &str) -> Option<&Scalar<'a>> {
        self.scalars.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn str(&self, key: &str) -> String {
        self.opt_str(key).unwrap_or_default()
    }

    pub(crate) fn opt_str(&self, key: &str) -> Option<String> {
        match self.scalar(key) {
            Some(Scalar::Str(s)) if !s.is_empty() => Some(s.to_string()),
            _ => None,
        }
    }

    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        match self.scalar(key) {
            Some(Scalar::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn bool(&self, key: &str) -> bool {
        matches!(self.scalar(key), Some(Scalar::Bool(true)))
    }

    pub(crate) fn time(&self, key: &str) -> Timestamp {
        Timestamp(self.int(key).unwrap_or_default())
    }

    pub(crate) fn opt_time(&self, key: &str) -> Option<Timestamp> {
        self.int(key).map(Timestamp)
    }

    /// Scalar fields whose key starts with `prefix`, as (rest of key, value as text), in key
    /// order. Sets that many devices add to concurrently (readers, links, history) are stored
    /// this way, as keys of the entity's own map, because a nested map created lazily by two
    /// devices at once would leave one device's entries in the losing object.
    pub(crate) fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.scalars
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?;
                let text = match v {
                    Scalar::Str(s) => s.to_string(),
                    Scalar::Int(i) => i.to_string(),
                    Scalar::Bool(b) => b.to_string(),
                    Scalar::Other => String::new(),
                };
                Some((rest.to_string(), text))
            })
            .collect()
    }

    /// Entries of a timeline stored as keys `PREFIX{at:013}:{who}:{tag}` (see
    /// [`timeline_key`]), oldest first: (when, who, what).
    pub(crate) fn timeline(&self, prefix: &str) -> Vec<(Timestamp, String, String)> {
        self.prefixed(prefix)
            .into_iter()
            .map(|(key, what)| {
                let mut parts = key.splitn(3, ':');
                let at = Timestamp(
                    parts
                        .next()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_default(),
                );
                let who = parts.next().unwrap_or_default().to_string();
                (at, who, what)
            })
            .collect()
    }

    pub(crate) fn obj(&self, key: &str) -> Option<&ObjId> {
        self.objects.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn is_conflicted(&self, key: &str) -> bool {
        self.conflicted.iter().any(|k| k == key)
    }

    /// Concurrent values of the conflicted scalar fields among `keys`.
    pub(crate) fn conflicts<D: ReadDoc>(
        &self,
        doc: &D,
        obj: &ObjId,
        keys: &[&str],
    ) -> Vec<Conflict> {
        let mut out = Vec::new();
        for key in &self.conflicted {
            if !keys.contains(&key.as_ref()) {
                continue;
            }
            let Ok(all) = doc.get_all(obj, key.as_ref()) else {
                continue;
            };
            // Each value with the device that wrote it: a document's actor is its device's
            // public key (see sync::signing::device_actor).
            let mut versions: Vec<(String, String)> = all
                .into_iter()
                .filter_map(|(v, id)| match v {
                    automerge::Value::Scalar(s) => Some((scalar_to_string(&s), writer(&id))),
                    automerge::Value::Object(_) => None,
                })
                .collect();
            // get_all lists the winner last; show the winner first, as plain reads do.
            versions.reverse();
            versions.dedup_by(|a, b| a.0 == b.0);
            if versions.len() > 1 {
                let (values, devices) = versions.into_iter().unzip();
                out.push(Conflict {
                    field: key.to_string(),
                    values,
                    devices,
                });
            }
        }
        out
    }
}

/// The device that made an operation: its actor, as hex (empty for the root, which no
/// device writes).
fn writer(id: &automerge::ObjId) -> String {
    match id {
        automerge::ObjId::Id(_, actor, _) => actor.to_hex_string(),
        automerge::ObjId::Root => String::new(),
    }
}

impl<'a> Scalar<'a> {
    fn from_ref(s: ScalarValueRef<'a>) -> Scalar<'a> {
        match s {
            ScalarValueRef::Str(s) => Scalar::Str(s),
            ScalarValueRef::Int(i) | ScalarValueRef::Timestamp(i) | ScalarValueRef::Counter(i) => {
                Scalar::Int(i)
            }
            ScalarValueRef::Uint(u) => Scalar::Int(i64::try_from(u).unwrap_or(i64::MAX)),
            ScalarValueRef::Boolean(b) => Scalar::Bool(b),
            _ => Scalar::Other,
        }
    }
}

fn scalar_to_string(s: &ScalarValue) -> String {
    match s {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => i.to_string(),
        ScalarValue::Uint(u) => u.to_string(),
        ScalarValue::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The key of a timeline entry: time first (zero-padded, so keys sort chronologically),
/// then who and a random tag, so concurrent entries from two devices both survive.
pub(crate) fn timeline_key(prefix: &str, at: Timestamp, who: &str, tag: &str) -> String {
    format!("{prefix}{:013}:{who}:{tag}", at.0.max(0))
}

/// The child map `key` of `parent`, or a Corrupt error naming what is missing.
pub(crate) fn child_map<D: ReadDoc>(doc: &D, parent: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(CoreError::Corrupt(format!("missing map `{key}`"))),
    }
}

/// The Text object `key` of `parent`.
pub(crate) fn child_text<D: ReadDoc>(doc: &D, parent: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(ObjType::Text), id)) => Ok(id),
        _ => Err(CoreError::Corrupt(format!("missing text `{key}`"))),
    }
}

/// The entity map `id` inside collection `coll`, if present.
pub(crate) fn entity<D: ReadDoc>(doc: &D, coll: &ObjId, id: &str) -> Result<Option<ObjId>> {
    match doc.get(coll, id)? {
        Some((automerge::Value::Object(ObjType::Map), obj)) => Ok(Some(obj)),
        _ => Ok(None),
    }
}

/// Strings of a list object, in order, skipping anything that is not a string.
pub(crate) fn str_list<D: ReadDoc>(doc: &D, list: Option<&ObjId>) -> Vec<String> {
    let Some(list) = list else {
        return Vec::new();
    };
    doc.list_range(list, ..)
        .filter_map(|item| match item.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Keys of a map object (used for sets stored as `id -> true` maps).
pub(crate) fn key_set<D: ReadDoc>(doc: &D, map: Option<&ObjId>) -> Vec<String> {
    match map {
        Some(map) => doc.keys(map).collect(),
        None => Vec::new(),
    }
}

/// The maps inside a list (history entries, versions), each read with [`Fields`].
pub(crate) fn map_list<'a, D: ReadDoc>(doc: &'a D, list: Option<&ObjId>) -> Vec<Fields<'a>> {
    let Some(list) = list else {
        return Vec::new();
    };
    doc.list_range(list, ..)
        .filter_map(|item| match item.value {
            ValueRef::Object(ObjType::Map) => Some(Fields::read(doc, &item.id())),
            _ => None,
        })
        .collect()
}

/// Text object content (Automerge Text, used only for co-written prose).
pub(crate) fn text<D: ReadDoc>(doc: &D, obj: Option<&ObjId>) -> String {
    obj.and_then(|o| doc.text(o).ok()).unwrap_or_default()
}

pub(crate) fn put_str<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, v: &str) -> Result<()> {
    tx.put(obj, key, v)?;
    Ok(())
}

pub(crate) fn put_opt_str<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    v: Option<&str>,
) -> Result<()> {
    if let Some(v) = v {
        tx.put(obj, key, v)?;
    }
    Ok(())
}

pub(crate) fn put_time<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    t: Timestamp,
) -> Result<()> {
    tx.put(obj, key, t.0)?;
    Ok(())
}

/// Writes a list of strings. The whole list counts as one field against [`MAX_TEXT`]:
/// checking items one by one would let one record grow by `MAX_TEXT` per item (95
/// examples made a 1.9 MB value). Refused inside the transaction, which then writes nothing.
pub(crate) fn put_list<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    items: &[String],
) -> Result<ObjId> {
    let total: usize = items.iter().map(String::len).sum();
    if total > MAX_TEXT {
        return Err(CoreError::invalid(format!(
            "the {key} are {total} bytes together; keep all of them under {MAX_TEXT} bytes"
        )));
    }
    let list = tx.put_object(obj, key, ObjType::List)?;
    for (i, item) in items.iter().enumerate() {
        tx.insert(&list, i, item.as_str())?;
    }
    Ok(list)
}

pub(crate) fn put_text<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    content: &str,
) -> Result<ObjId> {
    let text = tx.put_object(obj, key, ObjType::Text)?;
    tx.splice_text(&text, 0, 0, content)?;
    Ok(text)
}

/// Appends a map to a list (history, versions) and returns it for filling in.
pub(crate) fn push_map<T: Transactable>(tx: &mut T, list: &ObjId) -> Result<ObjId> {
    let len = tx.length(list);
    Ok(tx.insert_object(list, len, ObjType::Map)?)
}

/// Trimmed, non-empty text or an Invalid error saying which field is missing.
pub(crate) fn required(value: &str, what: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(format!("{what} cannot be empty")));
    }
    check_len(v, what)?;
    Ok(v.to_string())
}

/// Trimmed optional text; empty means absent.
pub(crate) fn optional(value: Option<&str>, what: &str) -> Result<Option<String>> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => {
            check_len(v, what)?;
            Ok(Some(v.to_string()))
        }
        _ => Ok(None),
    }
}

/// Long enough for a page of prose, short enough that one entry cannot bloat every replica.
pub const MAX_TEXT: usize = 20_000;

fn check_len(v: &str, what: &str) -> Result<()> {
    if v.len() > MAX_TEXT {
        return Err(CoreError::invalid(format!(
            "{what} is {} bytes long; keep it under {MAX_TEXT}",
            v.len()
        )));
    }
    Ok(())
}
