//! Tests of the crate as a whole: the mutation fuzzer over every parser of user bytes.

mod mutation;
