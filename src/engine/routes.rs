//! The routing table: which local handlers serve which channel or pattern, and the
//! multiplexer of replies awaited by this engine's own requests.

use super::EngineError;
use super::handler::{Reply, Request};
use super::options::DEFAULT_GROUP;
use crate::transport::Target;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit, oneshot};

pub(crate) type ReplyFn = Arc<dyn Fn(Request) -> BoxFuture<'static, Reply> + Send + Sync>;
pub(crate) type SlotFn = Arc<dyn Fn(Request) -> BoxFuture<'static, ()> + Send + Sync>;

/// A handler of either kind.
#[derive(Clone)]
pub(crate) enum Handler {
    Reply(ReplyFn),
    Slot(SlotFn),
}

/// One local subscription.
pub(crate) struct Route {
    pub id: u64,
    pub target: Target,
    pub group: Option<String>,
    pub timeout: Duration,
    pub handler: Handler,
    /// Internal routes (health) are left out of the health reply.
    pub internal: bool,
    /// How much of the route's work may run and wait at once.
    pub capacity: Capacity,
}

impl Route {
    /// The group whose lock a message must win first: replies are always in one.
    pub fn lock_group(&self) -> Option<&str> {
        match (&self.group, &self.handler) {
            (Some(group), _) => Some(group),
            (None, Handler::Reply(_)) => Some(DEFAULT_GROUP),
            (None, Handler::Slot(_)) => None,
        }
    }

    /// A place in the route's bounds for one more message, unless its queue is full.
    pub fn enter(self: &Arc<Self>) -> Option<Ticket> {
        let capacity = &self.capacity;
        capacity
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| {
                (pending < capacity.limit).then_some(pending + 1)
            })
            .ok()
            .map(|_| Ticket {
                route: self.clone(),
            })
    }
}

/// A route's bounds: at most `max_in_flight` handlers run, and at most `queue` more
/// messages wait for one of them to finish. Every message the route takes holds a
/// [`Ticket`] from the moment it is routed until its task ends.
pub(crate) struct Capacity {
    max_in_flight: usize,
    limit: usize,
    slots: Semaphore,
    pending: AtomicUsize,
}

impl Capacity {
    pub fn new(max_in_flight: usize, queue: usize) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Capacity {
            max_in_flight,
            limit: max_in_flight.saturating_add(queue),
            slots: Semaphore::new(max_in_flight),
            pending: AtomicUsize::new(0),
        }
    }

    /// How many messages would wait ahead of a new one for a free slot: 0 while there is
    /// one free.
    pub fn backlog(&self) -> usize {
        if self.slots.available_permits() > 0 {
            return 0;
        }
        self.pending
            .load(Ordering::Acquire)
            .saturating_sub(self.max_in_flight)
    }

    /// Whether every slot is taken.
    pub fn is_busy(&self) -> bool {
        self.slots.available_permits() == 0
    }

    /// Waits for a free slot; the handler runs while the permit lives. None only if the
    /// semaphore were closed, which nothing does.
    pub async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        self.slots.acquire().await.ok()
    }
}

/// One message's place in its route's bounds, given back when dropped.
pub(crate) struct Ticket {
    route: Arc<Route>,
}

impl Ticket {
    /// The route the message is for.
    pub fn route(&self) -> &Route {
        &self.route
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.route.capacity.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

type RouteTable = RwLock<HashMap<String, Vec<Arc<Route>>>>;
/// What a waiting request receives: the reply's payload, or why it will never come.
pub(crate) type ReplyOutcome = Result<Arc<[u8]>, EngineError>;
type Waiter = oneshot::Sender<ReplyOutcome>;

#[derive(Default)]
pub(crate) struct Routes {
    channels: RouteTable,
    patterns: RouteTable,
    waiters: Mutex<HashMap<String, Waiter>>,
}

impl Routes {
    fn table<'a>(&'a self, target: &'a Target) -> (&'a RouteTable, &'a str) {
        match target {
            Target::Channel(name) => (&self.channels, name),
            Target::Pattern(name) => (&self.patterns, name),
        }
    }

    /// Adds a route; refuses a second route of the same group on the same target.
    pub fn add(&self, route: Route) -> Result<(), EngineError> {
        let target = route.target.clone();
        let (table, name) = self.table(&target);
        let mut table = table
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let routes = table.entry(name.to_owned()).or_default();
        if let Some(group) = &route.group
            && routes
                .iter()
                .any(|other| other.group.as_ref() == Some(group))
        {
            return Err(EngineError::DuplicateGroup {
                topic: name.to_owned(),
                group: group.clone(),
            });
        }
        routes.push(Arc::new(route));
        Ok(())
    }

    /// Removes a route.
    pub fn remove(&self, target: &Target, id: u64) {
        let (table, name) = self.table(target);
        let mut table = table
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(routes) = table.get_mut(name) else {
            return;
        };
        routes.retain(|route| route.id != id);
        if routes.is_empty() {
            table.remove(name);
        }
    }

    /// Every route's target, once per route (the subscriber counts each use).
    pub fn uses(&self) -> Vec<Target> {
        let mut uses = Vec::new();
        for (table, make) in [
            (&self.channels, Target::Channel as fn(String) -> Target),
            (&self.patterns, Target::Pattern as fn(String) -> Target),
        ] {
            let table = table
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (name, routes) in table.iter() {
                uses.extend(routes.iter().map(|_| make(name.clone())));
            }
        }
        uses
    }

    /// The routes of a channel, or of the pattern that matched it.
    pub fn lookup(&self, channel: &str, pattern: Option<&str>) -> Vec<Arc<Route>> {
        let (table, name) = match pattern {
            Some(pattern) => (&self.patterns, pattern),
            None => (&self.channels, channel),
        };
        let table = table
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        table.get(name).cloned().unwrap_or_default()
    }

    /// Every target that has a route, and whether only internal routes use it.
    pub fn targets(&self) -> Vec<(Target, bool)> {
        let mut targets = Vec::new();
        for (table, make) in [
            (&self.channels, Target::Channel as fn(String) -> Target),
            (&self.patterns, Target::Pattern as fn(String) -> Target),
        ] {
            let table = table
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (name, routes) in table.iter() {
                let internal = routes.iter().all(|route| route.internal);
                targets.push((make(name.clone()), internal));
            }
        }
        targets
    }

    /// Removes every route, for shutting down.
    pub fn drain(&self) {
        for table in [&self.channels, &self.patterns] {
            table
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clear();
        }
    }

    /// Starts waiting for the reply to `sender`.
    pub fn await_reply(&self, sender: &str) -> oneshot::Receiver<ReplyOutcome> {
        let (waiter, reply) = oneshot::channel();
        self.waiters().insert(sender.to_owned(), waiter);
        reply
    }

    /// Stops waiting for the reply to `sender`.
    pub fn forget_reply(&self, sender: &str) {
        self.waiters().remove(sender);
    }

    /// Hands a reply to whoever waits for it; a reply nobody waits for (late, or for
    /// another process using the same prefix) is dropped.
    pub fn deliver_reply(&self, sender: &str, reply: Arc<[u8]>) {
        if let Some(waiter) = self.waiters().remove(sender) {
            let _ = waiter.send(Ok(reply));
        }
    }

    /// How many requests wait for their reply.
    pub fn waiting(&self) -> usize {
        self.waiters().len()
    }

    /// Fails every request still waiting for its reply.
    pub fn fail_waiting(&self, error: impl Fn() -> EngineError) {
        let waiters: Vec<Waiter> = self.waiters().drain().map(|(_, waiter)| waiter).collect();
        for waiter in waiters {
            let _ = waiter.send(Err(error()));
        }
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
