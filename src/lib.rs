//! fieldmap: configuration-driven field mapping for lead and call data.
//!
//! The one data path shared by every mode: bytes --[`codec`] decode--> [`record::Record`]
//! --[`engine::Plan::apply`]--> [`engine::Output`] --[`codec`] encode--> bytes.

pub mod batch;
pub mod codec;
pub mod docs;
pub mod engine;
pub mod env;
pub mod explain;
pub mod instance;
mod link;
pub mod mapping;
pub mod matcher;
pub mod profile;
pub mod record;
pub mod review;
pub mod serve;
pub mod template;
pub mod transform;
pub mod validate;
pub mod wire;
