//! Tests of [`super`] by topic: storage hiccups retried within a bound, and hostile specs and
//! trials. The storage contract every backend keeps is tested through [`crate::study`].

mod hiccup;
mod hostile;
