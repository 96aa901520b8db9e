//! The allocator's free memory handed back to the system between stages of a run.

/// Hands the allocator's free memory back to the system (glibc; elsewhere nothing), so that
/// what a finished stage freed is not still resident under the next one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages of glibc's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Hands the allocator's free memory back to the system (glibc only; here nothing).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
