//! The Taiga MCP tool logic, free of any WebAssembly or transport detail.
//!
//! A host (the `taiga-component` WebAssembly component, or a unit test) supplies a [`Platform`]
//! and a [`CallContext`]; this crate lists the tools, validates arguments at the boundary, keeps
//! the session rules and talks to Taiga. It holds no state between calls.

pub mod api;
pub mod apps;
pub mod call;
pub mod context;
pub mod crud;
pub mod error;
pub mod facts;
pub mod listing;
pub mod login_guard;
pub mod meta;
pub mod platform;
pub mod primitives;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod scratch_store;
pub mod session;
pub mod sign_in;
pub mod taiga;
pub mod time;
pub mod tool;
pub mod tools;
pub mod validate;

#[cfg(test)]
mod testing;

pub use context::{CallContext, Identity, Settings};
pub use error::{ErrorCode, ToolError};
pub use platform::{
    CertificateProblem, HttpRequest, HttpResponse, Method, NoticeLevel, Platform, StoreError, TransportError,
    error_code_name,
};
pub use tool::{Annotations, Tool};
pub use tools::{DEFAULT_TOOLS, DispatchError, Outcome, TOOLSETS, Toolset, call, catalogue, toolset_of};
