//! Search spaces: NAS-Bench-201 cells, NAS-Bench-101 cells, the MobileNetV2-like space.
pub mod mbv2;
pub mod nb101;
pub mod nb201;
pub mod nb201_table;
