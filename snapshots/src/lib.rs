//! Insta snapshots of stanza transcripts (to come, see issue 4).
