//! Transforms (being written).
