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
//!   département. Sans I/O, stateless, never fails.

pub mod classify;
pub mod knowledge;
pub mod text;
