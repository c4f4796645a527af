//! The services screen: the known hosts of the health hash with what their pings found,
//! and beside them the request topics that have listeners right now.

use super::format_latency;
use crate::tui::model::Health;
use crate::tui::state::State;
use crate::tui::state::layout::window_start;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

/// Draws the screen.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    let services = &app.services;
    let mut title = vec![Span::styled(
        format!(" hosts in {}", clean(app.channels.health_hash(), 60)),
        theme::tone(Tone::Heading),
    )];
    if services.loading {
        title.push(Span::styled("   pinging…", theme::tone(Tone::Dim)));
    } else if let Some(at) = services.refreshed {
        title.push(Span::styled(
            format!("   as of {}", at.with_timezone(&app.tz).format("%H:%M:%S")),
            theme::tone(Tone::Dim),
        ));
    }
    if let Some(why) = &services.failure {
        title.push(Span::styled(
            format!("   {}", clean(why, 200)),
            theme::tone(Tone::Bad),
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(title)),
        Rect { height: 1, ..area },
    );
    let rest = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    let [hosts_area, topics_area] =
        Layout::horizontal([Constraint::Fill(3), Constraint::Fill(1)]).areas(rest);

    let rows = usize::from(hosts_area.height.saturating_sub(1));
    let start = window_start(services.selected, rows);
    let host_rows = services
        .hosts
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(at, host)| {
            let (state, latency, topics) = match &host.health {
                Health::Alive { latency, topics } => (
                    Span::styled("alive", theme::tone(Tone::Good)),
                    format_latency(*latency),
                    topics
                        .iter()
                        .map(|topic| clean(topic, 60))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Health::Dead { reason } => (
                    Span::styled("dead", theme::tone(Tone::Bad)),
                    String::new(),
                    clean(reason, 120),
                ),
            };
            // Ruby announces itself as `active`, Go as `true`.
            let ident = if host.value == "true" {
                clean(&host.ident, 60)
            } else {
                format!("{} ({})", clean(&host.ident, 60), clean(&host.value, 20))
            };
            let built = Row::new([
                Cell::from(ident),
                Cell::from(state),
                Cell::from(latency),
                Cell::from(topics),
            ]);
            if at == services.selected {
                built.style(theme::selected())
            } else {
                built
            }
        });
    let header = Row::new(["ident", "state", "latency", "serves"])
        .style(theme::tone(Tone::Dim).add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Max(50),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(host_rows, widths).header(header), hosts_area);

    let listened = services.listened.iter().map(|(channel, count)| {
        Row::new([
            Cell::from(clean(channel, 60)),
            Cell::from(count.to_string()),
        ])
    });
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme::tone(Tone::Dim));
    let header = Row::new(["listened now", "resp."])
        .style(theme::tone(Tone::Dim).add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(listened, [Constraint::Fill(1), Constraint::Length(5)])
            .header(header)
            .block(block),
        topics_area,
    );
}
