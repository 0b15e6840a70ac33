//! The tests of step 4 (being written).
