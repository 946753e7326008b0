//! A [`SessionStore`] in Redis, for several `taiga-mcp` replicas: expiry is Redis's own, and the
//! atomic operations are Lua scripts. The connection manager reconnects by itself; while Redis is
//! away every operation fails fast as [`StoreError::Unavailable`].

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::contract::{SessionStore, StoreError, StoreFuture, bounded_ttl, check_sizes};

/// Every key lives under this prefix, then the namespace.
const PREFIX: &str = "taiga-mcp";

const INCREMENT: &str = r"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return value
";

const COMPARE_AND_SWAP: &str = r"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[1] == '0' then matches = (current == false) else matches = (current == ARGV[2]) end
if not matches then return 0 end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5]) else redis.call('DEL', KEYS[1]) end
return 1
";

/// A Redis-backed store.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    increment: Script,
    compare_and_swap: Script,
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.category().to_owned())
}

fn seconds(ttl: Duration) -> u64 {
    bounded_ttl(ttl).as_secs()
}

/// A script's failure: Redis's own refusal of the value (`ERR value is not an integer`) is the
/// request's fault; a replica that is read-only, still loading or without its master is an outage.
fn script_error(err: redis::RedisError) -> StoreError {
    match err.kind() {
        redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) => {
            StoreError::Rejected("the stored value is not an integer".to_owned())
        }
        _ => unavailable(err),
    }
}

fn key(namespace: &str, key: &str) -> String {
    format!("{PREFIX}:{namespace}:{key}")
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`); fails when Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            increment: Script::new(INCREMENT),
            compare_and_swap: Script::new(COMPARE_AND_SWAP),
        })
    }
}

impl SessionStore for RedisStore {
    fn get<'a>(&'a self, namespace: &'a str, key_name: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            check_sizes(key_name, None)?;
            let mut connection = self.connection.clone();
            connection.get(key(namespace, key_name)).await.map_err(unavailable)
        })
    }

    fn set<'a>(&'a self, namespace: &'a str, key_name: &'a str, value: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            check_sizes(key_name, Some(value))?;
            let mut connection = self.connection.clone();
            connection
                .set_ex(key(namespace, key_name), value, seconds(ttl))
                .await
                .map_err(unavailable)
        })
    }

    fn delete<'a>(&'a self, namespace: &'a str, key_name: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            check_sizes(key_name, None)?;
            let mut connection = self.connection.clone();
            let removed: u64 = connection.del(key(namespace, key_name)).await.map_err(unavailable)?;
            Ok(removed > 0)
        })
    }

    fn increment<'a>(
        &'a self,
        namespace: &'a str,
        key_name: &'a str,
        delta: i64,
        ttl: Duration,
    ) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            check_sizes(key_name, None)?;
            let mut connection = self.connection.clone();
            self.increment
                .key(key(namespace, key_name))
                .arg(delta)
                .arg(seconds(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(script_error)
        })
    }

    fn compare_and_swap<'a>(
        &'a self,
        namespace: &'a str,
        key_name: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            check_sizes(key_name, new)?;
            let mut connection = self.connection.clone();
            let swapped: i64 = self
                .compare_and_swap
                .key(key(namespace, key_name))
                .arg(if expected.is_some() { "1" } else { "0" })
                .arg(expected.unwrap_or_default())
                .arg(if new.is_some() { "1" } else { "0" })
                .arg(new.unwrap_or_default())
                .arg(seconds(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(swapped == 1)
        })
    }

    fn purge_expired(&self) -> StoreFuture<'_, usize> {
        // Redis expires keys itself.
        Box::pin(std::future::ready(Ok(0)))
    }
}
