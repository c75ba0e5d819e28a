//! The end-to-end harness: the real sync server on loopback ([`TestServer`]), phones that
//! run the real core over separate stores ([`Phone`]), and a fault-injecting HTTP proxy
//! between them ([`FaultProxy`]), and a signing client of our own ([`signer`]) that speaks
//! the protocol as an attacker would.
//!
//! The server runs in the test process, or as a child `lgt-server` process
//! ([`TestServer::start_process`], [`ServerProcess`]), on SQLite in a temporary directory, or
//! on a fresh PostgreSQL database when `LGT_TEST_DATABASE_URL` is set (see [`backends`]).

#![deny(missing_docs)]

mod converge;
mod listed;
mod phone;
mod process;
mod proxy;
mod server;
pub mod signer;

pub use converge::{assert_converged, replica};
pub use listed::listed;
pub use phone::Phone;
pub use process::{cli_binary, load_average, server_binary, ProcessLimits, ServerProcess};
pub use proxy::{Fault, FaultProxy, FaultStats};
pub use server::{backends, tls_identity, BackendChoice, TestServer};
