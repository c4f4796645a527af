//! Compositions of services: the tree, its executor and its text syntax.
