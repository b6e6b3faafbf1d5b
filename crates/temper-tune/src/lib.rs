//! Hyperparameter search for temper: spaces, samplers (grid, random, Sobol, GP, TPE),
//! hypergradient optimizers, pruners and persistent studies. Knows nothing of Burn.
//!
//! Nothing is implemented yet; the search arrives with its issue.
