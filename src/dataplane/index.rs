//! Indices into the compiled tables.

pub type NicIdx = u32;
pub type SubnetIdx = u32;
pub type VnetIdx = u32;
