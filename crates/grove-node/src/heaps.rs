//! How the process's memory allocator (glibc's malloc on Linux) is asked to keep the app
//! small while a circle's months come and go (`state/months.rs`).
//!
//! Months load on threads of their own (`NodeState::load_shards`), and glibc gives each
//! thread that allocates a heap ("arena") of its own, up to eight per core. What a month
//! allocated stays in its loader's heap after the month is let go, spread over many heaps
//! that each keep a few live objects: the desktop app at 100,000 decisions held 388 MB
//! after scrolling the log end to end with glibc's defaults, and 293 MB with two heaps
//! (BENCHMARKS.md, "Desktop app").

/// The number of heaps glibc may make. Two keep the two cores of the smallest laptops
/// loading months side by side without waiting on one heap's lock, provided each loading
/// thread gets a heap of its own: glibc binds a thread to a heap at its first allocation,
/// so two loads meant to run side by side go through [`side_by_side`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HEAPS: libc::c_int = 2;

/// Caps the allocator's heaps. Call it first thing in `main`, before any thread starts:
/// heaps already made stay.
pub fn limit() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointer; it sets one of glibc's tunables under its lock.
    unsafe {
        if libc::mallopt(libc::M_ARENA_MAX, HEAPS) != 1 {
            tracing::debug!("glibc refused to cap its heaps");
        }
    }
}

/// Returns the memory of months let go to the system: glibc keeps freed memory in its
/// heaps unless asked to give it back.
pub(crate) fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer; it only walks and trims glibc's own heaps,
    // under their locks, and may be called at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs `first` and `second` on two fresh threads side by side, each on a heap of its own,
/// and returns their results (Err for one that panicked).
///
/// glibc binds a thread to a heap at its first allocation, giving it the next heap in turn
/// unless that one is busy at that instant. Started together (or one on the calling thread),
/// two loads landed on one heap about a third of the time, and each then waited on the
/// other's every allocation: slower than running them one after the other (BENCHMARKS.md,
/// "The first screen beside the core"). So the second thread starts only once the first
/// has allocated, and with it has its heap.
pub(crate) fn side_by_side<A: Send, B: Send>(
    first: impl FnOnce() -> A + Send,
    second: impl FnOnce() -> B + Send,
) -> (std::thread::Result<A>, std::thread::Result<B>) {
    let has_heap = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let a = s.spawn(|| {
            drop(std::hint::black_box(Box::new(0u64)));
            has_heap.wait();
            first()
        });
        has_heap.wait();
        let b = s.spawn(second);
        (a.join(), b.join())
    })
}
