//! The tests of step 5 (being written).
