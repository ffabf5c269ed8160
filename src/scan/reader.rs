//! The reader thread of a scan: fills free arenas with batches from the
//! feeder and queues them for the devices, in read order.

use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use vyre_core::feeder::Feeder;
use vyre_core::Error;

use super::timing::ReaderTimes;
use super::worker::{Arena, Event, Job, PanicNotice, Queue};

/// Reads every batch: waits for a ticket (bounding batches not yet folded)
/// and a free arena, fills the arena, queues the job. Ends when the feeder
/// is done (then sends [`Event::ReaderFinished`]), when a read fails (sends
/// [`Event::ReadFailed`]) or when the scan stops (the channels close).
pub(super) fn read_batches(
    feeder: Feeder,
    queue: &Queue,
    events: Sender<Event>,
    ticket_rx: Receiver<()>,
    free_rx: Receiver<Arena>,
) -> ReaderTimes {
    let _notice = PanicNotice {
        events: events.clone(),
        who: "the file reader".into(),
    };
    let mut feeder = feeder;
    let mut seq = 0u64;
    let mut times = ReaderTimes::default();
    while !feeder.is_done() {
        let tw = Instant::now();
        let (Ok(()), Ok(mut arena)) = (ticket_rx.recv(), free_rx.recv()) else {
            return times;
        };
        let tf = Instant::now();
        times.waiting += (tf - tw).as_secs_f64();
        // An upload arena of a lost device (a worker recovers the
        // device) is replaced by host memory; other map errors stop.
        let mapped = match arena.on_lost_device() {
            true => None,
            false => Some(arena.bytes_mut().map(|_| ())),
        };
        match mapped {
            Some(Ok(())) => {}
            Some(Err(e)) if !arena.on_lost_device() => {
                let _ = events.send(Event::ReadFailed(e));
                return times;
            }
            _ => arena = Arena::Host(vec![0u32; arena.words()]),
        }
        let filled = arena
            .bytes_mut()
            .and_then(|bytes| feeder.fill(bytes).map_err(Error::from));
        times.filling += tf.elapsed().as_secs_f64();
        match filled {
            Ok(batch) => {
                if let (Arena::Host(words), true) = (&mut arena, cfg!(target_endian = "big")) {
                    // The GPU reads bytes as little-endian words.
                    words.iter_mut().for_each(|w| *w = u32::from_le(*w));
                }
                if !queue.push(Job { seq, batch, arena }) {
                    return times;
                }
                seq += 1;
            }
            Err(e) => {
                let _ = events.send(Event::ReadFailed(e));
                return times;
            }
        }
    }
    let _ = events.send(Event::ReaderFinished { batches: seq });
    times
}
