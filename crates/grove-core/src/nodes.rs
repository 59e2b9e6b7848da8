//! Always-on nodes (`grove serve`) that members run for the circle, with the addresses they
//! listen on. Kept in the core document so every member learns them by syncing once, and a
//! device that was offline for months still knows where to reconnect.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};

const NODES: &str = "nodes";
/// Addresses one node may list: a host has a handful of interfaces times two transports.
pub const MAX_NODE_ADDRS: usize = 32;
/// Longest address or peer id accepted, in bytes.
const MAX_ADDR_LEN: usize = 512;

/// An always-on node of a member, and where to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownNode {
    /// The node's network identity (a libp2p peer id, as text).
    pub peer: String,
    /// Addresses to dial it at (multiaddrs, as text).
    pub addrs: Vec<String>,
    /// The member who runs it.
    pub by: String,
    /// When it last announced these addresses.
    pub at: Timestamp,
}

impl Circle {
    /// Records that this member's always-on node `peer` listens on `addrs`. Does nothing when
    /// the circle already lists exactly these addresses for it, so a node that restarts on
    /// the same addresses adds no change.
    pub fn announce_node(&mut self, ctx: &mut Ctx<'_>, peer: &str, addrs: &[String]) -> Result<()> {
        let peer = fields::required(peer, "a node's peer id")?;
        if peer.len() > MAX_ADDR_LEN {
            return Err(CoreError::invalid("a node's peer id is too long"));
        }
        if addrs.len() > MAX_NODE_ADDRS {
            return Err(CoreError::invalid(format!(
                "a node may list at most {MAX_NODE_ADDRS} addresses"
            )));
        }
        if let Some(a) = addrs
            .iter()
            .find(|a| a.is_empty() || a.len() > MAX_ADDR_LEN)
        {
            return Err(CoreError::invalid(format!("invalid node address `{a}`")));
        }
        if self
            .known_nodes()?
            .iter()
            .any(|n| n.peer == peer && n.addrs == addrs && n.by == ctx.member)
        {
            return Ok(());
        }
        let existing = self.nodes_map()?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "node announce", |tx| {
            // Circles created before nodes were kept lack the map; create it on first use.
            let coll = match existing {
                Some(coll) => coll,
                None => tx.put_object(ROOT, NODES, ObjType::Map)?,
            };
            let n = tx.put_object(&coll, peer.as_str(), ObjType::Map)?;
            fields::put_list(tx, &n, "addrs", addrs)?;
            fields::put_str(tx, &n, "by", &member)?;
            fields::put_time(tx, &n, "at", now)?;
            Ok(())
        })
    }

    /// Every always-on node the circle knows of, by peer id.
    pub fn known_nodes(&self) -> Result<Vec<KnownNode>> {
        let Some(coll) = self.nodes_map()? else {
            return Ok(Vec::new());
        };
        let doc = &self.core.am;
        Ok(doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
            .map(|item| {
                let f = Fields::read(doc, &item.id());
                KnownNode {
                    peer: item.key.to_string(),
                    addrs: f.list(doc, "addrs"),
                    by: f.str("by"),
                    at: f.time("at"),
                }
            })
            .collect())
    }

    fn nodes_map(&self) -> Result<Option<ObjId>> {
        match self.core.am.get(ROOT, NODES)? {
            Some((automerge::Value::Object(ObjType::Map), id)) => Ok(Some(id)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;

    #[test]
    fn a_node_is_listed_once_and_reannouncing_the_same_addresses_adds_no_change() {
        let mut rng = rand::rngs::mock::StepRng::new(1, 7);
        let mut ctx = Ctx::new(Timestamp(1_000), "m-1", &mut rng);
        let mut c = Circle::create(&mut ctx, ActorId::random(), "Cell", "Ana", "dev").unwrap();
        assert!(c.known_nodes().unwrap().is_empty());
        let addrs = vec!["/ip4/127.0.0.1/tcp/4001".to_string()];
        c.announce_node(&mut ctx, "12D3KooWpeer", &addrs).unwrap();
        let heads = c.doc(crate::CORE_DOC).unwrap().get_heads();
        c.announce_node(&mut ctx, "12D3KooWpeer", &addrs).unwrap();
        assert_eq!(
            c.doc(crate::CORE_DOC).unwrap().get_heads(),
            heads,
            "an unchanged announce must not add a change"
        );
        let nodes = c.known_nodes().unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].peer, "12D3KooWpeer");
        assert_eq!(nodes[0].addrs, addrs);
        assert_eq!(nodes[0].by, "m-1");

        let moved = vec!["/ip4/127.0.0.1/tcp/4002".to_string()];
        c.announce_node(&mut ctx, "12D3KooWpeer", &moved).unwrap();
        assert_eq!(
            c.known_nodes().unwrap()[0].addrs,
            moved,
            "new addresses replace old ones"
        );
        assert!(c.announce_node(&mut ctx, "", &moved).is_err());
        assert!(c.announce_node(&mut ctx, "p", &[String::new()]).is_err());
    }
}
