//! Trees the `stanza` target once failed on, kept as trees: the target's input
//! decoding changes whenever its vocabulary grows, so the bytes in
//! `fuzz/regressions/stanza/` stop naming the same tree; these do not.

use mucsim_hostile::tree::check_tree;
use server::ns;
use server::xml::Element;

/// An error stanza addressed to another domain: the service once answered it with an
/// error (`refuse()` now never answers an error; RFC 6120 §8.3.1). Every stanza kind,
/// from the occupant and from the stranger, to a server and to a user elsewhere.
#[test]
fn an_error_to_another_domain_is_not_answered() {
    for name in ["message", "presence", "iq"] {
        for to in [
            "localhost",
            "juliet@localhost",
            "romeo@localhost/pda",
            "other.example",
        ] {
            for from_romeo in [false, true] {
                let el = Element::new(name, ns::CLIENT)
                    .with_attr("to", to)
                    .with_attr("type", "error")
                    .with_attr("id", "e1")
                    .with_child(
                        Element::new("error", ns::CLIENT)
                            .with_attr("type", "cancel")
                            .with_child(Element::new("item-not-found", ns::STANZAS)),
                    );
                check_tree(el, from_romeo);
            }
        }
    }
}

/// Romeo, the room's only owner, made a member through muc#admin (XEP-0045 §10.6).
fn demote_romeo() -> Element {
    Element::new("iq", ns::CLIENT)
        .with_attr("to", "room@conference.localhost")
        .with_attr("type", "set")
        .with_child(
            Element::new("query", ns::MUC_ADMIN).with_child(
                Element::new("item", ns::MUC_ADMIN)
                    .with_attr("jid", "romeo@localhost")
                    .with_attr("affiliation", "member"),
            ),
        )
}

/// The room's only owner giving up ownership through muc#admin (XEP-0045 §10.6) is
/// refused `conflict`; with `Mutant::LastOwnerMayLeave` (the planted bug of
/// `scripts/fuzz.sh`'s stanza check) it goes through and the target reports it.
#[test]
fn the_last_owner_may_not_leave() {
    check_tree(demote_romeo().with_attr("id", "d1"), true);
}

/// `encode` is `check`'s decoding inverted: the bytes decode to the tree it says,
/// which is the tree itself when the vocabulary can say all of it.
#[test]
fn encoded_trees_decode_back() {
    use mucsim_hostile::tree::{decode, encode};
    let sayable = demote_romeo();
    let (bytes, got) = encode(&sayable, true).expect("sayable");
    assert_eq!(got, sayable);
    assert_eq!(decode(&bytes), Some((sayable, true)));
    // Text, an unknown attribute and a fourth child are dropped.
    let mut partly = Element::new("message", ns::CLIENT)
        .with_attr("to", "room@conference.localhost")
        .with_attr("xml:lang", "en");
    for _ in 0..4 {
        partly.push(Element::new("body", ns::CLIENT));
    }
    partly.children.push(server::xml::Node::Text("hi".into()));
    let (bytes, got) = encode(&partly, false).expect("sayable root");
    assert_eq!(got.elements().count(), 3);
    assert_eq!(got.attrs.len(), 1);
    assert_eq!(decode(&bytes), Some((got, false)));
    assert!(encode(&Element::new("stream", "urn:example:none"), false).is_none());
}
