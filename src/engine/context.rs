//! The call context of the running task: set around every handler, read by every request,
//! signal and broadcast made inside it, so that what a handler sends names its parent.
//!
//! It is a tokio task-local: a task the handler spawns starts without it; wrap the
//! spawned future in [`in_context`] with [`current_context`] to carry it over.

use crate::protocol::CallContext;
use std::future::Future;

tokio::task_local! {
    static CONTEXT: CallContext;
}

/// The call context of the running task, if it has one.
pub fn current_context() -> Option<CallContext> {
    CONTEXT
        .try_with(Clone::clone)
        .ok()
        .filter(|context| !context.is_empty())
}

/// Runs `work` with `context` as its call context: what it sends carries that context
/// (a shell service's child reads its parent from `GILMOUR_PARENT` this way).
pub async fn in_context<F: Future>(context: CallContext, work: F) -> F::Output {
    CONTEXT.scope(context, work).await
}
