//! Transcript (stub)
