//! Compositions of services: the tree, its executor and its text syntax.

pub mod syntax;
pub mod tree;
