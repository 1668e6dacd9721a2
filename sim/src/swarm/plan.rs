//! Seed → plan. Every random choice comes from one ChaCha8 stream seeded with the
//! seed, so a seed names its plan for good.

use super::ops::{ConfigForm, Kind, Op};
use super::{Plan, Step, SwarmConfig};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Dice(ChaCha8Rng);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.next_u64() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn u8_below(&mut self, n: usize) -> u8 {
        self.below(n as u64) as u8
    }
    fn maybe_bool(&mut self) -> Option<bool> {
        match self.below(3) {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        }
    }
}

const CRASH_STREAM: u64 = 0x6372_6173_6800_0000;

/// The plan for `seed`: enabled kinds (each with even odds, joins always), latency
/// and jitter, service crashes (in 30 % of seeds, then at about 1 % of steps), then
/// `cfg.steps` steps — operations, often in bursts with no time
/// between them, waits, and a quiescence check every so often and at the end.
pub fn plan(cfg: &SwarmConfig, seed: u64) -> Plan {
    let mut d = Dice(ChaCha8Rng::seed_from_u64(seed));
    let mut kinds: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| *k == Kind::Join || d.chance(50))
        .collect();
    kinds.sort();
    let lo = 1 + d.below(3);
    let jitter = if d.chance(30) { 200 } else { 10 };
    let latency_ms = (lo, lo + d.below(jitter));
    let mut steps = Vec::with_capacity(cfg.steps);
    let mut burst = 0;
    // Service crashes draw from a stream of their own, so that they leave every
    // other choice of a seed as it was before crashes existed.
    let mut crash_dice = Dice(ChaCha8Rng::seed_from_u64(seed ^ CRASH_STREAM));
    let crashes = crash_dice.chance(30);
    while steps.len() < cfg.steps {
        if crashes && crash_dice.chance(1) {
            steps.push(Step::Crash);
            continue;
        }
        if burst == 0 {
            if d.chance(8) {
                let longest = if d.chance(10) { 1000 } else { 20 };
                steps.push(Step::Wait(1 + d.below(longest) as u16));
                continue;
            }
            if d.chance(2) {
                steps.push(Step::Quiesce);
                continue;
            }
            burst = if d.chance(10) { 2 + d.below(10) } else { 1 };
        }
        burst -= 1;
        let kind = kinds[d.below(kinds.len() as u64) as usize];
        steps.push(Step::Op(op(&mut d, cfg, kind)));
    }
    Plan {
        seed,
        kinds,
        latency_ms,
        steps,
    }
}

fn op(d: &mut Dice, cfg: &SwarmConfig, kind: Kind) -> Op {
    let clients = cfg.clients;
    let room = d.u8_below(cfg.rooms);
    // Requests that need a privilege come from Romeo's sessions (clients 0 and 1,
    // the owner of every room he created) a third of the time, else from anyone:
    // admins, members, moderators, visitors, outsiders and outcasts all try them
    // (issue 20: every actor acts), and Romeo's grants make them so.
    let privileged = |d: &mut Dice| {
        if d.chance(35) {
            d.u8_below(clients.min(2))
        } else {
            d.u8_below(clients)
        }
    };
    let client = d.u8_below(clients);
    // Mostly the client's own nick, sometimes another's (conflicts).
    let nick = |d: &mut Dice, c: u8| {
        let own = (2 * (usize::from(c) / 2)) as u8;
        match d.below(10) {
            0..=5 => own,
            6 | 7 => own + 1,
            _ => d.u8_below(18),
        }
    };
    match kind {
        Kind::Join => Op::Join {
            client,
            room,
            nick: nick(d, client),
            password: d.chance(50),
        },
        Kind::Leave => Op::Leave { client, room },
        Kind::Nick => Op::ChangeNick {
            client,
            room,
            nick: nick(d, client),
        },
        Kind::Configure => Op::Configure {
            client: privileged(d),
            room,
            form: ConfigForm {
                members_only: d.maybe_bool(),
                moderated: d.maybe_bool(),
                password: if d.chance(40) { d.maybe_bool() } else { None },
                persistent: d.maybe_bool(),
                public_jids: d.maybe_bool(),
                change_subject: d.maybe_bool(),
                allow_invites: d.maybe_bool(),
                max_users: if d.chance(10) { Some(d.u8_below(8)) } else { None },
                junk: if d.chance(5) { Some(d.u8_below(256)) } else { None },
                cancel: d.chance(5),
            },
        },
        Kind::Affiliate if d.chance(8) => Op::AffiliateDomain {
            client: privileged(d),
            room,
            affiliation: d.u8_below(5),
        },
        Kind::Affiliate => {
            let client = privileged(d);
            let target = d.u8_below(clients);
            let choices = if d.chance(3) { 6 } else { 5 };
            Op::Affiliate {
                client,
                room,
                target,
                affiliation: d.u8_below(choices),
            }
        }
        Kind::Role => {
            let client = privileged(d);
            let nick = d.u8_below(16);
            let choices = if d.chance(3) { 5 } else { 4 };
            Op::Role {
                client,
                room,
                nick,
                role: d.u8_below(choices),
            }
        }
        Kind::Message => match d.below(5) {
            0 => Op::Groupchat { client, room },
            1 => Op::Private {
                client,
                room,
                nick: d.u8_below(16),
            },
            2 => Op::Subject { client, room },
            3 => Op::Invite {
                client,
                room,
                target: d.u8_below(clients),
            },
            _ => Op::Decline {
                client,
                room,
                target: d.u8_below(clients),
            },
        },
        Kind::Destroy => Op::Destroy {
            client: privileged(d),
            room,
        },
        Kind::Query => {
            if d.chance(50) {
                Op::AdminList {
                    client,
                    room,
                    affiliation: d.u8_below(5),
                }
            } else {
                Op::Disco { client, room }
            }
        }
        Kind::Disconnect => {
            if d.chance(50) {
                Op::Disconnect { client }
            } else {
                Op::Reconnect { client }
            }
        }
        Kind::StopReading => Op::StopReading {
            client,
            ms: 1 + d.below(500) as u16,
        },
        Kind::Malformed => match d.below(4) {
            0 => Op::IqWithoutId { client, room },
            1 => Op::InvalidJidItem {
                client: privileged(d),
                room,
            },
            2 => Op::ManyItems {
                client: privileged(d),
                room,
                n: d.u8_below(20),
            },
            _ => {
                let junk: &[&[u8]] = &[
                    b"<presence to='room@conference.localhost/x' type='bogus'/>",
                    b"<message to='room@conference.localhost' type='groupchat'><body>&#x1;</body></message>",
                    b"<iq to='room@conference.localhost' type='set' id='r'><query xmlns='http://jabber.org/protocol/muc#admin'><item/></query></iq>",
                    b"<presence to='room@conference.localhost/'/>",
                    b"<message to='nobody@elsewhere.example' type='error'/>",
                ];
                Op::Raw {
                    client,
                    bytes: junk[d.below(junk.len() as u64) as usize].to_vec(),
                }
            }
        },
    }
}
