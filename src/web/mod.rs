//! The browser side of the server: the Leptos port implementation.

pub mod port;
