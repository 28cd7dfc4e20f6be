//! Why the server could not start or stopped.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours: a user's choice to change.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the bound address")]
    LocalAddr(#[source] std::io::Error),
    #[error("the HTTP server failed")]
    Server(#[source] std::io::Error),
}

impl ServeError {
    /// Whether the user can fix it (another address).
    pub fn is_user_error(&self) -> bool {
        matches!(self, ServeError::Bind { .. })
    }

    /// What to try next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ServeError::Bind { .. } => {
                Some("pick another port with --addr 127.0.0.1:PORT (port 0: any free one)")
            }
            _ => None,
        }
    }
}
