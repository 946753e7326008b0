//! An in-memory [`Platform`] for unit tests: a store with expiry, a settable clock and scripted HTTP.

use std::cell::{Cell, RefCell};

use crate::platform::{HttpRequest, HttpResponse, Platform, StoreError, TransportError};
use crate::scratch_store::ScratchStore;

type Responder = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, TransportError>>;

/// A scripted platform.
pub struct FakePlatform {
    now_ms: Cell<u64>,
    store: ScratchStore,
    store_broken: Cell<bool>,
    swaps_broken: Cell<bool>,
    responder: RefCell<Responder>,
    /// Every request sent, in order.
    pub sent: RefCell<Vec<HttpRequest>>,
    /// How many requests each `send_all` sent together, in order.
    pub together: RefCell<Vec<usize>>,
    /// Every progress report, in order.
    pub progress: RefCell<Vec<(u64, u64, String)>>,
    /// Every notice, in order.
    pub notices: RefCell<Vec<(crate::platform::NoticeLevel, String)>>,
    counter: Cell<u8>,
}

impl FakePlatform {
    /// A platform at time 0 whose HTTP answers 599.
    pub fn new() -> Self {
        Self {
            now_ms: Cell::new(0),
            store: ScratchStore::default(),
            store_broken: Cell::new(false),
            swaps_broken: Cell::new(false),
            responder: RefCell::new(Box::new(|_| Err(TransportError::Failed("no responder".into())))),
            sent: RefCell::new(Vec::new()),
            together: RefCell::new(Vec::new()),
            progress: RefCell::new(Vec::new()),
            notices: RefCell::new(Vec::new()),
            counter: Cell::new(0),
        }
    }

    /// Answers every request with `respond`.
    pub fn respond(&self, respond: impl Fn(&HttpRequest) -> Result<HttpResponse, TransportError> + 'static) {
        *self.responder.borrow_mut() = Box::new(respond);
    }

    /// Moves the clock.
    pub fn set_now(&self, now_ms: u64) {
        self.now_ms.set(now_ms);
    }

    /// Makes every store call fail as unavailable.
    pub fn break_store(&self) {
        self.store_broken.set(true);
    }

    /// Makes every compare-and-swap fail as unavailable, the rest of the store working.
    pub fn break_compare_and_swap(&self) {
        self.swaps_broken.set(true);
    }

    fn check_store(&self) -> Result<(), StoreError> {
        if self.store_broken.get() {
            Err(StoreError::Unavailable("broken for the test".into()))
        } else {
            Ok(())
        }
    }
}

impl Default for FakePlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl Platform for FakePlatform {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(request.clone());
        (self.responder.borrow())(request)
    }

    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        self.together.borrow_mut().push(requests.len());
        requests.iter().map(|request| self.send(request)).collect()
    }

    fn store_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.check_store()?;
        Ok(self.store.get(key, self.now_ms.get()))
    }

    fn store_set(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), StoreError> {
        self.check_store()?;
        self.store.set(key, value, ttl_seconds, self.now_ms.get());
        Ok(())
    }

    fn store_delete(&self, key: &str) -> Result<bool, StoreError> {
        self.check_store()?;
        Ok(self.store.delete(key, self.now_ms.get()))
    }

    fn store_increment(&self, key: &str, delta: i64, ttl_seconds: u64) -> Result<i64, StoreError> {
        self.check_store()?;
        Ok(self.store.increment(key, delta, ttl_seconds, self.now_ms.get()))
    }

    fn store_compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<bool, StoreError> {
        self.check_store()?;
        if self.swaps_broken.get() {
            return Err(StoreError::Unavailable("swaps broken for the test".into()));
        }
        Ok(self
            .store
            .compare_and_swap(key, expected, new, ttl_seconds, self.now_ms.get()))
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }

    fn progress(&self, done: u64, total: u64, message: &str) {
        self.progress.borrow_mut().push((done, total, message.to_owned()));
    }

    fn notice(&self, level: crate::platform::NoticeLevel, message: &str) {
        self.notices.borrow_mut().push((level, message.to_owned()));
    }

    /// Sleeping moves the clock on, as time would.
    fn sleep_ms(&self, ms: u64) {
        self.now_ms.set(self.now_ms.get() + ms);
    }

    fn random_bytes(&self) -> [u8; 16] {
        self.counter.set(self.counter.get().wrapping_add(1));
        [self.counter.get(); 16]
    }
}
