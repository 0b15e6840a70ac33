//! The tests of step 3 (being written).
