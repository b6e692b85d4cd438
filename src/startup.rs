//! When the server answered the startup of a connection: the moment it
//! accepted the credentials (`AuthenticationOk`) and the moment the session
//! was ready (`ReadyForQuery`), or refused (`ErrorResponse`).
//!
//! The doctor times `auth` and `database` apart with it: PostgreSQL checks
//! the credentials, sends `AuthenticationOk`, and only then opens the
//! database (a missing one is `3D000` after it). The login itself is the
//! driver's, on the transport's relay, which follows the server's framing
//! (`transport::frames`) and shows each message's head to a [`Watch`] until
//! the startup is over: its type, and for an authentication request its
//! code. Never a payload, which holds the SCRAM exchange.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::transport::frames::Head;

/// What a watch saw, shared between the relay and whoever asks.
#[derive(Clone, Debug, Default)]
pub struct Watch(Arc<Mutex<Moments>>);

/// The moments of the startup the server reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moments {
    /// `AuthenticationOk`: the credentials were accepted.
    pub authenticated: Option<Instant>,
    /// `ReadyForQuery` or `ErrorResponse`: the startup ended.
    pub ended: Option<Instant>,
}

impl Watch {
    /// Whether the relay still needs to show heads.
    pub fn watching(&self) -> bool {
        self.0.lock().map(|m| m.ended.is_none()).unwrap_or(false)
    }

    /// A message's head, as it arrived.
    pub fn observe(&self, head: Head) {
        if let Ok(mut moments) = self.0.lock() {
            moments.observe(head, Instant::now());
        }
    }

    pub fn moments(&self) -> Moments {
        self.0.lock().map(|m| *m).unwrap_or_default()
    }
}

impl Moments {
    fn observe(&mut self, head: Head, now: Instant) {
        if self.ended.is_some() {
            return;
        }
        match (head.kind, head.auth_code) {
            (b'R', Some(0)) => self.authenticated = Some(now),
            (b'Z' | b'E', _) => self.ended = Some(now),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::frames::Frames;

    fn message(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(payload);
        m
    }

    /// Feeds `stream` in chunks of `chunk` bytes, the `i`th at `t0 + i` ms.
    fn watched(stream: &[u8], chunk: usize, t0: Instant) -> Moments {
        let mut frames = Frames::default();
        let mut moments = Moments::default();
        for (i, piece) in stream.chunks(chunk).enumerate() {
            let now = t0 + std::time::Duration::from_millis(i as u64);
            frames
                .follow(piece, &mut |head| moments.observe(head, now))
                .unwrap();
        }
        moments
    }

    #[test]
    fn sees_authentication_ok_then_ready_in_any_chunking() {
        let mut stream = Vec::new();
        stream.extend(message(b'R', &[0, 0, 0, 10, b'S', b'C', 0, 0]));
        stream.extend(message(b'R', &[0, 0, 0, 11, 1, 2, 3]));
        stream.extend(message(b'R', &[0, 0, 0, 12, 4, 5]));
        let ok_at = stream.len();
        stream.extend(message(b'R', &[0, 0, 0, 0]));
        stream.extend(message(b'S', b"server_version\x0015\x00"));
        stream.extend(message(b'K', &[0; 8]));
        let ready_at = stream.len();
        stream.extend(message(b'Z', b"I"));
        for chunk in [1, 2, 3, 7, 64] {
            let t0 = Instant::now();
            let moments = watched(&stream, chunk, t0);
            let at = |offset: usize| t0 + std::time::Duration::from_millis((offset / chunk) as u64);
            assert_eq!(moments.authenticated, Some(at(ok_at + 8)), "chunk {chunk}");
            assert_eq!(moments.ended, Some(at(ready_at + 4)), "chunk {chunk}");
        }
    }

    #[test]
    fn an_error_ends_the_startup_without_authentication() {
        let mut stream = message(b'R', &[0, 0, 0, 10, b'x', 0]);
        stream.extend(message(b'E', b"SFATAL\x00C28P01\x00\x00"));
        let t0 = Instant::now();
        let moments = watched(&stream, 64, t0);
        assert_eq!(moments.authenticated, None);
        assert_eq!(moments.ended, Some(t0));
    }
}
