//! The tests of step 2 (being written).
