//! Connection (stub)
