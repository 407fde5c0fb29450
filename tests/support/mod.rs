//! Support code for the integration tests: a hand-written HTTP server for
//! fault injection, a PyPI-like index on top of it, builders of wheels and
//! sdists, and real pip as a client. See each module.
//!
//! Every test binary declares `mod support;` and uses only part of it, so
//! unused items are expected here.
#![allow(dead_code)]

pub mod cli;
pub mod consumers;
pub mod dist;
pub mod encode;
pub mod index;
pub mod python;
pub mod raw;
pub mod server;

// The server's parts; their public items are re-exported by `server`.
mod http;
mod site;
