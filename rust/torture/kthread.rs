// SPDX-License-Identifier: GPL-2.0

//! Kernel threads that run a closure on one CPU, stopped when dropped.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)
//!
//! 7.3's `kernel` crate has no kthread abstraction. This is the part a
//! torture test needs, written so that it could be proposed for it:
//!
//! - [`KThread::spawn_on`] creates a thread with `kthread_create_on_node()`,
//!   binds it to a CPU with `kthread_bind()` and wakes it up;
//! - the closure gets a [`Me`], through which it asks `kthread_should_stop()`
//!   (only a kthread may ask, and only the closure holds a `Me`);
//! - dropping the [`KThread`] is `kthread_stop()`: it tells the thread to
//!   stop and waits until the closure has returned.
//!
//! The closure is boxed and handed to the thread. If the thread is stopped
//! before it ever ran (`kthread()` then returns `-EINTR` without calling the
//! thread function), the box is still ours and the drop frees it, so that
//! nothing the closure owns (an `Arc` of the test's state, say) leaks.

use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::{CStrExt, CString};

/// The thread a closure of [`KThread::spawn_on`] runs in.
///
/// Not `Send`: it stands for the current task, and is only lent to the
/// closure.
pub(crate) struct Me {
    _not_send: PhantomData<*const ()>,
}

impl Me {
    /// `kthread_should_stop()`: whether the owner of the [`KThread`] is
    /// stopping it. The closure should then return soon.
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: a `Me` exists only inside the closure that `trampoline`
        // runs, in the kthread itself, which is what `kthread_should_stop()`
        // requires of its caller.
        unsafe { bindings::kthread_should_stop() }
    }
}

/// A kernel thread running a closure; dropping it stops the thread.
///
/// # Invariants
///
/// `task` is a kthread created by [`KThread::spawn_on`] with
/// `trampoline::<F>` and `data`, not yet stopped, and `self` holds a
/// reference to its `task_struct` (`get_task_struct()`), so that it stays
/// valid after the thread has exited. `data` is the `KBox<F>` made for it:
/// the thread owns it once its function runs; until then, and for good if
/// `kthread_stop()` reports that it never ran, `free_data` frees it.
pub(crate) struct KThread {
    task: NonNull<bindings::task_struct>,
    data: *mut c_void,
    free_data: unsafe fn(*mut c_void),
}

/// The thread function: runs the boxed closure, once.
///
/// # Safety
///
/// `data` is a `KBox<F>` turned into a raw pointer, owned by the caller.
unsafe extern "C" fn trampoline<F: FnOnce(&Me) + Send + 'static>(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `KBox<F>` of `spawn_on`, handed to this thread,
    // whose function `kthread()` calls at most once.
    let f = KBox::into_inner(unsafe { KBox::from_raw(data.cast::<F>()) });
    f(&Me {
        _not_send: PhantomData,
    });
    // Never -EINTR: that is how `Drop` tells that the function never ran.
    0
}

/// Frees the closure of a thread that never ran it.
///
/// # Safety
///
/// `data` is a `KBox<F>` turned into a raw pointer, which nobody else will
/// use.
unsafe fn free_box<F>(data: *mut c_void) {
    // SAFETY: the caller's promise.
    drop(unsafe { KBox::from_raw(data.cast::<F>()) });
}

impl KThread {
    /// Creates a thread named `name` (as `ps` shows it) that runs `f` on
    /// CPU `cpu`, and wakes it up.
    ///
    /// `cpu` must be online, or the thread never runs and
    /// `kthread_bind()` warns: the caller picks it from the online CPUs.
    pub(crate) fn spawn_on<F>(cpu: u32, name: fmt::Arguments<'_>, f: F) -> Result<Self>
    where
        F: FnOnce(&Me) + Send + 'static,
    {
        let name = CString::try_from_fmt(name)?;
        let data = KBox::into_raw(KBox::new(f, GFP_KERNEL)?).cast::<c_void>();
        // SAFETY: `trampoline::<F>` takes `data` as the `KBox<F>` just made;
        // "%s" with `name`, a NUL-terminated string that outlives the call
        // (the kthread copies its name), is a valid format for it.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(trampoline::<F>),
                data,
                bindings::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        // `kthread_create_on_node()` returns a task or an error, never NULL.
        let task = match from_err_ptr(task).map(NonNull::new) {
            Ok(Some(task)) => task,
            res => {
                // SAFETY: no thread was made: `data` is still ours alone.
                unsafe { free_box::<F>(data) };
                return Err(res.err().unwrap_or(ENOMEM));
            }
        };
        // SAFETY: `task` is a kthread just created, not yet woken up: it may
        // be bound, and holding a reference to it keeps it valid.
        unsafe {
            bindings::get_task_struct(task.as_ptr());
            bindings::kthread_bind(task.as_ptr(), cpu);
            bindings::wake_up_process(task.as_ptr());
        }
        // INVARIANT: a kthread of `trampoline::<F>` and `data`, not stopped,
        // whose `task_struct` we hold.
        Ok(Self {
            task,
            data,
            free_data: free_box::<F>,
        })
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: `task` is a kthread not yet stopped, whose `task_struct` we
        // hold (type invariant): `kthread_stop()` may be called on it once,
        // even if the thread has already exited.
        let ret = unsafe { bindings::kthread_stop(self.task.as_ptr()) };
        if ret == EINTR.to_errno() {
            // SAFETY: the thread function never ran (it never returns
            // -EINTR), so the closure was never taken: it is ours to free.
            unsafe { (self.free_data)(self.data) };
        }
        // SAFETY: the reference taken in `spawn_on`.
        unsafe { bindings::put_task_struct(self.task.as_ptr()) };
    }
}

// SAFETY: a `KThread` may be stopped from any task: `kthread_stop()` and
// `put_task_struct()` have no affinity to the task that created the thread.
// The closure it may free is `Send`.
unsafe impl Send for KThread {}

// SAFETY: `&KThread` allows nothing.
unsafe impl Sync for KThread {}
