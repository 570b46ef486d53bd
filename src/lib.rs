//! promeneur-bot: an orientation bot for the Promeneurs du Net.
//!
//! A young person or a parent writes in their own words; the bot finds the
//! theme, the danger, who is writing and the département, and hands them to
//! an on-duty Promeneur of that département.
//!
//! Modules:
//! - [`text`]: normalisation of what people type (folding, slang), shared by
//!   every reader of a message and by the knowledge base;
//! - [`knowledge`]: the coordinator-editable data under `knowledge/` (themes,
//!   resources, départements, places, slang, danger signals, audience cues),
//!   loaded and checked with every problem reported at once;
//! - [`classify`]: reading one message: theme (tantivy), danger, audience,
//!   département. Sans I/O, stateless, never fails;
//! - [`config`]: the deployment (`config/bot.toml`): settings, storage, the
//!   départements served and the roster of Promeneurs, validated at start;
//! - [`engine`]: the conversation engine, sans I/O: events in, actions out,
//!   time as an argument;
//! - [`store`]: where conversations, duty switches and the audit log live
//!   (SQLite, or memory in tests);
//! - [`console`]: the terminal adapter, the embedded default.

pub mod classify;
pub mod config;
pub mod console;
pub mod discord;
pub mod engine;
pub mod knowledge;
pub mod matrix;
pub mod serve;
pub mod state;
pub mod store;
pub mod text;
