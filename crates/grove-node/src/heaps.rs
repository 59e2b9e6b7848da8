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
/// so a circle's first screen starts its two loaders one after the other
/// (`NodeState::open_for_page`).
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
