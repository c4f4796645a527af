//! The services screen: refreshing it, its cursor, opening a host, removing a dead
//! ident, and the results of the Redis work they ask for.

use super::cursor::moved;
use crate::tui::action::{Done, Effect, Failure};
use crate::tui::keymap::Command;
use crate::tui::state::State;
use crate::tui::state::layout::list_rows;
use crate::tui::state::modal::{Confirmed, Modal};
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::services::Health;

/// Asks for the hosts and listeners again, unless a refresh is on its way.
pub fn refresh_services(app: &mut State) -> Vec<Effect> {
    if !app.online {
        app.services.failure = Some("offline: services are found in Redis".to_owned());
        return Vec::new();
    }
    if app.services.loading {
        return Vec::new();
    }
    app.services.loading = true;
    vec![Effect::RefreshServices]
}

/// A services screen command.
pub fn command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let services = &mut app.services;
    services.selected = moved(services.selected, services.hosts.len(), command, page);
    match command {
        Command::Open if services.selected < services.hosts.len() => {
            app.modal = Some(Modal::Host {
                index: services.selected,
                scroll: 0,
            });
        }
        Command::Refresh => {
            app.services.loading = false;
            return refresh_services(app);
        }
        Command::Delete => {
            let Some(host) = services.hosts.get(services.selected) else {
                return Vec::new();
            };
            if !matches!(host.health, Health::Dead { .. }) {
                app.complain("that process answers its pings: only dead idents are removed");
                return Vec::new();
            }
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Remove {} from {}?",
                    clean(&host.ident, 80),
                    clean(app.channels.health_hash(), 60)
                ),
                then: Confirmed::RemoveIdent(host.ident.clone()),
            });
        }
        _ => {}
    }
    Vec::new()
}

/// Results of the services screen's work.
pub fn finished(app: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Services {
            hosts,
            listened,
            nodes,
        } => {
            let services = &mut app.services;
            services.hosts = hosts;
            services.listened = listened;
            services.nodes = nodes;
            services.loading = false;
            services.failure = None;
            services.refreshed = Some(app.now);
            services.selected = services
                .selected
                .min(services.hosts.len().saturating_sub(1));
        }
        Done::IdentRemoved(ident) => {
            app.say(format!("removed {}", clean(&ident, 80)));
            app.services.loading = false;
            return refresh_services(app);
        }
        Done::Failed(Failure::Services, why) => {
            app.services.loading = false;
            app.services.failure = Some(why);
            app.services.refreshed = Some(app.now);
        }
        _ => {}
    }
    Vec::new()
}
