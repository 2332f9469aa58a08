//! The Lua scripts that change or read the membership, each one atomic in Redis: a change and
//! its epoch bump and announcement happen together or not at all.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::view::Member;
use crate::coordination::{CoordinationError, Keys, millis};

/// Renews the heartbeat key and writes the member's count of offices held (field
/// `offices_held`, when known: not a membership change, so no epoch); (re)writes the record
/// when it is missing or `force` is set, then raises the epoch (never below `known_epoch`, so a
/// Redis that lost its data does not restart the epochs) and announces it. Returns
/// `{epoch, recreated}`, epoch 0 when nothing changed.
static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        -- KEYS: members, member, alive, epoch
        -- ARGV: id, ttl_ms, known_epoch, channel, force, offices_held ('' if unknown), fields...
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
        local added = redis.call('SADD', KEYS[1], ARGV[1])
        local recreated = added == 1 or redis.call('EXISTS', KEYS[2]) == 0
        if not recreated and ARGV[5] == '0' then
            if ARGV[6] ~= '' then
                redis.call('HSET', KEYS[2], 'offices_held', ARGV[6])
            end
            return {0, 0}
        end
        redis.call('HSET', KEYS[2], unpack(ARGV, 7))
        if ARGV[6] ~= '' then
            redis.call('HSET', KEYS[2], 'offices_held', ARGV[6])
        end
        local current = tonumber(redis.call('GET', KEYS[4]) or '0')
        if current < tonumber(ARGV[3]) then
            redis.call('SET', KEYS[4], ARGV[3])
        end
        local epoch = redis.call('INCR', KEYS[4])
        redis.call('PUBLISH', ARGV[4], epoch)
        return {epoch, recreated and 1 or 0}
        ",
    )
});

/// Removes a member's record and heartbeat; raises and announces the epoch if it was listed.
static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        -- KEYS: members, member, alive, epoch; ARGV: id, channel
        redis.call('DEL', KEYS[2], KEYS[3])
        if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then
            return 0
        end
        local epoch = redis.call('INCR', KEYS[4])
        redis.call('PUBLISH', ARGV[2], epoch)
        return epoch
        ",
    )
});

/// Reads every member record and the epoch. With `expire`, first removes the members whose
/// heartbeat key is gone (raising and announcing the epoch once); without, lists them as silent.
static READ_VIEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        -- KEYS: members, epoch; ARGV: prefix, expire, channel
        local records, expired, silent = {}, {}, {}
        for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local alive = redis.call('EXISTS', ARGV[1] .. ':alive:' .. id) == 1
            if not alive and ARGV[2] == '1' then
                redis.call('SREM', KEYS[1], id)
                redis.call('DEL', ARGV[1] .. ':member:' .. id)
                table.insert(expired, id)
            else
                if not alive then
                    table.insert(silent, id)
                end
                table.insert(records, redis.call('HGETALL', ARGV[1] .. ':member:' .. id))
            end
        end
        local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
        if #expired > 0 then
            epoch = redis.call('INCR', KEYS[2])
            redis.call('PUBLISH', ARGV[3], epoch)
        end
        return {epoch, expired, silent, records}
        ",
    )
});

/// What a heartbeat did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Heartbeat {
    /// The new epoch if the record was written, 0 if only the heartbeat key was renewed.
    pub(crate) epoch: u64,
    /// Whether the record had to be re-created (Redis lost it, or the member was expired).
    pub(crate) recreated: bool,
}

/// What a heartbeat writes: the member's record and its count of offices held, if known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Beat<'m> {
    /// The record.
    pub(crate) member: &'m Member,
    /// Offices the member holds now (`None` before it counted them).
    pub(crate) offices_held: Option<usize>,
}

/// Renews `beat.member`'s heartbeat; see [`HEARTBEAT`].
pub(crate) async fn heartbeat(
    conn: &mut ConnectionManager,
    keys: &Keys,
    beat: Beat<'_>,
    ttl: Duration,
    known_epoch: u64,
    force: bool,
) -> Result<Heartbeat, CoordinationError> {
    let member = beat.member;
    let mut invocation = HEARTBEAT.prepare_invoke();
    invocation
        .key(keys.members())
        .key(keys.member(&member.id))
        .key(keys.alive(&member.id))
        .key(keys.epoch())
        .arg(&member.id)
        .arg(millis(ttl))
        .arg(known_epoch)
        .arg(keys.channel())
        .arg(u8::from(force))
        .arg(beat.offices_held.map(|n| n.to_string()).unwrap_or_default());
    for (name, value) in member.to_fields() {
        invocation.arg(name).arg(value);
    }
    let (epoch, recreated): (u64, u8) = invocation.invoke_async(conn).await?;
    Ok(Heartbeat {
        epoch,
        recreated: recreated == 1,
    })
}

/// Removes member `id`; the new epoch, or `None` if it was not listed.
pub(crate) async fn leave(
    conn: &mut ConnectionManager,
    keys: &Keys,
    id: &str,
) -> Result<Option<u64>, CoordinationError> {
    let epoch: u64 = LEAVE
        .key(keys.members())
        .key(keys.member(id))
        .key(keys.alive(id))
        .key(keys.epoch())
        .arg(id)
        .arg(keys.channel())
        .invoke_async(conn)
        .await?;
    Ok((epoch > 0).then_some(epoch))
}

/// The membership as read by [`READ_VIEW`].
#[derive(Debug, Clone)]
pub(crate) struct ViewRead {
    /// The epoch after the read (0: no member ever registered, or Redis lost its data).
    pub(crate) epoch: u64,
    /// The listed members.
    pub(crate) members: Vec<Member>,
    /// The offices each listed member said it holds at its last heartbeat, by id.
    pub(crate) offices_held: HashMap<String, usize>,
    /// Members removed by this read because their heartbeat had expired.
    pub(crate) expired: Vec<String>,
    /// Listed members whose heartbeat has expired (only when not expiring).
    pub(crate) silent: Vec<String>,
}

/// Reads the membership; see [`READ_VIEW`]. A record that cannot be read is an error rather
/// than left out: leaving it out would look like a departure.
pub(crate) async fn read_view(
    conn: &mut ConnectionManager,
    keys: &Keys,
    expire: bool,
) -> Result<ViewRead, CoordinationError> {
    type Reply = (u64, Vec<String>, Vec<String>, Vec<HashMap<String, String>>);
    let (epoch, expired, silent, records): Reply = READ_VIEW
        .key(keys.members())
        .key(keys.epoch())
        .arg(keys.prefix())
        .arg(u8::from(expire))
        .arg(keys.channel())
        .invoke_async(conn)
        .await?;
    let mut offices_held = HashMap::new();
    let members = records
        .into_iter()
        // A record deleted between SMEMBERS and HGETALL cannot happen inside the script; an
        // empty one is a member listed without a record, which a heartbeat will re-create.
        .filter(|fields| !fields.is_empty())
        .map(|mut fields| {
            let held = fields.remove("offices_held").and_then(|n| n.parse().ok());
            let member = Member::from_fields(fields)?;
            if let Some(held) = held {
                offices_held.insert(member.id.clone(), held);
            }
            Ok(member)
        })
        .collect::<Result<_, CoordinationError>>()?;
    Ok(ViewRead {
        epoch,
        members,
        offices_held,
        expired,
        silent,
    })
}
