//! The I/O on `/grove/sync/1` streams: reading one chunk at a time and writing queued frames.
//! All decoding decisions are in [`crate::wire`]; this module only moves bytes.

use std::io;

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::{swarm::Stream, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::{
    client::Outgoing,
    wire::{self, Reassembler, WireError},
    NetError, Session,
};

/// An inbound stream between reads. The event loop owns it while deciding what to do with the
/// last chunk, so it can drop the stream (refused peer, misbehaviour) at any chunk boundary.
pub(crate) struct Inbound {
    pub(crate) peer: PeerId,
    pub(crate) session: Session,
    pub(crate) stream: Stream,
    pub(crate) reassembler: Reassembler,
}

pub(crate) enum ReadOutcome {
    /// One chunk body, its length already checked against the limit.
    Chunk(Vec<u8>),
    /// The peer closed the stream between chunks.
    Closed,
    /// The length prefix is out of bounds: the peer is not speaking our protocol.
    Invalid(WireError),
    /// The stream broke, e.g. because the connection went away.
    Failed(io::Error),
}

/// Reads the next chunk. Cancelling it loses the stream, which is fine: the event loop only
/// drops it when it drops the stream on purpose.
pub(crate) async fn read_chunk(mut inbound: Inbound) -> (Inbound, ReadOutcome) {
    let outcome = read_body(&mut inbound.stream).await;
    (inbound, outcome)
}

async fn read_body(stream: &mut Stream) -> ReadOutcome {
    let mut prefix = [0u8; wire::PREFIX_LEN];
    // The first byte on its own tells a clean end of stream from one cut inside a chunk.
    match stream.read(&mut prefix[..1]).await {
        Ok(0) => return ReadOutcome::Closed,
        Ok(_) => {}
        Err(e) => return ReadOutcome::Failed(e),
    }
    if let Err(e) = stream.read_exact(&mut prefix[1..]).await {
        return ReadOutcome::Failed(e);
    }
    let len = match wire::body_len(prefix) {
        Ok(len) => len,
        Err(e) => return ReadOutcome::Invalid(e),
    };
    let mut body = vec![0u8; len];
    match stream.read_exact(&mut body).await {
        Ok(()) => ReadOutcome::Chunk(body),
        Err(e) => ReadOutcome::Failed(e),
    }
}

/// Writes the frames queued for `peer`, in order, over one stream, until the queue closes or
/// a write fails. The stream comes from the event loop through `stream`.
pub(crate) async fn run_writer(
    peer: PeerId,
    stream: oneshot::Receiver<Result<Stream, String>>,
    mut queue: mpsc::Receiver<Outgoing>,
) -> Result<(), String> {
    let opened = match stream.await {
        Ok(result) => result,
        Err(_) => Err("the event loop stopped".to_owned()),
    };
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(reason) => {
            // Answer what is already queued rather than leaving it to a generic error.
            queue.close();
            while let Some(out) = queue.recv().await {
                let _ = out.done.send(Err(NetError::OpenStream {
                    peer,
                    reason: reason.clone(),
                }));
            }
            return Err(reason);
        }
    };
    while let Some(Outgoing { frame, done }) = queue.recv().await {
        if let Err(e) = write_frame(&mut stream, &frame).await {
            let reason = e.to_string();
            let _ = done.send(Err(NetError::Send {
                peer,
                reason: reason.clone(),
            }));
            // Frames still queued fail with ConnectionClosed when the queue drops.
            return Err(reason);
        }
        let _ = done.send(Ok(()));
    }
    // Best effort: the peer sees a clean end of stream rather than a reset.
    let _ = stream.close().await;
    Ok(())
}

async fn write_frame(stream: &mut Stream, frame: &wire::Frame) -> io::Result<()> {
    let chunks = wire::encode(frame).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    for chunk in chunks {
        stream.write_all(&chunk).await?;
    }
    stream.flush().await
}
