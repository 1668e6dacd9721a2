//! Drives a [`World`] with operations and checks what the clients see: every iq is
//! answered exactly once; a client removed from a room is told once, with 110 and a
//! cause unless it left; at quiescence every connected client's view of every room it
//! is in equals the room. The service's own invariants are checked by the world after
//! every input.

use super::ops::{Cast, Op};
use super::{Check, Tripped};
use crate::world::{ConnId, World};
use server::jids::BareJid;
use server::ns;
use server::xml::Element;
use server::StatusCode;
use std::collections::BTreeMap;

/// One client's knowledge of one room.
#[derive(Clone, Debug, Default)]
struct RoomSide {
    /// The service crashed since the client last knew where it stood: what it sees
    /// until the next quiescence may come from before or after the crash, so it is
    /// not judged; at quiescence it learns the truth (as a XEP-0410 self-ping would).
    stale: bool,
    in_room: bool,
    /// Leaves sent and not yet confirmed.
    leaving: u32,
    /// nick → (affiliation, role).
    view: BTreeMap<String, (String, String)>,
}

#[derive(Clone, Debug)]
struct Client {
    conn: ConnId,
    /// By room index.
    rooms: Vec<RoomSide>,
    /// The nick (index) each room knows the client by, as far as it asked.
    nicks: Vec<u8>,
}

pub struct Driver {
    pub cast: Cast,
    clients: Vec<Client>,
    /// iq id → (connection, answers so far).
    iqs: BTreeMap<String, (ConnId, u32)>,
    next_id: u64,
}

impl Driver {
    /// Connects every client of `cast` to `world`.
    ///
    /// Errors: [`Check::Setup`] when a client cannot connect.
    pub fn new(cast: Cast, world: &mut World) -> Result<Driver, Tripped> {
        let mut clients = Vec::new();
        for (i, jid) in cast.clients.iter().enumerate() {
            let conn = world
                .connect(jid, jid, None)
                .map_err(|e| Tripped::new(Check::Setup, e.to_string()))?;
            clients.push(Client {
                conn,
                rooms: vec![RoomSide::default(); cast.rooms.len()],
                nicks: vec![cast.own_nick(i); cast.rooms.len()],
            });
        }
        Ok(Driver {
            cast,
            clients,
            iqs: BTreeMap::new(),
            next_id: 0,
        })
    }

    pub fn conn(&self, client: usize) -> ConnId {
        self.clients[client].conn
    }

    /// Applies one operation: sends its stanza, or performs its fault.
    pub fn apply(&mut self, world: &mut World, op: &Op) {
        let c = self.cast.client(op.client());
        let conn = self.clients[c].conn;
        match op {
            Op::Disconnect { .. } => {
                let _ = world.disconnect(conn);
                return;
            }
            Op::Reconnect { .. } => {
                if !world.is_open(conn) {
                    let jid = self.cast.clients[c].clone();
                    if let Ok(conn) = world.connect(&jid, &jid, None) {
                        self.clients[c] = Client {
                            conn,
                            rooms: vec![RoomSide::default(); self.cast.rooms.len()],
                            nicks: vec![self.cast.own_nick(c); self.cast.rooms.len()],
                        };
                    }
                }
                return;
            }
            Op::StopReading { ms, .. } => {
                let until = server::Millis(world.now().0 + u64::from(*ms));
                world.pause_reading(conn, until);
                return;
            }
            _ => {}
        }
        if !world.is_open(conn) {
            return;
        }
        let room = op.room().map(|r| usize::from(r) % self.cast.rooms.len());
        let current = room.map_or(0, |r| self.clients[c].nicks[r]);
        self.next_id += 1;
        let id = format!("swarm-{}-q", self.next_id);
        let Some(el) = op.stanza(&self.cast, &id, current) else {
            return;
        };
        if let Some(r) = room {
            match op {
                Op::Join { nick, .. } | Op::ChangeNick { nick, .. } => self.clients[c].nicks[r] = *nick,
                Op::Leave { .. } => self.clients[c].rooms[r].leaving += 1,
                _ => {}
            }
        }
        let is_request = el.name == "iq" && matches!(el.attr("type"), Some("get" | "set"));
        if let (true, Some(id)) = (is_request && !matches!(op, Op::Raw { .. }), el.attr("id")) {
            self.iqs.insert(id.to_string(), (conn, 0));
        }
        let _ = world.send(conn, el);
    }

    /// The service crashes and restarts from its disk. Occupants are gone; the
    /// clients do not know yet.
    pub fn crash(&mut self, world: &mut World) -> Result<(), Tripped> {
        // What the clients already read was sent before the crash and is judged as such.
        self.absorb(world)?;
        world.crash_service();
        for client in &mut self.clients {
            for side in &mut client.rooms {
                side.stale = true;
            }
        }
        Ok(())
    }

    /// Reads everything the clients received; fails on an iq answered twice or a bad
    /// removal notice.
    pub fn absorb(&mut self, world: &mut World) -> Result<(), Tripped> {
        for c in 0..self.clients.len() {
            let conn = self.clients[c].conn;
            while let Some(el) = world.take_received(conn) {
                self.observe(c, &el)?;
            }
        }
        Ok(())
    }

    fn observe(&mut self, c: usize, el: &Element) -> Result<(), Tripped> {
        let who = &self.cast.clients[c];
        if el.name == "iq" && matches!(el.attr("type"), Some("result" | "error")) {
            if let Some((conn, n)) = el.attr("id").and_then(|id| self.iqs.get_mut(id)) {
                if *conn == self.clients[c].conn {
                    *n += 1;
                    if *n > 1 {
                        return Err(Tripped::new(
                            Check::IqAnsweredTwice,
                            format!("{who}: iq {} answered {n} times", el.attr("id").unwrap_or("")),
                        ));
                    }
                }
            }
            return Ok(());
        }
        if el.name != "presence" || el.attr("type") == Some("error") {
            return Ok(());
        }
        let Some((room, nick)) = el.attr("from").and_then(|f| f.split_once('/')) else {
            return Ok(());
        };
        let Some(r) = self.cast.rooms.iter().position(|x| x == room) else {
            return Ok(());
        };
        let Some(x) = el.child("x", ns::MUC_USER) else {
            return Ok(());
        };
        let codes = StatusCode::read_all(x);
        let has = |code: StatusCode| codes.contains(&code);
        let shown = || codes.iter().map(|c| c.as_str()).collect::<Vec<_>>();
        let item = x.child("item", ns::MUC_USER);
        let attr = |n: &str| item.and_then(|i| i.attr(n)).unwrap_or("none").to_string();
        let side = &mut self.clients[c].rooms[r];
        if side.stale {
            return Ok(());
        }
        if el.attr("type") != Some("unavailable") {
            if has(StatusCode::SelfPresence) {
                side.in_room = true;
            }
            side.view
                .insert(nick.to_string(), (attr("affiliation"), attr("role")));
            return Ok(());
        }
        side.view.remove(nick);
        if has(StatusCode::NickChanged) || !has(StatusCode::SelfPresence) {
            return Ok(());
        }
        let caused = x.child("destroy", ns::MUC_USER).is_some() || codes.iter().any(|c| c.is_removal());
        if !side.in_room {
            return Err(Tripped::new(
                Check::RemovedWhileAbsent,
                format!("{who}: told it left {room} while not in it (codes {:?})", shown()),
            ));
        }
        if !caused && side.leaving == 0 {
            return Err(Tripped::new(
                Check::RemovedWithoutCause,
                format!("{who}: removed from {room} without a cause (codes {:?})", shown()),
            ));
        }
        if !caused {
            // This is the answer to one of its leaves.
            side.leaving -= 1;
        }
        side.in_room = false;
        side.view.clear();
        Ok(())
    }

    /// After a step: reads what the clients received, then the service's invariants;
    /// at quiescence also every iq answer and every view.
    pub fn check(&mut self, world: &mut World, quiescent: bool) -> Result<(), Tripped> {
        self.absorb(world)?;
        if let Some(v) = world.violation() {
            return Err(Tripped::new(
                Check::Invariant(v.invariant),
                format!("the service broke an invariant: {v}"),
            ));
        }
        if let Some(lost) = world.lost_on_crash() {
            return Err(Tripped::new(
                Check::DurableBeforeTold,
                format!("a change the service had told of did not survive a crash: {lost}"),
            ));
        }
        if quiescent {
            self.resync(world);
            self.check_quiescent(world)?;
        }
        Ok(())
    }

    /// At quiescence after a crash, each client learns where it stands in the rooms it
    /// lost track of: in or out, and who is there.
    fn resync(&mut self, world: &World) {
        for c in 0..self.clients.len() {
            let conn = self.clients[c].conn;
            for r in 0..self.clients[c].rooms.len() {
                if !self.clients[c].rooms[r].stale {
                    continue;
                }
                let mut side = RoomSide::default();
                if let Some(room) = BareJid::new(&self.cast.rooms[r])
                    .ok()
                    .and_then(|j| world.service().room(&j))
                {
                    let me = world.full_jid(conn);
                    side.in_room = world.is_open(conn)
                        && room.occupants().any(|o| o.sessions.iter().any(|s| &s.jid == me));
                    if side.in_room {
                        side.view = occupant_view(room);
                    }
                }
                self.clients[c].rooms[r] = side;
            }
        }
    }

    /// At quiescence: every iq of a connected client answered, every view equal to
    /// its room.
    fn check_quiescent(&self, world: &World) -> Result<(), Tripped> {
        for (id, (conn, n)) in &self.iqs {
            if *n == 0 && world.is_open(*conn) {
                return Err(Tripped::new(
                    Check::IqNeverAnswered,
                    format!("{}: iq {id} never answered", world.label(*conn)),
                ));
            }
        }
        for (c, client) in self.clients.iter().enumerate() {
            if !world.is_open(client.conn) {
                continue;
            }
            for (r, side) in client.rooms.iter().enumerate() {
                if !side.in_room {
                    continue;
                }
                let jid = BareJid::new(&self.cast.rooms[r])
                    .map_err(|e| Tripped::new(Check::Setup, e.to_string()))?;
                let actual = world.service().room(&jid).map(occupant_view).unwrap_or_default();
                if side.view != actual {
                    return Err(Tripped::new(
                        Check::ViewDiffers,
                        format!(
                            "{} sees {} as {:?}, but it holds {:?}",
                            self.cast.clients[c], self.cast.rooms[r], side.view, actual
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A room's occupants as a client's view holds them: nick → (affiliation, role).
fn occupant_view(room: &server::muc::Room) -> BTreeMap<String, (String, String)> {
    room.occupants()
        .map(|occ| {
            let aff = room.affiliation(&occ.bare).as_str().to_string();
            (occ.nick.clone(), (aff, occ.role.as_str().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldConfig;

    fn el(s: &str) -> Element {
        server::xml::parse_stanza(s.as_bytes(), ns::CLIENT, &Default::default()).expect("a stanza")
    }

    fn driver() -> (Driver, World) {
        let mut world = World::new(WorldConfig::new(0));
        let driver = Driver::new(Cast::new(8, 3).expect("a cast"), &mut world).expect("a driver");
        (driver, world)
    }

    const GONE: &str = "<presence from='room@conference.localhost/Juliet' type='unavailable'>\
        <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/>\
        <status code='110'/></x></presence>";

    #[test]
    fn each_observer_check_names_itself() {
        let (mut d, _world) = driver();
        let told_while_out = d.observe(2, &el(GONE)).expect_err("not in the room");
        assert_eq!(told_while_out.check, Check::RemovedWhileAbsent);
        d.clients[2].rooms[0].in_room = true;
        let uncaused = d.observe(2, &el(GONE)).expect_err("no cause, no leave");
        assert_eq!(uncaused.check, Check::RemovedWithoutCause);
        d.clients[2].rooms[0].in_room = true;
        d.clients[2].rooms[0].leaving = 1;
        assert_eq!(d.observe(2, &el(GONE)), Ok(()), "the answer to its leave");
        let conn = d.clients[2].conn;
        d.iqs.insert("q1".into(), (conn, 0));
        let answer = el("<iq type='result' id='q1' from='room@conference.localhost'/>");
        assert_eq!(d.observe(2, &answer), Ok(()));
        let twice = d.observe(2, &answer).expect_err("answered twice");
        assert_eq!(twice.check, Check::IqAnsweredTwice);
        assert!(twice.what.contains("answered 2 times"), "{twice}");
    }

    #[test]
    fn quiescence_trips_unanswered_iqs_and_wrong_views() {
        let (mut d, mut world) = driver();
        world.run_until_quiet();
        assert_eq!(d.check(&mut world, true), Ok(()));
        let conn = d.clients[0].conn;
        d.iqs.insert("lost".into(), (conn, 0));
        let e = d.check(&mut world, true).expect_err("never answered");
        assert_eq!(e.check, Check::IqNeverAnswered);
        d.iqs.clear();
        // Juliet believes she is in a room that does not exist.
        let side = &mut d.clients[2].rooms[0];
        side.in_room = true;
        side.view
            .insert("Juliet".into(), ("none".into(), "participant".into()));
        let e = d.check(&mut world, true).expect_err("the view differs");
        assert_eq!(e.check, Check::ViewDiffers);
    }
}
