//! `mucsim parse FILE`: the service's parser and limits on a file.

use std::process::ExitCode;

pub fn parse(file: &std::path::Path) -> ExitCode {
    use server::xml::{parse_stanza, Limits, StreamEvent, StreamParser};
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mucsim: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let limits = Limits::default();
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&bytes[..], |i| &bytes[i..]);
    let is_stream = trimmed.starts_with(b"<?xml") || trimmed.starts_with(b"<stream:");
    let result = if is_stream {
        let mut p = StreamParser::new(limits);
        p.feed(&bytes).map(|evs| {
            evs.into_iter()
                .map(|e| match e {
                    StreamEvent::Open(h) => format!("stream open: {}", h.to_xml()),
                    StreamEvent::Stanza(s) => s.to_xml_in("jabber:client"),
                    StreamEvent::Close => "stream close".to_string(),
                    StreamEvent::Refused(r) => format!(
                        "refused <{}> from {} (id {}): {}",
                        r.name,
                        r.from.as_deref().unwrap_or("-"),
                        r.id.as_deref().unwrap_or("-"),
                        r.limit
                    ),
                })
                .collect::<Vec<_>>()
        })
    } else {
        parse_stanza(&bytes, "jabber:client", &limits).map(|e| vec![e.to_xml_in("jabber:client")])
    };
    match result {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "mucsim: {}: refused ({}): {e}",
                file.display(),
                e.stream_condition()
            );
            ExitCode::from(1)
        }
    }
}
