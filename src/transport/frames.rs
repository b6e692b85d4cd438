//! The sizes the server announces, checked before the driver sees them.
//!
//! Every message a PostgreSQL server sends after the SSLRequest's answer
//! is a type byte and a 4-byte big-endian length (which counts itself).
//! The driver trusts that length and grows its buffer to it: a server, or
//! anyone on the network path of an unverified connection, that announces
//! a 2 GiB message drove the process to 4.2 GB of memory, and under a
//! memory limit to an abort. The relay follows the framing of what it
//! copies towards the driver (it reads only the five header bytes of each
//! message, never its content) and ends the connection at the first
//! message longer than [`MAX_MESSAGE`].
//!
//! What this cannot bound: a message under the limit is still read whole
//! by the driver, so one session can hold up to [`MAX_MESSAGE`] for one
//! row.

use std::io;

/// The longest message the tool accepts from a server: 64 MiB. Its own
/// queries read catalogs, history rows and messages, a few kB each;
/// PostgreSQL itself never sends a message over 1 GiB (`MaxAllocSize`).
pub const MAX_MESSAGE: u32 = 64 * 1024 * 1024;

/// Where the server's stream is in its framing.
#[derive(Debug, Default)]
pub struct Frames {
    /// Bytes of the current header seen so far (0 to 4: type and length).
    header: [u8; 5],
    have: usize,
    /// Bytes of the current message's body still to come.
    body: u64,
}

impl Frames {
    /// Follows `chunk`, the next bytes from the server. An error names a
    /// message that is too long (or a length no message can have); the
    /// connection must then end, before `chunk` is passed on.
    pub fn follow(&mut self, mut chunk: &[u8]) -> io::Result<()> {
        while !chunk.is_empty() {
            if self.body > 0 {
                let skip = usize::try_from(self.body)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                self.body -= skip as u64;
                chunk = &chunk[skip..];
                continue;
            }
            let take = (5 - self.have).min(chunk.len());
            self.header[self.have..self.have + take].copy_from_slice(&chunk[..take]);
            self.have += take;
            chunk = &chunk[take..];
            if self.have < 5 {
                break;
            }
            self.have = 0;
            let length = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]);
            if !(4..=MAX_MESSAGE).contains(&length) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the server announced a message of {length} bytes, more than the {} MiB \
                         this tool accepts (PostgreSQL never sends over 1 GiB): not a PostgreSQL \
                         server, or something on the network path",
                        MAX_MESSAGE / (1024 * 1024)
                    ),
                ));
            }
            self.body = u64::from(length) - 4;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn messages_split_anywhere_are_followed() {
        let mut stream = message(b'R', &[0, 0, 0, 0]);
        stream.extend(message(b'S', b"server_version\x0018\x00"));
        stream.extend(message(b'Z', b"I"));
        stream.extend(message(b'D', &vec![7; 70_000]));
        for cut in 1..stream.len().min(40) {
            let mut frames = Frames::default();
            for piece in stream.chunks(cut) {
                frames.follow(piece).unwrap();
            }
            assert_eq!((frames.have, frames.body), (0, 0), "cut {cut}");
        }
    }

    #[test]
    fn an_announced_length_over_the_limit_ends_it() {
        let mut frames = Frames::default();
        frames.follow(&message(b'Z', b"I")).unwrap();
        let mut huge = vec![b'R'];
        huge.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
        let e = frames.follow(&huge).unwrap_err();
        assert!(e.to_string().contains("2147483647 bytes"), "{e}");
        // A length shorter than itself is no message either.
        let mut frames = Frames::default();
        assert!(frames.follow(&[b'R', 0, 0, 0, 3]).is_err());
        // The limit itself is fine.
        let mut frames = Frames::default();
        let mut at_limit = vec![b'D'];
        at_limit.extend_from_slice(&MAX_MESSAGE.to_be_bytes());
        frames.follow(&at_limit).unwrap();
    }
}
