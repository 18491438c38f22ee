//! Outcome of one instrumented call and the label values each subsystem gives it.

/// How an instrumented call ended. The discriminant indexes the per-status handle arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Returned normally, or `ok_if` said so.
    Success = 0,
    /// Returned `Err`, panicked, or `error_if` said so.
    Error = 1,
    /// An async call whose future was dropped before it completed.
    Cancelled = 2,
}

impl Status {
    pub(crate) const ALL: [Status; 3] = [Status::Success, Status::Error, Status::Cancelled];

    #[inline]
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
