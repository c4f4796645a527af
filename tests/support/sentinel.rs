//! A primary, a replica and three sentinels for the tests.
