//! One-shot commands of the `lab-cloud` binary that own their printing.

pub mod lab;
