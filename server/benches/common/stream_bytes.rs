//! The parser bench's input, shared by `benches/parser.rs` and
//! `examples/parse_profile.rs` (so a profile and the bench parse the same bytes).

/// A client stream of 4 000 stanzas (~800 KB): a stream header, then 2 000 times a
/// groupchat message with a body (two references) and a chat state, and a presence
/// with show, status and entity capabilities; then the stream's end tag.
pub fn stream_bytes() -> Vec<u8> {
    let mut s = String::from(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
    );
    for i in 0..2000 {
        s.push_str(&format!(
            "<message to='room@conference.localhost' type='groupchat' id='msg{i}'><body>Message number {i} &amp; some text &lt;here&gt;</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>\
             <presence to='room@conference.localhost/nick{i}' id='p{i}'><show>away</show><status>Out for lunch</status>\
             <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org' ver='abcdefghij='/></presence>"
        ));
    }
    s.push_str("</stream:stream>");
    s.into_bytes()
}
