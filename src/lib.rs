//! pinguard: lock Python constraints to the sha256 of every distribution file, and hold
//! installs to the lock.
//!
//! The flow (see `docs/architecture.md`):
//!
//! ```text
//! constraints file ─► requirements (pins) ─► locker ─► index (parallel, cached) ─► lock ─► pylock / export
//! lock ─► audit (index again: drift, owners, releases) ─► findings ─► text / json / markdown
//! ```
//!
//! One module per concept; `commands` holds one module per subcommand and is the only place
//! that prints.

pub mod atomic;
pub mod audit;
pub mod build;
pub mod cache;
pub mod check;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod dependencies;
pub mod diagnostic;
pub mod digest;
pub mod download;
pub mod drift;
pub mod exit;
pub mod filename;
pub mod guard;
pub mod http;
pub mod index;
pub mod isolated;
pub mod lock;
pub mod locker;
pub mod marker;
pub mod metadata;
pub mod owners;
pub mod pep508;
pub mod progress;
pub mod provenance;
pub mod regular_file;
pub mod report;
pub mod requirements;
pub mod safe_url;
pub mod settings;
pub mod steps;
pub mod target;
pub mod temporary;
mod trace;
