//! Tests of the crate's readers together: hostile and careless inputs to each (one-line
//! errors, fast, in little memory), and a seeded mutation fuzzer over every parser. Each
//! reader's own unit tests are in its module.

mod hostile;
mod mutation;
