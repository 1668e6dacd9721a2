//! What one input makes the service do: the stanzas it sends, in order, and the
//! storage effects ([`StoreOp`]) a driver applies before them. Below the rules: every
//! room operation writes into an [`Outbox`], none needs the dispatcher for it.

use crate::store::StoreOp;
use crate::xml::Element;
use jid::{FullJid, Jid};
use std::sync::Arc;

/// One stanza the service sends. The body is shared by every recipient of a
/// broadcast; `to` is carried beside it and written in by [`Outgoing::element`] or
/// by the serializer (as Prosody does when it routes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// A session, or (for invitations) a bare JID the home server delivers.
    pub to: Jid,
    /// The stanza without its `to` attribute.
    pub body: Arc<Element>,
}

impl Outgoing {
    /// The complete stanza, `to` included.
    pub fn element(&self) -> Element {
        let mut e = (*self.body).clone();
        e.set_attr("to", self.to.as_str());
        e
    }

    /// Serializes the complete stanza with `jabber:client` as the default namespace.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_xml(&mut out, crate::ns::CLIENT, None);
        out
    }

    /// Appends the complete stanza, serialized with `default_ns` in scope and, when
    /// `map` is `Some((from, to))`, namespace `from` written as `to` (a component
    /// stream's mapping, XEP-0114 §3), without copying the body: the same bytes as
    /// serializing [`Outgoing::element`] with that namespace renamed.
    pub fn write_xml(&self, out: &mut String, default_ns: &str, map: Option<(&str, &str)>) {
        crate::xml::write_addressed(out, &self.body, default_ns, self.to.as_str(), map);
    }
}

/// The ordered batch of stanzas one input produced. Order matters: it is the order
/// a real server writes them (e.g. presences before the iq result).
#[must_use = "the outbox holds the stanzas the service sends; dropping it loses them"]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    items: Vec<Outgoing>,
    /// Storage effects of this input (see [`crate::store`]).
    store: Vec<StoreOp>,
    /// How many of `items` go out before `store` is applied: 0, except under the
    /// durability mutant.
    store_at: usize,
}

impl Outbox {
    pub(crate) fn send(&mut self, to: &FullJid, stanza: Element) {
        self.share(to, Arc::new(stanza));
    }

    /// Sends one body to one more recipient without copying it.
    pub(crate) fn share(&mut self, to: &FullJid, body: Arc<Element>) {
        debug_assert!(body.attr("to").is_none(), "bodies carry no 'to'");
        self.items.push(Outgoing {
            to: Jid::from(to.clone()),
            body,
        });
    }

    /// Sends stanzas another outbox collected, in their order (a rule that places
    /// its answer among the stanzas of the change it made; storage effects are the
    /// service's, placed later).
    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = Outgoing>) {
        self.items.extend(items);
    }

    pub(crate) fn send_to_jid(&mut self, to: &Jid, stanza: Element) {
        self.items.push(Outgoing {
            to: to.clone(),
            body: Arc::new(stanza),
        });
    }

    /// Places the storage effects of this input. `at` is how many stanzas go out
    /// before them: 0 keeps the durability rule (ARCHITECTURE.md, "Durable before
    /// told"); only the `AnswerBeforeDurable` mutant passes anything else.
    pub(crate) fn place_store(&mut self, ops: Vec<StoreOp>, at: usize) {
        self.store = ops;
        self.store_at = at.min(self.items.len());
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Outgoing> {
        self.items.iter()
    }

    /// The stanzas, in order.
    pub fn as_slice(&self) -> &[Outgoing] {
        &self.items
    }

    pub fn into_vec(self) -> Vec<Outgoing> {
        self.items
    }

    /// The storage effects, to apply in order (a `Sync` is a durability barrier).
    pub fn store_ops(&self) -> &[StoreOp] {
        &self.store
    }

    /// How many stanzas go out before the storage effects are applied. The service
    /// always says 0: a change is durable before anything that tells of it is sent.
    pub fn store_position(&self) -> usize {
        self.store_at
    }

    /// The stanzas and the storage effects, split where the effects apply.
    pub fn into_parts(self) -> (Vec<Outgoing>, Vec<StoreOp>, Vec<Outgoing>) {
        let mut before = self.items;
        let after = before.split_off(self.store_at.min(before.len()));
        (before, self.store, after)
    }
}

impl IntoIterator for Outbox {
    type Item = Outgoing;
    type IntoIter = std::vec::IntoIter<Outgoing>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}
