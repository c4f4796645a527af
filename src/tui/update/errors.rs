//! The errors screen: live records and the queue's page, its commands (open, re-send,
//! delete, trim, pages), and the results of the Redis work they ask for.

use super::cursor::moved;
use crate::tui::action::{Action, Done, Effect, Failure};
use crate::tui::keymap::Command;
use crate::tui::model::{ERRORS_PAGE, Fire};
use crate::tui::state::State;
use crate::tui::state::layout::list_rows;
use crate::tui::state::modal::{Confirmed, Modal};
use crate::tui::state::screens::ErrorRow;
use crate::tui::target::{REPLAY_TIMEOUT, record_target};
use gilmour::inspect::sanitize::clean;

/// Asks for a page of the queue.
pub fn load_errors(app: &mut State, page: usize) -> Vec<Effect> {
    if !app.online {
        app.errors.failure = Some("offline: the error queue lives in Redis".to_owned());
        return Vec::new();
    }
    app.errors.loading = true;
    vec![Effect::LoadErrors { page }]
}

/// An errors screen command.
pub fn command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let errors = &mut app.errors;
    errors.selected = moved(errors.selected, errors.rows(), command, page);
    let row = errors.row(errors.selected);
    match (command, row) {
        (Command::Open, Some(ErrorRow::Queued(index))) => {
            app.modal = Some(Modal::Record { index, scroll: 0 });
        }
        (Command::Open | Command::OpenTrace, Some(ErrorRow::Live(id))) => app.open(id),
        (Command::OpenTrace, Some(ErrorRow::Queued(index))) => open_trace(app, index),
        (Command::Resend, Some(ErrorRow::Queued(index))) => return resend(app, index),
        (Command::Resend, Some(ErrorRow::Live(id))) => {
            return vec![Effect::Then(Box::new(Action::OnTrace(id, Command::Replay)))];
        }
        (Command::Delete, Some(ErrorRow::Queued(index))) => {
            let entry = errors.queue[index].clone();
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Delete this entry from {}?",
                    clean(app.channels.error_queue(), 60)
                ),
                then: Confirmed::DeleteError(Box::new(entry)),
            });
        }
        (Command::Trim, Some(ErrorRow::Queued(index))) => {
            let keep = errors.page * ERRORS_PAGE + index + 1;
            let dropped = errors.total.saturating_sub(keep);
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Trim {} to its {keep} newest entries (drop {dropped})?",
                    clean(app.channels.error_queue(), 60)
                ),
                then: Confirmed::TrimErrors(Box::new(errors.queue[index].clone())),
            });
        }
        (Command::Delete | Command::Trim, _) => {
            app.complain("only queued entries can be removed");
        }
        (Command::Refresh, _) => return load_errors(app, app.errors.page),
        (Command::NextPage, _) if (errors.page + 1) * ERRORS_PAGE < errors.total => {
            return load_errors(app, app.errors.page + 1);
        }
        (Command::PrevPage, _) if errors.page > 0 => {
            return load_errors(app, app.errors.page - 1);
        }
        _ => {}
    }
    Vec::new()
}

/// Opens the trace of the request a queued error reports, when the store has it (its
/// sender is the trace's).
pub fn open_trace(app: &mut State, index: usize) {
    let Some(record) = app.errors.queue.get(index).and_then(|q| q.record.as_ref()) else {
        return app.complain("this entry is not an error record");
    };
    match app.inspector.store().by_sender(&record.sender) {
        Some(id) => app.open(id),
        None => {
            let sender = clean(&record.sender, 40);
            app.complain(format!("no trace of sender {sender} in the store"));
        }
    }
}

/// Re-sends the request a queued error reports.
pub fn resend(app: &mut State, index: usize) -> Vec<Effect> {
    let Some(record) = app.errors.queue.get(index).and_then(|q| q.record.clone()) else {
        app.complain("this entry is not an error record");
        return Vec::new();
    };
    if !app.online {
        app.complain("offline: re-sending needs Redis");
        return Vec::new();
    }
    let target = match record_target(&record) {
        Ok(target) => target,
        Err(why) => {
            app.complain(format!("cannot re-send: {why}"));
            return Vec::new();
        }
    };
    app.say(format!("re-sending to {}…", clean(&target.topic, 60)));
    let fire = Fire::Request {
        topic: target.topic,
        data: target.data,
        timeout: REPLAY_TIMEOUT,
    };
    vec![Effect::Fire(fire, None)]
}

/// Results of the errors screen's work.
pub fn finished(app: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Errors {
            page,
            total,
            entries,
        } => {
            let errors = &mut app.errors;
            errors.queue = entries;
            errors.total = total;
            errors.page = page;
            errors.loading = false;
            errors.failure = None;
            errors.refreshed = Some(app.now);
            errors.selected = errors.selected.min(errors.rows().saturating_sub(1));
        }
        Done::QueueChanged(what) => {
            app.say(what);
            return load_errors(app, app.errors.page);
        }
        Done::Failed(Failure::Errors, why) => {
            app.errors.loading = false;
            app.errors.failure = Some(why);
            app.errors.refreshed = Some(app.now);
        }
        _ => {}
    }
    Vec::new()
}
