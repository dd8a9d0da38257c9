//! djbench: deploys one Django app in several ways (gunicorn + celery + redis, subinterpreters,
//! free-threaded Python), loads and samples each, and reports what each costs and gives.
//!
//! The binary's commands live in `cli` and `commands`; each other module owns one concern.

pub mod assets;
pub mod atomic;
pub mod capacity;
pub mod check;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod deploy;
pub mod faults;
pub mod host;
pub mod init;
pub mod limits;
pub mod live;
pub mod load;
pub mod panics;
pub mod provision;
pub mod report;
pub mod results;
pub mod run;
pub mod sample;
pub mod scenario;
pub mod signals;
pub mod stats;
pub mod tasks;
