//! Which entities one core change writes, per root collection of the core document.
//!
//! Every receiver judges each core change by comparing the governance state at the
//! change's dependencies with the state at the change itself (see [`crate::authorize`]).
//! The collections it compares (proposals, escalations, consultations, the charter) grow
//! with the circle's log, so reading them whole at two heads for every change made
//! replaying a circle's core quadratic in its log. A change alters only the objects its
//! ops name, and an object's place in the document is fixed when it is made, so an entity
//! none of whose objects the change writes reads the same before and after it: the checks
//! read only the entities [`Touched`] names, and all of a collection the change replaces or
//! whose place cannot be told.

use std::collections::{BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId};
use automerge::{Automerge, Change, ObjId, Prop, ReadDoc, Value, ROOT};

/// Which entities of one root collection a read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope<'a> {
    /// None: the change writes nothing in the collection.
    Nothing,
    /// The entities with these keys (those that exist).
    These(&'a BTreeSet<String>),
    /// Every entity.
    All,
}

impl Scope<'_> {
    /// Whether the change may have written anything in the collection.
    pub(crate) fn any(self) -> bool {
        match self {
            Scope::Nothing => false,
            Scope::These(keys) => !keys.is_empty(),
            Scope::All => true,
        }
    }
}

/// What one change writes in a root collection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Written {
    Keys(BTreeSet<String>),
    /// The collection itself was put anew, or written as a list: anything in it may differ.
    All,
}

/// The entities a core change writes, per root collection (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Touched {
    colls: HashMap<String, Written>,
    /// An object the change writes could not be placed: any collection may differ.
    unplaced: bool,
    /// An object the change writes that its own past does not hold: one made by a change
    /// concurrent to it, named in a hand-made change. Automerge applies such a write, but
    /// every read at the change's own heads misses it, so no comparison would see it.
    outside: Option<String>,
    /// See [`Touched::entities`].
    entities: Vec<(String, ObjId)>,
    /// See [`Touched::nested`].
    nested: Option<String>,
}

/// Where an object lies in the core document as of the change.
#[derive(Debug, Clone)]
enum Place {
    /// It is root collection `name` itself.
    Collection(String),
    /// It lies inside the entity at `prop` of root collection `name`.
    Entity(String, Prop),
    /// Under a collection no longer at its root key (replaced earlier): no read reaches it.
    Elsewhere,
    Unknown,
}

impl Touched {
    /// What `change` writes; `doc` holds it and `after` is `doc` as of the change.
    /// The change is decoded once, here.
    pub(crate) fn by<D: ReadDoc>(doc: &Automerge, after: &D, change: &Change) -> Touched {
        // The collections as of the change: a later change may have put another in a place.
        let current: HashMap<String, String> = after
            .map_range(ROOT, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| (item.id().to_string(), item.key.to_string()))
            .collect();
        let mut places: HashMap<String, Place> = HashMap::new();
        let mut out = Touched::default();
        for op in change.decode().operations {
            let id = match &op.obj {
                ObjectId::Root => {
                    match &op.key {
                        Key::Map(k) => out.all(k),
                        Key::Seq(_) => out.unplaced = true,
                    }
                    continue;
                }
                ObjectId::Id(id) => id.to_string(),
            };
            let place = places
                .entry(id)
                .or_insert_with_key(|id| {
                    let obj = doc.import_obj(id).ok();
                    if out.outside.is_none()
                        && !made_by(change, id)
                        && !obj.as_ref().is_some_and(|obj| held_at(doc, obj, change))
                    {
                        out.outside = Some(id.clone());
                    }
                    place(doc, &current, id, obj.as_ref())
                })
                .clone();
            match (place, &op.key) {
                (Place::Collection(name), Key::Map(k)) => out.key(&name, k.to_string()),
                (Place::Collection(name), Key::Seq(_)) => out.all(&name),
                (Place::Entity(name, Prop::Map(k)), _) => out.key(&name, k),
                (Place::Entity(name, Prop::Seq(_)), _) => out.all(&name),
                (Place::Elsewhere, _) => {}
                (Place::Unknown, _) => out.unplaced = true,
            }
        }
        out
    }

    /// The root keys the change writes in, directly or inside the object at a key, or None
    /// when that cannot be told: in a document whose entities sit at its root (the
    /// escalations'), the entities it writes.
    pub(crate) fn roots(&self) -> Option<BTreeSet<String>> {
        (!self.unplaced).then(|| self.colls.keys().cloned().collect())
    }

    /// What `change` writes in a document whose entities are maps at its root (the
    /// escalations'), each root key as a collection of its own, and the entities it writes
    /// in that it did not make ([`Touched::entities`]). [`Touched::by`] lists the root's
    /// children as of the change first, a walk over every entity of such a document for
    /// each change, and places each object as of the change's own past: here an object is
    /// placed by its parents in `doc`, and whether it is the one its author saw is for the
    /// caller to check against the entity at its key (one read at each of two heads, which
    /// the check makes anyway). An object inside an entity that the change did not make
    /// is written by no Grove: it marks the change `nested`.
    pub(crate) fn at_root(doc: &Automerge, change: &Change) -> Touched {
        let mut out = Touched::default();
        let mut seen: HashMap<String, ()> = HashMap::new();
        for op in change.decode().operations {
            let id = match &op.obj {
                ObjectId::Root => {
                    match &op.key {
                        Key::Map(k) => out.all(k),
                        Key::Seq(_) => out.unplaced = true,
                    }
                    continue;
                }
                ObjectId::Id(id) => id.to_string(),
            };
            // An object this change made was made by one of its ops on an object above
            // it, placed there: what is written inside it is under that same root key.
            if made_by(change, &id) || seen.insert(id.clone(), ()).is_some() {
                continue;
            }
            let Some(obj) = doc.import_obj(&id).ok() else {
                out.unplaced = true;
                continue;
            };
            let parents: Option<Vec<_>> = doc.parents(&obj).ok().map(Iterator::collect);
            match parents.as_deref() {
                Some([only]) if only.obj == ROOT => match &only.prop {
                    Prop::Map(k) => {
                        out.key(k, String::new());
                        out.entities.push((k.clone(), obj));
                    }
                    Prop::Seq(_) => out.unplaced = true,
                },
                Some([_, ..]) => out.nested = Some(id),
                _ => out.unplaced = true,
            }
        }
        out
    }

    /// The entities at the root a change from [`Touched::at_root`] writes in without making
    /// them: each key with the object written.
    pub(crate) fn entities(&self) -> &[(String, ObjId)] {
        &self.entities
    }

    /// An object inside an entity that a change from [`Touched::at_root`] writes in without
    /// making it.
    pub(crate) fn nested(&self) -> Option<&str> {
        self.nested.as_deref()
    }

    /// An object the change writes although its own past does not hold it (see the field).
    pub(crate) fn outside(&self) -> Option<&str> {
        self.outside.as_deref()
    }

    /// What a read of root collection `coll` must cover.
    pub(crate) fn scope(&self, coll: &str) -> Scope<'_> {
        if self.unplaced {
            return Scope::All;
        }
        match self.colls.get(coll) {
            None => Scope::Nothing,
            Some(Written::Keys(keys)) => Scope::These(keys),
            Some(Written::All) => Scope::All,
        }
    }

    fn all(&mut self, coll: &str) {
        self.colls.insert(coll.to_string(), Written::All);
    }

    fn key(&mut self, coll: &str, key: String) {
        match self
            .colls
            .entry(coll.to_string())
            .or_insert_with(|| Written::Keys(BTreeSet::new()))
        {
            Written::Keys(keys) => {
                keys.insert(key);
            }
            Written::All => {}
        }
    }
}

/// Whether object `id` (`counter@actor`) is made by one of `change`'s own ops.
fn made_by(change: &Change, id: &str) -> bool {
    let Some((counter, actor)) = id.split_once('@') else {
        return false;
    };
    let Ok(counter) = counter.parse::<u64>() else {
        return false;
    };
    let start = change.start_op().get();
    actor == change.actor_id().to_hex_string()
        && counter >= start
        && counter < start.saturating_add(change.len() as u64)
}

/// Whether object `obj` is in place, every step from the root visible, at `change`'s
/// dependencies: what its author saw when writing it.
fn held_at(doc: &Automerge, obj: &ObjId, change: &Change) -> bool {
    doc.parents_at(obj, change.deps())
        .is_ok_and(|mut parents| parents.all(|p| p.visible))
}

/// Where object `id` (`counter@actor`, as a change names it; `obj` when the document
/// knows it) lies; `current` maps each root collection's object as of the change to its
/// name.
fn place(
    doc: &Automerge,
    current: &HashMap<String, String>,
    id: &str,
    obj: Option<&ObjId>,
) -> Place {
    if let Some(name) = current.get(id) {
        return Place::Collection(name.clone());
    }
    let Some(obj) = obj else {
        return Place::Unknown;
    };
    let Ok(parents) = doc.parents(obj) else {
        return Place::Unknown;
    };
    // From the object up to the root, stopping at the first parent that is a collection
    // (a collection's parent is the root): the step into it is the entity's place. Each
    // step is a look-up in the whole document, so the walk goes no further than it must.
    for parent in parents {
        if parent.obj == ROOT {
            // A child of the root that is no collection as of the change (one since
            // replaced), or an object under one.
            return Place::Elsewhere;
        }
        if let Some(name) = current.get(&parent.obj.to_string()) {
            return Place::Entity(name.clone(), parent.prop);
        }
    }
    Place::Unknown
}

/// The entities (key and object) of root collection `coll` in `doc` that `scope` covers,
/// in key order, as a walk over the whole collection would find them.
pub(crate) fn entities<D: ReadDoc>(doc: &D, coll: &str, scope: Scope<'_>) -> Vec<(String, ObjId)> {
    if scope == Scope::Nothing {
        return Vec::new();
    }
    let Ok(coll) = crate::fields::child_map(doc, &ROOT, coll) else {
        return Vec::new();
    };
    match scope {
        Scope::Nothing => Vec::new(),
        Scope::These(keys) => keys
            .iter()
            .filter_map(|key| match doc.get(&coll, key.as_str()) {
                Ok(Some((Value::Object(_), obj))) => Some((key.clone(), obj)),
                _ => None,
            })
            .collect(),
        Scope::All => doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| (item.key.to_string(), item.id()))
            .collect(),
    }
}
