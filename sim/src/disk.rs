//! A simulated disk for the service's [`StoreOp`]s: writes land in a volatile cache
//! and become durable only at a `Sync`; a crash loses whatever was not yet durable;
//! a restart rebuilds the service from what is durable. For each room address the
//! disk holds a room's record, a destroyed room's tombstone, or nothing.

use server::jids::BareJid;
use server::{MucService, RestoreError, RoomRecord, ServiceConfig, StoreOp, Stored, Tombstone};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SimDisk {
    durable: BTreeMap<BareJid, Stored>,
    /// Writes since the last sync, in order (`None`: a delete).
    volatile: Vec<(BareJid, Option<Stored>)>,
}

/// What a crash cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Writes that had not been synced.
    pub lost_writes: usize,
    /// Rooms the restarted service holds.
    pub rooms: usize,
}

impl std::fmt::Display for CrashReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} writes not yet durable are lost; it restarts from its disk with {} kept rooms, empty",
            self.lost_writes, self.rooms
        )
    }
}

/// A service's storage as the harnesses (the world, the model) keep it: the disk, and
/// what the service has told of — each kept room's record as of the last input that
/// changed it. After a crash, the restarted service must hold exactly what was told.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Storage {
    pub disk: SimDisk,
    told: BTreeMap<BareJid, Option<Arc<RoomRecord>>>,
    /// The tombstones the service held after its last input ([`Storage::note_tombstones`]):
    /// the addresses it answers `gone` for, as the destroy's iq result told its owner.
    told_tombstones: BTreeMap<BareJid, Arc<Tombstone>>,
}

/// A kept room whose record differs from what the service told of: the room, its
/// record now, and the record told of (`None`: gone).
pub type BrokenPromise<'a> = (&'a BareJid, Option<RoomRecord>, Option<&'a RoomRecord>);

impl Storage {
    /// Storage holding `records`, durable and told of (a service after its setup).
    pub fn with_records(records: Vec<RoomRecord>) -> Storage {
        Storage {
            told: records
                .iter()
                .map(|r| (r.jid.clone(), Some(Arc::new(r.clone()))))
                .collect(),
            disk: SimDisk::with_records(records),
            told_tombstones: BTreeMap::new(),
        }
    }

    /// Applies one input's storage effects to the disk and notes what was told of.
    pub fn absorb(&mut self, store: &[StoreOp]) {
        for op in store {
            match op {
                StoreOp::Put(r) => {
                    self.told.insert(r.jid.clone(), Some(r.clone()));
                }
                StoreOp::Bury(t) => {
                    self.told.insert(t.jid.clone(), None);
                }
                StoreOp::Delete(j) => {
                    self.told.insert(j.clone(), None);
                }
                StoreOp::Sync => {}
            }
        }
        self.disk.apply_all(store);
    }

    /// Notes the tombstones `svc` holds after an input (call it after each input,
    /// with [`Storage::absorb`]). Taken from the service's state rather than from its
    /// storage effects, so that a tombstone the service never wrote is missed after a
    /// crash as surely as one it wrote too late.
    pub fn note_tombstones(&mut self, svc: &MucService) {
        let same = self.told_tombstones.len() == svc.tombstones().count()
            && svc
                .tombstones()
                .all(|t| self.told_tombstones.get(&t.jid).is_some_and(|k| **k == *t));
        if !same {
            self.told_tombstones = svc
                .tombstones()
                .map(|t| (t.jid.clone(), Arc::new(t.clone())))
                .collect();
        }
    }

    /// The first address whose tombstone `svc` holds differently from what was told
    /// of: the address, the tombstone `svc` holds, and the one told of (`None`: none).
    pub fn broken_tombstone<'a>(
        &'a self,
        svc: &'a MucService,
    ) -> Option<(&'a BareJid, Option<&'a Tombstone>, Option<&'a Tombstone>)> {
        let told = self.told_tombstones.iter().find_map(|(room, told)| {
            let now = svc.tombstone(room);
            (now != Some(&**told)).then_some((room, now, Some(&**told)))
        });
        told.or_else(|| {
            svc.tombstones()
                .find(|t| !self.told_tombstones.contains_key(&t.jid))
                .map(|t| (&t.jid, Some(t), None))
        })
    }

    /// The first kept room `svc` holds differently from what was told of, compared
    /// by `same` (a property may look at one part of the record).
    pub fn broken_promise(
        &self,
        svc: &MucService,
        same: impl Fn(&RoomRecord, &RoomRecord) -> bool,
    ) -> Option<BrokenPromise<'_>> {
        self.told.iter().find_map(|(room, told)| {
            let now = svc.room(room).and_then(|r| r.record());
            let kept = match (&now, told) {
                (None, None) => true,
                (Some(n), Some(t)) => same(n, t),
                _ => false,
            };
            (!kept).then_some((room, now, told.as_deref()))
        })
    }
}

impl SimDisk {
    pub fn apply(&mut self, op: &StoreOp) {
        match op {
            StoreOp::Put(r) => self.volatile.push((r.jid.clone(), Some(Stored::Room(r.clone())))),
            StoreOp::Bury(t) => self
                .volatile
                .push((t.jid.clone(), Some(Stored::Tombstone(t.clone())))),
            StoreOp::Delete(j) => self.volatile.push((j.clone(), None)),
            StoreOp::Sync => {
                for (jid, rec) in self.volatile.drain(..) {
                    match rec {
                        Some(r) => {
                            self.durable.insert(jid, r);
                        }
                        None => {
                            self.durable.remove(&jid);
                        }
                    }
                }
            }
        }
    }

    pub fn apply_all(&mut self, ops: &[StoreOp]) {
        for op in ops {
            self.apply(op);
        }
    }

    /// Writes not yet durable.
    pub fn pending(&self) -> usize {
        self.volatile.len()
    }

    /// The durable record of `room`, if any.
    pub fn durable(&self, room: &BareJid) -> Option<&RoomRecord> {
        match self.durable.get(room) {
            Some(Stored::Room(r)) => Some(r),
            _ => None,
        }
    }

    /// The durable tombstone at `room`, if any.
    pub fn durable_tombstone(&self, room: &BareJid) -> Option<&Tombstone> {
        match self.durable.get(room) {
            Some(Stored::Tombstone(t)) => Some(t),
            _ => None,
        }
    }

    pub fn durable_records(&self) -> impl Iterator<Item = RoomRecord> + '_ {
        self.durable.values().filter_map(|s| match s {
            Stored::Room(r) => Some((**r).clone()),
            Stored::Tombstone(_) => None,
        })
    }

    pub fn durable_tombstones(&self) -> impl Iterator<Item = Tombstone> + '_ {
        self.durable.values().filter_map(|s| match s {
            Stored::Tombstone(t) => Some((**t).clone()),
            Stored::Room(_) => None,
        })
    }

    /// The power goes: unsynced writes are lost. Then a fresh service is built from
    /// what is durable.
    pub fn crash_and_restart(
        &mut self,
        cfg: ServiceConfig,
    ) -> Result<(MucService, CrashReport), RestoreError> {
        let lost_writes = self.volatile.len();
        self.volatile.clear();
        let svc =
            MucService::restore_with_tombstones(cfg, self.durable_records(), self.durable_tombstones())?;
        let rooms = svc.rooms().count();
        Ok((svc, CrashReport { lost_writes, rooms }))
    }
}

/// The storage effects of one input in words, with where they fall among its
/// `before` + `after` stanzas (for transcripts).
pub fn describe_effects(store: &[StoreOp], before: usize, after: usize) -> String {
    let ops: Vec<String> = store
        .iter()
        .map(|op| match op {
            StoreOp::Put(r) => format!("writes {}", r.jid),
            StoreOp::Bury(t) => format!("writes the tombstone of {}", t.jid),
            StoreOp::Delete(j) => format!("deletes {j}"),
            StoreOp::Sync => "syncs".to_string(),
        })
        .collect();
    let durable = if matches!(store.last(), Some(StoreOp::Sync)) {
        ""
    } else {
        " (no sync: not yet durable)"
    };
    let stanzas = |n: usize| {
        if n == 1 {
            "1 stanza".to_string()
        } else {
            format!("{n} stanzas")
        }
    };
    if before == 0 {
        format!("{}{durable}, then sends {}", ops.join(", "), stanzas(after))
    } else {
        format!(
            "sends {} first, then {}{durable}",
            stanzas(before),
            ops.join(", ")
        )
    }
}

/// The simulated disk keeps the service's storage contract like any store; it never
/// fails (a crash, not an error, is how it loses writes).
impl server::RoomStore for SimDisk {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<(), server::StoreError> {
        self.apply_all(ops);
        Ok(())
    }
}

impl SimDisk {
    /// A disk holding `records`, all durable (a service's state after its setup).
    pub fn with_records(records: impl IntoIterator<Item = RoomRecord>) -> SimDisk {
        SimDisk {
            durable: records
                .into_iter()
                .map(|r| (r.jid.clone(), Stored::Room(Arc::new(r))))
                .collect(),
            volatile: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server::{Affiliation, RoomConfig};

    fn rec(room: &str, member: bool) -> Arc<RoomRecord> {
        let mut affiliations: BTreeMap<BareJid, Affiliation> = BTreeMap::new();
        affiliations.insert("owner@localhost".parse().unwrap(), Affiliation::Owner);
        if member {
            affiliations.insert("bob@localhost".parse().unwrap(), Affiliation::Member);
        }
        Arc::new(RoomRecord {
            jid: room.parse().unwrap(),
            config: RoomConfig {
                persistent: true,
                ..RoomConfig::default()
            },
            affiliations,
            reserved: BTreeMap::new(),
            ban_reasons: BTreeMap::new(),
            subject: None,
        })
    }

    #[test]
    fn the_disk_and_the_memory_store_keep_one_storage_contract() {
        // Both behind the service's one trait, as `mucsim serve` holds its store.
        let mut disk = SimDisk::default();
        let mut memory = server::store::Memory;
        let ops = [StoreOp::Put(rec("a@conference.localhost", true)), StoreOp::Sync];
        for store in [&mut disk as &mut dyn server::RoomStore, &mut memory] {
            assert_eq!(store.apply(&ops), Ok(()));
        }
        assert!(disk.durable(&"a@conference.localhost".parse().unwrap()).is_some());
        assert_eq!(disk.pending(), 0);
    }

    #[test]
    fn only_synced_writes_survive_a_crash() {
        let cfg = ServiceConfig::new("conference.localhost", 1);
        let mut d = SimDisk::default();
        d.apply_all(&[StoreOp::Put(rec("a@conference.localhost", true)), StoreOp::Sync]);
        d.apply(&StoreOp::Put(rec("a@conference.localhost", false)));
        d.apply(&StoreOp::Put(rec("b@conference.localhost", false)));
        assert_eq!(d.pending(), 2);
        let (svc, report) = d.crash_and_restart(cfg.clone()).unwrap();
        assert_eq!(
            report,
            CrashReport {
                lost_writes: 2,
                rooms: 1
            }
        );
        let a = svc.room(&"a@conference.localhost".parse().unwrap()).unwrap();
        assert_eq!(
            a.affiliation(&"bob@localhost".parse().unwrap()),
            Affiliation::Member
        );
        // A synced delete is durable too.
        d.apply_all(&[
            StoreOp::Delete("a@conference.localhost".parse().unwrap()),
            StoreOp::Sync,
        ]);
        let (svc, _) = d.crash_and_restart(cfg).unwrap();
        assert_eq!(svc.rooms().count(), 0);
    }

    fn tomb(room: &str) -> Arc<Tombstone> {
        Arc::new(Tombstone {
            jid: room.parse().unwrap(),
            reason: Some("gone fishing".into()),
            alternate: None,
            expires: server::Millis(10_000),
        })
    }

    #[test]
    fn a_synced_tombstone_survives_a_crash_and_an_unsynced_one_does_not() {
        let cfg = ServiceConfig::new("conference.localhost", 1);
        let a: BareJid = "a@conference.localhost".parse().unwrap();
        let b: BareJid = "b@conference.localhost".parse().unwrap();
        // The service as it was before the crash: a and b destroyed.
        let before = MucService::restore_with_tombstones(
            cfg.clone(),
            [],
            [
                (*tomb("a@conference.localhost")).clone(),
                (*tomb("b@conference.localhost")).clone(),
            ],
        )
        .unwrap();
        let mut storage = Storage::with_records(vec![(*rec("a@conference.localhost", true)).clone()]);
        storage.absorb(&[StoreOp::Bury(tomb("a@conference.localhost")), StoreOp::Sync]);
        assert!(
            storage.disk.durable(&a).is_none(),
            "the tombstone replaced the record"
        );
        assert_eq!(
            storage.disk.durable_tombstone(&a),
            Some(&*tomb("a@conference.localhost"))
        );
        // b's tombstone is written without a sync: lost in the crash.
        storage.absorb(&[StoreOp::Bury(tomb("b@conference.localhost"))]);
        storage.note_tombstones(&before);
        let (svc, report) = storage.disk.crash_and_restart(cfg.clone()).unwrap();
        assert_eq!(
            report,
            CrashReport {
                lost_writes: 1,
                rooms: 0
            }
        );
        assert_eq!(svc.tombstone(&a), Some(&*tomb("a@conference.localhost")));
        assert!(svc.tombstone(&b).is_none());
        assert_eq!(
            storage.broken_tombstone(&svc),
            Some((&b, None, Some(&*tomb("b@conference.localhost"))))
        );
        // A tombstone the service never wrote is missed just the same.
        let mut storage = Storage::default();
        storage.note_tombstones(&before);
        let (svc, _) = storage.disk.crash_and_restart(cfg.clone()).unwrap();
        assert_eq!(
            storage.broken_tombstone(&svc),
            Some((&a, None, Some(&*tomb("a@conference.localhost"))))
        );
        // And one that comes back from the disk though the service had dropped it.
        let mut storage = Storage::default();
        storage.absorb(&[StoreOp::Bury(tomb("a@conference.localhost")), StoreOp::Sync]);
        storage.note_tombstones(&MucService::new(cfg.clone()).unwrap());
        let (svc, _) = storage.disk.crash_and_restart(cfg).unwrap();
        assert_eq!(
            storage.broken_tombstone(&svc),
            Some((&a, Some(&*tomb("a@conference.localhost")), None))
        );
    }
}
