//! pinguard: lock Python constraints to the sha256 of every distribution file, and hold
//! installs to the lock.

pub mod atomic;
pub mod diagnostic;
pub mod digest;
pub mod filename;
pub mod requirements;
pub mod safe_url;
