//! Headless app tests.
