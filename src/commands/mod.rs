pub mod check;
pub mod parse;
pub mod scripts;
