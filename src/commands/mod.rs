pub mod parse;
pub mod scripts;
