//! The services screen: the known hosts of the health hash with what their pings found,
//! and beside them the request topics that have listeners right now.
//!
//! ```text
//!  hosts in gilmour.known_host.health   as of 12:00:00
//!  ident            state      latency  serves            │ listened now  resp.
//!  web-1-pid-10     ● alive    840µs    echo weather.…    │ echo              2
//!  web-2-pid-11     ◐ slow     400ms    echo              │
//!  web-3-pid-12     ▲ failing  2ms      answered 503: …   │
//!  ruby-2-pid-11    ✕ dead              nobody listens …  │
//! ```
//!
//! A state is a glyph and a word, in its colour: never colour alone.

use super::columns::{self, Step, constraints, plan, step};
use super::{fit, format_latency};
use crate::tui::state::State;
use crate::tui::state::layout::window_start;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::{clean, display_width};
use gilmour::inspect::services::{Health, HostState};
use gilmour::transport::cluster::{Node, Role};
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
    // A served channel is named by its topic: the request prefix is on every one of them.
    let request_prefix = format!("{}.request.", app.channels.prefix());
    let topic_of = |channel: &str| -> String {
        clean(
            channel.strip_prefix(&request_prefix).unwrap_or(channel),
            200,
        )
    };
    let longest = services
        .listened
        .iter()
        .map(|(channel, _)| Span::raw(topic_of(channel)).width())
        .max()
        .unwrap_or(0);
    // The listened list is as wide as its longest topic, within a third of the screen.
    let listened_width = (longest as u16 + 1 + 5 + 1).max(20).min(rest.width / 3);
    let [hosts_area, topics_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(listened_width)]).areas(rest);
    let widths = plan(hosts_area.width, 4, &HOST_PLAN, Some(SERVES));

    let rows = usize::from(hosts_area.height.saturating_sub(1));
    let start = window_start(services.selected, rows);
    let host_rows = services
        .hosts
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(at, host)| {
            let state = state_span(host.health.state());
            let latency = host
                .health
                .latency()
                .map(format_latency)
                .unwrap_or_default();
            let serves = match &host.health {
                Health::Alive { topics, .. } | Health::Slow { topics, .. } => topics
                    .iter()
                    .map(|topic| topic_of(topic))
                    .collect::<Vec<_>>()
                    .join(" "),
                Health::Failing { .. } => clean(&host.health.describe(), 200),
                Health::Dead { reason } => clean(&reason.to_string(), 200),
            };
            // Ruby announces itself as `active`, Go as `true`.
            let ident = if host.value == "true" {
                host.ident.clone()
            } else {
                format!("{} ({})", host.ident, host.value)
            };
            let cells = [
                Cell::from(fit(&ident, usize::from(widths[IDENT]))),
                Cell::from(state),
                Cell::from(latency),
                Cell::from(fit(&serves, usize::from(widths[SERVES]))),
            ];
            let built = Row::new(columns::shown(&widths, cells));
            if at == services.selected {
                built.style(theme::selected())
            } else {
                built
            }
        });
    let header = Row::new(columns::shown(
        &widths,
        ["ident", "state", "latency", "serves"],
    ))
    .style(theme::tone(Tone::Dim).add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(host_rows, constraints(&widths)).header(header),
        hosts_area,
    );

    let topic_width = usize::from(listened_width.saturating_sub(1 + 1 + 5));
    let listened = services.listened.iter().map(|(channel, count)| {
        Row::new([
            Cell::from(fit(&topic_of(channel), topic_width)),
            Cell::from(count.to_string()),
        ])
    });
    // On a cluster, its nodes under the listened topics: the primaries, then the replicas.
    let topics_area = if services.nodes.is_empty() {
        topics_area
    } else {
        let wanted = u16::try_from(services.nodes.len() + 1).unwrap_or(u16::MAX);
        let height = wanted.min(topics_area.height / 2);
        let [topics_area, nodes_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(topics_area);
        draw_nodes(frame, nodes_area, &services.nodes);
        topics_area
    };
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

/// The cluster's nodes, one a line: up or failed (glyph and colour), address, role, and
/// a primary's slots; a count of those that do not fit.
fn draw_nodes(frame: &mut Frame, area: Rect, nodes: &[Node]) {
    if area.height == 0 {
        return;
    }
    let primaries = nodes.iter().filter(|n| n.role == Role::Primary).count();
    let failed = nodes.iter().filter(|n| n.failed).count();
    // `cluster nodes 3+3`: primaries + replicas.
    let mut heading = format!("cluster nodes {primaries}+{}", nodes.len() - primaries);
    if failed > 0 {
        heading.push_str(&format!(", {failed} ✕"));
    }
    let room = usize::from(area.height) - 1;
    let width = usize::from(area.width.saturating_sub(1));
    let mut lines = vec![Line::styled(
        fit(&heading, width),
        theme::tone(Tone::Dim).add_modifier(Modifier::BOLD),
    )];
    let cut = nodes.len() > room;
    let shown = if cut { room.saturating_sub(1) } else { room };
    for node in nodes.iter().take(shown) {
        let (glyph, tone) = if node.failed {
            ("✕", Tone::Bad)
        } else {
            ("●", Tone::Good)
        };
        let address = clean(&node.address, 60);
        // A primary's slot count where it fits whole; its role always.
        let text = match node.role {
            Role::Primary
                if display_width(&address) + 15 + node.slots.to_string().len() <= width =>
            {
                format!(" {address} primary {} slots", node.slots)
            }
            role => format!(" {address} {}", role.as_str()),
        };
        lines.push(Line::from(vec![
            Span::styled(glyph, theme::tone(tone)),
            Span::raw(fit(&text, width.saturating_sub(1))),
        ]));
    }
    if cut {
        lines.push(Line::styled(
            format!("… {} more", nodes.len() - shown),
            theme::tone(Tone::Dim),
        ));
    }
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme::tone(Tone::Dim));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A host's state as a glyph and a word, and its tone.
pub fn state_text(state: HostState) -> (String, Tone) {
    let (glyph, tone) = match state {
        HostState::Alive => ("●", Tone::Good),
        HostState::Slow => ("◐", Tone::Warn),
        HostState::Failing => ("▲", Tone::Bad),
        HostState::Dead => ("✕", Tone::Bad),
    };
    (format!("{glyph} {}", state.as_str()), tone)
}

fn state_span(state: HostState) -> Span<'static> {
    let (text, tone) = state_text(state);
    Span::styled(text, theme::tone(tone))
}

const IDENT: usize = 0;
const STATE: usize = 1;
const LATENCY: usize = 2;
const SERVES: usize = 3;

/// The hosts' columns in order of importance: enough of the ident to tell hosts apart,
/// whether it is alive, then what it serves; the ident widens last.
const HOST_PLAN: [Step; 6] = [
    step(IDENT, 16),
    step(STATE, 9),
    step(SERVES, 12),
    step(LATENCY, 8),
    step(IDENT, 36),
    step(IDENT, 50),
];
