/*
 * init.c: start-up and fork.
 *
 * The first malloc may come before the library constructor runs (the
 * dynamic loader and libc allocate early), so the essential set-up is lazy
 * and calls nothing that could allocate: options (getenv) and the class
 * tables. The constructor then does what may call back into malloc, which
 * works by then: the thread-exit key, the fork handlers and the exit report.
 *
 * fork: the prepare handler takes every allocator lock in one fixed order,
 * so that no lock is held by a thread that will not exist in the child;
 * the parent releases them, the child re-creates them. Other threads' heaps
 * stay in the child's memory, unused; objects they handed out can still be
 * freed there (as remote frees).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>
#include "hz3_internal.h"
#include "sample.h"

_Atomic int _hz3_initialized;
_Atomic bool _hz3_constructed;   /* the constructor has run: threads may be started */
static _Atomic int init_busy;
uintptr_t _hz3_free_key;

/* The free key: from the kernel (getrandom makes a system call and no
 * allocation), or, where that fails, from the clock and addresses. Never 0,
 * which a block's second word usually holds. */
static uintptr_t make_free_key(void)
{
    uint64_t k = 0;
    if (getrandom(&k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) k = 0;
    k ^= __builtin_ia32_rdtsc() ^ (uint64_t)(uintptr_t)&k ^ ((uint64_t)getpid() << 32);
    k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ull;   /* splitmix64 finaliser */
    k = (k ^ (k >> 27)) * 0x94d049bb133111ebull;
    k ^= k >> 31;
    return k ? (uintptr_t)k : (uintptr_t)0x687a3366726565ull;
}

void _hz3_init_slow(void)
{
    int expected = 0;
    while (!atomic_compare_exchange_weak(&init_busy, &expected, 1)) {
        expected = 0;
        if (atomic_load_explicit(&_hz3_initialized, memory_order_acquire)) return;
        __builtin_ia32_pause();
    }
    if (!atomic_load_explicit(&_hz3_initialized, memory_order_relaxed)) {
        _hz3_free_key = make_free_key();
        _hz3_options_init();
        _hz3_classes_init();
        _hz3_seg_slots_init();
        atomic_store_explicit(&_hz3_initialized, 1, memory_order_release);
    }
    atomic_store(&init_busy, 0);
}

static void fork_prepare(void)
{
    _hz3_watch_lock();
    _hz3_epoch_lock();
    _hz3_heaps_lock();
    _hz3_samples_lock_all();
    _hz3_abandoned_lock();
    _hz3_large_lock();
    _hz3_pool_lock();
    _hz3_meta_lock();
}

static void fork_parent(void)
{
    _hz3_meta_unlock();
    _hz3_pool_unlock();
    _hz3_large_unlock();
    _hz3_abandoned_unlock();
    _hz3_samples_unlock_all();
    _hz3_heaps_unlock();
    _hz3_epoch_unlock();
    _hz3_watch_unlock();
}

static void fork_child(void)
{
    _hz3_meta_after_fork_child();
    _hz3_pool_after_fork_child();
    _hz3_large_after_fork_child();
    _hz3_abandoned_after_fork_child();
    _hz3_samples_after_fork_child();
    _hz3_heaps_after_fork_child();
    _hz3_epoch_after_fork_child();
    _hz3_watch_after_fork_child();
}

__attribute__((constructor)) static void hz3_constructor(void)
{
    _hz3_ensure_init();
    _hz3_heap_register_key();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (_hz3_opt.obs) atexit(_hz3_report_at_exit);
    if (_hz3_opt.sample_bytes) hz3_sampling_set(_hz3_opt.sample_bytes);
    atomic_store(&_hz3_constructed, true);
}
