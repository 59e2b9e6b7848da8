//! Work over independent items (a circle's months) on every core.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` of each of `items`, in the items' order, computed on threads of their own, one per
/// core at most. Each thread takes the next item when done with one, so that a full month
/// beside a few days' month does not leave a core idle. A single item gets a thread too:
/// what a month's load allocates then stays out of the caller's heap, as the app's memory
/// figures were measured (grove-node's `heaps.rs`). `None` stands for an item whose thread
/// panicked (a bug): the caller says so, or does that item again on its own thread.
pub fn map_each<T, R>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>>
where
    T: Sync,
    R: Send,
{
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len());
    if threads == 0 {
        return Vec::new();
    }
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        for worker in workers {
            // A worker that panicked loses its results; its items stay None.
            if let Ok(done) = worker.join() {
                for (i, r) in done {
                    out[i] = Some(r);
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::map_each;

    #[test]
    fn results_come_back_in_the_items_order() {
        let items: Vec<u64> = (0..1000).collect();
        let out = map_each(&items, |i| i * i);
        let expected: Vec<Option<u64>> = items.iter().map(|i| Some(i * i)).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn a_single_item_runs_on_a_thread_of_its_own() {
        let caller = std::thread::current().id();
        let out = map_each(&[()], |_| std::thread::current().id());
        assert_eq!(out.len(), 1);
        assert_ne!(out[0], Some(caller));
    }

    #[test]
    fn no_items_no_results() {
        let out = map_each(&[] as &[u8], |_| 1);
        assert!(out.is_empty());
    }
}
