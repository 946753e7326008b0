//! The `taiga-mcp` host: a wasmtime embedding that runs the Taiga tools component in a sandbox and
//! serves it over MCP.
//!
//! One module per concern: [`config`] (flags and environment), [`sandbox`] (engine, limits and the
//! component), [`network`] (the outbound allow-list), [`store`] (the session store), [`mcp`] (the
//! MCP handler), [`stdio`] (MCP over stdio), [`http`] (Streamable HTTP, health and metrics), [`tenants`] (API keys, per-tenant
//! policy and quotas), [`web_sign_in`] (the sign-in page of URL elicitation), [`metrics`] and [`app`]
//! (wiring).

pub mod app;
pub mod cache;
pub mod config;
pub mod http;
pub mod logs;
pub mod mcp;
pub mod metrics;
pub mod network;
pub mod policy;
pub mod sandbox;
pub mod stdio;
pub mod store;
pub mod tenants;
pub mod web_sign_in;
