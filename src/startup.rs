//! When the server answered the startup of a connection: the moment it
//! accepted the credentials (`AuthenticationOk`) and the moment the session
//! was ready (`ReadyForQuery`), or refused (`ErrorResponse`).
//!
//! The doctor times `auth` and `database` apart with it: PostgreSQL checks
//! the credentials, sends `AuthenticationOk`, and only then opens the
//! database (a missing one is `3D000` after it). The login itself is the
//! driver's, on the transport's relay (`transport`), which shows each
//! chunk the server sends to a [`Watch`] until the startup is over. Only
//! the frame headers are read (a message's type, its length, and for an
//! authentication request its 4-byte code); never a payload, which holds
//! the SCRAM exchange.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a watch saw, shared between the relay and whoever asks.
#[derive(Clone, Debug, Default)]
pub struct Watch(Arc<Mutex<Startup>>);

/// The moments of the startup the server reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moments {
    /// `AuthenticationOk`: the credentials were accepted.
    pub authenticated: Option<Instant>,
    /// `ReadyForQuery` or `ErrorResponse`: the startup ended.
    pub ended: Option<Instant>,
}

#[derive(Debug, Default)]
struct Startup {
    moments: Moments,
    /// The header being read: type, length, and an authentication code.
    header: Vec<u8>,
    /// Payload bytes of the current message still to skip.
    skip: usize,
}

impl Watch {
    /// Whether the relay still needs to show bytes.
    pub fn watching(&self) -> bool {
        self.0
            .lock()
            .map(|s| s.moments.ended.is_none())
            .unwrap_or(false)
    }

    /// Bytes the server sent, as they arrived.
    pub fn observe(&self, bytes: &[u8]) {
        if let Ok(mut startup) = self.0.lock() {
            startup.observe(bytes, Instant::now());
        }
    }

    pub fn moments(&self) -> Moments {
        self.0.lock().map(|s| s.moments).unwrap_or_default()
    }
}

impl Startup {
    fn observe(&mut self, mut bytes: &[u8], now: Instant) {
        while !bytes.is_empty() && self.moments.ended.is_none() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            // Type (1) and length (4); for `R`, its code (4) too.
            let want = if self.header.first() == Some(&b'R') {
                9
            } else {
                5
            };
            let n = (want - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.header.len() < want {
                continue;
            }
            if want == 5 && self.header[0] == b'R' {
                continue; // read the code too
            }
            let length = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]) as usize;
            let payload_read = self.header.len() - 5;
            match self.header[0] {
                b'R' if self.header[5..9] == [0, 0, 0, 0] => {
                    self.moments.authenticated = Some(now);
                }
                b'Z' | b'E' => self.moments.ended = Some(now),
                _ => {}
            }
            self.skip = length.saturating_sub(4 + payload_read);
            self.header.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(payload);
        m
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
            let mut s = Startup::default();
            let t0 = Instant::now();
            for (i, piece) in stream.chunks(chunk).enumerate() {
                s.observe(piece, t0 + std::time::Duration::from_millis(i as u64));
            }
            let at = |offset: usize| t0 + std::time::Duration::from_millis((offset / chunk) as u64);
            assert_eq!(s.moments.authenticated, Some(at(ok_at + 8)), "chunk {chunk}");
            assert_eq!(s.moments.ended, Some(at(ready_at + 4)), "chunk {chunk}");
        }
    }

    #[test]
    fn an_error_ends_the_startup_without_authentication() {
        let mut s = Startup::default();
        let now = Instant::now();
        s.observe(&message(b'R', &[0, 0, 0, 10, b'x', 0]), now);
        s.observe(&message(b'E', b"SFATAL\x00C28P01\x00\x00"), now);
        assert_eq!(s.moments.authenticated, None);
        assert_eq!(s.moments.ended, Some(now));
    }
}
