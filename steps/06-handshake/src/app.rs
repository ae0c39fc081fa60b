//! What our end does with its connection: the application on top of the
//! [`Tcb`], free of I/O like it.
//!
//! - The client connects, sends its message, takes what comes back, and
//!   closes: once the reply it waits for is in (the demo, against an echo
//!   server that reads until our FIN), or once the peer closes (against a
//!   server that closes after answering, like an HTTP/1.0 server).
//! - The server listens, answers the first data with its reply and closes,
//!   as an HTTP/1.0 server does; it still takes what the peer sends until the
//!   peer closes too.

use std::net::SocketAddrV4;

use crate::tcb::{Event, State, Tcb};

/// When the client closes its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseWhen {
    /// Once this many bytes came back (then our FIN goes first).
    Received(usize),
    /// Once the peer closed its side (its FIN comes first).
    PeerClosed,
}

/// Our end's application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    /// Connects to `peer` and sends `message`.
    Client {
        /// The server.
        peer: SocketAddrV4,
        /// What to send once.
        message: Vec<u8>,
        /// When to close.
        close_when: CloseWhen,
        /// Bytes received so far.
        received: usize,
    },
    /// Listens, answers the first data with `reply`, and closes.
    Server {
        /// What to answer.
        reply: Vec<u8>,
        /// Whether it has answered.
        answered: bool,
    },
}

// ANCHOR: app
impl App {
    /// The first calls: `connect` and the message, or `listen`.
    pub fn start(&mut self, tcb: &mut Tcb) -> Vec<Event> {
        match self {
            App::Client { peer, message, .. } => {
                let events = tcb.connect(*peer);
                // Queued now, sent once the handshake is done.
                tcb.send(message);
                events
            }
            App::Server { .. } => tcb.listen(),
        }
    }

    /// What the application does about `event`: more calls on `tcb`, whose
    /// own events it returns.
    pub fn react(&mut self, event: &Event, tcb: &mut Tcb) -> Vec<Event> {
        match (self, event) {
            (
                App::Client {
                    close_when,
                    received,
                    ..
                },
                Event::Data(bytes),
            ) => {
                *received += bytes.len();
                match close_when {
                    CloseWhen::Received(enough) if *received >= *enough => {
                        tcb.close()
                    }
                    _ => Vec::new(),
                }
            }
            (App::Server { reply, answered }, Event::Data(_)) if !*answered => {
                *answered = true;
                tcb.send(reply);
                tcb.close()
            }
            // The peer closed first: we close too.
            (
                _,
                Event::State {
                    to: State::CloseWait,
                    ..
                },
            ) => tcb.close(),
            _ => Vec::new(),
        }
    }
}
// ANCHOR_END: app

#[cfg(test)]
mod tests {
    use step_01_socket::SeqNumber;
    use step_02_bind_connect::{CLIENT, SERVER};

    use super::*;
    use crate::Config;
    use crate::tcb::Cause;

    fn client(close_when: CloseWhen) -> App {
        App::Client {
            peer: SERVER,
            message: b"Hello server".to_vec(),
            close_when,
            received: 0,
        }
    }

    #[test]
    fn the_client_connects_and_queues_its_message() {
        let mut tcb = Tcb::new(Config::default(), CLIENT, SeqNumber(1));
        let events = client(CloseWhen::PeerClosed).start(&mut tcb);
        assert_eq!(tcb.state(), State::SynSent);
        assert_eq!(events.len(), 1);
        assert_eq!(tcb.unacknowledged(), 12);
    }

    #[test]
    fn the_client_closes_once_the_reply_is_in_or_the_peer_closed() {
        let peer_fin = Event::State {
            from: State::Established,
            to: State::CloseWait,
            cause: Cause::PeerFin,
        };
        for (close_when, events) in [
            (
                CloseWhen::Received(12),
                vec![Event::Data(b"Hello client".to_vec())],
            ),
            (CloseWhen::PeerClosed, vec![Event::Data(b"Hello".to_vec())]),
        ] {
            let mut tcb = Tcb::new(Config::default(), CLIENT, SeqNumber(1));
            let mut app = client(close_when);
            app.start(&mut tcb);
            // Pretend the handshake is done: the state is all react looks at.
            let mut tcb = established(tcb);
            let mut changes = Vec::new();
            for event in &events {
                changes.extend(app.react(event, &mut tcb));
            }
            if close_when == CloseWhen::PeerClosed {
                assert!(changes.is_empty(), "a reply alone does not close");
                assert_eq!(tcb.state(), State::Established);
            } else {
                assert_eq!(tcb.state(), State::FinWait1);
            }
            let _ = app.react(&peer_fin, &mut tcb);
        }
    }

    #[test]
    fn the_server_answers_the_first_data_once_and_closes() {
        let mut tcb = established(Tcb::new(Config::default(), SERVER, SeqNumber(1)));
        let mut app = App::Server {
            reply: b"Hello client".to_vec(),
            answered: false,
        };
        let events = app.react(&Event::Data(b"Hello server".to_vec()), &mut tcb);
        assert_eq!(tcb.state(), State::FinWait1, "{events:?}");
        app.react(&Event::Data(b"more".to_vec()), &mut tcb);
        assert_eq!(tcb.unacknowledged(), 12, "one reply");
    }

    /// The Tcb after a made-up handshake with a peer at ISN 5000.
    fn established(mut tcb: Tcb) -> Tcb {
        use crate::Segment;
        use step_01_socket::TcpFlags;
        use testkit::with_ipv4_header;
        let now = std::time::Instant::now();
        let (me, peer) = (
            tcb.local(),
            if tcb.local() == CLIENT {
                SERVER
            } else {
                CLIENT
            },
        );
        if tcb.state() == State::Closed {
            tcb.connect(peer);
        }
        while tcb.poll_transmit(now).is_some() {}
        let syn_ack = Segment::new(
            peer,
            me,
            SeqNumber(5000),
            Some(tcb.iss() + 1),
            TcpFlags::SYN,
            65535,
        );
        let bytes = with_ipv4_header(*peer.ip(), *me.ip(), 1, &syn_ack.to_bytes());
        tcb.on_packet(&bytes, now);
        assert_eq!(tcb.state(), State::Established);
        tcb
    }
}
