//! The experiment file under stress: a seeded mutation fuzzer of the parser, and hostile or
//! careless values that must be refused before anything is allocated.

mod echo;
mod hostile;
mod mutation;
