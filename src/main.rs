//! The `gilmour` binary.
fn main() {}
