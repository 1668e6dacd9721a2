//! XEP-0045's permission rules as data (filled in below).
