//! Two stages of a sequential job side by side, on a thread each, so that the job takes about
//! the longer of the two instead of their sum: a reader's decoding (CSV records, Parquet and
//! Arrow batches) beside its validation ([`pipelined`]), the next batch of forecast windows
//! built while the current one is forecast ([`prefetched`]), a checksum verified beside the
//! decoding it guards ([`checked_beside`]).

use std::sync::mpsc::sync_channel;

/// Items the decoding may run ahead of the validation.
const DEPTH: usize = 4;

/// Runs `produce` here, passing each item it emits to `consume` in order, and returns
/// `consume`'s first error. With `side_by_side` the consumer runs on a thread of its own (the
/// producer, which holds the caller's reader, stays on the calling thread, so the reader need
/// not be `Send`); otherwise item by item here. `emit` returns false once `consume` has failed:
/// the producer should then stop.
pub(crate) fn pipelined<T: Send, E: Send>(
    side_by_side: bool,
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool),
    mut consume: impl FnMut(T) -> Result<(), E> + Send,
) -> Result<(), E> {
    if !side_by_side {
        let mut failed = None;
        produce(&mut |item| match consume(item) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        return failed.map_or(Ok(()), Err);
    }
    std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(DEPTH);
        // A failing consumer returns and drops the receiver: the producer's next send fails.
        let consumer = scope.spawn(move || receiver.into_iter().try_for_each(&mut consume));
        produce(&mut |item| sender.send(item).is_ok());
        // The end of the items: the consumer's loop ends once the channel is empty.
        drop(sender);
        joined(consumer)
    })
}

/// Calls `each` with `prepare(item)` for every item in order; with `side_by_side` the next
/// item is prepared on a thread of its own while `each` handles the current one. Returns
/// `each`'s first error.
pub(crate) fn prefetched<T: Sync, R: Send, E>(
    side_by_side: bool,
    items: &[T],
    prepare: impl Fn(&T) -> R + Sync,
    mut each: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    if !side_by_side || items.len() < 2 {
        return items.iter().try_for_each(|item| each(prepare(item)));
    }
    std::thread::scope(|scope| {
        let prepare = &prepare;
        let mut pending = scope.spawn(move || prepare(&items[0]));
        for next in items[1..].iter() {
            let ready = joined(pending);
            pending = scope.spawn(move || prepare(next));
            each(ready)?;
        }
        each(joined(pending))
    })
}

/// `work`'s result when `check` holds, `None` when it fails. With `side_by_side` the check runs
/// on a thread of its own while `work` runs here (so a job takes about the longer of the two;
/// the work is wasted when the check fails); otherwise the check runs first and `work` only
/// after it holds. A checksum verified beside the decoding it guards, for one.
pub(crate) fn checked_beside<T>(
    side_by_side: bool,
    check: impl FnOnce() -> bool + Send,
    work: impl FnOnce() -> T,
) -> Option<T> {
    if !side_by_side {
        return check().then(work);
    }
    let (held, done) = std::thread::scope(|scope| {
        let held = scope.spawn(check);
        let done = work();
        (joined(held), done)
    });
    held.then_some(done)
}

/// What a scoped thread returned; its panic, message and all, goes on here.
fn joined<R>(handle: std::thread::ScopedJoinHandle<'_, R>) -> R {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Emits 0..n, stopping when told to; records how far it got.
    fn numbers(n: u32, reached: &mut u32) -> impl FnOnce(&mut dyn FnMut(u32) -> bool) + Send + '_ {
        move |emit| {
            for i in 0..n {
                *reached = i;
                if !emit(i) {
                    return;
                }
            }
        }
    }

    #[test]
    fn items_arrive_in_order_either_way() {
        for side_by_side in [false, true] {
            let mut seen = Vec::new();
            let mut reached = 0;
            let outcome: Result<(), ()> =
                pipelined(side_by_side, numbers(1000, &mut reached), |i| {
                    seen.push(i);
                    Ok(())
                });
            assert_eq!(outcome, Ok(()));
            assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn checked_work_is_kept_only_when_its_check_holds() {
        for side_by_side in [false, true] {
            assert_eq!(checked_beside(side_by_side, || true, || 7), Some(7));
            let mut worked = false;
            let kept = checked_beside(side_by_side, || false, || worked = true);
            assert_eq!(kept, None);
            // Beside the check the work runs anyway; after it, only once the check holds.
            assert_eq!(worked, side_by_side);
        }
    }

    #[test]
    fn prepared_items_arrive_in_order_and_an_error_stops() {
        let items: Vec<u32> = (0..50).collect();
        for side_by_side in [false, true] {
            let mut seen = Vec::new();
            let outcome: Result<(), ()> = prefetched(
                side_by_side,
                &items,
                |i| i * 2,
                |v| {
                    seen.push(v);
                    Ok(())
                },
            );
            assert_eq!(outcome, Ok(()));
            assert_eq!(seen, (0..50).map(|i| i * 2).collect::<Vec<_>>());
            let mut handled = 0;
            let outcome = prefetched(
                side_by_side,
                &items,
                |i| *i,
                |v| {
                    handled += 1;
                    if v == 7 {
                        Err(v)
                    } else {
                        Ok(())
                    }
                },
            );
            assert_eq!((outcome, handled), (Err(7), 8));
        }
    }

    /// The producer stays on the calling thread, so it may hold what cannot cross threads; a
    /// consumer's panic goes on with its message.
    #[test]
    fn the_producer_stays_here_and_a_panic_keeps_its_message() {
        let source = std::rc::Rc::new(vec![1u32, 2, 3]);
        let mut seen = Vec::new();
        let outcome: Result<(), ()> = pipelined(
            true,
            |emit| {
                for &v in source.iter() {
                    if !emit(v) {
                        return;
                    }
                }
            },
            |v| {
                seen.push(v);
                Ok(())
            },
        );
        assert_eq!((outcome, seen), (Ok(()), vec![1, 2, 3]));
        let panicked = std::panic::catch_unwind(|| {
            pipelined::<u32, ()>(true, |emit| while emit(1) {}, |_| panic!("consumer broke"))
        });
        let payload = panicked.expect_err("the consumer's panic goes on");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"consumer broke"));
    }

    #[test]
    fn the_first_error_stops_the_producer() {
        for side_by_side in [false, true] {
            let mut reached = 0;
            let outcome = pipelined(side_by_side, numbers(1_000_000, &mut reached), |i| {
                if i == 10 {
                    Err(format!("item {i}"))
                } else {
                    Ok(())
                }
            });
            assert_eq!(outcome, Err("item 10".to_string()));
            // The producer may have run a few items ahead, never to the end.
            assert!((10..10 + DEPTH as u32 + 2).contains(&reached), "{reached}");
        }
    }
}
