//! The Gilmour wire protocol as pure data: messages, status codes, sender ids, channel
//! names, health idents and error records. Nothing here does I/O, so everything here can
//! be tested without Redis and reused by the engine and the inspector alike.

mod channels;
mod code;
mod context;
mod error_record;
mod error_view;
mod ident;
pub(crate) mod message;
mod sender;

pub use channels::{ChannelKind, Channels, TopicError, is_pattern};
pub(crate) use channels::{check_reply_topic, check_topic};
pub use code::Code;
pub use context::{CallContext, CompositionStep};
pub use error_record::ErrorRecord;
pub use error_view::{ErrorView, RecordLayout, parse_timestamp, request_sender};
pub use ident::Ident;
pub use message::{Message, Payload};
pub use sender::{Sender, short_sender};
