//! fieldmap: configuration-driven field mapping for lead and call data.
pub mod transform;
