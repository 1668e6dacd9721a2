//! A stateright `ActorModel` over the real MUC service. Actor 0 wraps `MucService`
//! (no MUC rule is re-implemented here); actors 1.. are clients, each with a bounded
//! set of operations the checker interleaves with message deliveries. The network is
//! ordered per pair of actors, like TCP.
//!
//! - [`actor`]: the actors, the messages and the explored state;
//! - [`notice`]: what a client reads of a stanza (the network carries only that);
//! - a client's view and verdicts are the oracle's (`mucsim-oracle`), kept in
//!   [`actor::ClientState`];
//! - [`ops`]: client operations and the stanzas they are;
//! - [`scenario`]: who is in the world and what each may do;
//! - [`properties`]: the properties, named as sentences;
//! - [`symmetry`]: the representative of a state under swapping alike clients;
//! - [`replay`]: a path back as a full stanza transcript and as a `.scs` script;
//! - [`check`]: running the checker and collecting verdicts;
//! - [`explore`]: the model as stateright's Explorer shows it, in MUC terms.

pub mod actor;
pub mod check;
pub mod explore;
pub mod notice;
pub mod ops;
pub mod properties;
pub mod replay;
pub mod scenario;
pub mod symmetry;

pub use actor::{Cast, ClientSpec, Msg, MucActor, State};

use actor::View;
use notice::Nicks;
use server::MucService;
use stateright::actor::{ActorModel, Network};

/// Room `room`'s occupants as the clients' [`View`] shows them.
pub fn room_view(svc: &MucService, room: u8, nicks: &Nicks) -> View {
    oracle::expected_view(svc.room(ops::room_bare_jid(room)), |n| nicks.get(n))
}

pub type Model = ActorModel<MucActor, (), ()>;

/// Builds the model for `scenario`, with all properties.
pub fn model(scenario: &scenario::Scenario) -> Result<Model, String> {
    let model = ActorModel::new((), ())
        .actors(scenario.actors()?)
        .init_network(Network::new_ordered([]));
    Ok(properties::properties(model))
}
