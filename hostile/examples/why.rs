//! Explains an `xml_stream` finding: how whole-input and chunked parsing differ.
//! `cargo run -p mucsim-hostile --example why FILE`
fn main() {
    let Some(p) = std::env::args().nth(1) else {
        eprintln!("usage: why FILE");
        std::process::exit(2);
    };
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let Some((mode, body)) = data.split_first() else {
        return;
    };
    let input: Vec<u8> = if mode & 0x80 != 0 {
        body.to_vec()
    } else {
        [mucsim_hostile::STREAM_HEADER, body].concat()
    };
    let whole = mucsim_hostile::parse_chunked(&input, &[], mucsim_hostile::FUZZ_LIMITS);
    let chunked = mucsim_hostile::parse_chunked(
        &input,
        &mucsim_hostile::chunk_sizes(*mode),
        mucsim_hostile::FUZZ_LIMITS,
    );
    println!("whole:   {} events, {:?}", whole.events.len(), whole.error);
    println!("chunked: {} events, {:?}", chunked.events.len(), chunked.error);
    for (i, (a, b)) in whole.events.iter().zip(&chunked.events).enumerate() {
        if a != b {
            println!("event {i} differs:\n  whole:   {a:?}\n  chunked: {b:?}");
        }
    }
}
